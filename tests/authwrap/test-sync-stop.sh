#!/usr/bin/env bash
# test-sync-stop.sh - authrelayd --sync stops at once on SIGTERM while a
# base is being built: the build runs in a child that must not inherit
# the loop's blocked SIGTERM (it did: the stop then waited for the build,
# for ever on a dead network). Here the build's COPY waits behind a
# table lock held by another session, so it cannot finish by itself.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"

pg_start
conf=$T/sync.conf
write_conf "$conf"
add_relay 192.0.2.10 alice

# A session that holds relay locked until we end it (its PID is tracked).
mkfifo "$T/lockctl"
psql -X -q -v ON_ERROR_STOP=1 <"$T/lockctl" >"$T/lock.out" 2>&1 &
track_pid $!
exec {LOCK_FD}>"$T/lockctl"
echo "BEGIN; LOCK TABLE relay IN ACCESS EXCLUSIVE MODE; SELECT 'locked';" >&"$LOCK_FD"
wait_for 30 grep -q locked "$T/lock.out"

"$BIN/authrelayd" --sync -f -v -c "$conf" >"$T/sync.log" 2>&1 &
SYNC_PID=$!
track_pid $SYNC_PID
wait_for 30 grep -q 'event=rebase_started' "$T/sync.log"
child() { pgrep -P "$SYNC_PID" | head -n 1; }
wait_for 30 test -n "$(child)"
JOB=$(child)
# the build is waiting for the lock, not finished
wait_for 30 sql_is 1 "SELECT count(*) FROM pg_stat_activity
    WHERE application_name = 'authrelayd-export' AND wait_event_type = 'Lock'"
blocked=$(awk '/^SigBlk:/ { print $2 }' "/proc/$JOB/status")
assert_eq 0000000000000000 "$blocked" "signals blocked in the build's process"

kill -TERM "$SYNC_PID"
gone() { ! kill -0 "$1" 2>/dev/null; }
wait_for 10 gone "$SYNC_PID"
wait "$SYNC_PID" 2>/dev/null || true
wait_for 10 gone "$JOB"
assert_contains "$(cat "$T/sync.log")" "event=sync_stopped" "sync log"
ok "SIGTERM during a base build stops --sync and its build at once"

echo "ROLLBACK;" >&"$LOCK_FD"
exec {LOCK_FD}>&-
