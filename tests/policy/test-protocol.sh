#!/usr/bin/env bash
# test-protocol.sh - authrelay-policy's protocol handling, on stdin/stdout as
# under Postfix's spawn(8) and on its unix socket: answers for relays,
# canonical addresses, expiry, never-relay classes and the host's own
# address; malformed, oversized and hostile requests get action=DUNNO with
# one warning and the next request is answered in step; faults (no
# snapshot, no configuration, a database that never answers) are DUNNO
# within the lookup deadline; the configuration is re-read when it changes.
source "$(dirname "$0")/../lib.sh"
POL=$BIN/authrelay-policy
TOOL=$TOP/build/tests/cdbexport-tool
[ -x "$POL" ] || skip "bin/authrelay-policy not built"
[ -x "$TOOL" ] || skip "build/tests/cdbexport-tool not built (make test-programs)"

now=$(date +%s)
"$TOOL" write "$T/relay.cdb" "$now" \
    192.0.2.10 $((now + 600)) alice \
    2001:db8::10 $((now + 600)) bob \
    192.0.2.12 $((now - 1)) expired \
    127.0.0.1 $((now + 600)) loop \
    198.51.100.7 $((now + 600)) proxy >/dev/null
cat >"$T/authrelay.conf" <<CONF
cdb_file = $T/relay.cdb
lookup = cdb
user =
never_relay = 198.51.100.0/24
CONF

# req IP [EXTRA_LINE...]: one request as Postfix 3.7 sends it.
req() {
	local ip=$1; shift
	printf '%s\n' request=smtpd_access_policy protocol_state=RCPT \
	    protocol_name=ESMTP helo_name=client.test queue_id= \
	    sender=sender@example.net recipient=someone@elsewhere.test \
	    recipient_count=0 client_address="$ip" client_name=unknown \
	    reverse_client_name=unknown instance=1234.5678.9.0 \
	    sasl_method= sasl_username= sasl_sender= size=0 ccert_subject= \
	    encryption_protocol= encryption_cipher= policy_context= \
	    server_address=192.0.2.1 server_port=25 compatibility_level=3.6 \
	    "$@"
	printf '\n'
}
# run: stdin mode, answers on stdout, log lines in $T/err
run() { "$POL" -e -c "$T/authrelay.conf" 2>"$T/err"; }
actions() { { grep -v '^$' || true; } | sed 's/^action=//' | tr '\n' ' '; }
warnings() { grep -c ': warning: ' "$T/err" || true; }

# --- answers ---
got=$({
	req 192.0.2.10
	req 2001:db8::10
	req 2001:DB8:0:0::10		# not canonical: same address
	req ::ffff:192.0.2.10		# IPv4-mapped: the IPv4 address
	req 192.0.2.11			# no relay
	req 192.0.2.12			# expired a second ago
	req 127.0.0.1			# loopback: never, whatever the table says
	req 198.51.100.7		# never_relay
} | run | actions)
assert_eq "OK OK OK OK DUNNO DUNNO DUNNO DUNNO " "$got" "answers"
assert_eq 0 "$(warnings)" "no warnings for good requests"
ok "relays, canonical forms, expiry, never-relay classes"

# the host's own address (Postfix 3.x sends server_address): never
got=$(printf 'request=smtpd_access_policy\nclient_address=192.0.2.10\nserver_address=192.0.2.10\n\n' | run | actions)
assert_eq "DUNNO " "$got" "client is the server's own address"
ok "own address never relays"

