#!/usr/bin/env bash
# authrelayctl against a real database and a real watcher: list, allow,
# revoke, check, expire, audit, stats, and clear errors for bad input.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/watcher-lib.sh"

pg_start
watcher_start
fifo_writer_open
ctl() { "$BIN/authrelayctl" -c "$T/authrelay.conf" "$@"; }

dovecot_login alice@example.org 192.0.2.10 >&$FIFO_FD
wait_for 10 has_relay 192.0.2.10

out=$(ctl list)
assert_contains "$out" "192.0.2.10" "list shows the relay"
assert_contains "$out" "alice@example.org" "list shows the user"
ok "list"

ctl check 192.0.2.10 >/dev/null || fail "check of an active relay"
ctl check ::ffff:192.0.2.10 >/dev/null || fail "check canonicalises"
if ctl check 192.0.2.11 >/dev/null; then fail "check of an unknown address"; fi
ok "check exit codes"

ctl allow 198.51.100.20 1h >/dev/null || fail "allow"
ctl check 198.51.100.20 >/dev/null || fail "allowed address not active"
assert_eq t "$(sql "SELECT expires_at > now() + interval '59 minutes' FROM relay WHERE ip = '198.51.100.20'")" "allow duration"
if ctl allow 127.0.0.1 >/dev/null 2>&1; then fail "allow loopback"; fi
err=$(ctl allow 127.1 2>&1 || true)
assert_contains "$err" "127.1: not an IP address" "bad IP message"
err=$(ctl allow 198.51.100.21 forever 2>&1 || true)
assert_contains "$err" "forever: bad duration" "bad duration message"
err=$(ctl allow 198.51.100.21 2d 2>&1 || true)
assert_contains "$err" "2d: longer than auth-wrap honours" "too long a grant"
ok "allow, with clear errors"

ctl revoke 198.51.100.20 >/dev/null || fail "revoke"
if ctl check 198.51.100.20 >/dev/null; then fail "revoked address still active"; fi
if ctl revoke 198.51.100.20 >/dev/null 2>&1; then fail "second revoke succeeded"; fi
ok "revoke"

# An expired row (the sweeper has not run yet) is not active, and expire removes it.
sql "UPDATE relay SET expires_at = now() - interval '1 second' WHERE ip = '192.0.2.10'"
if ctl check 192.0.2.10 >/dev/null; then fail "expired relay reported active"; fi
assert_contains "$(ctl expire)" "expired 1 relays" "expire"
assert_eq 0 "$(relay_count 192.0.2.10)" "row gone after expire"
ok "expiry is exact and expire sweeps"

out=$(ctl audit --ip 198.51.100.20)
assert_contains "$out" "granted" "audit shows the grant"
assert_contains "$out" "revoked" "audit shows the revoke"
out=$(ctl audit --user alice@example.org --since 1h)
assert_contains "$out" "192.0.2.10" "audit by user"
out=$(ctl audit --since 2000-01-01)
assert_contains "$out" "192.0.2.10" "audit since a timestamp"
assert_contains "$(ctl stats)" "active relays" "stats"
ok "audit and stats"

err=$("$BIN/authrelayctl" -c "$T/authrelay.conf" frobnicate 2>&1 || true)
assert_contains "$err" "unknown command 'frobnicate'" "unknown command"
ok "unknown command refused"
