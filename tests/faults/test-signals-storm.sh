#!/usr/bin/env bash
# SIGHUP storms while logins arrive: no crash, no lost line; then a clean stop.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/watcher/watcher-lib.sh"

pg_start
watcher_start
fifo_writer_open
( for i in $(seq 1 300); do kill -HUP "$WATCHER_PID" 2>/dev/null || exit; kill -USR1 "$WATCHER_PID" 2>/dev/null || exit; done ) &
storm=$!
for i in $(seq 1 1000); do dovecot_login "s$i" "198.51.$((i / 250)).$((i % 250 + 1))" >&$FIFO_FD; done
wait "$storm"
wait_for 30 sql_is 1000 "SELECT count(*) FROM relay"
kill -0 "$WATCHER_PID" || fail "watcher died in the storm"
[ "$(grep -c 'event=reloaded' "$T/watcher.log")" -ge 1 ] || fail "no reload happened"
kill -TERM "$WATCHER_PID"
rc=0; wait "$WATCHER_PID" || rc=$?
assert_eq 0 "$rc" "exit status"
ok "300 SIGHUP+SIGUSR1 pairs during 1000 logins: all recorded, clean exit"
