#!/usr/bin/env bash
# test-sync.sh - authrelayd --sync (watcher/snapshot.c) against a real
# PostgreSQL: LISTEN/NOTIFY keeps the local base+delta snapshot current,
# each notification reads only the changed rows, revocations by DELETE
# and by expiry reach auth-wrap, a large change rebuilds the base, the
# snapshot is refreshed without changes, the database may go away and
# come back, SIGTERM stops it.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"

pg_start
conf=$T/sync.conf
write_conf "$conf" tcp_cdb="$T/tcp.smtp.cdb" cdb_interval=500ms cdb_max_age=2s
add_relay 192.0.2.10 alice	# before the loop starts: the first export

sync_cmd=("$BIN/authrelayd" --sync -f -v -c "$conf")
note "running: ${sync_cmd[*]}"
AUTHRELAY_CONF=$conf "${sync_cmd[@]}" >"$T/sync.log" 2>&1 &
SYNC_PID=$!
track_pid $SYNC_PID
wait_for 10 aw_grants "$conf" 192.0.2.10
ok "initial export"

add_relay 192.0.2.11 bob
wait_for 10 aw_grants "$conf" 192.0.2.11
# tcp.smtp.cdb is rebuilt whole by a child, at most every cdb_interval
tcp_has() { [ "$(cdb -q "$T/tcp.smtp.cdb" "$1" | tr -d '\0')" = "+RELAYCLIENT=" ]; }
wait_for 10 tcp_has 192.0.2.11
sql "DELETE FROM relay WHERE ip = '192.0.2.11'"
wait_for 10 aw_denies "$conf" 192.0.2.11
ok "notifications drive exports (grant, revoke)"

# 500 more rows, then 20 changing statements: each read fetches only
# what changed since the one before, never the table
sql "INSERT INTO relay (ip, username, parser, service, first_seen, last_seen,
    expires_at) SELECT '10.9.0.0'::inet + g, 'bulk' || g, 't', 'pop3', now(),
    now(), now() + interval '10 minutes' FROM generate_series(1, 500) g"
wait_for 10 aw_grants "$conf" 10.9.1.244
rows_read() { grep 'event=sync_fetch ' "$T/sync.log" | sed 's/.* rows=\([0-9]*\).*/\1/' |
	awk '{ s += $1 } END { print s + 0 }'; }
before=$(rows_read)
for i in $(seq 20 39); do
	echo "INSERT INTO relay (ip, username, parser, service, first_seen,
	    last_seen, expires_at) VALUES ('192.0.2.$i', 'u$i', 't', 'pop3',
	    now(), now(), now() + interval '10 minutes');"
done | psql -X -q -v ON_ERROR_STOP=1 >/dev/null
wait_for 10 aw_grants "$conf" 192.0.2.39
read=$(($(rows_read) - before))
[ "$read" -ge 20 ] && [ "$read" -le 40 ] ||
    fail "20 changed rows, yet $read rows read (table: 522 rows)"
ok "20 changes, $read rows read from a table of 522"

# revocations: DELETE (a tombstone), and an expiry moved into the past
sql "DELETE FROM relay WHERE ip = '192.0.2.20'"
sql "UPDATE relay SET expires_at = now() - interval '1 second' WHERE ip = '192.0.2.21'"
wait_for 10 aw_denies "$conf" 192.0.2.20
wait_for 10 aw_denies "$conf" 192.0.2.21
aw_grants "$conf" 192.0.2.22 || fail "an untouched relay was lost"
ok "revocation by DELETE and by expiry"

# a change larger than the base allows in a delta: a new base is built
sql "INSERT INTO relay (ip, username, parser, service, first_seen, last_seen,
    expires_at) SELECT '10.10.0.0'::inet + g, 'big' || g, 't', 'pop3', now(),
    now(), now() + interval '10 minutes' FROM generate_series(1, 5000) g"
