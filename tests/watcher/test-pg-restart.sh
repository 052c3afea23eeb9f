#!/usr/bin/env bash
# PostgreSQL stopped and restarted mid-stream: every event held in the
# queue is written once when it is back; nothing is lost or doubled.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/watcher-lib.sh"

pg_start
watcher_start
fifo_writer_open
NET=$(free_testnet)	# none of the host's own addresses
for i in $(seq 1 50); do dovecot_login "a$i" "$NET.$i" >&$FIFO_FD; done
wait_for 10 sql_is 50 "SELECT count(*) FROM login_event"

pg_stop
for i in $(seq 51 250); do
	dovecot_login "b$i" "$NET.$i" >&$FIFO_FD
done
wait_for 10 grep -q 'event=db_down' "$T/watcher.log"
# The watcher keeps reading while the database is away.
wait_for 10 kill -0 "$WATCHER_PID"
pg_restart_stopped
wait_for 30 sql_is 250 "SELECT count(*) FROM login_event"
assert_eq 250 "$(sql "SELECT count(*) FROM relay")" "relays after restart"
assert_eq 0 "$(sql "SELECT count(*) FROM (SELECT ip FROM login_event GROUP BY ip HAVING count(*) > 1) d")" "no duplicates"
ok "200 events held during the outage, written once"
