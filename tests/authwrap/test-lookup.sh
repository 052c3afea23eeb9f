#!/usr/bin/env bash
# test-lookup.sh - auth-wrap's decisions with a real PostgreSQL, in both
# lookup modes: recorded relay, expired, revoked, never_relay, loopback,
# IPv6 and IPv4-mapped spellings, RELAYCLIENT already set.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"

pg_start
add_relay 192.0.2.10 alice
add_relay 2001:db8::10 bob
add_relay 198.51.100.7 carol		# inside never_relay below
add_relay 127.0.0.1 mallory		# loopback: never honoured
add_relay 192.0.2.20 dave '-1 second'	# expired, not yet swept
add_relay 192.0.2.30 erin

for mode in cdb db; do
	conf=$T/$mode.conf
	write_conf "$conf" lookup=$mode \
	    "never_relay=127.0.0.0/8 ::1/128 198.51.100.0/24"
	[ $mode = cdb ] && export_cdb "$conf"

	assert_eq "RELAYCLIENT= RELAYUSER=alice " "$(relay_of "$conf" 192.0.2.10)" \
	    "$mode: recorded login relays"
	assert_eq "" "$(cat "$T/aw.err")" "$mode: no warning on a grant"
	assert_eq "RELAYCLIENT= RELAYUSER=bob " "$(relay_of "$conf" 2001:DB8:0::10)" \
	    "$mode: IPv6 spelling canonicalised"
	assert_eq "RELAYCLIENT= RELAYUSER=alice " \
	    "$(relay_of "$conf" ::ffff:192.0.2.10)" "$mode: IPv4-mapped"
	out=$(aw "$conf" TCP6REMOTEIP=2001:db8::10 | grep RELAYCLIENT || true)
	assert_eq "RELAYCLIENT=" "$out" "$mode: TCP6REMOTEIP alone"
	assert_eq none "$(relay_of "$conf" 198.51.100.7)" "$mode: never_relay"
	assert_eq none "$(relay_of "$conf" 127.0.0.1)" "$mode: loopback"
	assert_eq none "$(relay_of "$conf" 192.0.2.20)" "$mode: expired row"
	assert_eq none "$(relay_of "$conf" 192.0.2.99)" "$mode: unknown IP"
	assert_eq "" "$(cat "$T/aw.err")" "$mode: no warning on a miss"

	# tcprules already decided: nothing changes, no lookup at all
	out=$(aw "$conf" TCPREMOTEIP=192.0.2.99 RELAYCLIENT=@fix.me | grep RELAYCLIENT)
	assert_eq "RELAYCLIENT=@fix.me" "$out" "$mode: preset RELAYCLIENT kept"

	# conflicting spellings of the peer: refuse
	out=$(aw "$conf" TCPREMOTEIP=192.0.2.10 TCP6REMOTEIP=2001:db8::10 | grep RELAYCLIENT || true)
	assert_eq "" "$out" "$mode: conflicting TCP6REMOTEIP"
	assert_contains "$(cat "$T/aw.err")" "disagree" "$mode: conflict warned"

	# our configuration never reaches PROGRAM
	out=$(aw "$conf" TCPREMOTEIP=192.0.2.10 PGPASSWORD=secret)
	assert_not_contains "$out" "AUTHRELAY_CONF" "$mode: config variable scrubbed"
	assert_not_contains "$out" "PGPASSWORD" "$mode: libpq variable scrubbed"
	ok "$mode mode decisions"
done

# revoke: the row goes, the next export drops it
conf=$T/cdb.conf
sql "DELETE FROM relay WHERE ip = '192.0.2.30'"
assert_eq "RELAYCLIENT= RELAYUSER=erin " "$(relay_of "$conf" 192.0.2.30)" \
    "cdb: still granted before the export"
export_cdb "$conf"
assert_eq none "$(relay_of "$conf" 192.0.2.30)" "cdb: revoke after export"
assert_eq none "$(relay_of "$T/db.conf" 192.0.2.30)" "db: revoke at once"

# expiry is exact at lookup time, even with an unchanged snapshot
add_relay 192.0.2.40 frank '2 seconds'
export_cdb "$conf"
sum=$(md5sum <"$T/relay.cdb")
assert_eq "RELAYCLIENT= RELAYUSER=frank " "$(relay_of "$conf" 192.0.2.40)" "short grant"
wait_for 5 aw_denies "$conf" 192.0.2.40
assert_eq "$sum" "$(md5sum <"$T/relay.cdb")" "snapshot unchanged while it expired"
ok "revoke and exact expiry"

# relayuser = no and a custom relayclient value
write_conf "$T/plain.conf" relayuser=no relayclient=@relay.example
assert_eq "RELAYCLIENT=@relay.example " "$(relay_of "$T/plain.conf" 192.0.2.10)" \
    "relayclient value, no RELAYUSER"
ok "relayclient and relayuser keys"
