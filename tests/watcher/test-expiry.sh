#!/usr/bin/env bash
# A relay ends after `expire`; the sweeper deletes it, the audit row stays.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/watcher-lib.sh"

pg_start
watcher_start "expire = 2s" "sweep_interval = 200ms"
fifo_writer_open
dovecot_login alice 192.0.2.10 >&$FIFO_FD
wait_for 10 has_relay 192.0.2.10
assert_eq t "$(sql "SELECT expires_at - at = interval '2 seconds' FROM login_event WHERE ip = '192.0.2.10'")" "expiry stored"
# Awaited, not slept: the row must go once expires_at has passed.
wait_for 15 sql_is 0 "SELECT count(*) FROM relay WHERE ip = '192.0.2.10'"
assert_eq 1 "$(audit_count 192.0.2.10 "AND outcome = 'granted'")" "audit kept"
grep -q 'event=expired relays=1' "$T/watcher.log" || fail "no expiry log line"
ok "relay expired and swept"
