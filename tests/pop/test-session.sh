#!/usr/bin/env bash
# test-session.sh - real tcpserver + popup + checkpassword + pop3d with
# python poplib and curl from distinct loopback addresses: byte-exact
# messages, deletion only at QUIT, the root-written login line.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/pop-lib.sh"

syslog_start
mk_maildir alice
mk_maildir bob@example.org
mk_maildir rootuser
# Three messages for alice, oldest first: LF, CRLF with dot lines, and
# one whose last line has no newline.
printf 'From: a@example.org\nSubject: one\n\nline 1\n.dotted\n..two dots\n.\n' |
    put_msg alice new 1000000001.P1.mail.test 1000000001
printf 'Subject: two\r\n\r\nbody\r\n.\r\nend\r\n' |
    put_msg alice new 1000000002.P2.mail.test 1000000002
printf 'Subject: three\n\nno newline at the end' |
    put_msg alice cur '1000000003.P3.mail.test:2,S' 1000000003
# Things that must never be listed or opened.
ln -s /etc/shadow "$T/home/alice/Maildir/new/1000000004.symlink"
mkdir "$T/home/alice/Maildir/cur/1000000005.dir"
mkfifo "$T/home/alice/Maildir/new/1000000006.fifo"
echo hidden | put_msg alice new .1000000007.dotfile 1000000007
# An odd name: spaces, a non-ASCII byte, longer than 70 characters.
odd=$(printf 'odd name \xe9 %s' "$(printf 'x%.0s' $(seq 1 80))")
printf 'Subject: odd\n\nodd body\n' | put_msg alice new "$odd" 1000000008
printf 'Subject: for bob\n\nhello .bob\n.\n' |
    put_msg bob@example.org new 1000000009.P9.mail.test 1000000009

pop_start
M=$T/home/alice/Maildir

# --- poplib USER/PASS from 127.0.0.5 ------------------------------------
python3 - "$PORT" "$M" <<'PY' || fail "poplib session"
import os, sys
from poptest import POP3From, expect
port, md = int(sys.argv[1]), sys.argv[2]
p = POP3From("127.0.0.1", port, "127.0.0.5")
expect(p.user("alice"), b"+OK ", "USER")
expect(p.pass_("wonderland"), b"+OK ", "PASS")
sizes = [os.path.getsize(os.path.join(md, d, f)) for d in ("new", "cur")
         for f in os.listdir(os.path.join(md, d))
         if not f.startswith(".") and os.path.isfile(os.path.join(md, d, f))
         and not os.path.islink(os.path.join(md, d, f))]
expect(p.stat(), (4, sum(sizes)), "STAT (on-disk sizes)")
uidl = [l.split(b" ", 1)[1] for l in p.uidl()[1]]
expect(uidl[:3], [b"1000000001.P1.mail.test", b"1000000002.P2.mail.test",
                  b"1000000003.P3.mail.test"], "UIDL names")
odd = uidl[3]
if not (odd.startswith(b"sha256-") and len(odd) <= 70 and
        all(0x21 <= c <= 0x7e for c in odd)):
    sys.exit("not ok: odd UIDL %r" % odd)
def body(n):
    return b"\n".join(p.retr(n)[1])
expect(body(1) + b"\n", open(md + "/new/1000000001.P1.mail.test", "rb").read(),
       "RETR 1 byte-exact")
expect(body(2) + b"\n", open(md + "/new/1000000002.P2.mail.test", "rb")
       .read().replace(b"\r\n", b"\n"), "RETR 2 CRLF file")
expect(body(3), open(md + "/cur/1000000003.P3.mail.test:2,S", "rb").read(),
       "RETR 3 no final newline")
expect(body(4), b"Subject: odd\n\nodd body", "RETR 4 odd name")
expect(p.top(1, 1)[1], [b"From: a@example.org", b"Subject: one", b"",
                        b"line 1"], "TOP 1 1")
expect(p.top(2, 0)[1], [b"Subject: two", b""], "TOP 2 0")
expect(p.dele(1), b"+OK ", "DELE 1")
expect(os.path.exists(md + "/new/1000000001.P1.mail.test"), True,
       "not deleted before QUIT")
