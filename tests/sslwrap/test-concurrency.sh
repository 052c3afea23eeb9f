#!/usr/bin/env bash
# test-concurrency.sh - concurrent POP3S sessions through one front,
# asserting correctness, never speed (the 1000-session load and its
# figures are in bench/sslwrap-bench.sh): N sessions (default 40) at a
# cap of 8 all complete (so capped slots are freed as children are
# reaped), never more than 8 children at once, no child left and no
# descriptor leaked; and the cap itself: at -n 2 a third client waits
# in the listen backlog until a slot frees. Deadlines are generous
# (-t 120s, clients 120 s a step): a busy machine is slow, not wrong.
. "$(dirname "$0")/common.sh"
make_cert
make_secret s3cret
start_echo_backend 110
N=${N:-40}
CAP=8
export TLSCLIENT_TIMEOUT=120

start_front "$T/front.log" -l "$FRONT4:995" -c "$T/cert.pem" -t 120s \
    -k "$T/key.pem" -b 127.0.0.1:110 -p "$T/pass" -u authrelay -n "$CAP"
fds_before=$(nfds "$FRONT_PID")
# Sample the number of children while the sessions run.
( while :; do nchildren "$FRONT_PID"; sleep 0.05; done ) > "$T/children.txt" 2>/dev/null &
SAMPLER=$!
track_pid "$SAMPLER"
out=$(tlsclient many "$CLIENT4" "$FRONT4" 995 "$N" "[SSL $CLIENT4:s3cret")
kill "$SAMPLER"; wait "$SAMPLER" 2>/dev/null || true
assert_eq "ok $N" "$(printf '%s\n' "$out" | head -n 1)" "sessions completed ($out)"
wait_for 120 no_children "$FRONT_PID"
assert_eq "$N" "$(grep -c "event=close ip=$CLIENT4 in=6 .* end=backend" "$T/front.log")" \
    "close lines with byte counts"
assert_eq "$N" "$(grep -c "^SSL $CLIENT4:s3cret" "$T/firstlines")" \
    "SSL lines the back end received"
most=$(sort -n "$T/children.txt" | tail -n 1)
[ "${most:-0}" -le "$CAP" ] || fail "$most children at once, cap $CAP"
grep -q "event=cap_reached max=$CAP" "$T/front.log" || fail "the cap of $CAP was never reached with $N sessions"
assert_eq "$fds_before" "$(nfds "$FRONT_PID")" "front descriptors after $N sessions"
ok "$N concurrent sessions at cap $CAP: all served (at most $most children), every child reaped, descriptors $fds_before before and after"

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
start_front "$T/cap.log" -l "$FRONT4:998" -c "$T/cert.pem" -t 120s \
    -k "$T/key.pem" -b 127.0.0.1:110 -p "$T/pass" -u authrelay -n 2
hold h1; h1=$HELD
hold h2
wait_for 120 grep -q ready "$T/h1.out"
wait_for 120 grep -q ready "$T/h2.out"
wait_for 60 grep -q 'event=cap_reached max=2' "$T/cap.log"
tlsclient pop "$CLIENT4" "$FRONT4" 998 >"$T/third.out" &
third=$!
track_pid "$third"
wait_for 60 queued 998 1
assert_eq 2 "$(nchildren "$FRONT_PID")" "children at the cap"
assert_eq 2 "$(grep -c 'event=connect' "$T/cap.log")" "connections accepted at the cap"
ok "at the cap the third client waits in the backlog"
kill "$h1"	# the first client goes away
wait "$third" || fail "third client failed"
assert_contains "$(cat "$T/third.out")" "+OK bye" "third session after a slot freed"
assert_eq 3 "$(grep -c 'event=connect' "$T/cap.log")" "connections accepted"
ok "the waiting client is served once a slot frees"
