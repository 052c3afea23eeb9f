#!/usr/bin/env bash
# test-omprog.sh - the shipped etc/rsyslog/authrelay-omprog.conf with real
# Dovecot: rsyslog itself runs authrelayd (fifo = -, confirm = yes), which
# drops to user authrelay; real logins relay through auth-wrap under
# tcpserver. authrelayd killed: a login made while it is down is kept in
# rsyslog's queue, rsyslog restarts authrelayd, and that login relays.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/e2e-lib.sh"
require_dovecot

SRV4=192.0.2.1 SRV6=2001:db8::1
ALICE=192.0.2.10 ERIN=192.0.2.12 BOB=2001:db8::10 SMTP=2525

pg_start
netns_setup $SRV4 $ALICE $ERIN $SRV6 $BOB
e2e_config "fifo = -" "confirm = yes" "confirm_journal = $T/cdb/omprog.journal"
e2e_rsyslog_start authrelay-omprog
omprog_child() { pgrep -P "$RSYSLOG_PID" -f "$BIN/authrelayd -f -c $T/authrelay.conf"; }
# omprog starts its program with the first message: Dovecot's start-up line
dovecot_start alice erin bob
wait_for 20 omprog_child
CHILD=$(omprog_child)
track_pid "$CHILD"
wait_for 20 grep -q 'event=db_connected' "$T/watcher.log"
assert_eq authrelay "$(ps -o user= -p "$CHILD")" "authrelayd under rsyslog dropped to authrelay"
e2e_smtp_start 0 $SMTP
wait_for 10 port_open $SRV4 $SMTP
ok "rsyslog runs authrelayd $CHILD as authrelay; dovecot and tcpserver up"

login $ALICE pop3 alice pw-alice $SRV4 $POP || fail "alice's POP3 login"
login $BOB pop3 bob pw-bob "[$SRV6]" $POP || fail "bob's IPv6 POP3 login"
wait_for 15 has_relay $ALICE
wait_for 10 has_relay $BOB
wait_for 10 verdict_is "yes alice" $ALICE $SRV4 $SMTP
assert_eq "yes bob" "$(relay_verdict6 $BOB)" "bob relays (IPv6)"
assert_eq no "$(relay_verdict $ERIN $SRV4 $SMTP)" "erin has not logged in yet"
ok "logins through omprog relay"

# authrelayd dies; erin logs in meanwhile; rsyslog restarts authrelayd
# and re-sends what was not acknowledged
kill -KILL "$CHILD"
login $ERIN imap erin pw-erin $SRV4 $IMAP || fail "erin's IMAP login"
wait_for 30 has_relay $ERIN
NEW=$(omprog_child) || fail "no authrelayd under rsyslog after the kill"
track_pid "$NEW"
[ "$NEW" != "$CHILD" ] || fail "authrelayd was not restarted"
wait_for 10 verdict_is "yes erin" $ERIN $SRV4 $SMTP
assert_eq 1 "$(sql "SELECT count(*) FROM login_event WHERE ip = '$ERIN' AND NOT redelivered")" \
    "erin's login audited once"
ok "login while authrelayd was down relays after rsyslog restarted it ($CHILD -> $NEW)"
