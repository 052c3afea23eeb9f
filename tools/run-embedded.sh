#!/bin/sh
# run-embedded.sh - `make run`: authrelayd in the foreground with
# etc/authrelay.conf (or $AUTHRELAY_CONF). When that configuration names
# no database, a private PostgreSQL cluster lives under ./var/pg (unix
# socket only, no TCP) and keeps running after authrelayd stops;
# `make stop` (this script with "stop") stops it.
set -eu
top=$(pwd)
var=$top/var
conf=${AUTHRELAY_CONF:-$top/etc/authrelay.conf}
bindir=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)

as_service_user() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=authrelay --regid=authrelay --init-groups -- "$@"
	else
		"$@"
	fi
}

pg_running() {
	[ -f "$var/pg/data/postmaster.pid" ] &&
	    as_service_user "$bindir/pg_ctl" -D "$var/pg/data" status >/dev/null 2>&1
}

if [ "${1:-}" = stop ]; then
	if pg_running; then
		as_service_user "$bindir/pg_ctl" -D "$var/pg/data" -m fast -w stop
	fi
	exit 0
fi

mkdir -p "$var/pg/sock" "$var/cdb"
[ "$(id -u)" -eq 0 ] && chown authrelay:authrelay "$var/pg" "$var/pg/sock" "$var/cdb"
db=$("$top/bin/authrelayctl" -c "$conf" config | sed -n 's/^database = //p')
if [ -z "$db" ]; then
	if [ ! -f "$var/pg/data/PG_VERSION" ]; then
		echo "run: creating a private PostgreSQL cluster in var/pg" >&2
		as_service_user "$bindir/initdb" -D "$var/pg/data" -U authrelay \
		    -A peer -E UTF8 --locale=C >"$var/pg/initdb.log" 2>&1
		# Local peer authentication: the OS user must be authrelay,
		# or root mapped to it, nobody else.
		printf 'local all all peer map=authrelay\n' > "$var/pg/data/pg_hba.conf"
		printf 'authrelay authrelay authrelay\nauthrelay root authrelay\nauthrelay %s authrelay\n' \
		    "$(id -un)" > "$var/pg/data/pg_ident.conf"
	fi
	if ! pg_running; then
		as_service_user "$bindir/pg_ctl" -D "$var/pg/data" -l "$var/pg/log" -w \
		    -o "-c listen_addresses='' -c unix_socket_directories='$var/pg/sock'" start >/dev/null
	fi
	db="host=$var/pg/sock dbname=authrelay user=authrelay"
	psql "host=$var/pg/sock dbname=postgres user=authrelay" -Atqc \
	    "SELECT 1 FROM pg_database WHERE datname = 'authrelay'" | grep -q 1 ||
	    psql "host=$var/pg/sock dbname=postgres user=authrelay" -qc "CREATE DATABASE authrelay"
	# A database left by an older `make run` is upgraded, keeping its rows.
	if [ "$(psql "$db" -Atqc "SELECT max(version) FROM schema_version" 2>/dev/null)" = 1 ]; then
		PGOPTIONS='-c client_min_messages=warning' psql "$db" -q -v ON_ERROR_STOP=1 \
		    -f "$top/sql/upgrade-1-2.sql" >/dev/null
	fi
	PGOPTIONS='-c client_min_messages=warning' psql "$db" -q -v ON_ERROR_STOP=1 -f "$top/sql/schema.sql"
fi
[ -p "$var/fifo" ] || mkfifo -m 0620 "$var/fifo"
[ "$(id -u)" -eq 0 ] && chown root:authrelay "$var/fifo"

# The running configuration: the administrator's file, then what the
# embedded default needs (later keys win).
{
	cat "$conf"
	printf '\n# --- added by make run ---\n'
	printf 'fifo = %s\ndatabase = %s\nparsers = %s\npidfile =\n' \
	    "$var/fifo" "$db" "$top/parsers"
	printf 'cdb_file = %s\n' "$var/cdb/relay.cdb"
} > "$var/authrelay.conf"

cat >&2 <<MSG
run: authrelayd is starting in the foreground (Ctrl-C stops it).
run: in another terminal:
run:   cat some-mail.log > var/fifo                 # feed it syslog lines
run:   bin/authrelayctl -c var/authrelay.conf list  # active relays
run:   bin/authrelayctl -c var/authrelay.conf audit # every decision
run: PostgreSQL keeps running in var/pg; 'make stop' stops it.
MSG
exec "$top/bin/authrelayd" -f -c "$var/authrelay.conf"