# --- hostile and malformed requests: each one DUNNO and one warning, and
# the good request after it is answered in step ---
long=$(head -c 10000 /dev/zero | tr '\0' x)
many=$(for i in $(seq 1 300); do printf 'x%d=y\n' "$i"; done)
huge=$(for i in $(seq 1 20); do printf 'ccert_subject=%s\n' "${long:0:4000}"; done)
bad_inputs=(
	"client_address=192.0.2.10\n\n"				# no request=
	"request=other\nclient_address=192.0.2.10\n\n"		# another request type
	"request=smtpd_access_policy\n\n"			# no client_address
	"request=smtpd_access_policy\nclient_address=192.0.2.10 x\n\n"
	"request=smtpd_access_policy\nclient_address=[192.0.2.10]\n\n"
	"request=smtpd_access_policy\nclient_address=192.0.2.10%%eth0\n\n"
	"request=smtpd_access_policy\nclient_address=192.0.2.11\nclient_address=192.0.2.10\n\n"
	"request=smtpd_access_policy\nno equals sign\nclient_address=192.0.2.10\n\n"
	"request=smtpd_access_policy\nClient_Address=192.0.2.10\nclient_address=192.0.2.10\n\n"
	"request=smtpd_access_policy\nclient_address=192.0.2.10\r\n\n"
	"request=smtpd_access_policy\nclient_address=192.0.2.10\nserver_address=junk\n\n"
	"request=smtpd_access_policy\nclient_address=192.0.2.10\nx=$long\n\n"
	"request=smtpd_access_policy\nclient_address=192.0.2.10\n$many\n\n"
	"request=smtpd_access_policy\nclient_address=192.0.2.10\n$huge\n\n"
	"\n"							# empty request
)
for b in "${bad_inputs[@]}"; do
	got=$({ printf "$b"; req 192.0.2.10; } | run | actions)
	assert_eq "DUNNO OK " "$got" "bad request $(printf '%q' "${b:0:60}")"
	assert_eq 1 "$(warnings)" "one warning for $(printf '%q' "${b:0:60}")"
done
# a NUL byte (bash strings cannot hold one)
got=$({ printf 'request=smtpd_access_policy\nclient_address=192.0.2.10\0\n\n'; req 192.0.2.10; } | run | actions)
assert_eq "DUNNO OK " "$got" "NUL byte"
assert_eq 1 "$(warnings)" "one warning for a NUL byte"
ok "${#bad_inputs[@]} malformed or oversized requests and a NUL byte: DUNNO, then in step"

# endless garbage without a newline: bounded memory, then a clean exit
got=$(head -c 20000000 /dev/zero | tr '\0' a | run | actions)
assert_eq "" "$got" "no answer to an unfinished request"
ok "20 MB without a newline"

# --- faults: DUNNO and one warning each ---
mv "$T/relay.cdb" "$T/relay.cdb.away"
got=$(req 192.0.2.10 | run | actions)
assert_eq "DUNNO " "$got" "snapshot missing"
assert_eq 1 "$(warnings)" "one warning: snapshot missing"
assert_contains "$(cat "$T/err")" "event=no_check ip=192.0.2.10" "warning names the client"
mv "$T/relay.cdb.away" "$T/relay.cdb"
got=$(req 192.0.2.10 | "$POL" -e -c "$T/nonexistent.conf" 2>"$T/err" | actions)
assert_eq "DUNNO " "$got" "configuration missing"
assert_eq 1 "$(warnings)" "one warning: configuration missing"
ok "no snapshot, no configuration: DUNNO, never REJECT"

# a database that accepts and never answers: DUNNO within the deadline
blackhole_start
cat >"$T/db.conf" <<CONF
lookup = db
lookup_database = host=127.0.0.1 port=$(cat "$T/hole.port") dbname=x user=x connect_timeout=30
lookup_deadline = 300ms
user =
CONF
start=$(date +%s%N)
got=$({ req 192.0.2.10; req 192.0.2.10; } | "$POL" -e -c "$T/db.conf" 2>"$T/err" | actions)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
assert_eq "DUNNO DUNNO " "$got" "database never answers"
assert_eq 2 "$(warnings)" "one warning per request"
# two requests, 300 ms each; a generous bound far below libpq's 30 s
[ "$ms" -lt 10000 ] || fail "took ${ms} ms: the lookup deadline was not kept"
ok "a hanging database: DUNNO by the lookup deadline (${ms} ms for two)"

