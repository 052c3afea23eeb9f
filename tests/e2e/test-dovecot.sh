#!/usr/bin/env bash
# test-dovecot.sh - the whole chain with real software: Dovecot (from
# Debian) logs real POP3/IMAP logins made by curl from distinct source
# addresses through a real rsyslogd (the shipped recipe) into
# authrelayd's FIFO and PostgreSQL; auth-wrap under the real tcpserver
# then lets exactly the logged-in addresses relay, not a failed login's,
# never loopback (audited, not granted), and no longer after expiry.
# A UTF-8 user name (jörg@example.org) is recorded as Dovecot logged it
# and reaches qmail-smtpd as RELAYUSER.
# All on TEST-NET addresses in a private network namespace.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/e2e-lib.sh"
require_dovecot

SRV4=192.0.2.1 SRV6=2001:db8::1
ALICE=192.0.2.10 MALLORY=192.0.2.11 ERIN=192.0.2.12 BOB=2001:db8::10
JORG=192.0.2.13 JORG_NAME=$'j\xc3\xb6rg@example.org'
JORG_URL=j%C3%B6rg%40example.org
SMTP=2525
EXPIRE=20

pg_start
netns_setup $SRV4 $ALICE $MALLORY $ERIN $JORG $SRV6 $BOB
e2e_config "expire = ${EXPIRE}s" "sweep_interval = 1s"
e2e_watcher_start
e2e_rsyslog_start authrelay-pipe

dovecot_start alice mallory erin bob carol dave "$JORG_NAME"
ok "dovecot listening on $SRV4, $SRV6 and loopback"

# --- logins with curl from chosen source addresses
login $ALICE pop3 alice pw-alice $SRV4 $POP || fail "alice's POP3 login"
login $ERIN imap erin pw-erin $SRV4 $IMAP || fail "erin's IMAP login"
login $BOB pop3 bob pw-bob "[$SRV6]" $POP || fail "bob's IPv6 POP3 login"
login $MALLORY pop3 mallory wrong $SRV4 $POP && fail "a wrong password logged in"
login 127.0.0.1 pop3 carol pw-carol 127.0.0.1 $POP || fail "carol's loopback login"
login ::1 imap dave pw-dave "[::1]" $IMAP || fail "dave's ::1 login"
ok "curl logins done (mallory's refused)"

# --- recorded: exactly the three non-loopback successes
wait_for 15 has_relay $ALICE
wait_for 10 has_relay $ERIN
wait_for 10 has_relay $BOB
wait_for 10 event_is ::1 "ignored never_relay:loopback"
wait_for 10 event_is 127.0.0.1 "ignored never_relay:loopback"
assert_eq "alice pop3 dovecot" "$(sql "SELECT username, service, parser FROM relay WHERE ip = '$ALICE'" | tr '|' ' ')" "alice's relay"
assert_eq "erin imap" "$(sql "SELECT username, service FROM relay WHERE ip = '$ERIN'" | tr '|' ' ')" "erin's relay"
assert_eq "bob pop3" "$(sql "SELECT username, service FROM relay WHERE ip = '$BOB'" | tr '|' ' ')" "bob's IPv6 relay"
assert_eq 3 "$(sql "SELECT count(*) FROM relay")" "relays: exactly the successful non-loopback logins"
e2e_assert_logins_and_relays

# --- a UTF-8 user name: Dovecot logs it, the watcher records the same
# bytes, auth-wrap grants and passes it on as RELAYUSER
login $JORG imap "$JORG_URL" "pw-$JORG_URL" $SRV4 $IMAP || fail "jörg's IMAP login"
wait_for 15 has_relay $JORG
assert_eq "6ac3b67267406578616d706c652e6f7267 imap dovecot" \
    "$(sql "SELECT encode(convert_to(username, 'UTF8'), 'hex'), service, parser FROM relay WHERE ip = '$JORG'" | tr '|' ' ')" \
    "jörg's relay row (bytes as logged)"
grep -q "user=<$JORG_NAME>, method=PLAIN, rip=$JORG," "$T/trusted.log" ||
    fail "Dovecot did not log the UTF-8 name as it is"
wait_for 10 verdict_is "yes $JORG_NAME" $JORG $SRV4 $SMTP
out=$("$BIN/authrelayctl" -c "$T/authrelay.conf" list)
assert_contains "$out" "$JORG_NAME" "authrelayctl list shows the UTF-8 name"
ok "UTF-8 user $JORG_NAME recorded and relays with RELAYUSER=$JORG_NAME"

# --- the trusted template (etc/rsyslog/authrelay-trusted.conf) saw the
# same login with Dovecot's uid (its log process, root here)
wait_for 5 grep -q "rip=$ALICE" "$T/trusted.log"
line=$(grep "rip=$ALICE" "$T/trusted.log" | head -n 1)
[[ $line =~ ^v1\ t=[0-9]+\ uid=0\ pid=[0-9]+\ in=imuxsock\ from=[^\ ]*\ prog=dovecot\ msg=.*dovecot:\ pop3-login:\ Login:\ user=\<alice\>,\ method=PLAIN,\ rip=$ALICE,\ lip=$SRV4, ]] ||
    fail "trusted template line: $line"
ok "trusted template: $line"

# --- expiry: the grant ends by itself, and not before EXPIRE seconds
granted_at=$(sql "SELECT extract(epoch FROM last_seen)::bigint FROM relay WHERE ip = '$ALICE'")
wait_for $((EXPIRE + 10)) verdict_is no $ALICE $SRV4 $SMTP
now=$(date +%s)
[ "$now" -ge $((granted_at + EXPIRE - 1)) ] ||
    fail "relay ended after $((now - granted_at))s, before the ${EXPIRE}s expiry"
wait_for 10 verdict6_is no $BOB
wait_for $((EXPIRE + 10)) verdict_is no $JORG $SRV4 $SMTP	# granted last
wait_for 10 sql_is 0 "SELECT count(*) FROM relay"
ok "relays ended after ${EXPIRE}s and were swept"

# nothing in rsyslog's or Dovecot's error output worth failing for
grep -qi 'error' "$T/rsyslog.err" && { cat "$T/rsyslog.err"; fail "rsyslogd errors"; }
grep -q 'event=fatal' "$T/watcher.log" && fail "watcher fatal: $(grep fatal "$T/watcher.log")"
ok "dovecot end to end"
