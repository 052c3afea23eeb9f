#!/usr/bin/env bash
# test-postfixmap.sh - the map variant: a real Postfix (private instance, as
# test-postfix.sh) with check_client_access on a cdb table written by
# lib/postfixmap (through build/tests/postfixmap-tool, standing in for the
# watcher's export): Postfix reads the format (postfix-cdb), relays for an
# address in the table, refuses it for others, and refuses again once the
# table is rewritten without the expired entry (a map has no exact expiry:
# only a rewrite ends the relay).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/postfix-lib.sh"
require_postfix
postconf -m 2>/dev/null | grep -qx cdb || skip "Postfix lacks cdb tables (apt-get install postfix-cdb)"
MAPTOOL=$TOP/build/tests/postfixmap-tool
[ -x "$MAPTOOL" ] || skip "build/tests/postfixmap-tool not built (make test-programs)"

PF_ADDR=192.0.2.1
netns_setup "$PF_ADDR" 192.0.2.10 192.0.2.11
MAP=$T/map/postfix-relay
mkdir -p "$T/map"
now=$(date +%s)
assert_eq 0 "$("$MAPTOOL" "$MAP.cdb" "$now")" "empty map"
# the recipe's spawn service stays defined (unused); relaying by the map
: >"$T/unused.conf"
postfix_start "$PF_ADDR" "$T/unused.conf" \
    "smtpd_relay_restrictions = permit_mynetworks, check_client_access cdb:$MAP, reject_unauth_destination"

assert_eq 554 "$(rcpt 192.0.2.10 someone@elsewhere.test)" "not in the map"
assert_eq 250 "$(rcpt 192.0.2.10 postmaster@example.test)" "own domain"
ok "Postfix refuses relay with an empty map"

now=$(date +%s)
exp=$((now + 600))
assert_eq 2 "$("$MAPTOOL" "$MAP.cdb" "$now" 192.0.2.10 "$exp" 2001:db8::10 "$exp" \
    192.0.2.12 $((now - 1)))" "records written (expired one left out)"
assert_eq "OK" "$(postmap -q 192.0.2.10 "cdb:$MAP")" "postmap reads the map"
assert_eq "" "$(postmap -q 192.0.2.12 "cdb:$MAP" || true)" "expired entry absent"
wait_for 30 rcpt_is 250 192.0.2.10 someone@elsewhere.test
assert_eq 554 "$(rcpt 192.0.2.11 someone@elsewhere.test)" "another address"
ok "Postfix relays for an address in the map only"

# at its expiry the writer rewrites the map without it
assert_eq 1 "$("$MAPTOOL" "$MAP.cdb" "$exp" 192.0.2.10 "$exp" 2001:db8::10 $((exp + 1)))" \
    "rewrite at expiry"
wait_for 30 rcpt_is 554 192.0.2.10 someone@elsewhere.test
assert_contains "$(cat "$PF/maillog")" "Relay access denied" "554 reason"
assert_not_contains "$(cat "$PF/maillog")" "fatal" "no Postfix fatal errors"
ok "Postfix refuses relay once the map is rewritten"

# The watcher's own export: authrelayd --sync keeps the same map from the
# relay table, on a grant and on a revoke.
pg_start
cat >"$T/sync.conf" <<CONF
database = $AUTHRELAY_DB
postfix_map = $MAP.cdb
cdb_interval = 100ms
user =
CONF
"$BIN/authrelayd" --sync -f -v -c "$T/sync.conf" >"$T/sync.log" 2>&1 &
SYNC_PID=$!
track_pid "$SYNC_PID"
wait_for 30 sh -c "[ -z \"\$(postmap -q 192.0.2.10 cdb:$MAP)\" ]"	# the table: empty
sql "INSERT INTO relay (ip, username, parser, service, first_seen, last_seen,
    expires_at) VALUES ('192.0.2.11', 'bea', 't', 'pop3', now(), now(),
    now() + interval '10 minutes')"
wait_for 30 sh -c "[ \"\$(postmap -q 192.0.2.11 cdb:$MAP)\" = OK ]"
wait_for 30 rcpt_is 250 192.0.2.11 someone@elsewhere.test
sql "DELETE FROM relay WHERE ip = '192.0.2.11'"
wait_for 30 rcpt_is 554 192.0.2.11 someone@elsewhere.test
kill -TERM "$SYNC_PID"; wait "$SYNC_PID" || true
ok "authrelayd --sync writes the map: grant and revoke reach Postfix"
