#!/usr/bin/env bash
# How a login reaches auth-wrap, at small scale: authrelayd's snapshot
# (base + delta) follows its own grants and an administrator's revoke or
# allow, as auth-wrap decides it; an SMTP host running `authrelayd --sync`
# on its own files converges to the same decisions; verify agrees; a
# restarted watcher continues from the base it left.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/watcher-lib.sh"

pg_start
sql "INSERT INTO relay (ip, username, parser, service, first_seen, last_seen,
    expires_at) SELECT '10.1.0.0'::inet + g, 'pre' || g, 't', 'pop3', now(),
    now(), now() + interval '1 hour' FROM generate_series(1, 2000) g"
watcher_start "cdb_file = $T/relay.cdb" "cdb_interval = 20ms"
fifo_writer_open
conf=$T/authrelay.conf
cat >"$T/sync.conf" <<CONF
database = $AUTHRELAY_DB
cdb_file = $T/smtp/relay.cdb
user =
CONF
mkdir -p "$T/smtp"
"$BIN/authrelayd" --sync -f -v -c "$T/sync.conf" >"$T/sync.log" 2>&1 &
SYNC_PID=$!
track_pid "$SYNC_PID"
both_grant() { snapshot_grants "$conf" "$1" && snapshot_grants "$T/sync.conf" "$1"; }
both_refuse() { snapshot_refuses "$conf" "$1" && snapshot_refuses "$T/sync.conf" "$1"; }

wait_for 30 both_grant 10.1.7.208	# the 2000th, from the first base
both_refuse 192.0.2.10 || fail "granted before any login"
ok "both hosts start from a base of the table"

dovecot_login alice 192.0.2.10 >&$FIFO_FD
wait_for 10 both_grant 192.0.2.10
ok "a login reaches auth-wrap on the POP host and on the SMTP host"

"$BIN/authrelayctl" -c "$conf" revoke 192.0.2.10 >/dev/null
wait_for 10 both_refuse 192.0.2.10
both_grant 10.1.0.1 || fail "a revoke took another relay with it"
ok "authrelayctl revoke reaches both"

"$BIN/authrelayctl" -c "$conf" allow 198.51.100.9 1h >/dev/null
wait_for 10 both_grant 198.51.100.9
ok "authrelayctl allow reaches both"

# After those notifications, with nothing to do, neither snapshot loop
# spins (once, a flag for tcp_cdb that only cdb_file was set kept poll's
# timeout at 0: a whole core, for good, after the first change).
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
snap_pid=$(pgrep -P "$WATCHER_PID" -f authrelayd | head -n 1)
[ -n "$snap_pid" ] || fail "no snapshot process under the watcher"
before_snap=$(ticks "$snap_pid") before_sync=$(ticks "$SYNC_PID")
sleep 1	# measuring idleness needs an idle interval
used_snap=$(($(ticks "$snap_pid") - before_snap))
used_sync=$(($(ticks "$SYNC_PID") - before_sync))
[ "$used_snap" -le 10 ] || fail "the snapshot process used $used_snap ticks in 1 s idle (spinning?)"
[ "$used_sync" -le 10 ] || fail "authrelayd --sync used $used_sync ticks in 1 s idle (spinning?)"
ok "both snapshot loops sleep when idle ($used_snap and $used_sync ticks in 1 s)"

out=$("$BIN/authrelayctl" -c "$conf" verify)
assert_contains "$out" "verify: 0 differences" "verify, POP host"
out=$("$BIN/authrelayctl" -c "$T/sync.conf" verify)
assert_contains "$out" "verify: 0 differences" "verify, SMTP host"
ok "verify: base and delta together match the table"

# A restart continues the delta from the base on disk (no full rebuild).
kill -TERM "$WATCHER_PID"; wait "$WATCHER_PID" || true
dovecot_login bob 192.0.2.11 >&$FIFO_FD	# held in the FIFO meanwhile
watcher_start "cdb_file = $T/relay.cdb" "cdb_interval = 20ms"
wait_for 10 both_grant 192.0.2.11
grep -q 'event=base_adopted' "$T/watcher.log" || fail "the base was not continued"
grep -q 'event=rebase_started' "$T/watcher.log" && fail "a full rebuild at restart"
both_refuse 192.0.2.10 || fail "a revoked relay came back after the restart"
ok "a restarted watcher continues from its base"

# list shows remaining time beyond a day correctly (no wrap at 24h).
sql "UPDATE relay SET expires_at = now() + interval '23 hours 59 minutes' WHERE ip = '198.51.100.9'"
assert_contains "$("$BIN/authrelayctl" -c "$conf" list)" "23:58:" "remaining time"

# The snapshot process never outlives its watcher, even one killed hard.
snap_pid=$(pgrep -P "$WATCHER_PID" -f authrelayd | head -n 1)
[ -n "$snap_pid" ] || fail "no snapshot process under the watcher"
kill -KILL "$WATCHER_PID"
gone() { ! kill -0 "$snap_pid" 2>/dev/null; }
wait_for 10 gone
ok "the snapshot process ends with a killed watcher"
