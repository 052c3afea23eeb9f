#!/usr/bin/env bash
# test-concurrency.sh - 1000 concurrent POP3S sessions through one
# front (each: handshake, greeting with the SSL line, QUIT), then no
# child left and no descriptor leaked; and the connection cap: at -n 2
# a third client waits in the listen backlog until a slot frees.
. "$(dirname "$0")/common.sh"
make_cert
make_secret s3cret
start_echo_backend 110
N=1000

start_front "$T/front.log" -l "$FRONT4:995" -c "$T/cert.pem" \
    -k "$T/key.pem" -b 127.0.0.1:110 -p "$T/pass" -u authrelay -n "$N"
fds_before=$(nfds "$FRONT_PID")
out=$(tlsclient many "$CLIENT4" "$FRONT4" 995 "$N" "[SSL $CLIENT4:s3cret")
assert_eq "ok $N" "$(printf '%s\n' "$out" | head -n 1)" "sessions completed ($out)"
wait_for 30 no_children "$FRONT_PID"
assert_eq "$N" "$(grep -c "event=close ip=$CLIENT4 in=6 .* end=backend" "$T/front.log")" \
    "close lines with byte counts"
assert_eq "$fds_before" "$(nfds "$FRONT_PID")" "front descriptors after $N sessions"
ok "$N concurrent sessions, every child gone, descriptors $fds_before before and after"

# The cap: two held sessions fill -n 2.
queued() { # PORT COUNT: COUNT connections wait in PORT's accept queue
	[ "$(in_ns ss -Hltn "sport = :$1" | awk '{print $2}')" = "$2" ]
}
# hold NAME: a session held open until the client is killed (PID in $HELD).
hold() {
	ip netns exec "$NS" python3 "$TOP/tests/sslwrap/tlsclient.py" hold \
	    "$CLIENT4" "$FRONT4" 998 >"$T/$1.out" &
	HELD=$!
	track_pid "$HELD"
}
start_front "$T/cap.log" -l "$FRONT4:998" -c "$T/cert.pem" \
    -k "$T/key.pem" -b 127.0.0.1:110 -p "$T/pass" -u authrelay -n 2
hold h1; h1=$HELD
hold h2
wait_for 10 grep -q ready "$T/h1.out"
wait_for 10 grep -q ready "$T/h2.out"
wait_for 5 grep -q 'event=cap_reached max=2' "$T/cap.log"
tlsclient pop "$CLIENT4" "$FRONT4" 998 >"$T/third.out" &
third=$!
track_pid "$third"
wait_for 10 queued 998 1
assert_eq 2 "$(nchildren "$FRONT_PID")" "children at the cap"
assert_eq 2 "$(grep -c 'event=connect' "$T/cap.log")" "connections accepted at the cap"
ok "at the cap the third client waits in the backlog"
kill "$h1"	# the first client goes away
wait "$third" || fail "third client failed"
assert_contains "$(cat "$T/third.out")" "+OK bye" "third session after a slot freed"
assert_eq 3 "$(grep -c 'event=connect' "$T/cap.log")" "connections accepted"
ok "the waiting client is served once a slot frees"
