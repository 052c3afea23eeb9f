# lib.sh - shared helpers for tests/*/test-*.sh (source it; bash only).
# Everything a test starts is registered with track_pid and stopped by
# PID on exit; temporary files live under $T, removed on success.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$TOP/bin
T=$(mktemp -d "${TMPDIR:-/tmp}/authrelay-test.XXXXXX")
chmod 755 "$T"
_pids=()
_cleanups=()
_failed=0

note() { printf '# %s\n' "$*"; }
fail() { printf 'not ok: %s\n' "$*" >&2; _failed=1; exit 1; }
skip() { printf '%s\n' "$*"; exit 77; }
ok() { printf 'ok: %s\n' "$*"; }

track_pid() { _pids+=("$1"); }
on_exit() { _cleanups+=("$1"); }

_cleanup() {
	local rc=$?
	local i
	for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${_cleanups[i]}" >/dev/null 2>&1 || true
	done
	for p in "${_pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${_pids[@]}"; do
		for _ in $(seq 1 100); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$p" 2>/dev/null || true
	done
	if { [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ]; } && [ -z "${KEEP_TMP:-}" ]; then
		rm -rf "$T"
	else
		echo "# kept $T" >&2
	fi
}
trap _cleanup EXIT

# wait_for SECONDS CMD...: poll CMD until it succeeds; fail on timeout.
wait_for() {
	local limit=$1; shift
	local deadline=$((SECONDS + limit))
	while ! "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -ge "$deadline" ] && fail "timed out after ${limit}s waiting for: $*"
		sleep 0.02
	done
}

assert_eq() { # expected actual what
	[ "$1" = "$2" ] || fail "$3: expected [$1], got [$2]"
}
assert_contains() { # haystack needle what
	case "$1" in *"$2"*) ;; *) fail "$3: [$2] not found in [$1]" ;; esac
}
assert_not_contains() {
	case "$1" in *"$2"*) fail "$3: [$2] unexpectedly found" ;; *) ;; esac
}

# as_service_user CMD...: run as the unprivileged 'authrelay' user when root.
as_service_user() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=authrelay --regid=authrelay --init-groups -- "$@"
	else
		"$@"
	fi
}

PG_BINDIR=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)

# pg_template: the data directory of a stopped cluster as pg_start leaves
# it (initdb, database authrelay, sql/schema.sql loaded), made once per
# PostgreSQL version, schema, user and UTC day (the schema creates the
# audit partitions from today on) under build/pg-template, and copied by
# each test: initdb and the schema cost seconds a test, a copy a fraction
# of one. flock: two suites may start at once.
pg_template() {
	local key top=$TOP/build/pg-template
	key=$( { "$PG_BINDIR/postgres" --version; cat "$TOP/sql/schema.sql"; id -u
	    date -u +%F; } | sha256sum | cut -c1-16)
	mkdir -p "$top"
	if [ ! -f "$top/$key/ready" ]; then
		( flock 9 && [ -f "$top/$key/ready" ] || pg_template_make "$top" "$key" ) \
		    9>"$top/lock" >&2 || return 1
	fi
	echo "$top/$key/data"
}

pg_template_make() { # TOP KEY
	local new sock
	new=$(mktemp -d "$1/.new.XXXXXX") && sock=$(mktemp -d /tmp/authrelay-pgtpl.XXXXXX) || return 1
	chmod 0755 "$new" "$sock"
	[ "$(id -u)" -eq 0 ] && chown authrelay:authrelay "$new" "$sock"
	as_service_user "$PG_BINDIR/initdb" -D "$new/data" -U authrelay -A trust \
	    --no-sync -E UTF8 --locale=C >"$new/initdb.log" 2>&1 &&
	as_service_user "$PG_BINDIR/pg_ctl" -D "$new/data" -l "$new/log" -w -t 60 \
	    -o "-c listen_addresses='' -c unix_socket_directories='$sock'" start >/dev/null &&
	"$PG_BINDIR/createdb" -h "$sock" -U authrelay authrelay &&
	PGOPTIONS='-c client_min_messages=warning' psql -X -q -h "$sock" -U authrelay \
	    -d authrelay -v ON_ERROR_STOP=1 -f "$TOP/sql/schema.sql" >/dev/null
	local rc=$?
	as_service_user "$PG_BINDIR/pg_ctl" -D "$new/data" -m fast -w stop >/dev/null 2>&1
	rm -rf "$sock"
	[ "$rc" -eq 0 ] || { cat "$new/initdb.log" "$new/log" >&2; rm -rf "$new"; return 1; }
	touch "$new/ready" && mv "$new" "$1/$2"
}

