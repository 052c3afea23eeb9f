#!/usr/bin/env bash
# A database that accepts connections and never answers: authrelayd keeps
# reading the FIFO, gives up on the connection by its own deadline, and
# once pointed (SIGHUP) at a working database writes everything it held.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/watcher/watcher-lib.sh"

pg_start
blackhole_start
good_db=$AUTHRELAY_DB
AUTHRELAY_DB="host=127.0.0.1 port=$(cat "$T/hole.port") dbname=x user=x connect_timeout=30"
mkfifo -m 0620 "$T/fifo"
watcher_config
"$BIN/authrelayd" -f -v -c "$T/authrelay.conf" > "$T/watcher.log" 2>&1 &
WATCHER_PID=$!
track_pid "$WATCHER_PID"
fifo_writer_open
NET=$(free_testnet)	# none of the host's own addresses
for i in $(seq 1 50); do dovecot_login "h$i" "$NET.$i" >&$FIFO_FD; done
read_all() { kill -USR1 "$WATCHER_PID"; grep -q 'event=counters lines=50 .* queued=50 ' "$T/watcher.log"; }
wait_for 10 read_all
ok "still reading while the database hangs"
wait_for 30 grep -q 'event=db_down error="connect timed out"' "$T/watcher.log"
ok "own connect deadline, not libpq's"

sed -i "s|^database = .*|database = $good_db|" "$T/authrelay.conf"
kill -HUP "$WATCHER_PID"
wait_for 30 sql_is 50 "SELECT count(*) FROM relay"
ok "all held events written after switching databases"
