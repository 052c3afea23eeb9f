#!/usr/bin/env bash
# test-tcpserver.sh - auth-wrap under the real tcpserver with an SMTP
# responder as PROGRAM and python smtplib as the client, inside a private
# network namespace: a relay may send anywhere; others (and loopback,
# even with a forged record, and the server's own address) only to local
# domains; a database or cdb failure still lets local mail in. The
# server is 192.0.2.25; clients connect from other addresses.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"
command -v tcpserver >/dev/null || skip "ucspi-tcp not installed"

pg_start
add_relay 192.0.2.10 alice
add_relay 192.0.2.25 webmail	# the server's own address: never honoured
conf=$T/authrelay.conf
write_conf "$conf"
export_cdb "$conf"
# a forged loopback record and a relay for .11 in a hand-made snapshot
now=$(date +%s)
"$TOOL" write "$T/forged.cdb" "$now" 127.0.0.1 $((now + 600)) mallory
write_conf "$T/forged.conf" cdb_file="$T/forged.cdb"

netns_setup 192.0.2.10 192.0.2.11 192.0.2.25
responder="python3 $TOP/tests/authwrap/smtp-responder.py example.net"
start_server() { # PORT CONF
	# ip netns exec and env both exec in place: $! is tcpserver itself
	ip netns exec "$NS" env AUTHRELAY_CONF="$2" tcpserver -H -R -l test 0 "$1" \
	    "$AW" $responder 2>>"$T/tcpserver.err" &
	track_pid $!
}
send() { # PORT SOURCE RCPT
	in_ns python3 "$TOP/tests/authwrap/smtp-client.py" "${4:-192.0.2.25}" "$1" "$2" "$3"
}
start_server 2525 "$conf"
start_server 2526 "$T/forged.conf"
start_server 2527 "$T/missing.conf"
wait_for 10 send 2525 192.0.2.11 postmaster@example.net
wait_for 10 send 2526 192.0.2.11 postmaster@example.net
wait_for 10 send 2527 192.0.2.11 postmaster@example.net

assert_eq "sent 250 ok relayuser=alice" "$(send 2525 192.0.2.10 bob@elsewhere.org)" \
    "recorded client relays"
assert_eq "refused 553" "$(send 2525 192.0.2.11 bob@elsewhere.org)" \
    "unknown client may not relay"
assert_eq "sent 250 ok relayuser=-" "$(send 2525 192.0.2.11 postmaster@example.net)" \
    "unknown client: local mail accepted"
ok "relay decided per connection under tcpserver"

assert_eq "refused 553" "$(send 2526 127.0.0.1 bob@elsewhere.org 127.0.0.1)" \
    "loopback never relays, even with a record"
assert_eq "refused 553" "$(send 2525 192.0.2.25 bob@elsewhere.org)" \
    "the server's own address (TCPREMOTEIP = TCPLOCALIP) never relays, even with a record"
assert_eq "refused 553" "$(send 2527 192.0.2.10 bob@elsewhere.org)" \
    "no config: no relay"
assert_eq "sent 250 ok relayuser=-" "$(send 2527 192.0.2.10 postmaster@example.net)" \
    "no config: local mail still accepted"
assert_contains "$(cat "$T/tcpserver.err")" "auth-wrap: warning: no relay check" \
    "failure warned on stderr"
ok "loopback and failures under tcpserver"

# revoke, re-export: the next connection no longer relays
sql "DELETE FROM relay WHERE ip = '192.0.2.10'"
export_cdb "$conf"
assert_eq "refused 553" "$(send 2525 192.0.2.10 bob@elsewhere.org)" "revoked"
ok "revoke takes effect"
