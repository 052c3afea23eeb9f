#!/usr/bin/env bash
# test-fifo-backpressure.sh - a burst far larger than queue_max written
# into the FIFO while PostgreSQL takes nothing: authrelayd fills its
# queue to queue_max (default 10000), then stops reading, so the writer
# blocks on the full pipe instead of logins being dropped; its peak RSS
# stays bounded. Once the database takes batches again every login is
# recorded, none dropped.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/watcher/watcher-lib.sh"
N=${BACKPRESSURE_LOGINS:-40000}
QMAX=10000
# ASan's shadow memory makes RSS meaningless (make SAN=1): no bound then.
RSS_MAX_KB=$((48 * 1024))
ldd "$BIN/authrelayd" | grep -q libasan && RSS_MAX_KB=$((1024 * 1024))

pg_start
watcher_start
assert_contains "$(sed -n 's/^queue_max = //p' "$TOP/etc/authrelay.conf")" "$QMAX" \
    "etc/authrelay.conf shows the default queue_max"

# Nothing commits while a session holds the audit table.
PGAPPNAME=blocker psql -X -q -c "BEGIN" -c "LOCK TABLE login_event" \
    -c "SELECT pg_sleep(300)" >/dev/null 2>&1 &
track_pid $!
wait_for 20 sql_is 1 "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
    WHERE c.relname = 'login_event' AND l.mode = 'AccessExclusiveLock' AND l.granted"

awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++)
	printf "Nov 23 10:00:00 mx dovecot: imap-login: Login: user=<b%d>, method=PLAIN, rip=198.19.%d.%d, lip=192.0.2.1, mpid=%d, TLS, session=<b%d>\n",
	    i, int(i / 250), i % 250 + 1, i, i }' > "$T/burst"
cat "$T/burst" > "$T/fifo" &
WRITER=$!
track_pid "$WRITER"

ncounters() { grep -c 'event=counters' "$T/watcher.log"; }
more_counters() { [ "$(ncounters)" -gt "$1" ]; }
# counters: a fresh event=counters line
counters() {
	local n
	n=$(ncounters)
	kill -USR1 "$WATCHER_PID"
	wait_for 10 more_counters "$n"
	grep 'event=counters' "$T/watcher.log" | tail -n 1
}
queued_is() { counters | grep -q " queued=$1 "; }
wait_for 60 queued_is "$QMAX"
kill -0 "$WRITER" 2>/dev/null || fail "the writer finished: authrelayd kept reading a full queue"
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$WATCHER_PID/status")
note "queue full at $QMAX, writer blocked, VmHWM ${hwm} kB"
[ "$hwm" -le "$RSS_MAX_KB" ] || fail "peak RSS ${hwm} kB > $RSS_MAX_KB kB with the queue full"
counters | grep -q " dropped=0 " || fail "logins dropped while the queue was full"

sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'blocker'" >/dev/null
wait "$WRITER" || fail "writer failed"
wait_for 120 sql_is "$N" "SELECT count(*) FROM login_event WHERE NOT redelivered"
assert_eq "$N" "$(sql "SELECT count(*) FROM relay")" "relays"
counters | grep -q " dropped=0 " || fail "logins dropped"
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$WATCHER_PID/status")
[ "$hwm" -le "$RSS_MAX_KB" ] || fail "peak RSS ${hwm} kB > $RSS_MAX_KB kB"
ok "$N logins through a full queue of $QMAX: none dropped, all recorded, peak RSS ${hwm} kB"
