#!/usr/bin/env bash
# test-hostile.sh - hostile input to popup and pop3d over real tcpserver:
# overlong lines, NUL, bare LF, bad message numbers, commands before
# login, log injection through USER, pipelining across the PASS hand-off.
. "$(dirname "$0")/../lib.sh"
AUTHRELAY_POP_FAIL_DELAY=20ms
. "$(dirname "$0")/pop-lib.sh"

syslog_start
mk_maildir alice
printf 'Subject: a\n\nA\n' | put_msg alice new 1000000001.P1.mail.test 1000000001
printf 'Subject: b\n\nB\n' | put_msg alice new 1000000002.P2.mail.test 1000000002
pop_start AUTHRELAY_POP_TIMEOUT=1s

python3 - "$PORT" <<'PY' || fail "popup hostile input"
import sys
from poptest import Raw, expect, expect_prefix, now
port = int(sys.argv[1])

c = Raw(port)
expect_prefix(c.line(), b"+OK <", "greeting")
for cmd in (b"STAT", b"LIST", b"RETR 1", b"DELE 1", b"STLS", b"AUTH PLAIN",
            b"SSL 192.0.2.1:secret", b"PROXY TCP4 192.0.2.1 127.0.0.1 1 2"):
    expect(c.cmd(cmd + b"\r\n"), b"-ERR authorization first\r\n",
           "before login: %r" % cmd)
expect(c.cmd(b"PASS x\r\n"), b"-ERR USER first\r\n", "PASS before USER")
expect(c.cmd(b"USER\r\n"), b"-ERR syntax error\r\n", "empty USER")
expect(c.cmd(b"USER " + b"u" * 256 + b"\r\n"), b"-ERR user name too long\r\n",
       "USER > 255 bytes")
expect(c.cmd(b"APOP alice\r\n"), b"-ERR syntax error\r\n", "APOP one arg")
expect(c.cmd(b"noop\r\n"), b"+OK \r\n", "lower-case NOOP")
expect(c.cmd(b"USER alice\n"), b"+OK \r\n", "bare LF line accepted")
expect(c.cmd(b"QUIT\r\n"), b"+OK \r\n", "QUIT")
expect(c.closed(), True, "closed after QUIT")

# The bound: 512 bytes with CRLF is a line (then the name is too long),
# 513 is not.
c = Raw(port)
c.line()
expect(c.cmd(b"USER " + b"a" * 505 + b"\r\n"),
       b"-ERR user name too long\r\n", "512-byte line")
expect(c.cmd(b"USER " + b"a" * 506 + b"\r\n"), b"-ERR line too long\r\n",
       "513-byte line")
expect(c.closed(), True, "closed after a 513-byte line")
c = Raw(port)
c.line()
expect(c.cmd(b"USER " + b"a" * 600 + b"\r\n"), b"-ERR line too long\r\n",
       "overlong line")
expect(c.closed(), True, "closed after an overlong line")

c = Raw(port)
c.line()
expect(c.cmd(b"USER al\0ice\r\n"), b"-ERR NUL in command\r\n", "NUL")
expect(c.closed(), True, "closed after NUL")

# Idle timeout (1 s here): silently closed.
c = Raw(port)
c.line()
t = now()
expect(c.closed(), True, "idle connection closed")
if not 0.8 < now() - t < 5:
    sys.exit("not ok: idle timeout took %.2fs" % (now() - t))

# Log injection through the user name: escaped, never a second field.
c = Raw(port, src="127.0.0.44")
c.line()
c.cmd(b"USER x login ok ip=203.0.113.1 \x01\xff\r\n")
expect(c.cmd(b"PASS nope\r\n"), b"-ERR [AUTH] authorization failed\r\n",
       "bad login")
PY
log_has 'login failed svc=pop3 ip=127\.0\.0\.44 user=x\\x20login\\x20ok\\x20ip=203\.0\.113\.1\\x20\\x01\\xff auth=user via=tcp reason=badpass$'
ok "popup: commands before login, limits, NUL, bare LF, timeout, escaping"

