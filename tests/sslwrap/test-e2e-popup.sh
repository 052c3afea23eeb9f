#!/usr/bin/env bash
# test-e2e-popup.sh - end to end: curl pop3s from 192.0.2.45 through
# sslwrap-hack, a real tcpserver running qmail-popup-hack, the test
# checkpassword and qmail-pop3d-hack; qmail-popup-hack's syslog line
# goes through a real rsyslogd into authrelayd's FIFO and PostgreSQL:
# the relay recorded is 192.0.2.45, never the front's 127.0.0.1. A front
# configured with the wrong secret gets its sessions refused.
. "$(dirname "$0")/common.sh"
POPUP=$BIN/qmail-popup-hack
POP3D=$BIN/qmail-pop3d-hack
CHECKPW=$TOP/build/tests-bin/checkpassword-test
for b in "$POPUP" "$POP3D" "$CHECKPW" "$BIN/authrelayd"; do
	[ -x "$b" ] || skip "missing $b (make all test-programs)"
done
command -v rsyslogd >/dev/null || skip "rsyslogd not installed"
. "$TOP/tests/watcher/watcher-lib.sh"

# PostgreSQL and authrelayd on its FIFO.
pg_start
watcher_start "services = pop3 pop3s"

# rsyslogd: our private /dev/log for the POP programs, to a file and
# into the watcher's FIFO (the production path).
mkdir -p "$T/rsyslog"
cat >"$T/rsyslog.conf" <<EOF
global(workDirectory="$T/rsyslog")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$T/log.sock")
*.* action(type="omfile" file="$T/syslog" template="RSYSLOG_TraditionalFileFormat")
*.* action(type="ompipe" pipe="$T/fifo" template="RSYSLOG_TraditionalFileFormat")
EOF
rsyslogd -n -f "$T/rsyslog.conf" -i "$T/rsyslog.pid" 2>"$T/rsyslog.err" &
track_pid $!
wait_for 10 test -S "$T/log.sock"

# The POP chain under tcpserver on the namespace's loopback, port 110.
mkdir -p "$T/home/alice/Maildir/new" "$T/home/alice/Maildir/cur" \
    "$T/home/alice/Maildir/tmp"
printf 'Subject: hi\n\nhello\n' >"$T/home/alice/Maildir/new/1000000001.P1.mail.test"
chown -R nobody:"$(id -gn nobody)" "$T/home"
chmod 700 "$T/home/alice/Maildir"
: >"$T/checkpw.record"
make_secret 's3cret'
cp -p "$T/pass" "$T/pop.pass"
CHECKPW_TEST_HOME=$T/home CHECKPW_TEST_ACCOUNT=nobody \
CHECKPW_TEST_RECORD=$T/checkpw.record AUTHRELAY_SYSLOG_SOCKET=$T/log.sock \
AUTHRELAY_POP_FAIL_DELAY=20ms SSL_HACK_PASS=$T/pop.pass \
    ip netns exec "$NS" tcpserver -R -H -l mail.test 127.0.0.1 110 \
    "$POPUP" mail.test "$CHECKPW" "$POP3D" Maildir 2>"$T/tcpserver.err" &
track_pid $!
wait_for 10 listening 110

make_cert
start_front "$T/front.log" -l "$FRONT4:995" -c "$T/cert.pem" \
    -k "$T/key.pem" -b 127.0.0.1:110 -p "$T/pass" -u authrelay

out=$(in_ns curl -sS --max-time 10 -k --interface "$CLIENT4" \
    -u alice:wonderland "pop3s://$FRONT4:995/") || fail "curl pop3s: $out"
assert_eq "1 19" "$(printf '%s' "$out" | tr -d '\r')" "LIST through the chain"
ok "curl pop3s through sslwrap-hack and the qmail-pop-hack chain"

line_re="qmail-popup-hack\[[0-9]+\]: login ok svc=pop3s ip=$CLIENT4 user=alice auth=(user|apop) via=ssl\$"
wait_for 10 grep -Eq -- "$line_re" "$T/syslog"
line=$(grep -E -- "$line_re" "$T/syslog")
parsed=$(printf '%s\n' "$line" | "$BIN/authrelayctl" parse -p "$TOP/parsers" 2>&1) ||
    fail "authrelayctl parse: $parsed"
assert_contains "$parsed" "\"ip\":\"$CLIENT4\"" "parsed ip"
ok "qmail-popup-hack logged ip=$CLIENT4 via=ssl"

wait_for 15 has_relay "$CLIENT4"
assert_eq "alice|pop3s" \
    "$(sql "SELECT username, service FROM relay WHERE ip = '$CLIENT4'")" "relay row"
assert_eq 0 "$(sql "SELECT count(*) FROM login_event WHERE ip <> '$CLIENT4'")" \
    "login events from any other address"
assert_eq 1 "$(sql "SELECT count(*) FROM relay")" "relay rows"
ok "authrelayd recorded the relay for $CLIENT4, nothing for 127.0.0.1"

# IPv6 client through the same chain.
start_front "$T/front6.log" -l "[$FRONT6]:995" -c "$T/cert.pem" \
    -k "$T/key.pem" -b 127.0.0.1:110 -p "$T/pass" -u authrelay
out=$(in_ns curl -sS --max-time 10 -k --interface "$CLIENT6" \
    -u alice:wonderland "pop3s://[$FRONT6]:995/") || fail "curl pop3s v6: $out"
wait_for 15 has_relay "$CLIENT6"
ok "IPv6 client $CLIENT6 recorded"

# A front whose secret differs from the popup's: refused, no relay.
make_secret 'wrong'
start_front "$T/wrong.log" -l "$FRONT4:996" -c "$T/cert.pem" \
    -k "$T/key.pem" -b 127.0.0.1:110 -p "$T/pass" -u authrelay
out=$(tlsclient pop "$CLIENT4" "$FRONT4" 996)
assert_contains "$out" "-ERR real-IP line refused" "reply to a wrong secret"
assert_not_contains "$out" "+OK bye" "session after a wrong secret"
wait_for 10 grep -q 'ssl line refused peer=127.0.0.1 reason=bad-secret' "$T/syslog"
rc=0
in_ns curl -sS --max-time 10 -k --interface "$CLIENT4" -u alice:wonderland \
    "pop3s://$FRONT4:996/" >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "curl succeeded through a front with the wrong secret"
assert_eq 2 "$(sql "SELECT count(*) FROM relay")" "relay rows after refusals"
assert_not_contains "$(cat "$T/syslog")" "ip=127.0.0.1" "syslog"
ok "wrong secret in the front: session refused, nothing recorded"
