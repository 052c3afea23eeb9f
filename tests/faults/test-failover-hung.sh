#!/usr/bin/env bash
# A multi-host conninfo whose first host hangs (accepts, never answers:
# a frozen primary, or packets dropped): libpq ignores connect_timeout for
# non-blocking connections, so authrelayd's own connect deadline must move
# the next attempt on to the next host, and the logins reach the server
# that answers. authrelayctl (blocking libpq, connect_timeout) too.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/watcher/watcher-lib.sh"

pg_start
blackhole_start
port=$(psql -X -A -t -c 'SHOW port')
MULTI="host=127.0.0.1,$PGHOST port=$(cat "$T/hole.port"),$port dbname=authrelay user=authrelay target_session_attrs=read-write connect_timeout=2"
watcher_config "database = $MULTI"
mkfifo -m 0620 "$T/fifo"
"$BIN/authrelayd" -f -v -c "$T/authrelay.conf" > "$T/watcher.log" 2>&1 &
WATCHER_PID=$!
track_pid "$WATCHER_PID"
fifo_writer_open
net=$(free_testnet)	# none of this host's own addresses: those never relay
for i in $(seq 1 20); do dovecot_login "h$i" "$net.$i" >&$FIFO_FD; done
wait_for 30 grep -q 'event=db_down error="connect timed out"' "$T/watcher.log"
t0=$SECONDS
wait_for 60 sql_is 20 "SELECT count(*) FROM relay"
note "written $((SECONDS - t0)) s after the first attempt timed out"
assert_eq 1 "$(grep -c 'event=db_down error="connect timed out"' "$T/watcher.log")" \
    "timed-out attempts before the answering host was tried"
list=$("$BIN/authrelayctl" -c "$T/authrelay.conf" list)
assert_contains "$list" "$net.20" "authrelayctl list through the same string"
ok "a hung first host: the next attempt goes to the next host"
