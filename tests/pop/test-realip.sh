#!/usr/bin/env bash
# test-realip.sh - the SSL line and the PROXY v1 header: accepted only
# first, only from a loopback peer (kernel's view), only with the right
# secret and a canonical, specified address; refused otherwise.
. "$(dirname "$0")/../lib.sh"
AUTHRELAY_POP_FAIL_DELAY=20ms
. "$(dirname "$0")/pop-lib.sh"

syslog_start
mk_maildir alice
printf 'Subject: a\n\nA\n' | put_msg alice new 1000000001.P1.mail.test 1000000001
SECRET='s3cr:et with spaces'
printf '%s\n' "$SECRET" >"$T/sslpass"
chmod 600 "$T/sslpass"

# --- the secret file is checked before anything else -------------------
start_fails() { # WHAT EXPECTED-REASON: popup must exit 111 with it
	local err rc=0
	err=$(SSL_HACK_PASS=$1 "$POPUP" mail.test /bin/false </dev/null 2>&1 >/dev/null) || rc=$?
	assert_eq 111 "$rc" "exit status with SSL_HACK_PASS=$1"
	assert_eq "qmail-popup-hack: fatal: unable to read SSL_HACK_PASS file $1: $2" \
	    "$err" "fatal message"
}
cp "$T/sslpass" "$T/lax"; chmod 644 "$T/lax"
start_fails "$T/lax" "mode 0644 allows group/other access"
ln -s "$T/sslpass" "$T/link"
start_fails "$T/link" "is a symlink"
cp "$T/sslpass" "$T/foreign"; chown nobody "$T/foreign"
start_fails "$T/foreign" "owner is not uid 0"
start_fails "$T/missing" "No such file or directory"
mkdir "$T/dir"; chmod 700 "$T/dir"
start_fails "$T/dir" "not a regular file"
: >"$T/empty"; chmod 600 "$T/empty"
start_fails "$T/empty" "empty"
ok "SSL_HACK_PASS file checks refuse to start (exit 111)"

# --- SSL line on a loopback instance --------------------------------------
pop_start SSL_HACK_PASS="$T/sslpass"
SSLPORT=$PORT
python3 - "$SSLPORT" "$SECRET" <<'PY' || fail "SSL line"
import sys
from poptest import Raw, expect, expect_prefix
port, secret = int(sys.argv[1]), sys.argv[2].encode()

def login(first, src="127.0.0.1"):
    c = Raw(port, src=src)
    expect_prefix(c.line(), b"+OK <", "greeting")
    c.send(first)
    # No reply to a good SSL line: the next reply answers USER.
    expect(c.cmd(b"USER alice\r\n"), b"+OK \r\n", "USER after %r" % first)
    expect(c.cmd(b"PASS wonderland\r\n"), b"+OK \r\n", "PASS")
    expect(c.cmd(b"QUIT\r\n"), b"+OK \r\n", "QUIT")

login(b"SSL 198.51.100.7:" + secret + b"\r\n", src="127.0.0.31")
login(b"SSL [2001:db8::7]:" + secret + b"\r\n", src="127.0.0.32")
login(b"SSL 127.0.0.1:" + secret + b"\r\n", src="127.0.0.33")

def refused(first, why):
    c = Raw(port, src="127.0.0.34")
    c.line()
    expect(c.cmd(first), b"-ERR real-IP line refused\r\n", why)
    expect(c.closed(), True, "closed: " + why)

refused(b"SSL 198.51.100.7:wrong\r\n", "wrong secret")
refused(b"SSL 198.51.100.7:" + secret + b"x\r\n", "longer secret")
refused(b"SSL 198.51.100.7:" + secret[:-1] + b"\r\n", "shorter secret")
refused(b"SSL 198.51.100.7:\r\n", "empty secret")
for ip in (b"1.2.3.04", b"[::ffff:1.2.3.4]", b"[2001:DB8::1]",
           b"[2001:db8:0::1]", b"0.0.0.0", b"[::]", b"256.1.1.1",
           b"[1.2.3.4]", b"1.2.3", b"[fe80::1%lo]", b" 1.2.3.4", b"[]"):
    refused(b"SSL " + ip + b":" + secret + b"\r\n", "address %r" % ip)
refused(b"SSL 2001:db8::1:" + secret + b"\r\n", "unbracketed IPv6")
refused(b"SSL 198.51.100.7" + secret + b"\r\n", "no colon")
refused(b"SSL 198.51.100.7:" + secret + b"\n", "bare LF")