expect(p.stat()[0], 3, "STAT after DELE")
try:
    p.retr(1)
    sys.exit("not ok: RETR of a deleted message")
except Exception as e:
    expect(str(e), "b'-ERR already deleted'", "RETR deleted")
expect(p.quit(), b"+OK ", "QUIT")
PY
[ ! -e "$M/new/1000000001.P1.mail.test" ] || fail "DELE 1 did not persist after QUIT"
[ -e "$M/cur/1000000002.P2.mail.test:2," ] || fail "new/ message not moved to cur/ at QUIT"
[ -e "$M/cur/1000000003.P3.mail.test:2,S" ] || fail "cur/ message renamed"
[ -e "$M/cur/$odd:2," ] || fail "odd name not moved"
ok "poplib USER/PASS: byte-exact RETR/TOP, UIDL, DELE persisted at QUIT"

log_has ' qmail-popup-hack\[[0-9]+\]: login ok svc=pop3 ip=127\.0\.0\.5 user=alice auth=user via=tcp$'
line=$(grep -E 'login ok .* ip=127\.0\.0\.5 ' "$T/syslog")
check_parses "$line" 127.0.0.5 alice
# Written by uid 0 (SCM_CREDENTIALS as rsyslog saw them), never by pop3d.
wait_for 10 grep -q 'msg=login ok svc=pop3 ip=127.0.0.5' "$T/syslog.uid"
assert_eq "uid=0 tag=qmail-popup-hack" \
    "$(grep 'msg=login ok svc=pop3 ip=127.0.0.5' "$T/syslog.uid" | sed 's/\[.*//')" \
    "login line sender"
# Exactly the client, stderr and the notify pipe: no secret file, no
# syslog socket, no read end of the pipe (fd 3 is closed after reading).
grep -q 'notifyfd=4 fd4=open sslpass=- fds=0,1,2,4$' "$CHECKPW_TEST_RECORD" ||
    fail "checkpassword did not get the notify fd: $(cat "$CHECKPW_TEST_RECORD")"
ok "login line from uid 0 with the client IP, parses"

# --- session ended by EOF: no deletion ------------------------------------
python3 - "$PORT" <<'PY' || fail "EOF session"
import sys
from poptest import POP3From, expect
p = POP3From("127.0.0.1", int(sys.argv[1]), "127.0.0.9")
p.user("alice"); p.pass_("wonderland")
expect(p.dele(1), b"+OK ", "DELE")
p.sock.close()
PY
wait_for 10 grep -q 'ip=127.0.0.9 user=alice' "$T/syslog"
# comm is cut to 15 bytes; -f would match this very shell.
wait_for 10 sh -c '! pgrep -x -u nobody qmail-pop3d-hac'
[ -e "$M/cur/1000000002.P2.mail.test:2," ] || fail "DELE without QUIT removed a message"
ok "no UPDATE without QUIT"

# --- APOP from 127.0.0.6 -----------------------------------------------------
python3 - "$PORT" <<'PY' || fail "APOP session"
import sys
from poptest import POP3From, expect
p = POP3From("127.0.0.1", int(sys.argv[1]), "127.0.0.6")
expect(p.apop("alice", "wonderland"), b"+OK ", "APOP")
expect(p.quit(), b"+OK ", "QUIT")
PY
log_has 'login ok svc=pop3 ip=127\.0\.0\.6 user=alice auth=apop via=tcp$'
ok "APOP"

# --- curl from 127.0.0.23 ------------------------------------------------------
got=$(curl -sS --max-time 10 --interface 127.0.0.23 \
    "pop3://127.0.0.1:$PORT/1" -u 'bob@example.org:builder' | od -An -c)
want=$(printf 'Subject: for bob\r\n\r\nhello .bob\r\n.\r\n' | od -An -c)
assert_eq "$want" "$got" "curl RETR 1 (dot-unstuffed, CRLF)"
list=$(curl -sS --max-time 10 --interface 127.0.0.23 \
    "pop3://127.0.0.1:$PORT/" -u 'bob@example.org:builder')
