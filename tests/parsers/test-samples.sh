#!/usr/bin/env bash
# Every parser file's annotated samples, all families loaded together;
# and the engine refuses broken parser files with file:line messages.
. "$(dirname "$0")/../lib.sh"

"$BIN/authrelayctl" parse-test -p "$TOP/parsers" > "$T/out" 2>&1 || { cat "$T/out"; fail "parser samples"; }
cat "$T/out"
for f in dovecot courier vchkpw uw cyrus qpopper qmail-pop-hack; do
	[ -f "$TOP/parsers/$f.conf" ] || fail "parsers/$f.conf missing"
done
ok "all samples pass"

# Broken files: each must be refused with file:line: what.
bad() { # name, content, expected message part
	mkdir -p "$T/bad-$1"
	printf '%s\n' "$2" > "$T/bad-$1/x.conf"
	if "$BIN/authrelayctl" parse-test -p "$T/bad-$1" > "$T/bad.out" 2>&1; then
		fail "$1: broken parser file accepted"
	fi
	assert_contains "$(cat "$T/bad.out")" "$3" "$1 message"
}
bad unanchored $'tag t\nrule r (?<user>u) (?<ip>[0-9.]+)$' "x.conf:2: rule r: regex must start with ^ and end with $"
bad nogroups $'tag t\nrule r ^login (?<user>\\S+)$' "x.conf:2: rule r: needs named groups"
bad badregex $'tag t\nrule r ^(?<user>x(?<ip>y)$' "x.conf:2: rule r: regex error"
bad keyword $'tag t\nfrob x' "x.conf:2: unknown keyword 'frob'"
bad sample $'tag t\nrule r ^(?<user>u) (?<ip>\\S+)$\nsample t: u 1.2.3.4' "x.conf:3: sample: no expect line"
bad unknownrule $'tag t\nrule r ^(?<user>u) (?<ip>\\S+)$\nexpect q\nsample t: u 1.2.3.4' "x.conf:4: expect names unknown rule 'q'"
bad service $'tag t service=POP3\nrule r ^(?<user>u) (?<ip>\\S+)$' "x.conf:1: tag: want service=NAME"
bad xsample $'tag t\nrule r ^(?<user>u) (?<ip>\\S+)$\nexpect none\nxsample t: u \\q 1.2.3.4' "x.conf:4: xsample: want \\xHH"
bad xsample00 $'tag t\nrule r ^(?<user>u) (?<ip>\\S+)$\nexpect none\nxsample t: u\\x00 1.2.3.4' "x.conf:4: xsample: want \\xHH (not \\x00)"
ok "broken parser files refused with file:line"

# A good file whose sample expectation is wrong fails the sample run.
mkdir -p "$T/wrong"
cat > "$T/wrong/x.conf" <<'CONF'
tag t service=pop3
rule r ^ok (?<user>\w+) (?<ip>\S+)$
expect r user=bob ip=192.0.2.1
sample t: ok alice 192.0.2.1
expect none
sample t: ok carol 192.0.2.2
CONF
if "$BIN/authrelayctl" parse-test -p "$T/wrong" > "$T/w.out" 2>&1; then fail "wrong expectations passed"; fi
assert_contains "$(cat "$T/w.out")" "x.conf:4: fields differ" "field mismatch reported"
assert_contains "$(cat "$T/w.out")" "x.conf:6: expected no match" "unexpected match reported"
ok "wrong expectations are caught"

# parse: JSON per login, line numbers, keys in order, escaping.
printf '%s\n' 'noise' \
  'Nov 23 10:00:00 mx dovecot: imap-login: Login: user=<a"b\c>, method=PLAIN, rip=192.0.2.7, lip=192.0.2.1, mpid=1, TLS' \
  > "$T/in.log"
printf '%s\n' $'Nov 23 10:00:01 mx dovecot: imap-login: Login: user=<j\xc3\xb6rg\xe2\x80\xa8x>, method=PLAIN, rip=192.0.2.8, lip=192.0.2.1, mpid=1, TLS' \
  $'Nov 23 10:00:02 mx dovecot: imap-login: Login: user=<j\xf6rg>, method=PLAIN, rip=192.0.2.9, lip=192.0.2.1, mpid=1, TLS' >> "$T/in.log"
"$BIN/authrelayctl" parse -p "$TOP/parsers" "$T/in.log" > "$T/json" 2> "$T/summary"
assert_eq '{"line":2,"parser":"dovecot","service":"imap","user":"a\"b\\c","ip":"192.0.2.7"}
{"line":3,"parser":"dovecot","service":"imap","user":"'$'j\xc3\xb6rg''\u2028x","ip":"192.0.2.8"}' "$(cat "$T/json")" "JSON lines"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/json" || fail "not valid JSON"
assert_contains "$(cat "$T/summary")" "lines=4 matches=2" "summary"
ok "parse prints valid JSON"

# Hostile 8 KB lines under every tag: no match, and quickly (no ReDoS).
ctl=$BIN/authrelayctl
python3 - "$TOP/parsers" >"$T/hostile" <<'EOF'
import glob, random, sys
random.seed(1)
frags = ["TLS, ", "a: ", "[1.2.3.4] ", "user=<", ">", ", ", "::", "\\x4",
         "host=", "login success ", ":1.2.3.4", "ip=[", "nmsgs=1/1 "]
heads = ["imap-login: Login: user=<a>, method=PLAIN, rip=1.2.3.4, lip=1.2.3.4",
         "LOGIN, user=a, ip=[1.2.3.4]", "vchkpw-pop3: (PLAIN) login success a@b",
         "Login user=a host=", "login: ", "event=login.good r.clienthost=",
         "login ok svc=pop3 ip=1.2.3.4 user="]
for p in glob.glob(sys.argv[1] + "/*.conf"):
    for l in open(p, encoding="latin-1"):
        if not l.startswith("tag "):
            continue
        tag = l.split()[1]
        for h in heads:
            for fr in frags:
                msg = (h + fr * (8000 // len(fr)))[:8000]
                print("Nov 22 11:53:45 mx %s[1]: %s x" % (tag, msg))
EOF
lines=$(wc -l <"$T/hostile")
out=$(timeout 20 "$ctl" parse -p "$TOP/parsers" "$T/hostile" 2>&1) ||
    fail "parse on hostile lines: exit $?"
assert_contains "$out" "lines=$lines matches=0 " "hostile lines"
ok "$lines hostile 8 KB lines: no match"

# A pathological 64 KiB line under a dispatched tag is refused at once.
python3 -c '
import sys
u = "a, " * 22000
sys.stdout.write("Nov 22 11:53:45 mx dovecot: imap-login: Login: user=<%s>, method=PLAIN, rip=192.0.2.1, lip=192.0.2.2, TLS\n" % u)
sys.stdout.write("Nov 22 11:53:45 mx dovecot: imap-login: Login: user=<ok>, method=PLAIN, rip=192.0.2.3, lip=192.0.2.2, TLS\n")
' > "$T/huge"
[ "$(head -c 70000 "$T/huge" | head -n 1 | wc -c)" -gt 65536 ] || fail "test line is not over 64 KiB"
out=$(timeout 2 "$BIN/authrelayctl" parse -p "$TOP/parsers" "$T/huge" 2>/dev/null) || fail "64 KiB line: parse did not finish in 2 s"
assert_eq '{"line":2,"parser":"dovecot","service":"imap","user":"ok","ip":"192.0.2.3"}' "$out" "only the sane line matches"
ok "64 KiB line refused quickly; the next line still parsed"