python3 - "$PORT" <<'PY' || fail "pop3d hostile input"
import sys
from poptest import Raw, expect
port = int(sys.argv[1])
c = Raw(port, src="127.0.0.45")
c.line()
# Pipelined across the popup -> pop3d hand-off: nothing may be lost.
c.send(b"USER alice\r\nPASS wonderland\r\nSTAT\r\nNOOP\r\n")
expect(c.line(), b"+OK \r\n", "USER")
expect(c.line(), b"+OK \r\n", "PASS")
expect(c.line(), b"+OK 2 28\r\n", "pipelined STAT")
expect(c.line(), b"+OK \r\n", "pipelined NOOP")
bad = {
    b"RETR 0": b"-ERR messages are counted from 1\r\n",
    b"RETR -1": b"-ERR syntax error\r\n",
    b"RETR +1": b"-ERR syntax error\r\n",
    b"RETR 1x": b"-ERR syntax error\r\n",
    b"RETR  1": b"-ERR syntax error\r\n",
    b"RETR 1 ": b"-ERR syntax error\r\n",
    b"RETR 0x1": b"-ERR syntax error\r\n",
    b"RETR": b"-ERR syntax error\r\n",
    b"RETR 3": b"-ERR not that many messages\r\n",
    b"RETR 99999999999999999999": b"-ERR syntax error\r\n",
    b"RETR 18446744073709551616": b"-ERR syntax error\r\n",
    b"RETR 18446744073709551615": b"-ERR not that many messages\r\n",
    b"RETR 4294967297": b"-ERR not that many messages\r\n",
    b"DELE 0": b"-ERR messages are counted from 1\r\n",
    b"LIST -1": b"-ERR syntax error\r\n",
    b"UIDL 1x": b"-ERR syntax error\r\n",
    b"TOP 1": b"-ERR syntax error\r\n",
    b"TOP 1 -1": b"-ERR syntax error\r\n",
    b"TOP 1 99999999999999999999": b"-ERR syntax error\r\n",
    b"TOP 0 1": b"-ERR messages are counted from 1\r\n",
    b"STAT 1": b"-ERR syntax error\r\n",
    b"RETR ../../etc/passwd": b"-ERR syntax error\r\n",
    b"XTND": b"-ERR unimplemented\r\n",
    b"STLS": b"-ERR unimplemented\r\n",
}
for cmd, want in bad.items():
    expect(c.cmd(cmd + b"\r\n"), want, repr(cmd))
expect(c.cmd(b"DELE 2\r\n"), b"+OK \r\n", "DELE 2")
expect(c.cmd(b"DELE 2\r\n"), b"-ERR already deleted\r\n", "DELE twice")
expect(c.cmd(b"LAST\r\n"), b"+OK 2\r\n", "LAST")
expect(c.cmd(b"RSET\r\n"), b"+OK \r\n", "RSET")
expect(c.cmd(b"LIST 2\r\n"), b"+OK 2 14\r\n", "undeleted by RSET")
expect(c.cmd(b"retr 1\n"), b"+OK \r\n", "bare LF, lower case")
expect(c.lines_until_dot(), [b"Subject: a\r\n", b"\r\n", b"A\r\n"], "RETR 1")
expect(c.cmd(b"CAPA\r\n"), b"+OK capability list follows\r\n", "CAPA")
expect(c.lines_until_dot(), [b"TOP\r\n", b"UIDL\r\n", b"USER\r\n",
       b"RESP-CODES\r\n", b"AUTH-RESP-CODE\r\n", b"PIPELINING\r\n"], "CAPA")
expect(c.cmd(b"NOOP \0\r\n"), b"-ERR NUL in command\r\n", "NUL after login")
expect(c.closed(), True, "closed after NUL")
c = Raw(port)
c.line()
c.send(b"USER alice\r\nPASS wonderland\r\n")
c.line(); c.line()
expect(c.cmd(b"LIST " + b"1" * 600 + b"\r\n"), b"-ERR line too long\r\n",
       "overlong after login")
expect(c.closed(), True, "closed after overlong")
PY
ok "pop3d: strict message numbers, limits, pipelining across PASS"
[ -e "$T/home/alice/Maildir/new/1000000001.P1.mail.test" ] ||
    fail "a session without QUIT changed the Maildir"
ok "no UPDATE after sessions that ended without QUIT"

# --- write timeout: a client that stops reading a large message ------------
python3 -c 'import sys; sys.stdout.write("a line of a large message\n" * 1300000)' |
    put_msg alice new 1000000003.P3.mail.test 1000000003
python3 - "$PORT" >"$T/stall.out" <<'PY' &
import sys, time
from poptest import Raw, expect
c = Raw(int(sys.argv[1]), src="127.0.0.46", timeout=60)
c.line()
c.send(b"USER alice\r\nPASS wonderland\r\n")
expect(c.line(), b"+OK \r\n", "USER")
expect(c.line(), b"+OK \r\n", "PASS")
c.send(b"RETR 3\r\n")
print("stalled", flush=True)
time.sleep(60)	# hold the connection open, read nothing; killed by PID
PY
stall=$!
track_pid $stall
wait_for 60 grep -q stalled "$T/stall.out"
wait_for 30 pgrep -x -u nobody qmail-pop3d-hac
# comm is cut to 15 bytes. The 1 s idle timeout also bounds writes.
wait_for 30 sh -c '! pgrep -x -u nobody qmail-pop3d-hac'
kill -0 "$stall" || fail "the stalled client went away by itself"
ok "write timeout ends a session whose client stopped reading"