assert_eq "1 31" "$(printf '%s' "$list" | tr -d '\r')" "curl LIST"
log_has 'login ok svc=pop3 ip=127\.0\.0\.23 user=bob@example\.org auth=apop via=tcp$'
check_parses "$(grep -E 'ip=127\.0\.0\.23 ' "$T/syslog" | head -n 1)" \
    127.0.0.23 bob@example.org
ok "curl pop3:// list and retrieve (curl uses APOP when offered)"

# --- failures: bad password, temporary, misuse, pop3d as root -------------------
python3 - "$PORT" <<'PY' || fail "failure replies"
import sys, poplib
from poptest import POP3From, expect, now
port = int(sys.argv[1])
def attempt(src, user, pw):
    p = POP3From("127.0.0.1", port, src)
    p.user(user)
    t = now()
    try:
        p.pass_(pw)
        sys.exit("not ok: %s/%s logged in" % (user, pw))
    except poplib.error_proto as e:
        return str(e), now() - t
msg, took = attempt("127.0.0.7", "alice", "wrong")
expect(msg, "b'-ERR [AUTH] authorization failed'", "bad password")
if took < 0.2:
    sys.exit("not ok: no delay after a failed login (%.3fs)" % took)
expect(attempt("127.0.0.8", "temp", "x")[0],
       "b'-ERR [SYS/TEMP] temporary failure'", "exit 111")
expect(attempt("127.0.0.8", "misuse", "x")[0],
       "b'-ERR [SYS/PERM] authorization failed'", "exit 2")
expect(attempt("127.0.0.8", "rootuser", "x")[0],
       "b'-ERR [SYS/PERM] authorization failed'", "pop3d as uid 0")
PY
log_has 'login failed svc=pop3 ip=127\.0\.0\.7 user=alice auth=user via=tcp reason=badpass$'
log_has 'login failed svc=pop3 ip=127\.0\.0\.8 user=temp auth=user via=tcp reason=tempfail$'
log_has 'login failed svc=pop3 ip=127\.0\.0\.8 user=misuse auth=user via=tcp reason=misuse$'
log_has 'login failed svc=pop3 ip=127\.0\.0\.8 user=rootuser auth=user via=tcp reason=misuse$'
grep -q 'qmail-pop3d-hack: fatal: refusing to run as uid 0' "$T/tcpserver.err" ||
    fail "pop3d did not refuse uid 0"
if grep -Eq 'login ok .*ip=127\.0\.0\.(7|8) ' "$T/syslog"; then
	fail "a failed login was logged as ok"
fi
if grep -q 'wonderland' "$T/syslog"; then fail "a password reached the log"; fi
ok "failures: right replies, delay, reasons, no login ok, no passwords"

# --- who may write "login ok" ----------------------------------------------
# A subprogram that is not qmail-pop3d-hack (exits 0, never notifies).
POP_SUBPROGRAM=/bin/true pop_start
python3 - "$PORT" <<'PY' || fail "unconfirmed session"
import sys
from poptest import Raw, expect
c = Raw(int(sys.argv[1]), src="127.0.0.51")
c.line()
c.send(b"USER alice\r\nPASS wonderland\r\n")
expect(c.line(), b"+OK \r\n", "USER")
expect(c.closed(), True, "session ends without a reply")
PY
log_has 'login unconfirmed svc=pop3 ip=127\.0\.0\.51 user=alice auth=user via=tcp reason=no-notify$'
# qmail-pop3d-hack run by hand by a mailbox user with a forged address.
echo QUIT | setpriv --reuid=nobody --regid="$MAILGROUP" --clear-groups \
    env -C "$T/home/alice" TCPREMOTEIP=203.0.113.5 AUTHRELAY_NOTIFY_FD=1 \
    "$POP3D" Maildir >"$T/byhand.out" 2>&1 || fail "pop3d by hand"
assert_contains "$(cat "$T/byhand.out")" "+OK" "pop3d by hand answers"
log_has 'login ok svc=pop3 ip=127\.0\.0\.5 '	# the log is being written
if grep -Eq '203\.0\.113\.5|127\.0\.0\.51 .*login ok' "$T/syslog"; then
	fail "a login line without a root-confirmed login"
fi
ok "no login ok without qmail-pop3d-hack's notice; pop3d never logs logins"
