#!/usr/bin/env bash
# The server's own address never relays (issue 12 item 3), in auth-wrap:
# when $TCPREMOTEIP equals $TCPLOCALIP (or $TCP6LOCALIP) no RELAYCLIENT,
# whatever the table says, in both lookup modes, and silently (like
# never_relay). A different local address changes nothing; a local
# address that does not parse withholds RELAYCLIENT with one warning.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"

pg_start
add_relay 192.0.2.10 alice
add_relay 2001:db8::10 bob
relay_with() { # CONF VAR=VALUE...
	local out
	out=$(aw "$@" | grep -E '^RELAY(CLIENT|USER)=' | sort | tr '\n' ' ')
	echo "${out:-none}"
}
for mode in cdb db; do
	conf=$T/$mode.conf
	write_conf "$conf" lookup=$mode lookup_deadline=10s	# a busy machine: generous
	[ $mode = cdb ] && export_cdb "$conf"
	assert_eq "RELAYCLIENT= RELAYUSER=alice " \
	    "$(relay_with "$conf" TCPREMOTEIP=192.0.2.10 TCPLOCALIP=192.0.2.1)" \
	    "$mode: another local address"
	assert_eq none "$(relay_with "$conf" TCPREMOTEIP=192.0.2.10 TCPLOCALIP=192.0.2.10)" \
	    "$mode: TCPREMOTEIP = TCPLOCALIP"
	assert_eq "" "$(cat "$T/aw.err")" "$mode: a self connection is silent"
	assert_eq none "$(relay_with "$conf" TCPREMOTEIP=::ffff:192.0.2.10 TCPLOCALIP=192.0.2.10)" \
	    "$mode: IPv4-mapped remote spelling of the local address"
	assert_eq none "$(relay_with "$conf" TCPREMOTEIP=2001:db8::10 TCPLOCALIP=2001:DB8:0:0::10)" \
	    "$mode: IPv6 spellings of the same address"
	assert_eq none "$(relay_with "$conf" TCP6REMOTEIP=2001:db8::10 TCP6LOCALIP=2001:db8::10)" \
	    "$mode: TCP6LOCALIP (ucspi-tcp6)"
	assert_eq "RELAYCLIENT= RELAYUSER=bob " \
	    "$(relay_with "$conf" TCP6REMOTEIP=2001:db8::10 TCP6LOCALIP=2001:db8::1)" \
	    "$mode: another IPv6 local address"
	assert_eq none "$(relay_with "$conf" TCPREMOTEIP=192.0.2.10 TCPLOCALIP=bogus)" \
	    "$mode: bad TCPLOCALIP"
	assert_eq "auth-wrap: warning: no relay check for 192.0.2.10: bad TCPLOCALIP" \
	    "$(cat "$T/aw.err")" "$mode: one warning for a bad TCPLOCALIP"
	ok "$mode: the server's own address never relays"
done
