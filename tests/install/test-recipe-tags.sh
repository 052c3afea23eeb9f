#!/usr/bin/env bash
# One list of syslog tags (issue 12 item 11): the program filters of the
# shipped syslog recipes carry exactly the tags of parsers/*.conf, as
# `authrelayctl tags` prints them. A family added without its tag in a
# recipe (its logins silently dropped by the filter) fails here.
. "$(dirname "$0")/../lib.sh"
CTL=$BIN/authrelayctl
[ -x "$CTL" ] || skip "bin/authrelayctl not built"
P=$TOP/parsers

# What the parser files say, read independently of the program.
awk '$1 == "tag" { print $2 }' "$P"/*.conf | sort -u > "$T/tags.files"
"$CTL" tags -p "$P" > "$T/tags.list"
diff -u "$T/tags.files" "$T/tags.list" || fail "authrelayctl tags differs from the tag lines of parsers/*.conf"
# rsyslog's programname stops at the first '/' (cyrus/imap is "cyrus").
sed 's|/.*||' "$T/tags.files" | sort -u > "$T/rsyslog.want"
"$CTL" tags -p "$P" --format=rsyslog | grep -o '"[^"]*"' | tr -d '"' | sort > "$T/rsyslog.ctl"
diff -u "$T/rsyslog.want" "$T/rsyslog.ctl" || fail "tags --format=rsyslog"
"$CTL" tags -p "$P" --format=syslog-ng > "$T/syslog-ng.ctl"
sed -n 's/^program("^(\(.*\))\$" type(pcre))$/\1/p' "$T/syslog-ng.ctl" | tr '|' '\n' | sed 's/\[\(.\)\]/\1/g' | sort > "$T/syslog-ng.alts"
diff -u "$T/tags.files" "$T/syslog-ng.alts" || fail "tags --format=syslog-ng"
ok "authrelayctl tags prints the tag lines of parsers/*.conf ($(wc -l < "$T/tags.files") tags)"

# rsyslog_ok FILE: its $programname == [...] list is the tag set.
rsyslog_ok() {
	awk '/\$programname == \[/ { on = 1 } on { print } on && /\]/ { exit }' "$1" |
		grep -o '"[^"]*"' | tr -d '"' | sort > "$T/recipe.list"
	[ -s "$T/recipe.list" ] || { echo "$1: no \$programname == [...] filter"; return 1; }
	diff -u --label "authrelayctl tags --format=rsyslog" --label "$1" \
	    "$T/rsyslog.want" "$T/recipe.list"
}
# syslog_ng_ok FILE: its program("...") pattern is what tags prints.
syslog_ng_ok() {
	local want got
	want=$(cat "$T/syslog-ng.ctl")
	got=$(grep -o 'program("[^"]*" type(pcre))' "$1") || { echo "$1: no program() filter"; return 1; }
	[ "$want" = "$got" ] || { printf '%s:\n  has  %s\n  want %s\n' "$1" "$got" "$want"; return 1; }
}

n=0
for f in "$TOP"/etc/rsyslog/*.conf; do
	rsyslog_ok "$f" || fail "$f: program list differs from the parser files (authrelayctl tags --format=rsyslog)"
	n=$((n + 1))
done
[ "$n" -eq 3 ] || fail "expected the three rsyslog recipes, found $n"
syslog_ng_ok "$TOP/etc/syslog-ng/authrelay.conf" ||
	fail "etc/syslog-ng/authrelay.conf: program() differs from authrelayctl tags --format=syslog-ng"
ok "the three rsyslog recipes and the syslog-ng recipe carry exactly the parsers' tags"

# The checks can fail: a recipe missing one tag, and a new family whose
# tag no recipe has yet.
sed 's/"vpopmail", //; s/, "vpopmail"//' "$TOP/etc/rsyslog/authrelay-pipe.conf" > "$T/missing.conf"
if rsyslog_ok "$T/missing.conf" > /dev/null; then fail "a recipe without vpopmail passed"; fi
sed 's/|vpopmail//' "$TOP/etc/syslog-ng/authrelay.conf" > "$T/missing-ng.conf"
if syslog_ng_ok "$T/missing-ng.conf" > /dev/null; then fail "a syslog-ng recipe without vpopmail passed"; fi
mkdir "$T/parsers"
cp "$P"/*.conf "$T/parsers/"
cat > "$T/parsers/newd.conf" <<'CONF'
# newd.conf - a family only this test knows.
tag newd service=pop3
rule ok ^login ok user=(?<user>[a-z]+) ip=(?<ip>[0-9.]+)$
expect ok user=alice ip=192.0.2.10
sample Jun 13 16:30:54 mx newd[1]: login ok user=alice ip=192.0.2.10
expect none
sample Jun 13 16:30:54 mx newd[1]: login failed user=alice ip=192.0.2.10
CONF
"$CTL" tags -p "$T/parsers" --format=rsyslog | grep -o '"[^"]*"' | tr -d '"' | sort > "$T/rsyslog.want"
grep -qx newd "$T/rsyslog.want" || fail "tags did not pick up a new parser file"
if rsyslog_ok "$TOP/etc/rsyslog/authrelay-pipe.conf" > /dev/null; then
	fail "a recipe without the new family's tag passed"
fi
ok "a missing tag, or a new family's tag not yet in the recipes, fails the comparison"
