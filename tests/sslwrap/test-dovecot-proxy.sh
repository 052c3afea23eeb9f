#!/usr/bin/env bash
# test-dovecot-proxy.sh - PROXY v2 and v1 from sslwrap-hack to a real
# Dovecot: a curl pop3s login from 192.0.2.45 (and 2001:db8::45) is
# logged by Dovecot with the client's address as rip, never 127.0.0.1.
. "$(dirname "$0")/common.sh"
make_cert
start_dovecot 1110

# pop3s_login SRC URL: log in as alice and list the maildir.
pop3s_login() {
	in_ns curl -sS --max-time 10 -k --interface "$1" -u alice:wonderland "$2"
}
# dovecot_logged RIP LIP: Dovecot logged a successful login.
dovecot_logged() {
	grep -qF "pop3-login: Info: Login: user=<alice>, method=PLAIN, rip=$1, lip=$2," \
	    "$T/dovecot/log"
}

# PROXY v2 over IPv4.
start_front "$T/front-v2.log" -l "$FRONT4:995" -c "$T/cert.pem" \
    -k "$T/key.pem" -b 127.0.0.1:1110 -P proxy-v2 -u authrelay
out=$(pop3s_login "$CLIENT4" "pop3s://$FRONT4:995/") ||
    fail "curl via proxy-v2: $out"
assert_eq "1 43" "$(printf '%s' "$out" | tr -d '\r')" "LIST through the front"
wait_for 5 dovecot_logged "$CLIENT4" "$FRONT4"
wait_for 5 grep -q "event=close ip=$CLIENT4 .* end=backend" "$T/front-v2.log"
ok "proxy-v2: Dovecot logged rip=$CLIENT4 lip=$FRONT4"

# PROXY v1 over IPv6, front on [2001:db8::1]:995.
start_front "$T/front-v1.log" -l "[$FRONT6]:995" -c "$T/cert.pem" \
    -k "$T/key.pem" -b 127.0.0.1:1110 -P proxy-v1 -u authrelay
out=$(pop3s_login "$CLIENT6" "pop3s://[$FRONT6]:995/") ||
    fail "curl via proxy-v1: $out"
assert_contains "$out" "1 43" "LIST through the front"
wait_for 5 dovecot_logged "$CLIENT6" "$FRONT6"
ok "proxy-v1: Dovecot logged rip=$CLIENT6 lip=$FRONT6"

logins=$(grep -c 'Login: user=<alice>' "$T/dovecot/log")
assert_eq 2 "$logins" "Dovecot login lines"
assert_not_contains "$(cat "$T/dovecot/log")" "rip=127.0.0.1" "Dovecot log"
ok "no login was seen as coming from the front's own address"
