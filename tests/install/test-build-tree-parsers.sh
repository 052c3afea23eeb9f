#!/usr/bin/env bash
# authrelayctl run from a build tree before `make install` (issue 12 item
# 10): with the parsers key at its compiled-in default, which does not
# exist yet, it uses the tree's parsers/ and says so; a tree writable by
# others, a configured path, or a program not in a build tree get no
# fallback but a message saying exactly what to pass.
. "$(dirname "$0")/../lib.sh"
[ -x "$BIN/authrelayctl" ] || skip "bin/authrelayctl not built"
default=/usr/local/share/authrelay/parsers
[ ! -e "$default" ] || skip "$default exists (installed): nothing to fall back from"
[ ! -e /etc/authrelay/authrelay.conf ] || skip "/etc/authrelay/authrelay.conf exists"
unset AUTHRELAY_CONF

tree=$T/tree
mkdir -p "$tree/bin"
cp "$BIN/authrelayctl" "$tree/bin/"
cp -r "$TOP/parsers" "$tree/"
cp "$TOP/Makefile" "$tree/"
chmod -R go-w "$tree"
printf 'Feb 11 16:49:22 myhost dovecot: pop3-login: Login: user=<usernm>, method=PLAIN, rip=11.222.33.44, lip=11.0.222.33, mpid=91587\n' > "$T/mail.log"

# The README's example, as written, in a fresh tree.
out=$(cd "$tree" && bin/authrelayctl parse "$T/mail.log" 2> "$T/err") || { cat "$T/err"; fail "parse from the build tree"; }
assert_eq '{"line":1,"parser":"dovecot","service":"pop3","user":"usernm","ip":"11.222.33.44"}' "$out" "parse output"
assert_contains "$(cat "$T/err")" "authrelayctl: note: $default does not exist (not installed); using the build tree's $tree/parsers" "note"
(cd "$tree" && bin/authrelayctl parse-test > "$T/out" 2> "$T/err") || fail "parse-test from the build tree"
assert_contains "$(cat "$T/out")" "0 failures" "parse-test"
(cd / && "$tree/bin/authrelayctl" tags > "$T/out" 2> /dev/null) || fail "tags from another directory"
grep -qx dovecot "$T/out" || fail "tags from the build tree"
ok "from a build tree the tree's parsers are used, with a note"

hint="pass -p DIR (the parsers/ folder of the source tree, or where make install put them) or set parsers = DIR in authrelay.conf"
refused() { # what CMD...
	local what=$1; shift
	if "$@" parse "$T/mail.log" > "$T/out" 2> "$T/err"; then fail "$what: parse succeeded"; fi
	assert_contains "$(cat "$T/err")" "does not exist: $hint" "$what"
	[ ! -s "$T/out" ] || fail "$what: output"
}
chmod o+w "$tree/parsers"
refused "tree parsers writable by others" "$tree/bin/authrelayctl"
chmod o-w "$tree/parsers"; chmod o+w "$tree"
refused "tree writable by others" "$tree/bin/authrelayctl"
chmod o-w "$tree"
mkdir -p "$T/usr/bin"; cp "$BIN/authrelayctl" "$T/usr/bin/"
refused "installed program, no tree" "$T/usr/bin/authrelayctl"
printf 'parsers = %s/nowhere\n' "$T" > "$T/authrelay.conf"
if "$tree/bin/authrelayctl" -c "$T/authrelay.conf" parse "$T/mail.log" > "$T/out" 2> "$T/err"; then
	fail "configured missing directory: parse succeeded"
fi
assert_contains "$(cat "$T/err")" "$T/nowhere does not exist: $hint" "configured path"
ok "no fallback for an unsafe tree, an installed program or a configured path; the message says what to pass"