# --- the configuration is re-read when it changes, mid-connection ---
coproc POLICY { "$POL" -e -c "$T/authrelay.conf" 2>"$T/err"; }
pol_pid=$POLICY_PID	# bash unsets POLICY_PID once the coprocess ends
track_pid "$pol_pid"
ask() {
	local line answer=""
	req "$1" >&"${POLICY[1]}"
	while IFS= read -r -t 20 line <&"${POLICY[0]}"; do
		[ -z "$line" ] && break
		answer=$line
	done
	echo "${answer#action=}"
}
assert_eq OK "$(ask 192.0.2.10)" "before the change"
cp "$T/authrelay.conf" "$T/new.conf"
echo "never_relay = 192.0.2.0/24" >>"$T/new.conf"
sed -i '/^never_relay = 198/d' "$T/new.conf"
mv "$T/new.conf" "$T/authrelay.conf"
assert_eq DUNNO "$(ask 192.0.2.10)" "after the change (same connection)"
echo "garbage line" >>"$T/authrelay.conf"
assert_eq DUNNO "$(ask 2001:db8::10)" "broken configuration: no decision on stale keys"
assert_contains "$(cat "$T/err")" "event=no_check ip=2001:db8::10" "warned"
pol_in=${POLICY[1]}
exec {pol_in}>&-
wait "$pol_pid" || fail "policy server exit status $?"
ok "configuration re-read when the file changes"

# --- standalone on a unix socket ---
cat >"$T/authrelay.conf" <<CONF
cdb_file = $T/relay.cdb
lookup = cdb
user =
CONF
S=$T/sock/policy.sock
mkdir -p "$T/sock"
set +e
"$POL" -e -c "$T/authrelay.conf" -l "$S" -m 0666 2>"$T/err"; rc=$?
set -e
assert_eq 100 "$rc" "a socket others may use is refused"
: >"$T/sock/notasocket"
set +e
"$POL" -e -c "$T/authrelay.conf" -l "$T/sock/notasocket" 2>"$T/err"; rc=$?
set -e
assert_eq 111 "$rc" "a file in the way is never removed"
assert_contains "$(cat "$T/err")" "exists and is not a socket" "says why"
ok "unsafe mode and foreign files refused"

"$POL" -e -v -c "$T/authrelay.conf" -l "$S" -n 4 2>"$T/sock.err" &
SPID=$!
track_pid $SPID
wait_for 10 test -S "$S"
assert_eq 660 "$(stat -c %a "$S")" "default socket mode"
PC="python3 $TOP/tests/policy/policy-client.py"
got=$($PC "$S" ask 192.0.2.10 192.0.2.11 2001:db8::10 | tr '\n' ' ')
assert_eq "action=OK action=DUNNO action=OK " "$got" "many requests on one connection"
got=$($PC "$S" concurrent 192.0.2.10)
assert_eq "second=action=OK first=action=OK" "$got" "a slow client does not hold up another"
ok "socket: several clients at once, many requests each"

set +e
"$POL" -e -c "$T/authrelay.conf" -l "$S" 2>"$T/err"; rc=$?
set -e
assert_eq 111 "$rc" "a second server on a live socket"
assert_contains "$(cat "$T/err")" "another server listens there" "says why"
kill -TERM $SPID
wait $SPID || fail "server exit status $? on SIGTERM"
[ ! -e "$S" ] || fail "socket left behind after SIGTERM"
ok "live socket kept; SIGTERM: clean exit, socket removed"

# a server killed outright leaves a stale socket: the next one replaces it
"$POL" -e -c "$T/authrelay.conf" -l "$S" 2>"$T/sock.err" &
SPID=$!
track_pid $SPID
wait_for 10 test -S "$S"
kill -KILL $SPID
wait $SPID 2>/dev/null || true
[ -S "$S" ] || fail "expected a stale socket"
"$POL" -e -c "$T/authrelay.conf" -l "$S" 2>"$T/sock.err" &
SPID=$!
track_pid $SPID
wait_for 10 $PC "$S" ask 192.0.2.10
assert_eq "action=OK" "$($PC "$S" ask 192.0.2.10)" "after a stale socket"
ok "stale socket replaced"
