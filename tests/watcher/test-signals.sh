#!/usr/bin/env bash
# SIGHUP with a broken config keeps the old one; SIGTERM flushes and exits 0;
# -n checks config and parsers.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/watcher-lib.sh"

pg_start
watcher_start
fifo_writer_open

# -n on the good config runs every parser sample.
"$BIN/authrelayd" -n -c "$T/authrelay.conf" > "$T/check.out" 2>&1 || { cat "$T/check.out"; fail "-n on a good config"; }
assert_contains "$(cat "$T/check.out")" "config ok" "-n output"

cp "$T/authrelay.conf" "$T/good.conf"
printf 'expire = soon\n' >> "$T/authrelay.conf"
if "$BIN/authrelayd" -n -c "$T/authrelay.conf" > "$T/check.out" 2>&1; then fail "-n accepted a bad duration"; fi
assert_contains "$(cat "$T/check.out")" "authrelay.conf:6: expire: bad duration" "-n names file, line and key"

kill -HUP "$WATCHER_PID"
wait_for 10 grep -q 'event=reload_failed' "$T/watcher.log"
dovecot_login alice 192.0.2.10 >&$FIFO_FD
wait_for 10 has_relay 192.0.2.10
ok "broken config on SIGHUP: old config kept, still recording"

printf 'bogus_key = 1\n' > "$T/bad2.conf"
if "$BIN/authrelayd" -n -c "$T/bad2.conf" > "$T/check.out" 2>&1; then fail "unknown key accepted"; fi
assert_contains "$(cat "$T/check.out")" "bad2.conf:1: bogus_key: unknown key" "unknown key message"
printf 'never_relay = 10.0.0.0/33\n' > "$T/bad3.conf"
if "$BIN/authrelayd" -n -c "$T/bad3.conf" > "$T/check.out" 2>&1; then fail "bad CIDR accepted"; fi
assert_contains "$(cat "$T/check.out")" "bad3.conf:1: never_relay: bad prefix length" "bad CIDR message"
ok "config errors name file:line: key"

# SIGTERM with events held in the queue (database away): once the
# database is back the queue is flushed before the exit, status 0.
pg_stop
for i in $(seq 1 300); do dovecot_login "t$i" "203.0.113.$((i % 250 + 1))" >&$FIFO_FD; done
read_all() { kill -USR1 "$WATCHER_PID"; grep -q 'event=counters lines=301 ' "$T/watcher.log"; }
wait_for 10 read_all
pg_restart_stopped
kill -TERM "$WATCHER_PID"
rc=0; wait "$WATCHER_PID" || rc=$?
assert_eq 0 "$rc" "exit status after SIGTERM"
assert_eq 301 "$(sql "SELECT count(*) FROM login_event")" "all events flushed"
grep -q 'event=stopped committed=301' "$T/watcher.log" || fail "no stop line"
ok "SIGTERM flushed the queue and exited 0"