# pg_start: a private cluster under $T/pg, unix socket only, schema loaded
# (a copy of pg_template, with an instance id of its own, as a cluster
# made afresh would have). Sets PGHOST, PGDATABASE, PGUSER and
# AUTHRELAY_DB (a libpq conninfo).
pg_start() {
	local data=$T/pg/data sock=$T/pg/sock template
	template=$(pg_template) || fail "could not make the PostgreSQL template (build/pg-template)"
	mkdir -p "$T/pg" "$sock"
	cp -a "$template" "$data"
	[ "$(id -u)" -eq 0 ] && chown -R authrelay:authrelay "$T/pg"
	as_service_user "$PG_BINDIR/pg_ctl" -D "$data" -l "$T/pg/log" -w -t 60 \
	    -o "-c listen_addresses='' -c unix_socket_directories='$sock' -c fsync=${PG_FSYNC:-on} -c max_connections=50 ${PG_EXTRA_OPTS:-}" \
	    start >/dev/null || { cat "$T/pg/log"; fail "pg_ctl start"; }
	PG_PID=$(head -n 1 "$data/postmaster.pid")
	track_pid "$PG_PID"
	export PGHOST=$sock PGUSER=authrelay PGDATABASE=authrelay
	sql "UPDATE authrelay_instance SET id = md5(random()::text || clock_timestamp()::text)"
	export AUTHRELAY_DB="host=$sock dbname=authrelay user=authrelay"
}

pg_stop() {
	as_service_user "$PG_BINDIR/pg_ctl" -D "$T/pg/data" -m fast -w stop >/dev/null
}

pg_restart_stopped() {
	as_service_user "$PG_BINDIR/pg_ctl" -D "$T/pg/data" -l "$T/pg/log" -w -t 60 \
	    -o "-c listen_addresses='' -c unix_socket_directories='$PGHOST' -c fsync=${PG_FSYNC:-on}" \
	    start >/dev/null
	PG_PID=$(head -n 1 "$T/pg/data/postmaster.pid")
	track_pid "$PG_PID"
}

sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }

# pg_start_standby: a streaming hot standby of pg_start's cluster, made
# by pg_basebackup -R, under $T/pg2 (unix socket $T/pg2/sock only). Sets
# PG_STANDBY_SOCK and PG_STANDBY_PID. pg_sync_standby makes the primary
# wait for it on every commit (synchronous replication);
# pg_promote_standby promotes it (pg_ctl promote -w).
pg_start_standby() {
	local data=$T/pg2/data sock=$T/pg2/sock
	mkdir -p "$T/pg2" "$sock"
	[ "$(id -u)" -eq 0 ] && chown -R authrelay:authrelay "$T/pg2"
	as_service_user "$PG_BINDIR/pg_basebackup" -h "$T/pg/sock" -U authrelay \
	    -D "$data" -R -X stream -c fast --no-sync >"$T/pg2/basebackup.log" 2>&1 ||
	    { cat "$T/pg2/basebackup.log"; fail "pg_basebackup"; }
	chmod 700 "$data"
	as_service_user "$PG_BINDIR/pg_ctl" -D "$data" -l "$T/pg2/log" -w -t 60 \
	    -o "-c listen_addresses='' -c unix_socket_directories='$sock' -c fsync=${PG_FSYNC:-on} -c max_connections=50 -c hot_standby=on" \
	    start >/dev/null || { cat "$T/pg2/log"; fail "pg_ctl start (standby)"; }
	PG_STANDBY_PID=$(head -n 1 "$data/postmaster.pid")
	track_pid "$PG_STANDBY_PID"
	PG_STANDBY_SOCK=$sock
	wait_for 60 sql_is streaming "SELECT state FROM pg_stat_replication"
}
pg_sync_standby() {
	sql "ALTER SYSTEM SET synchronous_standby_names = '*'" >/dev/null
	sql "SELECT pg_reload_conf()" >/dev/null
	wait_for 60 sql_is sync "SELECT sync_state FROM pg_stat_replication"
}
pg_promote_standby() {
	as_service_user "$PG_BINDIR/pg_ctl" -D "$T/pg2/data" -w -t 60 promote >/dev/null
}

