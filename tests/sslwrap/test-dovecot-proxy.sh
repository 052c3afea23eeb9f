#!/usr/bin/env bash
# test-dovecot-proxy.sh - PROXY v2 and v1 from sslwrap-hack to a real
# Dovecot: a curl pop3s login from 192.0.2.45 (and 2001:db8::45) is
# logged by Dovecot with the client's address as rip, never 127.0.0.1.
# v2 carries the TLS flag, so a Dovecot with disable_plaintext_auth=yes
# (its default) accepts the password and logs the session as secured;
# v1 cannot say so and the same Dovecot refuses the password.
. "$(dirname "$0")/common.sh"
make_cert
start_dovecot 1110 dovecot-v2 yes
start_dovecot 1111 dovecot-v1 no

# pop3s_login SRC URL: log in as alice and list the maildir.
pop3s_login() {
	in_ns curl -sS --max-time 10 -k --interface "$1" -u alice:wonderland "$2"
}
# dovecot_logged VERSION RIP LIP: that Dovecot logged a login; sets LINE.
dovecot_logged() {
	LINE=$(grep -F "pop3-login: Info: Login: user=<alice>, method=PLAIN, rip=$2, lip=$3, mpid=" \
	    "$T/dovecot-$1/log")
}

# Each PROXY version with each address family; a dual-stack listener
# for the last run, so an IPv4 client arrives IPv4-mapped and must be
# sent as TCP4.
port=995
for run in "v2 $CLIENT4 $FRONT4 $FRONT4" "v2 $CLIENT6 [$FRONT6] $FRONT6" \
    "v1 $CLIENT4 $FRONT4 $FRONT4" "v1 $CLIENT6 [$FRONT6] $FRONT6" \
    "v2 $CLIENT4 [::] $FRONT4"; do
	read -r version src listen lip <<<"$run"
	port=$((port + 1))
	case $version in v2) bport=1110 ;; v1) bport=1111 ;; esac
	start_front "$T/front-$port.log" -l "$listen:$port" -c "$T/cert.pem" \
	    -k "$T/key.pem" -b "127.0.0.1:$bport" -P "proxy-$version" -u authrelay
	case $lip in *:*) url="pop3s://[$lip]:$port/" ;; *) url="pop3s://$lip:$port/" ;; esac
	out=$(pop3s_login "$src" "$url") || fail "curl via proxy-$version: $out"
	assert_eq "1 43" "$(printf '%s' "$out" | tr -d '\r')" "LIST through the front"
	wait_for 5 dovecot_logged "$version" "$src" "$lip"
	dovecot_logged "$version" "$src" "$lip"
	case $version in
	v2) assert_contains "$LINE" ", secured, session=" "v2 session secured" ;;
	v1) assert_not_contains "$LINE" "secured" "v1 session" ;;
	esac
	wait_for 5 grep -q "event=close ip=$src .* end=backend" "$T/front-$port.log"
	ok "proxy-$version, listener $listen: Dovecot logged rip=$src lip=$lip"
done

# Under tcpserver: both ends from TCPREMOTEIP/TCPLOCALIP and ports.
ip netns exec "$NS" tcpserver -R -H "$FRONT4" 1996 "$BIN/sslwrap-hack" -e \
    -c "$T/cert.pem" -k "$T/key.pem" -b 127.0.0.1:1110 -P proxy-v2 \
    -u authrelay 2>"$T/inetd.log" &
track_pid $!
wait_for 10 listening 1996
out=$(pop3s_login "$CLIENT4" "pop3s://$FRONT4:1996/") || fail "curl via tcpserver: $out"
v2_logins() { # COUNT: secured v2 logins from $CLIENT4 to $FRONT4
	[ "$(grep -c "Login: .*rip=$CLIENT4, lip=$FRONT4, .*secured" "$T/dovecot-v2/log")" = "$1" ]
}
wait_for 5 v2_logins 3
ok "proxy-v2 under tcpserver: Dovecot logged rip=$CLIENT4 lip=$FRONT4"

# PROXY v1 to the strict Dovecot: no TLS flag, password refused.
start_front "$T/front-strict.log" -l "$FRONT4:1995" -c "$T/cert.pem" \
    -k "$T/key.pem" -b 127.0.0.1:1110 -P proxy-v1 -u authrelay
rc=0
out=$(pop3s_login "$CLIENT4" "pop3s://$FRONT4:1995/" 2>&1) || rc=$?
[ "$rc" -ne 0 ] || fail "plaintext login accepted without the TLS flag: $out"
wait_for 5 grep -q "pop3-login: Info: Disconnected: .*(no auth attempts .*rip=$CLIENT4, lip=$FRONT4" \
    "$T/dovecot-v2/log"
ok "without the v2 TLS flag the strict Dovecot refuses the password"

logins=$(cat "$T"/dovecot-v*/log | grep -c 'Login: user=<alice>')
assert_eq 6 "$logins" "Dovecot login lines"
assert_not_contains "$(cat "$T"/dovecot-v*/log)" "rip=127.0.0.1" "Dovecot log"
ok "no login was seen as coming from the front's own address"
