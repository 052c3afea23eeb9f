#!/usr/bin/env bash
# test-utf8.sh - UTF-8 user names through the real popup chain: the
# "login ok" record carries the name as typed (it round-trips through
# the parser), every record stays within 512 bytes, and a user whose
# record cannot fit is logged as unrecorded (no relay).
. "$(dirname "$0")/../lib.sh"
AUTHRELAY_POP_FAIL_DELAY=20ms
. "$(dirname "$0")/pop-lib.sh"
export CHECKPW_TEST_ANY_PASS=sesame

jorg=$'j\xc3\xb6rg@example.org'
# 127 x U+00F6: 254 bytes, the issue's 1 115-byte record before.
long=$(python3 -c 'import sys; sys.stdout.write("\u00f6" * 127)')
[ "$(printf %s "$long" | wc -c)" = 254 ] || fail "test name is not 254 bytes"
# 241 bytes, 120 of them spaces: 601 bytes once escaped, cannot fit.
wide=$(python3 -c 'import sys; sys.stdout.write("s" + " s" * 120)')
syslog_start
for u in "$jorg" "$long" "$wide"; do mk_maildir "$u"; done
pop_start

# login FROM USER: a whole session, USER/PASS/QUIT.
login() {
	python3 - "$PORT" "$1" "$2" <<'PY' || fail "session for $2"
import os, sys
from poptest import Raw, expect, expect_prefix
port, src = int(sys.argv[1]), sys.argv[2]
user = os.fsencode(sys.argv[3])
c = Raw(port, src=src)
expect_prefix(c.line(), b"+OK <", "greeting")
expect_prefix(c.cmd(b"USER " + user + b"\r\n"), b"+OK", "USER")
expect_prefix(c.cmd(b"PASS sesame\r\n"), b"+OK", "PASS")
expect_prefix(c.cmd(b"QUIT\r\n"), b"+OK", "QUIT")
PY
}

# record_ok LINE: the message is at most 448 bytes, and the datagram we
# sent ("<PRI>Mmm dd hh:mm:ss qmail-popup-hack[PID]: " + message) at
# most 512.
record_ok() {
	local msg=${1#*: } pid
	pid=$(printf '%s\n' "$1" | sed -n 's/.*qmail-popup-hack\[\([0-9]*\)\]: .*/\1/p')
	[ "$(printf %s "$msg" | wc -c)" -le 448 ] || fail "message over 448 bytes: $1"
	[ $((5 + 16 + ${#pid} + 20 + $(printf %s "$msg" | wc -c))) -le 512 ] ||
	    fail "record over 512 bytes: $1"
}

login 127.0.0.61 "$jorg"
log_has 'login ok svc=pop3 ip=127\.0\.0\.61 '
line=$(grep -a 'ip=127.0.0.61 ' "$T/syslog")
assert_contains "$line" "login ok svc=pop3 ip=127.0.0.61 user=$jorg auth=user via=tcp" "UTF-8 name as typed"
check_parses "$line" 127.0.0.61 "$jorg"
record_ok "$line"
ok "a UTF-8 name is written as typed and parses back to the same bytes"

login 127.0.0.62 "$long"
log_has 'login ok svc=pop3 ip=127\.0\.0\.62 '
line=$(grep -a 'ip=127.0.0.62 ' "$T/syslog")
check_parses "$line" 127.0.0.62 "$long"
record_ok "$line"
[ "$(printf %s "$line" | wc -c)" -lt 400 ] || fail "254-byte UTF-8 name: line of $(printf %s "$line" | wc -c) bytes"
ok "a 254-byte UTF-8 name makes a record under 512 bytes"

login 127.0.0.63 "$wide"
log_has 'login unrecorded svc=pop3 ip=127\.0\.0\.63 auth=user via=tcp reason=user-too-long outcome=ok$'
line=$(grep -a 'ip=127.0.0.63 ' "$T/syslog")
[ "$(printf '%s\n' "$line" | wc -l)" = 1 ] || fail "more than one record: $line"
record_ok "$line"
out=$(printf '%s\n' "$line" | "$BIN/authrelayctl" parse -p "$TOP/parsers" 2>/dev/null)
assert_eq "" "$out" "an unrecorded login never matches"
ok "a name that cannot fit: login unrecorded, no relay"

# Failures keep their reason even with the longest hostile name:
# invalid UTF-8, C1 controls, a bidi override and spaces, all escaped.
python3 - "$PORT" <<'PY' || fail "hostile failures"
import sys
from poptest import Raw, expect, expect_prefix
port = int(sys.argv[1])
for src, user in (("127.0.0.64", b"j\xf6rg \xc2\x9b31m \xe2\x80\xaeabc \xc0\xaf"),
                  ("127.0.0.65", b"\xff" * 255)):
    c = Raw(port, src=src)
    expect_prefix(c.line(), b"+OK <", "greeting")
    expect_prefix(c.cmd(b"USER " + user + b"\r\n"), b"+OK", "USER")
    expect(c.cmd(b"PASS wrong\r\n"), b"-ERR [AUTH] authorization failed\r\n",
           "bad login")
PY
log_has 'login failed svc=pop3 ip=127\.0\.0\.64 user=j\\xf6rg\\x20\\xc2\\x9b31m\\x20\\xe2\\x80\\xaeabc\\x20\\xc0\\xaf auth=user via=tcp reason=badpass$'
log_has 'login failed svc=pop3 ip=127\.0\.0\.65 auth=user via=tcp reason=badpass note=user-too-long$'
record_ok "$(grep -a 'ip=127.0.0.64 ' "$T/syslog")"
record_ok "$(grep -a 'ip=127.0.0.65 ' "$T/syslog")"
ok "failure records stay whole: escaped or without the name"

# Nothing in the log is longer than 512 bytes, and all of it is UTF-8.
LC_ALL=C awk 'length($0) > 512 { bad = 1 } END { exit bad }' "$T/syslog" ||
    fail "a syslog line over 512 bytes"
python3 -c 'import sys; open(sys.argv[1], "rb").read().decode("utf-8")' "$T/syslog" ||
    fail "syslog holds invalid UTF-8"
ok "every line within 512 bytes and valid UTF-8"
