#!/usr/bin/env bash
# Every program has a man page; every page lints clean (mandoc -W warning)
# and has the sections administrators look for.
. "$(dirname "$0")/../lib.sh"
command -v mandoc >/dev/null || skip "mandoc is missing"

for prog in authrelayd authrelayctl auth-wrap authrelay-policy sslwrap-hack qmail-popup-hack qmail-pop3d-hack; do
	[ -f "$TOP/man/$prog.8" ] || fail "no man page for $prog"
done
for page in authrelay.conf.5 authrelay-parsers.5; do
	[ -f "$TOP/man/$page" ] || fail "no man page $page"
done
for f in "$TOP"/man/*.[58]; do
	out=$(mandoc -T lint -W warning "$f" 2>&1) || true
	[ -z "$out" ] || fail "$(basename "$f"): $out"
	for sec in NAME SYNOPSIS DESCRIPTION SECURITY ENVIRONMENT FILES "EXIT STATUS" DIAGNOSTICS "SEE ALSO"; do
		grep -q "^\.Sh $sec\$" "$f" || fail "$(basename "$f") lacks $sec"
	done
done
ok "$(ls "$TOP"/man/*.[58] | wc -l) man pages lint clean with every section"

# SYNOPSIS matches what the program itself prints as usage.
usage=$("$BIN/authrelayd" -x 2>&1 || true)
assert_contains "$usage" "usage: authrelayd [-c CONF] [-f] [-n] [-v] [--sync]" "authrelayd usage"
page=$(mandoc -T ascii "$TOP/man/authrelayd.8" | col -b)
grep -qi 'authrelayd \[-c conf\] \[-f\] \[-n\] \[-v\] \[--sync\]' <<<"$page" ||
    fail "authrelayd(8) SYNOPSIS differs from usage()"
ok "SYNOPSIS and usage agree"
