#!/usr/bin/env bash
# The FIFO: writers come and go 100 times without losing a line or making
# the watcher spin; lines split across writes are joined; an over-long
# line is dropped without swallowing the next one.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/watcher-lib.sh"

pg_start
watcher_start "batch_max = 50"

# 100 writers, each opening, writing one login and closing (no writer
# stays open in between: the watcher must not see EOF or spin).
NET=$(free_testnet)	# none of the host's own addresses
for i in $(seq 1 100); do
	dovecot_login "user$i" "$NET.$i" > "$T/fifo"
done
wait_for 20 sql_is 100 "SELECT count(*) FROM relay"
ok "100 open/write/close cycles, 100 relays"

cpu() { awk '{print $14 + $15}' "/proc/$WATCHER_PID/stat"; }
before=$(cpu)
sleep 1	# measuring idleness needs an idle interval
after=$(cpu)
[ $((after - before)) -le 5 ] || fail "watcher used $((after - before)) ticks while idle (spinning?)"
ok "idle after writers closed ($((after - before)) ticks in 1 s)"

# A line split across two writes (a slow writer).
fifo_writer_open
line=$(dovecot_login split 192.0.2.150)
printf '%s' "${line:0:40}" >&$FIFO_FD
sleep 0.2	# let the watcher read the first half on its own
printf '%s\n' "${line:40}" >&$FIFO_FD
wait_for 10 has_relay 192.0.2.150
ok "split line joined"

# An over-long line (100 KiB, no newline for a while) then a login.
head -c 100000 /dev/zero | tr '\0' 'A' >&$FIFO_FD
printf '\n' >&$FIFO_FD
dovecot_login after 192.0.2.151 >&$FIFO_FD
wait_for 10 has_relay 192.0.2.151
ok "over-long line dropped, next line kept"
