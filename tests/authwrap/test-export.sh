#!/usr/bin/env bash
# test-export.sh - the cdb export against real PostgreSQL and real
# tcpserver: tcp.smtp.cdb static part byte-identical to tcprules' output,
# relays allowed with RELAYCLIENT, static rules win; verify finds
# missing and revoked entries; a failed export leaves both files alone.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"
command -v tcprules >/dev/null && command -v tcpserver >/dev/null ||
    skip "ucspi-tcp not installed"

pg_start
cat >"$T/tcp.smtp" <<'RULES'
# static rules: these win over relays
192.0.2.11:deny
192.0.2.12:allow,RBLSMTPD="-go away"
203.0.113.:deny
198.18.0.:allow,RBLSMTPD=""
10.1-2.:allow,RELAYCLIENT=""
:allow
RULES
conf=$T/export.conf
write_conf "$conf" tcp_rules="$T/tcp.smtp" tcp_cdb="$T/tcp.smtp.cdb"
for ip in 192.0.2.10 192.0.2.11 192.0.2.12 203.0.113.5 198.18.0.5 2001:db8::10 \
    10.2.0.9 127.0.0.2; do
	add_relay $ip user-$ip
done

out=$(AUTHRELAY_CONF=$conf "$TOOL" export)
assert_eq "relays=7 skipped=1 static_keys=7 tcp_relays=3" "${out% ms=*}" "export counts"

# the static part is exactly what tcprules makes of the same file
tcprules "$T/ref.cdb" "$T/ref.tmp" <"$T/tcp.smtp"
cdb -d "$T/ref.cdb" | sed '/^$/d' >"$T/ref.dump"
cdb -d "$T/tcp.smtp.cdb" | head -n "$(wc -l <"$T/ref.dump")" >"$T/our.dump"
diff -u "$T/ref.dump" "$T/our.dump" || fail "static rules differ from tcprules"
cdb -d "$T/tcp.smtp.cdb" | sed -n '8,$p' | sed '/^$/d' | tr '\0' '0' >"$T/relays.dump"
assert_eq "+10,14:192.0.2.10->+RELAYCLIENT=0
+10,25:198.18.0.5->+RBLSMTPD=0+RELAYCLIENT=0
+12,14:2001:db8::10->+RELAYCLIENT=0" "$(cat "$T/relays.dump")" "relay records"
assert_eq "" "$(cdb -q "$T/relay.cdb" 127.0.0.2 || true)" "loopback row not exported"
ok "export layout"

# user names travel through COPY's escaping intact; control bytes become ?
sql "INSERT INTO relay (ip, username, parser, service, first_seen, last_seen,
    expires_at) VALUES ('192.0.2.60', E'back\\\\slash\\ttab\\nnl', 't', 'pop3',
    now(), now(), now() + interval '10 minutes'), ('192.0.2.61', 'jürgen@例え.jp',
    't', 'pop3', now(), now(), now() + interval '10 minutes')"
AUTHRELAY_CONF=$conf "$TOOL" export >/dev/null
v=$(cdb -q "$T/relay.cdb" 192.0.2.60)
assert_eq 'back\slash?tab?nl' "${v#1 * }" "escaped user name"
v=$(cdb -q "$T/relay.cdb" 192.0.2.61)
assert_eq 'jürgen@例え.jp' "${v#1 * }" "UTF-8 user name"
sql "DELETE FROM relay WHERE ip IN ('192.0.2.60', '192.0.2.61')"
AUTHRELAY_CONF=$conf "$TOOL" export >/dev/null
ok "user names through COPY"

# tcpserver itself reads the file: clients from each address
netns_setup 192.0.2.10 192.0.2.11 192.0.2.12 203.0.113.5 198.18.0.5 192.0.2.77
# not through in_ns: a backgrounded function is a subshell, and $! must be
# tcpserver itself (ip netns exec execs it in place)
ip netns exec "$NS" tcpserver -x "$T/tcp.smtp.cdb" -H -R -l test 0 2525 /bin/sh -c \
    'echo "RC=${RELAYCLIENT-unset} RBL=${RBLSMTPD-unset}"' 2>/dev/null &
track_pid $!
probe() { # SOURCE-IP: what the server said (empty: dropped)
	in_ns python3 -c '
import socket, sys
s = socket.create_connection(("192.0.2.10", 2525), timeout=5,
    source_address=(sys.argv[1], 0))
print(s.makefile().read().strip())' "$1"
}
wait_for 10 probe 192.0.2.77
assert_eq "RC= RBL=unset" "$(probe 192.0.2.10)" "relay gets RELAYCLIENT"
assert_eq "" "$(probe 192.0.2.11)" "static exact deny wins"
assert_eq "RC=unset RBL=-go away" "$(probe 192.0.2.12)" "static exact allow wins"
assert_eq "" "$(probe 203.0.113.5)" "static prefix deny wins"
assert_eq "RC= RBL=" "$(probe 198.18.0.5)" "prefix allow variables kept"
assert_eq "RC=unset RBL=unset" "$(probe 192.0.2.77)" "others: default rule"
ok "tcpserver -x reads the merged file"

assert_eq "differences=0" "$(AUTHRELAY_CONF=$conf "$TOOL" verify)" "verify after export"
add_relay 192.0.2.50 new
sql "DELETE FROM relay WHERE ip = '192.0.2.10'"
set +e
out=$(AUTHRELAY_CONF=$conf "$TOOL" verify)
rc=$?
set -e
assert_eq 1 "$rc" "verify exit status with differences"
assert_contains "$out" "missing 192.0.2.50 in $T/relay.cdb" "verify: missing in snapshot"
assert_contains "$out" "missing 192.0.2.50 in $T/tcp.smtp.cdb" "verify: missing in tcp cdb"
assert_contains "$out" "extra 192.0.2.10 in $T/relay.cdb" "verify: revoked in snapshot"
assert_contains "$out" "extra 192.0.2.10 in $T/tcp.smtp.cdb" "verify: revoked in tcp cdb"
assert_contains "$out" "differences=4" "verify count"
AUTHRELAY_CONF=$conf "$TOOL" export >/dev/null
assert_eq "differences=0" "$(AUTHRELAY_CONF=$conf "$TOOL" verify)" "verify after re-export"
ok "verify"

# a broken static file: export fails, both files stay as they were
sums=$(md5sum "$T/relay.cdb" "$T/tcp.smtp.cdb")
echo "192.0.2.99:permit" >>"$T/tcp.smtp"
set +e
err=$(AUTHRELAY_CONF=$conf "$TOOL" export 2>&1)
rc=$?
set -e
assert_eq 1 "$rc" "export fails on a bad rule"
assert_contains "$err" "tcp.smtp:8: unable to parse this line" "error names file and line"
assert_eq "$sums" "$(md5sum "$T/relay.cdb" "$T/tcp.smtp.cdb")" "old files untouched"
assert_eq "" "$(find "$T" -maxdepth 1 -name '.*.tmp.*')" "no temp files left"
write_conf "$T/nodir.conf" cdb_file="$T/no/such/dir/relay.cdb"
AUTHRELAY_CONF=$T/nodir.conf "$TOOL" export 2>"$T/err" && fail "export into a missing directory"
assert_contains "$(cat "$T/err")" "No such file or directory" "missing directory reported"
ok "failed export keeps the old files"
