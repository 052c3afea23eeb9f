#!/usr/bin/env bash
# sslwrap-bench.sh - sslwrap-hack under load: N concurrent POP3S sessions
# (default 1000; each TLS handshake, greeting with the SSL line, QUIT)
# through one front, against a baseline measured in the same run: the
# same N sessions in plain TCP straight to the same back end. Prints the
# sessions completed (all must be), the wall time, sessions per second
# and the ratio to the baseline; afterwards no child may be left and the
# front's descriptors must be what they were. Never part of make check
# (tests/sslwrap/test-concurrency.sh proves the cap and reaping there).
# N=sessions (default 1000), CAP=the front's -n (default N).
source "$(dirname "$0")/../tests/sslwrap/common.sh"
N=${N:-1000}
CAP=${CAP:-$N}
export TLSCLIENT_TIMEOUT=${TLSCLIENT_TIMEOUT:-60}
make_cert
make_secret s3cret
start_echo_backend 110
start_front "$T/front.log" -l "$FRONT4:995" -c "$T/cert.pem" -t 60s \
    -k "$T/key.pem" -b 127.0.0.1:110 -p "$T/pass" -u authrelay -n "$CAP"
fds_before=$(nfds "$FRONT_PID")

field() { printf '%s\n' "$1" | awk -v k="$2" '$1 == k { print $2; exit }'; }
# Warm-up (page cache, the first fork), not measured.
tlsclient many "$CLIENT4" "$FRONT4" 995 10 "[SSL $CLIENT4:s3cret" > /dev/null
base=$(tlsclient manytcp "$CLIENT4" 127.0.0.1 110 "$N" "SSL $CLIENT4:s3cret")
front=$(tlsclient many "$CLIENT4" "$FRONT4" 995 "$N" "[SSL $CLIENT4:s3cret")
wait_for 120 no_children "$FRONT_PID"
fds_after=$(nfds "$FRONT_PID")

echo "sslwrap-hack: $N concurrent sessions, cap $CAP (one run each; noisy machines: ratios only)"
awk -v n="$N" -v bok="$(field "$base" ok)" -v bs="$(field "$base" seconds)" \
    -v fok="$(field "$front" ok)" -v fs="$(field "$front" seconds)" 'BEGIN {
	printf "%-40s %9s %9s %11s %9s\n", "case", "completed", "seconds", "sessions/s", "x_direct"
	printf "%-40s %9d %9.3f %11.1f %9.2f\n", "direct TCP to the back end (baseline)", bok, bs, bok / bs, 1
	printf "%-40s %9d %9.3f %11.1f %9.2f\n", "POP3S through sslwrap-hack", fok, fs, fok / fs, (fok / fs) / (bok / bs)
}'
echo "front descriptors before $fds_before, after $fds_after; children left: $(nchildren "$FRONT_PID")"
printf '%s\n' "$front" | grep '^error' | head -n 3 || true
[ "$(field "$front" ok)" = "$N" ] || fail "only $(field "$front" ok) of $N sessions through the front completed"
[ "$(field "$base" ok)" = "$N" ] || fail "only $(field "$base" ok) of $N direct sessions completed"
[ "$fds_before" = "$fds_after" ] || fail "front descriptors $fds_before before, $fds_after after"
