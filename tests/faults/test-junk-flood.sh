#!/usr/bin/env bash
# A flood of junk lines (as fast as one writer can go) with real logins
# mixed in: memory stays bounded and every real login is granted.
# FAULT_FLOOD_SECONDS (default 8; the issue's full run is 60).
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/watcher/watcher-lib.sh"
SECS=${FAULT_FLOOD_SECONDS:-8}

pg_start
watcher_start
python3 - "$T/fifo" "$SECS" "$(free_testnet)" > "$T/flood.out" <<'PY' &
import sys, time
fifo, secs = sys.argv[1], float(sys.argv[2])
net = sys.argv[3].encode()	# none of the host's own addresses
junk = [
    b"Nov 23 10:00:00 mx postfix/smtpd[1]: connect from unknown[203.0.113.9]\n",
    b"Nov 23 10:00:00 mx dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<x>, method=PLAIN, rip=203.0.113.9, lip=1.2.3.4\n",
    b"Nov 23 10:00:00 mx vpopmail[1]: vchkpw-smtp: (PLAIN) login success a@b:203.0.113.9\n",
    b"\x00\x01garbage " * 300 + b"\n",
    b"A" * 20000 + b"\n",
]
# Mostly short lines (as a real flood), some binary and over-long ones.
block = b"".join(junk[:3] * 3000 + junk[3:])
per_block = 9002
f = open(fifo, "wb", buffering=0)
t0, n, logins = time.time(), 0, 0
while time.time() - t0 < secs:
    f.write(block)
    n += per_block
    if (n // per_block) % 10 == 0:
        f.write(b"Nov 23 10:00:00 mx dovecot: imap-login: Login: user=<real%d>, method=PLAIN, rip=%s.%d, lip=192.0.2.1, mpid=1, TLS\n" % (logins, net, logins % 250 + 1))
        logins += 1
print(n, logins)
PY
FLOOD=$!
track_pid "$FLOOD"
maxrss=0
while kill -0 "$FLOOD" 2>/dev/null; do
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$WATCHER_PID/status")
	[ "$rss" -gt "$maxrss" ] && maxrss=$rss
	sleep 0.2	# sampling memory while the flood runs
done
read -r junk logins < "$T/flood.out"
[ "$logins" -gt 0 ] || fail "the flood wrote no logins"
wait_for 30 sql_is "$logins" "SELECT count(*) FROM login_event WHERE outcome = 'granted'"
assert_eq "$(( logins < 250 ? logins : 250 ))" "$(sql "SELECT count(*) FROM relay")" "relays"
[ "$maxrss" -lt 65536 ] || fail "rss reached ${maxrss} kB"
kill -USR1 "$WATCHER_PID"
wait_for 10 grep -q 'event=counters' "$T/watcher.log"
note "$junk junk lines ($((junk / SECS)) per second), $logins logins in ${SECS}s; max rss ${maxrss} kB"
note "$(grep 'event=counters' "$T/watcher.log" | tail -n 1)"
ok "junk flood: bounded memory, every real login granted"
