#!/usr/bin/env bash
# test-failures.sh - every failure still execs PROGRAM, without RELAYCLIENT,
# with one warning, within the deadline: no config, corrupt/truncated/
# stale/symlinked/writable cdb, bad TCPREMOTEIP, database down or
# black-holed. Also: exit 111 when PROGRAM cannot run, no leaked fds.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"

now=$(date +%s)
conf=$T/cdb.conf
write_conf "$conf"
good() { "$TOOL" write "$T/relay.cdb" "$now" 192.0.2.10 $((now + 600)) alice; }

# expect_fallback WHAT VAR=VALUE...: PROGRAM ran, no relay, one warning.
expect_fallback() {
	local what=$1 out; shift
	out=$(aw "$@") || fail "$what: auth-wrap or PROGRAM failed"
	assert_contains "$out" "PATH=" "$what: PROGRAM ran"
	assert_not_contains "$out" "RELAYCLIENT" "$what: no relay"
	assert_eq 1 "$(wc -l <"$T/aw.err")" "$what: one warning line"
	assert_contains "$(cat "$T/aw.err")" "auth-wrap: warning: " "$what: warning text"
}

good
assert_eq "RELAYCLIENT= RELAYUSER=alice " "$(relay_of "$conf" 192.0.2.10)" "baseline"

expect_fallback "no config" "$T/missing.conf" TCPREMOTEIP=192.0.2.10
echo "lookup = cdb" >"$T/bad.conf"; echo "no equals sign" >>"$T/bad.conf"
expect_fallback "bad config" "$T/bad.conf" TCPREMOTEIP=192.0.2.10
long=$(printf '1%.0s' $(seq 1 5000))
for ip in 127.1 "192.0.2.10 " 0x7f.0.0.1 "fe80::1%eth0" "[::1]" "" "$long" \
    $'192.0.2.10\n' ::192.0.2.10 192.0.2.10/32; do
	expect_fallback "TCPREMOTEIP [${ip:0:40}]" "$conf" TCPREMOTEIP="$ip"
done
expect_fallback "TCPREMOTEIP unset" "$conf"
ok "config and TCPREMOTEIP failures"

rm -f "$T/relay.cdb"
expect_fallback "missing cdb" "$conf" TCPREMOTEIP=192.0.2.10
head -c 3000 /dev/urandom >"$T/relay.cdb"
expect_fallback "garbage cdb" "$conf" TCPREMOTEIP=192.0.2.10
good; head -c 2100 "$T/relay.cdb" >"$T/short"; mv "$T/short" "$T/relay.cdb"
expect_fallback "truncated cdb" "$conf" TCPREMOTEIP=192.0.2.10
printf '192.0.2.10\t1 %s alice\n' $((now + 600)) | cdb -c -m "$T/relay.cdb"
expect_fallback "cdb without snapshot record" "$conf" TCPREMOTEIP=192.0.2.10
"$TOOL" write "$T/relay.cdb" $((now - 3600)) 192.0.2.10 $((now + 600)) alice
expect_fallback "stale snapshot" "$conf" TCPREMOTEIP=192.0.2.10
"$TOOL" write "$T/relay.cdb" $((now + 3600)) 192.0.2.10 $((now + 600)) alice
expect_fallback "snapshot from the future" "$conf" TCPREMOTEIP=192.0.2.10
good; mv "$T/relay.cdb" "$T/real.cdb"; ln -s "$T/real.cdb" "$T/relay.cdb"
expect_fallback "symlinked cdb" "$conf" TCPREMOTEIP=192.0.2.10
rm "$T/relay.cdb"; good; chmod 666 "$T/relay.cdb"
expect_fallback "world-writable cdb" "$conf" TCPREMOTEIP=192.0.2.10
chmod 644 "$T/relay.cdb"
assert_eq "RELAYCLIENT= RELAYUSER=alice " "$(relay_of "$conf" 192.0.2.10)" "good again"
ok "cdb failures"

# records auth-wrap must not honour (no warning: they are just no grant)
"$TOOL" write "$T/relay.cdb" "$now" 192.0.2.11 $((now + 86400 * 365)) eve \
    192.0.2.12 $((now - 1)) old 192.0.2.13 $((now + 7200)) admin