# the second rebase: the first (the initial base) is in the log already
rebases() { [ "$(grep -c 'event=rebase relays=' "$T/sync.log")" -ge 2 ]; }
wait_for 30 rebases
wait_for 10 aw_grants "$conf" 10.10.19.136
aw_denies "$conf" 192.0.2.20 || fail "a tombstone lost in the rebase"
aw_grants "$conf" 10.9.1.244 || fail "a relay lost in the rebase"
grep -q 'event=rebase relays=[0-9]* .* from=delta' "$T/sync.log" ||
    fail "the second base read the whole table again instead of merging the delta"
# the pair auth-wrap reads is right at once; tcp_cdb, rebuilt whole by
# its own job at most every cdb_interval, follows
AUTHRELAY_CONF=$conf "$TOOL" verify >"$T/verify.out" || true
grep "relay\.cdb" "$T/verify.out" && fail "relay.cdb and its delta differ from the table after a rebase"
verify_clean() { [ "$(AUTHRELAY_CONF=$conf "$TOOL" verify | tail -n 1)" = "differences=0" ]; }
wait_for 20 verify_clean
ok "rebase"

# A base the merge cannot trust (a file someone else owns): the merge
# fails, and the next base is read from the database instead.
chown nobody "$T/relay.cdb"
sql "INSERT INTO relay (ip, username, parser, service, first_seen, last_seen,
    expires_at) SELECT '10.11.0.0'::inet + g, 'more' || g, 't', 'pop3', now(),
    now(), now() + interval '10 minutes' FROM generate_series(1, 5000) g"
wait_for 30 grep -q 'event=rebase_failed' "$T/sync.log"
db_rebases() { [ "$(grep -c 'event=rebase relays=[0-9]* .* from=database' "$T/sync.log")" -ge 2 ]; }
wait_for 30 db_rebases
wait_for 10 aw_grants "$conf" 10.11.19.136
aw_grants "$conf" 10.10.19.136 || fail "a relay lost in the rebase from the database"
wait_for 20 verify_clean
ok "a merge that fails gives way to a base read from the database"

# TRUNCATE revokes everything at once (no row triggers fire): refused
# until a new base is in place, then new grants work again
sql "TRUNCATE relay"
wait_for 10 aw_denies "$conf" 10.9.1.244
wait_for 10 aw_denies "$conf" 10.10.19.136
wait_for 10 grep -q 'event=snapshot_reset reason="the relay table was truncated"' "$T/sync.log"
add_relay 192.0.2.60 gina
wait_for 20 aw_grants "$conf" 192.0.2.60
aw_denies "$conf" 10.9.1.244 || fail "a truncated relay came back"
ok "TRUNCATE"

# no changes at all: the delta is still rewritten (min(cdb_max_age/2,
# 60s) = 1s) with a newer time, and auth-wrap keeps trusting the pair
sum=$(md5sum <"$T/relay.cdb.delta")
snapshot_changed() { [ "$(md5sum <"$T/relay.cdb.delta")" != "$sum" ]; }
wait_for 5 snapshot_changed
sum=$(md5sum <"$T/relay.cdb.delta")
wait_for 5 snapshot_changed	# twice: it keeps being refreshed
assert_eq "RELAYCLIENT= RELAYUSER=gina " "$(relay_of "$conf" 192.0.2.60)" "fresh snapshot"
ok "periodic refresh"

# the database goes away and comes back
pg_stop
wait_for 10 grep -q 'event=sync_disconnected' "$T/sync.log"
pg_restart_stopped
add_relay 192.0.2.12 carol
wait_for 20 aw_grants "$conf" 192.0.2.12
aw_grants "$conf" 192.0.2.60 || fail "a relay lost across the restart"
assert_eq 2 "$(grep -c 'event=sync_connected' "$T/sync.log")" "reconnected once"
ok "reconnect after a database restart"

kill -TERM $SYNC_PID
rc=0
wait $SYNC_PID || rc=$?
assert_eq 0 "$rc" "exit status after SIGTERM"
grep -q 'event=sync_stopped' "$T/sync.log" || fail "no stop line"
ok "SIGTERM stops the loop"
