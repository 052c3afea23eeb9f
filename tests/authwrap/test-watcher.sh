#!/usr/bin/env bash
# test-watcher.sh - end to end with the real watcher: a login line written
# into authrelayd's FIFO makes auth-wrap grant (through the cdb snapshot
# the watcher exports); the grant ends exactly at expiry, before any
# sweep; the same configuration file serves both programs.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"
[ -x "$BIN/authrelayd" ] || skip "bin/authrelayd not built"
. "$TOP/tests/watcher/watcher-lib.sh"

pg_start
watcher_start "cdb_file = $T/relay.cdb" "cdb_interval = 50ms" "expire = 3s" \
    "sweep_interval = 1h" "relayuser = yes" \
    "never_relay = 127.0.0.0/8 ::1/128 198.51.100.0/24"
conf=$T/authrelay.conf
fifo_writer_open
dovecot_login alice 192.0.2.10 >&$FIFO_FD
dovecot_login carol 198.51.100.7 >&$FIFO_FD
wait_for 10 aw_grants "$conf" 192.0.2.10
assert_eq "RELAYCLIENT= RELAYUSER=alice " "$(relay_of "$conf" 192.0.2.10)" \
    "recorded login relays"
assert_eq none "$(relay_of "$conf" 198.51.100.7)" "never_relay address"
assert_eq none "$(relay_of "$conf" 192.0.2.11)" "someone else"
ok "watcher login -> auth-wrap grant"

# exact expiry: no sweep runs (1h), the row is still there
wait_for 10 aw_denies "$conf" 192.0.2.10
assert_eq 1 "$(relay_count 192.0.2.10)" "row not yet swept"
ok "expired before the sweeper ran"
