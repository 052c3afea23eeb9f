#!/usr/bin/env bash
# test-postfix.sh - a real Postfix (private instance in a network namespace,
# the recipe's smtpd_relay_restrictions and spawn line from etc/postfix/)
# asks authrelay-policy: a client gets 250 for a recipient outside the
# server's domains after a POP/IMAP login from its address (recorded by the
# real authrelayd from its FIFO), 554 before it, from another address, and
# after the exact expiry (no sweep runs).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/postfix-lib.sh"
require_postfix
[ -x "$BIN/authrelayd" ] && [ -x "$BIN/authrelay-policy" ] ||
    skip "bin/authrelayd or bin/authrelay-policy not built"
. "$TOP/tests/watcher/watcher-lib.sh"
getent passwd authrelay >/dev/null || skip "user authrelay missing (tools/deps.sh)"

PF_ADDR=192.0.2.1
netns_setup "$PF_ADDR" 192.0.2.10 192.0.2.11 2001:db8::10
pg_start
# expire: long enough to see the grant on a busy machine, short enough
# to wait for; the sweeper never runs (1h), so expiry is the lookup's.
watcher_start "cdb_file = $T/relay.cdb" "cdb_interval = 50ms" "expire = 20s" \
    "sweep_interval = 1h" "never_relay = 127.0.0.0/8 ::1/128"
chmod 0644 "$T/authrelay.conf"
postfix_start "$PF_ADDR" "$T/authrelay.conf"

assert_eq 250 "$(rcpt 192.0.2.11 postmaster@example.test)" \
    "own domain accepted from anyone"
assert_eq 554 "$(rcpt 192.0.2.10 someone@elsewhere.test)" "relay before login"
ok "Postfix refuses relay before a login"

fifo_writer_open
dovecot_login alice 192.0.2.10 >&$FIFO_FD
wait_for 20 rcpt_is 250 192.0.2.10 someone@elsewhere.test
# the policy process runs as the watcher's user under spawn(8)
assert_eq authrelay "$(ps -o user= -C authrelay-policy | sort -u | head -n 1)" \
    "spawn user"
assert_eq 554 "$(rcpt 192.0.2.11 someone@elsewhere.test)" "another address"
ok "Postfix relays for the logged-in address only"

wait_for 60 rcpt_is 554 192.0.2.10 someone@elsewhere.test
assert_eq 1 "$(relay_count 192.0.2.10)" "row not yet swept: expiry was exact"
ok "Postfix refuses relay after expiry"

# the refusals were Postfix's relay check, after asking the policy
# server, which reported no fault of its own
assert_contains "$(cat "$PF/maillog")" "Relay access denied" "554 reason"
assert_not_contains "$(cat "$PF/maillog")" "authrelay-policy: warning" \
    "no policy warnings"
assert_not_contains "$(cat "$PF/maillog")" "policy service" \
    "Postfix saw no policy service fault"
ok "no faults logged"