assert_eq none "$(relay_of "$conf" 192.0.2.11)" "expiry a year ahead"
assert_eq none "$(relay_of "$conf" 192.0.2.12)" "expired entry in a fresh snapshot"
assert_eq "RELAYCLIENT= RELAYUSER=admin " "$(relay_of "$conf" 192.0.2.13)" \
    "a 2 h admin grant is honoured"
ok "implausible records"

# PROGRAM cannot run: 111, and a message
set +e
out=$(env -i AUTHRELAY_CONF="$conf" TCPREMOTEIP=192.0.2.10 "$AW" \
    "$T/no-such-program" 2>&1)
rc=$?
"$AW" >/dev/null 2>&1
rc_usage=$?
set -e
assert_eq 111 "$rc" "exit status when PROGRAM cannot be run"
assert_contains "$out" "auth-wrap: fatal: unable to run" "exec failure message"
assert_eq 100 "$rc_usage" "usage exit status"
ok "exec failure and usage"

# database failures, in db mode and as cdb,db fallback
pg_start
sql "INSERT INTO relay (ip, username, parser, service, first_seen, last_seen,
    expires_at) VALUES ('192.0.2.10', 'alice', 't', 'pop3', now(), now(),
    now() + interval '10 minutes')"
write_conf "$T/db.conf" lookup=db
write_conf "$T/both.conf" lookup=cdb,db
"$TOOL" write "$T/relay.cdb" $((now - 3600)) 192.0.2.10 $((now + 600)) alice
assert_eq "RELAYCLIENT= RELAYUSER=alice " "$(relay_of "$T/db.conf" 192.0.2.10)" "db grant"
assert_eq "RELAYCLIENT= RELAYUSER=alice " "$(relay_of "$T/both.conf" 192.0.2.10)" \
    "stale cdb falls back to db"

# no descriptor of ours reaches PROGRAM (cdb, libpq socket)
listfds='for f in /proc/$$/fd/*; do echo "${f##*/} $(readlink "$f" || :)"; done'
want=$(env -i /bin/sh -c "$listfds" 2>"$T/rc" | sed 's/:\[[0-9]*\]//' | sort)
for c in "$conf" "$T/db.conf"; do
	good
	fds=$(env -i AUTHRELAY_CONF="$c" TCPREMOTEIP=192.0.2.10 "$AW" \
	    /bin/sh -c "echo RELAYCLIENT=\${RELAYCLIENT-unset} >&2; $listfds" 2>"$T/rc" |
	    sed 's/:\[[0-9]*\]//' | sort)
	assert_eq "RELAYCLIENT=" "$(cat "$T/rc")" "granted ($c)"
	assert_eq "$want" "$fds" "descriptors PROGRAM inherits ($c)"
done

elapsed_ms() { # CONF: run a lookup, print how long it took
	local t0 t1
	t0=$(date +%s%N)
	aw "$1" TCPREMOTEIP=192.0.2.10 >"$T/out" || true
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

pg_stop
"$TOOL" write "$T/relay.cdb" $((now - 3600)) 192.0.2.10 $((now + 600)) alice
expect_fallback "database down" "$T/db.conf" TCPREMOTEIP=192.0.2.10
expect_fallback "cdb stale and database down" "$T/both.conf" TCPREMOTEIP=192.0.2.10
assert_contains "$(cat "$T/aw.err")" "cdb: " "both failures named"
assert_contains "$(cat "$T/aw.err")" "db: " "both failures named"

# black hole: accepts TCP, never answers
python3 -u -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
print(s.getsockname()[1])
held = []
while True:
    held.append(s.accept()[0])
' >"$T/hole.port" &
track_pid $!
wait_for 10 test -s "$T/hole.port"
port=$(cat "$T/hole.port")
write_conf "$T/hole.conf" lookup=db lookup_deadline=200ms \
    "lookup_database=host=127.0.0.1 port=$port dbname=x user=x connect_timeout=10"
ms=$(elapsed_ms "$T/hole.conf")
expect_fallback "black-holed database" "$T/hole.conf" TCPREMOTEIP=192.0.2.10
assert_contains "$(cat "$T/aw.err")" "timed out" "black hole: deadline named"
# Generous for a busy machine; without the deadline libpq would wait forever.
[ "$ms" -lt 5000 ] || fail "black hole: took ${ms} ms (deadline 200 ms)"
note "black hole answered after ${ms} ms"
ok "database failures within the deadline"
