#!/usr/bin/env bash
# At-least-once delivery: a real rsyslog runs authrelayd as an omprog
# child with confirmMessages and transactions. authrelayd answers a
# transaction's COMMIT only once its logins are committed and keeps the
# lines it answered earlier in its journal; killed with SIGKILL in the
# middle of 10 000 logins (rsyslog sending a transaction) and restarted
# by rsyslog, it ends with exactly the expected relays, one unmarked
# audit row per login, and any duplicate marked as a re-delivery.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/watcher/watcher-lib.sh"
N=${OMPROG_LOGINS:-10000}

pg_start
omprog_conf "$T/authrelay.conf" "$AUTHRELAY_DB"
"$BIN/authrelayd" -n -c "$T/authrelay.conf" >/dev/null
rsyslog_start "$(omprog_action "$T/authrelay.conf" "$T/watcher.log" 60000 \
    'queue.type="LinkedList" queue.size="100000" queue.dequeueBatchSize="500"')"

# N logins sent as root straight to the socket (uid 0 by the kernel).
python3 - "$T/log.sock" "$N" <<'PY' &
import socket, sys
path, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
for i in range(n):
    msg = "<21>Nov 23 10:00:00 vpopmail[%d]: vchkpw-pop3: (PLAIN) login success u%d@example.org:198.18.%d.%d" % (
        1000 + i, i, i // 250, i % 250 + 1)
    while True:
        try:
            s.sendto(msg.encode(), path)
            break
        except (BlockingIOError, OSError):
            import time; time.sleep(0.001)
PY
SENDER=$!
track_pid "$SENDER"

# Kill the omprog child once a good part is committed.
wait_for 60 sql_is_at_least 3000
victim=$(pgrep -f "authrelayd -f -c $T/authrelay.conf" | head -n 1)
[ -n "$victim" ] || fail "no authrelayd child of rsyslog"
kill -KILL "$victim"
note "killed authrelayd $victim at $(sql "SELECT count(*) FROM login_event") audit rows"
wait "$SENDER" || fail "sender failed"

wait_for 120 sql_is "$N" "SELECT count(*) FROM login_event WHERE NOT redelivered"
wait_for 30 sql_is "$N" "SELECT count(*) FROM relay"
assert_eq "$N" "$(sql "SELECT count(DISTINCT line_hash) FROM login_event")" "distinct lines"
assert_eq 0 "$(sql "SELECT count(*) FROM (SELECT line_hash FROM login_event WHERE NOT redelivered GROUP BY line_hash HAVING count(*) > 1) d")" "unmarked duplicates"
assert_eq "$N" "$(sql "SELECT sum(logins) FROM relay")" "login counts"
new=$(pgrep -f "authrelayd -f -c $T/authrelay.conf" | head -n 1)
[ -n "$new" ] && [ "$new" != "$victim" ] || fail "rsyslog did not restart authrelayd"
note "re-deliveries marked: $(sql "SELECT count(*) FROM login_event WHERE redelivered")"
ok "SIGKILL mid-stream: $N relays, $N unmarked audit rows, duplicates marked"
