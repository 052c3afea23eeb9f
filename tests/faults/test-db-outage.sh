#!/usr/bin/env bash
# PostgreSQL stopped while logins stream in at 5000/s: authrelayd keeps
# reading, holds every event within queue_max in bounded memory without
# spinning, and writes each exactly once when the database is back.
# Past queue_max the FIFO is not read until the database takes a batch:
# the writer waits, nothing is dropped.
# FAULT_OUTAGE_SECONDS (default 10; the issue's full run is 60).
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/watcher/watcher-lib.sh"
OUTAGE=${FAULT_OUTAGE_SECONDS:-10}
RATE=5000

pg_start
watcher_start "queue_max = $((RATE * (OUTAGE + 5) + 1000))"
fifo_writer_open

# paced_logins FIRST_OCTET SECONDS: RATE distinct logins per second.
paced_logins() {
	python3 - "$T/fifo" "$RATE" "$2" "$1" <<'PY'
import sys, time
fifo, rate, secs, a = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
f = open(fifo, "w")
t0 = time.time()
for i in range(rate * secs):
    if i % 100 == 0:
        d = t0 + i / rate - time.time()
        if d > 0:
            time.sleep(d)
    f.write("Nov 23 10:00:00 mx dovecot: imap-login: Login: user=<o%d>, method=PLAIN, "
            "rip=%d.%d.%d.%d, lip=192.0.2.1, mpid=%d, TLS\n" % (i, a, i >> 16 & 255, i >> 8 & 255, i & 255, i))
f.flush()
PY
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$WATCHER_PID/stat"; }

pg_stop
wait_for 10 grep -q 'event=db_down' "$T/watcher.log"
before=$(cpu_ticks)
start=$SECONDS
paced_logins 30 "$OUTAGE"
elapsed=$((SECONDS - start))
used=$(( $(cpu_ticks) - before ))
rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$WATCHER_PID/status")
note "outage: ${elapsed}s, $((RATE * OUTAGE)) logins held, cpu ${used} ticks, rss ${rss} kB"
# Parsing 5000 lines/s and reconnect attempts: far from a busy loop.
[ "$used" -lt $((elapsed * 100 / 4)) ] || fail "watcher used $used ticks in ${elapsed}s while the database was down"
[ "$rss" -lt 262144 ] || fail "rss ${rss} kB while holding the queue"
pg_restart_stopped
wait_for 120 sql_is $((RATE * OUTAGE)) "SELECT count(*) FROM login_event"
assert_eq $((RATE * OUTAGE)) "$(sql "SELECT count(*) FROM relay")" "relays"
assert_eq 0 "$(sql "SELECT count(*) FROM (SELECT ip FROM login_event GROUP BY ip HAVING count(*) > 1) d")" "written twice"
ok "$((RATE * OUTAGE)) logins held through a ${OUTAGE}s outage, written once"

# A small bound: the queue stops at it, the rest waits in the pipe.
kill -TERM "$WATCHER_PID"; wait "$WATCHER_PID" || true
sql "TRUNCATE relay, login_event"
watcher_start "queue_max = 1000"
fifo_writer_open
pg_stop
wait_for 10 grep -q 'event=db_down' "$T/watcher.log"
paced_logins 31 1
counters_show() { kill -USR1 "$WATCHER_PID"; grep 'event=counters' "$T/watcher.log" | tail -n 1 | grep -q "$1"; }
wait_for 10 counters_show " queued=1000 "
pg_restart_stopped
wait_for 60 sql_is "$RATE" "SELECT count(*) FROM login_event"
wait_for 10 counters_show " queued=0 dropped=0 "
ok "past queue_max: 1000 queued, the rest read once there was room, none dropped"
