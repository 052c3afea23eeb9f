#!/usr/bin/env bash
# Clock jumps (libfaketime): the watcher's wall clock jumping a day either
# way changes nothing it records (times come from the database, timers
# from CLOCK_MONOTONIC); auth-wrap with a clock far off refuses the
# snapshot instead of granting from it.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/watcher/watcher-lib.sh"
LIBFT=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n 1)
[ -n "$LIBFT" ] || skip "libfaketime is missing"

pg_start
echo "+0" > "$T/offset"
mkfifo -m 0620 "$T/fifo"
watcher_config "cdb_file = $T/relay.cdb" "cdb_interval = 10ms" "expire = 3s" "sweep_interval = 200ms"
LD_PRELOAD=$LIBFT FAKETIME_TIMESTAMP_FILE=$T/offset FAKETIME_NO_CACHE=1 \
    FAKETIME_DONT_FAKE_MONOTONIC=1 \
    "$BIN/authrelayd" -f -v -c "$T/authrelay.conf" > "$T/watcher.log" 2>&1 &
WATCHER_PID=$!
track_pid "$WATCHER_PID"
wait_for 20 grep -q 'event=db_connected' "$T/watcher.log"
fifo_writer_open

echo "+1d" > "$T/offset"	# the watcher's wall clock jumps a day ahead
dovecot_login ahead 192.0.2.10 >&$FIFO_FD
wait_for 10 has_relay 192.0.2.10
assert_eq t "$(sql "SELECT expires_at BETWEEN now() AND now() + interval '4 seconds' FROM relay WHERE ip = '192.0.2.10'")" "expiry from the database clock"
wait_for 15 sql_is 0 "SELECT count(*) FROM relay WHERE ip = '192.0.2.10'"
ok "clock +1 day: recorded with database time, expired on time"

echo "-1d" > "$T/offset"	# and a day behind
dovecot_login behind 192.0.2.11 >&$FIFO_FD
wait_for 10 has_relay 192.0.2.11
assert_eq t "$(sql "SELECT expires_at BETWEEN now() AND now() + interval '4 seconds' FROM relay WHERE ip = '192.0.2.11'")" "expiry from the database clock"
wait_for 15 sql_is 0 "SELECT count(*) FROM relay WHERE ip = '192.0.2.11'"
ok "clock -1 day: recorded with database time, expired on time"

# auth-wrap reading the snapshot with a clock far off: no relay.
sed -i 's/^expire = 3s/expire = 30m/' "$T/authrelay.conf"
printf 'lookup = cdb\n' >> "$T/authrelay.conf"
kill -HUP "$WATCHER_PID"
wait_for 10 grep -q 'event=reloaded' "$T/watcher.log"
echo "+0" > "$T/offset"
dovecot_login carol 192.0.2.12 >&$FIFO_FD
wait_for 10 has_relay 192.0.2.12
wrap() { # faketime offset: prints RELAYCLIENT's state
	env AUTHRELAY_CONF="$T/authrelay.conf" TCPREMOTEIP=192.0.2.12 \
	    LD_PRELOAD=$LIBFT FAKETIME="$1" FAKETIME_DONT_FAKE_MONOTONIC=1 \
	    "$BIN/auth-wrap" sh -c 'echo "${RELAYCLIENT+set}"' 2>/dev/null
}
wrap_grants() { [ "$(wrap +0)" = set ]; }
wait_for 10 wrap_grants
assert_eq "" "$(wrap +2h)" "clock 2 hours ahead (relay expired by then)"
assert_eq "" "$(wrap -2d)" "clock 2 days behind (snapshot from the future)"
ok "auth-wrap: a clock far off never grants from the snapshot"
