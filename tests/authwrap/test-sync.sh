#!/usr/bin/env bash
# test-sync.sh - the --sync loop (sync_run, driven by cdbexport-tool sync)
# against a real PostgreSQL: LISTEN/NOTIFY keeps the local cdb current,
# notifications are coalesced, the snapshot is refreshed without changes,
# the database may go away and come back, SIGTERM stops it.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"

pg_start
conf=$T/sync.conf
write_conf "$conf" tcp_cdb="$T/tcp.smtp.cdb" cdb_interval=500ms cdb_max_age=2s
add_relay 192.0.2.10 alice	# before the loop starts: the first export

sync_cmd=("$BIN/authrelayd" --sync -f -c "$conf")
note "running: ${sync_cmd[*]}"
AUTHRELAY_CONF=$conf "${sync_cmd[@]}" >"$T/sync.log" 2>&1 &
SYNC_PID=$!
track_pid $SYNC_PID
wait_for 10 aw_grants "$conf" 192.0.2.10
ok "initial export"

add_relay 192.0.2.11 bob
wait_for 10 aw_grants "$conf" 192.0.2.11
assert_eq "+RELAYCLIENT=" "$(cdb -q "$T/tcp.smtp.cdb" 192.0.2.11 | tr -d '\0')" \
    "tcp cdb follows too"
sql "DELETE FROM relay WHERE ip = '192.0.2.11'"
wait_for 10 aw_denies "$conf" 192.0.2.11
ok "notifications drive exports (grant, revoke)"

# 20 changing statements in quick succession: a few exports, not 20
before=$(grep -c 'event=cdb_export ' "$T/sync.log")
for i in $(seq 20 39); do
	echo "INSERT INTO relay (ip, username, parser, service, first_seen,
	    last_seen, expires_at) VALUES ('192.0.2.$i', 'u$i', 't', 'pop3',
	    now(), now(), now() + interval '10 minutes');"
done | psql -X -q -v ON_ERROR_STOP=1 >/dev/null
wait_for 10 aw_grants "$conf" 192.0.2.39
after=$(grep -c 'event=cdb_export ' "$T/sync.log")
[ $((after - before)) -le 4 ] || fail "not coalesced: $((after - before)) exports for 20 changes"
ok "coalesced: $((after - before)) exports for 20 changes"

# no changes at all: still rewritten (min(cdb_max_age/2, 60s) = 1s)
sum=$(md5sum <"$T/relay.cdb")
snapshot_changed() { [ "$(md5sum <"$T/relay.cdb")" != "$sum" ]; }
wait_for 5 snapshot_changed
sum=$(md5sum <"$T/relay.cdb")
wait_for 5 snapshot_changed	# twice: it keeps being refreshed
assert_eq "RELAYCLIENT= RELAYUSER=alice " "$(relay_of "$conf" 192.0.2.10)" "fresh snapshot"
ok "periodic refresh"

# the database goes away and comes back
pg_stop
wait_for 10 grep -q 'event=sync_disconnected' "$T/sync.log"
pg_restart_stopped
add_relay 192.0.2.12 carol
wait_for 20 aw_grants "$conf" 192.0.2.12
assert_eq 2 "$(grep -c 'event=sync_connected' "$T/sync.log")" "reconnected once"
ok "reconnect after a database restart"

kill -TERM $SYNC_PID
rc=0
wait $SYNC_PID || rc=$?
assert_eq 0 "$rc" "exit status after SIGTERM"
grep -q 'event=sync_stopped' "$T/sync.log" || fail "no stop line"
ok "SIGTERM stops the loop"
