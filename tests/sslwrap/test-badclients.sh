#!/usr/bin/env bash
# test-badclients.sh - a back end that is down, a client aborting
# mid-handshake, a silent (slow) client, plaintext instead of TLS, and
# old TLS versions: each gets a log line and a closed connection, and
# the front keeps serving with no descriptor leak.
. "$(dirname "$0")/common.sh"
make_cert
make_secret s3cret
start_front "$T/front.log" -l "$FRONT4:995" -c "$T/cert.pem" \
    -k "$T/key.pem" -b 127.0.0.1:110 -p "$T/pass" -u authrelay -t 1s
fds_before=$(nfds "$FRONT_PID")
first_front=$FRONT_PID

# Back end down: the handshake completes, then the client sees EOF.
out=$(tlsclient eof "$CLIENT4" "$FRONT4" 995)
assert_eq eof "$out" "client disconnected when the back end is down"
wait_for 5 grep -q "event=backend_down ip=$CLIENT4 backend=127.0.0.1:110 error=\"Connection refused\"" "$T/front.log"
ok "back end down: logged, client disconnected"

# Aborted handshake: half a ClientHello, then the socket closes.
tlsclient partial "$CLIENT4" "$FRONT4" 995
wait_for 5 grep -q "event=handshake_fail ip=$CLIENT4 reason=\"unexpected eof while reading\"" "$T/front.log"
ok "aborted handshake logged with the OpenSSL reason"

# Plaintext POP3 on the TLS port.
tlsclient garbage "$CLIENT4" "$FRONT4" 995 >/dev/null
wait_for 5 grep -q "event=handshake_fail ip=$CLIENT4 reason=\"wrong version number\"" "$T/front.log"
ok "plaintext client refused with the OpenSSL reason"

# A client that connects and says nothing is cut off by -t 1s.
out=$(tlsclient silent "$CLIENT4" "$FRONT4" 995)
assert_eq closed "$out" "silent client disconnected"
grep -q "event=handshake_fail ip=$CLIENT4 reason=\"handshake timeout\"" \
    "$T/front.log" || fail "handshake timeout logged"
ok "slow client timed out"

# TLS 1.2 and 1.3 only.
assert_eq refused "$(tlsclient version "$CLIENT4" "$FRONT4" 995 TLSv1_1)" "TLS 1.1"
wait_for 5 grep -q "event=handshake_fail ip=$CLIENT4 reason=\"unsupported protocol\"" "$T/front.log"
assert_eq TLSv1.2 "$(tlsclient version "$CLIENT4" "$FRONT4" 995 TLSv1_2)" "TLS 1.2"
assert_eq TLSv1.3 "$(tlsclient version "$CLIENT4" "$FRONT4" 995 TLSv1_3)" "TLS 1.3"
ok "TLS 1.1 refused, TLS 1.2 accepted"

# Now the back end comes up: the same front serves a full session.
start_echo_backend 110
out=$(tlsclient pop "$CLIENT4" "$FRONT4" 995)
assert_contains "$out" "+OK hello [SSL $CLIENT4:s3cret" "session after failures"
assert_contains "$out" "+OK bye" "QUIT answered"
ok "front kept serving"

# An idle session is ended by -i; the back end sees the end too.
start_front "$T/idle.log" -l "$FRONT4:999" -c "$T/cert.pem" \
    -k "$T/key.pem" -b 127.0.0.1:110 -p "$T/pass" -u authrelay -i 1s
ip netns exec "$NS" python3 "$TOP/tests/sslwrap/tlsclient.py" hold \
    "$CLIENT4" "$FRONT4" 999 >"$T/hold.out" &
track_pid $!
wait_for 10 grep -q ready "$T/hold.out"
wait_for 10 grep -q "event=close ip=$CLIENT4 in=0 out=.* end=idle_timeout" "$T/idle.log"
wait_for 10 no_children "$FRONT_PID"
ok "idle session ended by -i 1s"

wait_for 10 no_children "$FRONT_PID"
FRONT_PID=$first_front
assert_eq "$fds_before" "$(nfds "$FRONT_PID")" "front descriptors after the failures"
ok "no descriptor leak in the front ($fds_before open)"
