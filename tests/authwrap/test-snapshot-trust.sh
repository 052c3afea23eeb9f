#!/usr/bin/env bash
# Snapshot faults auth-wrap must survive (issue 12 items 1 and 2): a FIFO
# at cdb_file must not hang it (it execs PROGRAM promptly, without
# RELAYCLIENT, after one warning), and a relay.cdb owned by another user
# is not honoured, even mode 0644.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"
[ "$(id -u)" -eq 0 ] || skip "chown needs root"

pg_start
add_relay 192.0.2.10 alice
conf=$T/cdb.conf
write_conf "$conf" lookup=cdb
export_cdb "$conf"
assert_eq "RELAYCLIENT= RELAYUSER=alice " "$(relay_of "$conf" 192.0.2.10)" "good snapshot"

# Another user's snapshot, mode 0644: not honoured, one warning.
chown nobody "$T/relay.cdb"; chmod 0644 "$T/relay.cdb"
assert_eq none "$(relay_of "$conf" 192.0.2.10)" "snapshot owned by nobody"
assert_eq 1 "$(wc -l < "$T/aw.err")" "one warning line"
assert_contains "$(cat "$T/aw.err")" "owned by neither root nor the watcher's user" "owner warning"
ok "a relay.cdb owned by another user (mode 0644) is not honoured"

# A FIFO with no writer in place of the snapshot: a blocking open would
# hang forever. The whole run gets a generous 30 s; the deadline is 200 ms.
rm -f "$T/relay.cdb"; mkfifo -m 0644 "$T/relay.cdb"
rc=0
out=$(timeout 30 env -i PATH=/usr/bin:/bin AUTHRELAY_CONF="$conf" TCPREMOTEIP=192.0.2.10 \
    "$AW" /usr/bin/env 2>"$T/aw.err") || rc=$?
assert_eq 0 "$rc" "auth-wrap with a FIFO at cdb_file (124 = hung)"
assert_not_contains "$out" "RELAYCLIENT" "FIFO snapshot"
assert_contains "$out" "TCPREMOTEIP=192.0.2.10" "PROGRAM ran"
assert_eq 1 "$(wc -l < "$T/aw.err")" "one warning line"
assert_contains "$(cat "$T/aw.err")" "auth-wrap: warning: no relay check for 192.0.2.10" "FIFO warning"
ok "a FIFO at cdb_file: PROGRAM runs at once without RELAYCLIENT, one warning"