# Only as the very first line; lower case is just an unknown command.
c = Raw(port)
c.line()
expect(c.cmd(b"NOOP\r\n"), b"+OK \r\n", "NOOP first")
expect(c.cmd(b"SSL 198.51.100.7:" + secret + b"\r\n"),
       b"-ERR authorization first\r\n", "SSL line second")
c = Raw(port)
c.line()
expect(c.cmd(b"ssl 198.51.100.7:" + secret + b"\r\n"),
       b"-ERR authorization first\r\n", "lower-case ssl")
PY
log_has 'login ok svc=pop3s ip=198\.51\.100\.7 user=alice auth=user via=ssl$'
log_has 'login ok svc=pop3s ip=2001:db8::7 user=alice auth=user via=ssl$'
log_has 'login ok svc=pop3s ip=127\.0\.0\.1 user=alice auth=user via=ssl$'
check_parses "$(grep 'ip=198.51.100.7 ' "$T/syslog" | head -n 1)" 198.51.100.7 alice
check_parses "$(grep 'ip=2001:db8::7 ' "$T/syslog" | head -n 1)" 2001:db8::7 alice
grep -q 'login=alice .* ip=198.51.100.7 front=127.0.0.31 notifyfd=4 fd4=open sslpass=-' \
    "$CHECKPW_TEST_RECORD" || fail "checkpassword env after SSL line: $(cat "$CHECKPW_TEST_RECORD")"
log_has 'ssl line refused peer=127\.0\.0\.34 reason=bad-secret$'
log_has 'ssl line refused peer=127\.0\.0\.34 reason=non-canonical-ip$'
log_has 'ssl line refused peer=127\.0\.0\.34 reason=unspecified-ip$'
log_has 'ssl line refused peer=127\.0\.0\.34 reason=bad-ip$'
log_has 'ssl line refused peer=127\.0\.0\.34 reason=no-crlf$'
if grep -q 's3cr' "$T/syslog"; then fail "the secret reached the log"; fi
if grep -Eq 'login ok .*ip=(1\.2\.3\.4|2001:db8::1|0\.0\.0\.0|::) ' "$T/syslog"; then
	fail "a refused SSL line produced a login"
fi
ok "SSL line: accepted silently first from loopback; every bad form refused"

# --- not configured: just an unknown command --------------------------------
pop_start
python3 - "$PORT" "$SECRET" <<'PY' || fail "SSL line unconfigured"
import sys
from poptest import Raw, expect
c = Raw(int(sys.argv[1]))
c.line()
expect(c.cmd(b"SSL 198.51.100.7:" + sys.argv[2].encode() + b"\r\n"),
       b"-ERR authorization first\r\n", "SSL line without SSL_HACK_PASS")
expect(c.cmd(b"NOOP\r\n"), b"+OK \r\n", "session goes on")
PY
ok "SSL line without SSL_HACK_PASS is an unknown command"

# --- PROXY v1 header -------------------------------------------------------
pop_start PROXY_PROTOCOL=1
python3 - "$PORT" <<'PY' || fail "PROXY header"
import sys
from poptest import Raw, expect
port = int(sys.argv[1])
def login(first, src):
    c = Raw(port, src=src)
    c.line()
    c.send(first)
    expect(c.cmd(b"USER alice\r\n"), b"+OK \r\n", "USER after %r" % first)
    expect(c.cmd(b"PASS wonderland\r\n"), b"+OK \r\n", "PASS")
    expect(c.cmd(b"QUIT\r\n"), b"+OK \r\n", "QUIT")
login(b"PROXY TCP4 203.0.113.9 127.0.0.1 5555 995\r\n", "127.0.0.41")
login(b"PROXY TCP6 2001:db8::9 ::1 5555 995\r\n", "127.0.0.42")
login(b"PROXY UNKNOWN\r\n", "127.0.0.43")
def refused(first, why):
    c = Raw(port, src="127.0.0.44")
    c.line()
    expect(c.cmd(first), b"-ERR real-IP line refused\r\n", why)
    expect(c.closed(), True, "closed: " + why)
