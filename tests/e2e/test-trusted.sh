#!/usr/bin/env bash
# test-trusted.sh - the shipped etc/rsyslog/authrelay-trusted.conf with
# real Dovecot: input_format = trusted, require_trusted = yes and
# trusted_uids = dovecot:0. A real login (Dovecot logs as root) relays;
# the very same Dovecot line sent through /dev/log by an ordinary user
# (uid nobody) is refused by the kernel-checked uid and never relays.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/e2e-lib.sh"
require_dovecot

SRV4=192.0.2.1 SRV6=2001:db8::1
ALICE=192.0.2.10 BOB=2001:db8::10 EVE=192.0.2.66 SMTP=2525

pg_start
netns_setup $SRV4 $ALICE $EVE $SRV6 $BOB
e2e_config "input_format = trusted" "require_trusted = yes" \
    "trusted_uids = dovecot:0"
e2e_watcher_start
e2e_rsyslog_start authrelay-trusted
dovecot_start alice bob
e2e_smtp_start 0 $SMTP
wait_for 10 port_open $SRV4 $SMTP
ok "dovecot, rsyslog (trusted recipe), authrelayd, tcpserver up"

# A forged Dovecot line from an ordinary user, before the real logins:
# once those are recorded, the forged one has been judged too.
forged="pop3-login: Login: user=<eve>, method=PLAIN, rip=$EVE, lip=$SRV4, mpid=4242, session=<Zm9yZ2VkZm9yZ2Vk>"
setpriv --reuid=65534 --regid=65534 --clear-groups -- \
    logger -u "$T/log.sock" -p mail.info -t dovecot -- "$forged" ||
    fail "logger as nobody"
wait_for 10 grep -q "rip=$EVE" "$T/trusted.log"
assert_contains "$(grep "rip=$EVE" "$T/trusted.log")" " uid=65534 " \
    "rsyslog carries the forger's real uid"

login $ALICE pop3 alice pw-alice $SRV4 $POP || fail "alice's POP3 login"
login $BOB imap bob pw-bob "[$SRV6]" $IMAP || fail "bob's IPv6 IMAP login"
wait_for 15 has_relay $ALICE
wait_for 10 has_relay $BOB
assert_eq "alice pop3" "$(sql "SELECT username, service FROM relay WHERE ip = '$ALICE'" | tr '|' ' ')" "alice's relay"
ok "real Dovecot logins (uid 0) recorded in trusted mode"

wait_for 10 event_is $EVE "ignored untrusted:uid"
assert_eq 0 "$(relay_count $EVE)" "forged line (uid 65534) recorded a relay"
assert_eq 0 "$(sql "SELECT count(*) FROM login_event WHERE outcome = 'granted' AND ip = '$EVE'")" \
    "forged line granted"
ok "forged Dovecot line from uid 65534 refused"

wait_for 10 verdict_is "yes alice" $ALICE $SRV4 $SMTP
assert_eq no "$(relay_verdict $EVE $SRV4 $SMTP)" "the forger's address does not relay"
assert_eq "yes bob" "$(relay_verdict6 $BOB)" "bob relays (IPv6)"
ok "auth-wrap under tcpserver: alice relays, the forger does not"
