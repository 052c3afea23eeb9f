#!/usr/bin/env bash
# test-required.sh - SSL_HACK_REQUIRE=1 (issue 12 item 7): an instance meant
# to be reached only through sslwrap-hack refuses a connection whose
# first line is not the SSL line, instead of serving plain POP; the
# daemontools recipe of the back end sets it.
. "$(dirname "$0")/../lib.sh"
AUTHRELAY_POP_FAIL_DELAY=20ms
. "$(dirname "$0")/pop-lib.sh"

syslog_start
mk_maildir alice
SECRET='s3cret'
printf '%s\n' "$SECRET" > "$T/sslpass"
chmod 600 "$T/sslpass"

# Misconfigurations stop it before any session (exit 111).
start_fails() { # EXPECTED-MESSAGE VAR=VALUE...
	local want=$1 err rc=0; shift
	err=$(env "$@" "$POPUP" mail.test /bin/false </dev/null 2>&1 >/dev/null) || rc=$?
	assert_eq 111 "$rc" "exit status with $*"
	assert_eq "qmail-popup-hack: fatal: $want" "$err" "message with $*"
}
start_fails "SSL_HACK_REQUIRE=1 needs SSL_HACK_PASS or PROXY_PROTOCOL=1" SSL_HACK_REQUIRE=1
start_fails "bad SSL_HACK_REQUIRE 'yes' (want 1 or 0)" SSL_HACK_REQUIRE=yes SSL_HACK_PASS="$T/sslpass"
ok "SSL_HACK_REQUIRE=1 without a real-IP line to require, or a bad value, refuses to start"

pop_start SSL_HACK_PASS="$T/sslpass" SSL_HACK_REQUIRE=1
python3 - "$PORT" "$SECRET" <<'PY' || fail "SSL_HACK_REQUIRE=1 sessions"
import sys
from poptest import Raw, expect, expect_prefix
port, secret = int(sys.argv[1]), sys.argv[2].encode()

def refused(first, why):
    c = Raw(port, src="127.0.0.51")
    expect_prefix(c.line(), b"+OK <", "greeting")
    expect(c.cmd(first), b"-ERR real-IP line refused\r\n", why)
    expect(c.closed(), True, "closed: " + why)

refused(b"USER alice\r\n", "plain USER first")
refused(b"CAPA\r\n", "CAPA first")
refused(b"ssl 198.51.100.7:" + secret + b"\r\n", "lower-case ssl")
refused(b"PROXY TCP4 203.0.113.9 127.0.0.1 5555 995\r\n", "a PROXY header instead")

c = Raw(port, src="127.0.0.52")
expect_prefix(c.line(), b"+OK <", "greeting")
c.send(b"SSL 198.51.100.7:" + secret + b"\r\n")
expect(c.cmd(b"USER alice\r\n"), b"+OK \r\n", "USER after the SSL line")
expect(c.cmd(b"PASS wonderland\r\n"), b"+OK \r\n", "PASS")
expect(c.cmd(b"QUIT\r\n"), b"+OK \r\n", "QUIT")
PY
log_has 'ssl line refused peer=127\.0\.0\.51 reason=missing$'
log_has 'login ok svc=pop3s ip=198\.51\.100\.7 user=alice auth=user via=ssl$'
if grep -q 'login ok .*via=tcp' "$T/syslog"; then fail "a plain session logged in"; fi
if grep -q 'SSL_HACK_REQUIRE' "$CHECKPW_TEST_RECORD" 2>/dev/null; then fail "SSL_HACK_REQUIRE reached checkpassword"; fi
ok "SSL_HACK_REQUIRE=1: no plain POP session, the SSL line still works"

# SSL_HACK_REQUIRE=0 (or unset): plain POP as before.
pop_start SSL_HACK_PASS="$T/sslpass" SSL_HACK_REQUIRE=0
python3 - "$PORT" <<'PY' || fail "SSL_HACK_REQUIRE=0"
import sys
from poptest import Raw, expect
c = Raw(int(sys.argv[1]), src="127.0.0.53")
c.line()
expect(c.cmd(b"USER alice\r\n"), b"+OK \r\n", "plain USER with SSL_HACK_REQUIRE=0")
expect(c.cmd(b"QUIT\r\n"), b"+OK \r\n", "QUIT")
PY
ok "SSL_HACK_REQUIRE=0 serves plain POP as before"

# The shipped back-end recipe sets it, next to the secret.
run=$TOP/etc/daemontools/pop3-backend/run
grep -q 'SSL_HACK_PASS=/etc/authrelay/ssl-hack.pass SSL_HACK_REQUIRE=1' "$run" ||
	fail "etc/daemontools/pop3-backend/run does not set SSL_HACK_REQUIRE=1"
grep -q '127.0.0.1 1110' "$run" || fail "the back end does not listen on loopback 1110"
grep -q -- '-b 127.0.0.1:1110' "$TOP/etc/daemontools/pop3s/run" || fail "the front does not talk to 1110"
ok "the daemontools back-end recipe sets SSL_HACK_REQUIRE=1"
