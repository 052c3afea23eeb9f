# common.sh - helpers for tests/authwrap/test-*.sh (source after lib.sh).
AW=${AUTHWRAP:-$BIN/auth-wrap}
TOOL=${CDBEXPORT_TOOL:-$TOP/build/tests/cdbexport-tool}
[ -x "$AW" ] || skip "bin/auth-wrap not built"
[ -x "$TOOL" ] || skip "build/tests/cdbexport-tool not built (make test-programs)"

# write_conf FILE KEY=VALUE...: an authrelay.conf with test defaults.
write_conf() {
	local f=$1; shift
	{
		echo "database = ${AUTHRELAY_DB:-}"
		echo "lookup_database = ${AUTHRELAY_DB:-}"
		echo "cdb_file = $T/relay.cdb"
		echo "lookup = cdb"
		echo "relayuser = yes"
		echo "user ="	# tests run as root in $T: no drop
		echo "lookup_deadline = 10s"	# a busy machine is no failure
		local kv
		for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}"; done
	} >"$f"
}

# add_relay IP USER [INTERVAL]: a row as the watcher would write it.
add_relay() {
	sql "INSERT INTO relay (ip, username, parser, service, first_seen,
	    last_seen, expires_at) VALUES ('$1', '$2', 'test', 'pop3', now(),
	    now(), now() + interval '${3:-30 minutes}')
	    ON CONFLICT (ip) DO UPDATE SET expires_at = EXCLUDED.expires_at,
	    username = EXCLUDED.username"
}

# aw CONF VAR=VALUE...: run auth-wrap in a clean environment with env as
# PROGRAM; prints PROGRAM's environment, auth-wrap's stderr to $T/aw.err.
aw() {
	local conf=$1; shift
	env -i PATH=/usr/bin:/bin AUTHRELAY_CONF="$conf" "$@" \
	    "$AW" /usr/bin/env 2>"$T/aw.err"
}

# relay_of CONF IP: prints "RELAYCLIENT=... RELAYUSER=..." or "none".
relay_of() {
	local out
	out=$(aw "$1" TCPREMOTEIP="$2" | grep -E '^RELAY(CLIENT|USER)=' | sort | tr '\n' ' ')
	echo "${out:-none}"
}

export_cdb() { AUTHRELAY_CONF=$1 "$TOOL" export >/dev/null; }

# aw_denies CONF IP / aw_grants CONF IP: for wait_for.
aw_denies() { [ "$(relay_of "$1" "$2")" = none ]; }
aw_grants() { [ "$(relay_of "$1" "$2")" != none ]; }