# blackhole_start: a TCP server on 127.0.0.1 that accepts connections and
# never answers (a hung database); its port in $HOLE_PORT.
blackhole_start() {
	python3 - "$T/hole.port" <<'PY' &
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
held = []
while True:
    c, _ = s.accept()
    held.append(c)          # accept, never answer
PY
	track_pid $!
	wait_for 10 test -s "$T/hole.port"
	HOLE_PORT=$(cat "$T/hole.port")
}

# free_testnet: the first documentation /24 (192.0.2, 198.51.100,
# 203.0.113) holding none of this host's own addresses (some hosts,
# sandboxes among them, use 192.0.2.x). authrelayd never grants the
# host's addresses (never_relay:self), so a test that generates a whole
# range of login addresses takes them from here: "$(free_testnet).$i".
free_testnet() {
	local net addrs
	addrs=$(ip -o addr show 2>/dev/null || true)	# no pipe: pipefail
	for net in 192.0.2 198.51.100 203.0.113; do
		grep -q " inet ${net//./\\.}\.[0-9]*/" <<<"$addrs" || { echo "$net"; return 0; }
	done
	skip "this host has addresses in every documentation /24"
}

# netns_setup ADDR...: a private network namespace (name in $NS) whose
# loopback interface also carries ADDR... (use TEST-NET addresses such as
# 192.0.2.10 or 2001:db8::10). Traffic never leaves the namespace; run
# programs inside with `in_ns CMD...`. Skips the test where netns is
# unavailable (not root).
netns_setup() {
	[ "$(id -u)" -eq 0 ] || skip "network namespaces need root"
	NS=authrelay-$$-$RANDOM
	ip netns add "$NS" || skip "cannot create a network namespace"
	on_exit "ip netns del $NS"
	ip netns exec "$NS" ip link set lo up
	local a
	for a in "$@"; do
		case $a in
		*:*) ip netns exec "$NS" ip addr add "$a/128" dev lo nodad ;;
		*) ip netns exec "$NS" ip addr add "$a/32" dev lo ;;
		esac
	done
}
# in_ns CMD...: run in the namespace. To start a server in the background
# and track it, write `ip netns exec "$NS" CMD... &` so that $! is the
# server itself (a backgrounded function would be a subshell).
in_ns() { ip netns exec "$NS" "$@"; }

# snapshot_grants CONF IP / snapshot_refuses CONF IP: what auth-wrap (the
# reader of the base and delta snapshot files) decides for a client from
# IP under CONF; for wait_for. A lookup fault counts as a refusal.
snapshot_decision() {
	env -i PATH=/usr/bin:/bin AUTHRELAY_CONF="$1" TCPREMOTEIP="$2" \
	    "$BIN/auth-wrap" /usr/bin/env 2>>"$T/auth-wrap.err" |
	    grep -q '^RELAYCLIENT=' && echo grant || echo refuse
}
snapshot_grants() { [ "$(snapshot_decision "$1" "$2")" = grant ]; }
snapshot_refuses() { [ "$(snapshot_decision "$1" "$2")" = refuse ]; }

# sql_is EXPECTED "SELECT ...": for wait_for, which re-runs it each poll.
sql_is() { [ "$(sql "$2")" = "$1" ]; }
# sql_is_at_least N: login_event holds at least N rows.
sql_is_at_least() { [ "$(sql "SELECT count(*) >= $1 FROM login_event")" = t ]; }

# A preload (libfaketime, a fault shim) in front of a sanitizer build:
# ASan insists on coming first unless told not to check.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
