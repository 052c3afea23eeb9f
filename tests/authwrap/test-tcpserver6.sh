#!/usr/bin/env bash
# test-tcpserver6.sh - auth-wrap under a real IPv6 tcpserver (Debian's
# ucspi-tcp-ipv6, run from its .deb: as a package it replaces ucspi-tcp),
# listening dual-stack in a private network namespace, with the real
# authrelayd recording logins from its FIFO: an IPv6 client is granted
# exactly when its address logged in (the log spelling need not be
# canonical) and until the exact expiry; another IPv6 address is not; an
# IPv4 client through the same dual-stack socket (tcpserver then sets
# TCPREMOTEIP=a.b.c.d and TCP6REMOTEIP=::ffff:a.b.c.d) is treated as IPv4.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"
[ -x "$BIN/authrelayd" ] || skip "bin/authrelayd not built"
command -v dpkg >/dev/null || skip "dpkg missing"
. "$TOP/tests/watcher/watcher-lib.sh"

UCSPI_CACHE=${UCSPI_CACHE:-$TOP/var/cache/debs}
if ! sh "$TOP/tools/fetch-debs.sh" "$UCSPI_CACHE" ucspi-tcp-ipv6 2>"$T/fetch.err"; then
	cat "$T/fetch.err"
	skip "cannot download ucspi-tcp-ipv6's .deb (see above)"
fi
dpkg -x "$(printf '%s\n' "$UCSPI_CACHE"/ucspi-tcp-ipv6_*.deb | sort -V | tail -n 1)" \
    "$T/ucspi" || fail "dpkg -x ucspi-tcp-ipv6 failed"
TCPSERVER6=$T/ucspi/usr/bin/tcpserver
[ -x "$TCPSERVER6" ] || fail "unpacked ucspi-tcp-ipv6 lacks tcpserver"

netns_setup 2001:db8::1 2001:db8::10 2001:db8::11 192.0.2.1 192.0.2.10
pg_start
watcher_start "cdb_file = $T/relay.cdb" "cdb_interval = 50ms" "expire = 30s" \
    "sweep_interval = 1h" "lookup = cdb" "relayuser = yes" \
    "never_relay = 127.0.0.0/8 ::1/128"
conf=$T/authrelay.conf

# "0": every address of the namespace, IPv6 and (mapped) IPv4
responder="python3 $TOP/tests/authwrap/smtp-responder.py example.net"
ip netns exec "$NS" env AUTHRELAY_CONF="$conf" "$TCPSERVER6" -H -R -l test 0 2525 \
    "$AW" $responder 2>>"$T/tcpserver.err" &
track_pid $!
send() { # SERVER SOURCE RCPT
	in_ns python3 "$TOP/tests/authwrap/smtp-client.py" "$1" 2525 "$2" "$3"
}
send_is() { [ "$(send "$2" "$3" "$4")" = "$1" ]; }
wait_for 10 send 2001:db8::1 2001:db8::11 postmaster@example.net

assert_eq "refused 553" "$(send 2001:db8::1 2001:db8::10 bob@elsewhere.org)" \
    "IPv6 client before its login"
assert_eq "sent 250 ok relayuser=-" "$(send 2001:db8::1 2001:db8::10 postmaster@example.net)" \
    "IPv6 client: local mail accepted"
ok "IPv6 client refused before a login"

fifo_writer_open
dovecot_login alice 2001:DB8:0:0::10 >&$FIFO_FD	# not the canonical spelling
dovecot_login carol 192.0.2.10 >&$FIFO_FD
wait_for 20 send_is "sent 250 ok relayuser=alice" 2001:db8::1 2001:db8::10 bob@elsewhere.org
assert_eq "refused 553" "$(send 2001:db8::1 2001:db8::11 bob@elsewhere.org)" \
    "another IPv6 address"
ok "IPv6 client relays after its login, no other address"

assert_eq "sent 250 ok relayuser=carol" "$(send 192.0.2.1 192.0.2.10 bob@elsewhere.org)" \
    "IPv4 client on the dual-stack socket"
assert_eq "refused 553" "$(send 192.0.2.1 192.0.2.1 bob@elsewhere.org)" \
    "IPv4 address without a login"
ok "IPv4 through the IPv6 tcpserver (TCP6REMOTEIP=::ffff:...)"

wait_for 90 send_is "refused 553" 2001:db8::1 2001:db8::10 bob@elsewhere.org
assert_not_contains "$(cat "$T/tcpserver.err")" "auth-wrap: warning" "no auth-wrap faults"
ok "IPv6 relay ends at its expiry"
