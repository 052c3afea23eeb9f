#!/usr/bin/env bash
# test-courier.sh - the whole chain with real Courier: Debian's Courier
# POP3 and IMAP servers (run from their .deb files, which cannot be
# installed next to Dovecot; see courier-lib.sh) log real logins made by
# curl from distinct source addresses through courierlogger and a real
# rsyslogd (the shipped recipe) into authrelayd's FIFO and PostgreSQL;
# the shipped parsers/courier.conf must recognise them. auth-wrap under
# the real tcpserver then lets exactly the logged-in addresses relay, not
# a failed login's, never loopback (audited, not granted), and no longer
# after expiry. All on TEST-NET addresses in a private network namespace.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/e2e-lib.sh"
source "$(dirname "$0")/courier-lib.sh"
require_courier

SRV4=192.0.2.1 SRV6=2001:db8::1
ALICE=192.0.2.10 MALLORY=192.0.2.11 ERIN=192.0.2.12 BOB=2001:db8::10
SMTP=2525
EXPIRE=20	# long enough for every check before it on a busy machine

pg_start
netns_setup $SRV4 $ALICE $MALLORY $ERIN $SRV6 $BOB
e2e_config "expire = ${EXPIRE}s" "sweep_interval = 1s"
e2e_watcher_start
e2e_rsyslog_start authrelay-pipe

courier_config alice mallory erin bob carol dave
courier_start_all
ok "courier (from Debian's .debs) listening: POP3 $POP, IMAP $IMAP"

# --- logins with curl from chosen source addresses
login $ALICE pop3 alice pw-alice $SRV4 $POP || fail "alice's POP3 login"
login $ERIN imap erin pw-erin $SRV4 $IMAP || fail "erin's IMAP login"
login $BOB pop3 bob pw-bob "[$SRV6]" $POP || fail "bob's IPv6 POP3 login"
login 127.0.0.1 pop3 carol pw-carol 127.0.0.1 $POP || fail "carol's loopback login"
login ::1 imap dave pw-dave "[::1]" $IMAP || fail "dave's ::1 login"
login $MALLORY pop3 mallory wrong $SRV4 $POP && fail "a wrong password logged in"
ok "curl logins done (mallory's refused)"

# --- recorded: exactly the three non-loopback successes
wait_for 15 has_relay $ALICE
wait_for 10 has_relay $ERIN
wait_for 10 has_relay $BOB
wait_for 10 event_is 127.0.0.1 "ignored never_relay:loopback"
wait_for 10 event_is ::1 "ignored never_relay:loopback"
assert_eq "alice pop3 courier" "$(sql "SELECT username, service, parser FROM relay WHERE ip = '$ALICE'" | tr '|' ' ')" "alice's relay"
assert_eq "erin imap courier" "$(sql "SELECT username, service, parser FROM relay WHERE ip = '$ERIN'" | tr '|' ' ')" "erin's relay"
assert_eq "bob pop3 courier" "$(sql "SELECT username, service, parser FROM relay WHERE ip = '$BOB'" | tr '|' ' ')" "bob's IPv6 relay"
assert_eq 3 "$(sql "SELECT count(*) FROM relay")" "relays: exactly the successful non-loopback logins"
# mallory's LOGIN FAILED line reached the FIFO path but is no login
wait_for 10 grep -q "LOGIN FAILED, user=mallory" "$T/trusted.log"
e2e_assert_logins_and_relays

# --- the raw lines, as the trusted template saw them: courierlogger's
# tag, no PID, the IPv4 client as ::ffff:a.b.c.d
line=$(grep "user=alice," "$T/trusted.log" | grep 'LOGIN, ' | head -n 1)
[[ $line =~ ^v1\ t=[0-9]+\ uid=0\ pid=[0-9]+\ in=imuxsock\ from=[^\ ]*\ prog=pop3d\ msg=.*pop3d:\ LOGIN,\ user=alice,\ ip=\[::ffff:$ALICE\],\ port=\[[0-9]+\]$ ]] ||
    fail "trusted template line: $line"
ok "trusted template: $line"

# --- every line Courier sent (as on the wire, less the PRI) through the
# shipped parsers: exactly the five successful LOGIN lines match, as
# courier; Connection, LOGOUT, LOGIN FAILED, Disconnected do not.
wait_for 5 grep -q 'LOGOUT, user=dave' "$T/trusted.log"
sed -n 's/^v1 .* msg=//p' "$T/trusted.log" > "$T/raw.log"
parsed=$("$BIN/authrelayctl" parse -p "$TOP/parsers" "$T/raw.log" 2>/dev/null) ||
    fail "authrelayctl parse failed"
assert_eq '"parser":"courier","service":"pop3","user":"alice","ip":"192.0.2.10"
"parser":"courier","service":"imap","user":"erin","ip":"192.0.2.12"
"parser":"courier","service":"pop3","user":"bob","ip":"2001:db8::10"
"parser":"courier","service":"pop3","user":"carol","ip":"127.0.0.1"
"parser":"courier","service":"imap","user":"dave","ip":"::1"' \
    "$(sed 's/^{"line":[0-9]*,//; s/}$//' <<<"$parsed")" \
    "authrelayctl parse on Courier's own lines"
ok "authrelayctl parse: $(wc -l < "$T/raw.log") captured lines, 5 logins"

# --- expiry: the grant ends by itself, and not before EXPIRE seconds
granted_at=$(sql "SELECT extract(epoch FROM last_seen)::bigint FROM relay WHERE ip = '$ALICE'")
wait_for $((EXPIRE + 10)) verdict_is no $ALICE $SRV4 $SMTP
now=$(date +%s)
[ "$now" -ge $((granted_at + EXPIRE - 1)) ] ||
    fail "relay ended after $((now - granted_at))s, before the ${EXPIRE}s expiry"
wait_for 10 verdict6_is no $BOB
wait_for 10 sql_is 0 "SELECT count(*) FROM relay"
ok "relays ended after ${EXPIRE}s and were swept"

grep -qi 'error' "$T/rsyslog.err" && { cat "$T/rsyslog.err"; fail "rsyslogd errors"; }
grep -q 'event=fatal' "$T/watcher.log" && fail "watcher fatal: $(grep fatal "$T/watcher.log")"
ok "courier end to end"