refused(b"USER alice\r\n", "header missing")
refused(b"PROXY TCP4 203.0.113.9 127.0.0.1 5555 995\n", "bare LF")
refused(b"PROXY TCP4  203.0.113.9 127.0.0.1 5555 995\r\n", "double space")
refused(b"PROXY TCP4 203.0.113.09 127.0.0.1 5555 995\r\n", "leading zero")
refused(b"PROXY TCP4 203.0.113.9 127.0.0.1 05555 995\r\n", "port zero")
refused(b"PROXY TCP4 203.0.113.9 127.0.0.1 65536 995\r\n", "port range")
refused(b"PROXY TCP6 203.0.113.9 127.0.0.1 5555 995\r\n", "family")
refused(b"PROXY TCP4 0.0.0.0 127.0.0.1 5555 995\r\n", "unspecified")
refused(b"PROXY TCP4 203.0.113.9 127.0.0.1 5555\r\n", "fields")
PY
log_has 'login ok svc=pop3s ip=203\.0\.113\.9 user=alice auth=user via=proxy$'
log_has 'login ok svc=pop3s ip=2001:db8::9 user=alice auth=user via=proxy$'
log_has 'login ok svc=pop3 ip=127\.0\.0\.43 user=alice auth=user via=tcp$'
log_has 'proxy header refused peer=127\.0\.0\.44 reason=missing$'
log_has 'proxy header refused peer=127\.0\.0\.44 reason=malformed$'
check_parses "$(grep 'ip=203.0.113.9 ' "$T/syslog" | head -n 1)" 203.0.113.9 alice
ok "PROXY v1: TCP4, TCP6, UNKNOWN accepted; malformed or missing refused"

# --- a non-loopback peer (private network namespace) -----------------------
netns_setup 192.0.2.10
NSPORT=$(free_port)
ip netns exec "$NS" env SSL_HACK_PASS="$T/sslpass" tcpserver -R -H -l mail.test 0 "$NSPORT" \
    "$POPUP" mail.test "$CHECKPW" "$POP3D" Maildir 2>>"$T/tcpserver.err" &
track_pid $!
wait_for 10 in_ns sh -c "ss -ltnH 'sport = :$NSPORT' | grep -q LISTEN"
in_ns python3 - "$NSPORT" "$SECRET" <<'PY' || fail "non-loopback peer"
import sys
from poptest import Raw, expect
port, secret = int(sys.argv[1]), sys.argv[2].encode()
line = b"SSL 198.51.100.70:" + secret + b"\r\n"
c = Raw(port, src="192.0.2.10", host="192.0.2.10")
c.line()
expect(c.cmd(line), b"-ERR real-IP line refused\r\n", "non-loopback peer")
expect(c.closed(), True, "closed")
# The same instance, the same line, from loopback inside the namespace.
c = Raw(port, src="127.0.0.1", host="127.0.0.1")
c.line()
c.send(line)
expect(c.cmd(b"USER alice\r\n"), b"+OK \r\n", "loopback control: USER")
expect(c.cmd(b"PASS wonderland\r\n"), b"+OK \r\n", "loopback control: PASS")
PY
log_has 'ssl line refused peer=192\.0\.2\.10 reason=peer-not-loopback$'
log_has 'login ok svc=pop3s ip=198\.51\.100\.70 user=alice auth=user via=ssl$'
if grep -q 'ip=198.51.100.70 .*192.0.2.10' "$CHECKPW_TEST_RECORD"; then
	fail "non-loopback SSL line reached checkpassword"
fi
NSPROXY=$(free_port)
ip netns exec "$NS" env PROXY_PROTOCOL=1 tcpserver -R -H -l mail.test 0 "$NSPROXY" \
    "$POPUP" mail.test "$CHECKPW" "$POP3D" Maildir 2>>"$T/tcpserver.err" &
track_pid $!
wait_for 10 in_ns sh -c "ss -ltnH 'sport = :$NSPROXY' | grep -q LISTEN"
in_ns python3 - "$NSPROXY" <<'PY' || fail "PROXY from a non-loopback peer"
import sys
from poptest import Raw, expect
c = Raw(int(sys.argv[1]), src="192.0.2.10", host="192.0.2.10")
c.line()
expect(c.cmd(b"PROXY TCP4 198.51.100.71 192.0.2.10 5555 995\r\n"),
       b"-ERR real-IP line refused\r\n", "PROXY from non-loopback")
expect(c.closed(), True, "closed")
PY
log_has 'proxy header refused peer=192\.0\.2\.10 reason=peer-not-loopback$'
if grep -q '198\.51\.100\.71' "$CHECKPW_TEST_RECORD"; then
	fail "non-loopback PROXY header reached checkpassword"
fi
ok "SSL line and PROXY header from a non-loopback peer refused (TEST-NET address in a netns)"
