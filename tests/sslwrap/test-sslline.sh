#!/usr/bin/env bash
# test-sslline.sh - what the back end receives first: exactly
# "SSL <canonical-client-ip>:<secret>\r\n" (IPv6 bracketed, IPv4-mapped
# unmapped), standalone and under a real tcpserver; the relay handles a
# TCP half-close from the client; a secret file with loose permissions
# is refused at start.
. "$(dirname "$0")/common.sh"
make_cert
make_secret 's3cret:with:colons'
start_echo_backend 110
CR=$'\r'

# Standalone, IPv4 listener.
start_front "$T/front4.log" -l "$FRONT4:995" -c "$T/cert.pem" \
    -k "$T/key.pem" -b 127.0.0.1:110 -p "$T/pass" -u authrelay
out=$(tlsclient pop "$CLIENT4" "$FRONT4" 995)
assert_contains "$out" "+OK hello [SSL $CLIENT4:s3cret:with:colons$CR]" "greeting"
assert_contains "$out" "+OK bye" "QUIT answered"
assert_eq "SSL $CLIENT4:s3cret:with:colons$CR" "$(tail -n 1 "$T/firstlines")" \
    "first line at the back end (IPv4)"
ok "IPv4 client: SSL line with the client's address"

# Half-close: the client ends its side (bare TCP FIN, no close_notify);
# the back end sees EOF and still gets its last words to the client.
out=$(tlsclient halfclose "$CLIENT4" "$FRONT4" 995)
assert_contains "$out" "+OK got DATA$CR" "data before the half-close"
assert_contains "$out" "+OK eof$CR" "reply after the half-close"
ok "half-close passed on to the back end, reply relayed"

# Dual-stack listener: an IPv4 client arrives as ::ffff:192.0.2.45 and
# must be sent unmapped; an IPv6 client is bracketed.
start_front "$T/front6.log" -l "[::]:997" -c "$T/cert.pem" \
    -k "$T/key.pem" -b 127.0.0.1:110 -p "$T/pass" -u authrelay
tlsclient pop "$CLIENT4" "$FRONT4" 997 >/dev/null
assert_eq "SSL $CLIENT4:s3cret:with:colons$CR" "$(tail -n 1 "$T/firstlines")" \
    "first line at the back end (IPv4-mapped)"
tlsclient pop "$CLIENT6" "$FRONT6" 997 >/dev/null
assert_eq "SSL [$CLIENT6]:s3cret:with:colons$CR" "$(tail -n 1 "$T/firstlines")" \
    "first line at the back end (IPv6)"
grep -q "event=connect ip=$CLIENT4 " "$T/front6.log" || fail "mapped address logged"
ok "IPv4-mapped client unmapped, IPv6 client bracketed"

# Under tcpserver (inetd mode): TLS on fds 0/1, client from TCPREMOTEIP,
# secret file from SSL_HACK_PASS.
SSL_HACK_PASS=$T/pass ip netns exec "$NS" tcpserver -R -H "$FRONT4" 996 \
    "$BIN/sslwrap-hack" -e -c "$T/cert.pem" -k "$T/key.pem" \
    -b 127.0.0.1:110 -u authrelay 2>"$T/inetd.log" &
track_pid $!
wait_for 10 listening 996
out=$(tlsclient pop "$CLIENT4" "$FRONT4" 996)
assert_contains "$out" "+OK bye" "session under tcpserver"
assert_eq "SSL $CLIENT4:s3cret:with:colons$CR" "$(tail -n 1 "$T/firstlines")" \
    "first line at the back end (tcpserver mode)"
wait_for 5 grep -q "event=close ip=$CLIENT4 in=6 out=.* end=backend" "$T/inetd.log"
ok "tcpserver mode: SSL line from TCPREMOTEIP, SSL_HACK_PASS honoured"

# A unix socket back end (-b /path), as the unprivileged user.
ip netns exec "$NS" python3 "$TOP/tests/sslwrap/tlsclient.py" unixbackend \
    "$T/pop.sock" "$T/firstlines" &
track_pid $!
wait_for 10 test -S "$T/pop.sock"
start_front "$T/frontu.log" -l "$FRONT4:998" -c "$T/cert.pem" \
    -k "$T/key.pem" -b "$T/pop.sock" -p "$T/pass" -u authrelay
out=$(tlsclient pop "$CLIENT4" "$FRONT4" 998)
assert_contains "$out" "+OK bye" "session to the unix socket back end"
assert_eq "SSL $CLIENT4:s3cret:with:colons$CR" "$(tail -n 1 "$T/firstlines")" \
    "first line at the back end (unix socket)"
ok "unix socket back end"

# A secret file others can read is refused (the same check as the popup).
chmod 644 "$T/pass"
rc=0
"$BIN/sslwrap-hack" -c "$T/cert.pem" -k "$T/key.pem" -p "$T/pass" \
    -u authrelay </dev/null 2>"$T/loose.err" || rc=$?
assert_eq 100 "$rc" "exit status with a loose secret file"
assert_contains "$(cat "$T/loose.err")" "allows group/other access" "diagnostic"
ok "secret file with mode 0644 refused"
