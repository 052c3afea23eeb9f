#!/usr/bin/env bash
# test-reload.sh - SIGHUP in standalone mode re-reads certificate, key
# and secret: new connections get the new certificate, a session open
# across the reload goes on, and a broken new key keeps the old setup.
. "$(dirname "$0")/common.sh"
make_cert
make_secret s3cret
start_echo_backend 110
start_front "$T/front.log" -l "$FRONT4:995" -c "$T/cert.pem" \
    -k "$T/key.pem" -b 127.0.0.1:110 -p "$T/pass" -u authrelay
fp_old=$(tlsclient fingerprint "$CLIENT4" "$FRONT4" 995)
[ -n "$fp_old" ] || fail "no fingerprint"

ip netns exec "$NS" python3 "$TOP/tests/sslwrap/tlsclient.py" hold \
    "$CLIENT4" "$FRONT4" 995 >"$T/hold.out" &
track_pid $!
wait_for 10 grep -q ready "$T/hold.out"
held=$(children "$FRONT_PID")

# New certificate, key and secret, then SIGHUP.
mkdir "$T/old"
mv "$T/cert.pem" "$T/key.pem" "$T/old/"
make_cert
make_secret n3w
kill -HUP "$FRONT_PID"
wait_for 5 grep -q 'event=reload ' "$T/front.log"
fp_new=$(tlsclient fingerprint "$CLIENT4" "$FRONT4" 995)
[ "$fp_new" != "$fp_old" ] || fail "certificate unchanged after SIGHUP"
assert_eq "$(openssl x509 -in "$T/cert.pem" -outform DER | sha256sum | cut -d' ' -f1)" \
    "$fp_new" "fingerprint of the new certificate"
out=$(tlsclient pop "$CLIENT4" "$FRONT4" 995)
assert_contains "$out" "[SSL $CLIENT4:n3w" "new secret in use"
[ -d "/proc/$held" ] || fail "held session ended by the reload"
ok "SIGHUP: new certificate and secret, open session untouched"

# A key that does not match the certificate: logged, old setup kept.
cp "$T/old/key.pem" "$T/key.pem"
kill -HUP "$FRONT_PID"
wait_for 5 grep -q 'event=reload_fail error=".*key' "$T/front.log"
assert_eq "$fp_new" "$(tlsclient fingerprint "$CLIENT4" "$FRONT4" 995)" \
    "certificate after a failed reload"
out=$(tlsclient pop "$CLIENT4" "$FRONT4" 995)
assert_contains "$out" "+OK bye" "session after a failed reload"
ok "failed reload logged, the working certificate kept"
