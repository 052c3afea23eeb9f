#!/usr/bin/env bash
# authrelay.conf bounds (issue 12 item 4): every duration key refuses a
# value outside its sane range with "file:line: key: out of range (want
# MIN to MAX)", accepts both ends, and authrelay.conf(5) states the same
# range; the line-length limit is the one the page documents.
. "$(dirname "$0")/../lib.sh"
conf=$T/authrelay.conf
page=$TOP/man/authrelay.conf.5

load() { "$BIN/authrelayctl" -c "$conf" config; }
refused() { # what expected-message
	local out
	if out=$(load 2>&1); then fail "$1: accepted"; fi
	assert_eq "authrelayctl: $conf:$2" "$out" "$1"
}

# key  min  below-min  max  above-max
while read -r key lo below hi above; do
	printf '# a comment\n%s = %s\n' "$key" "$below" > "$conf"
	refused "$key = $below" "2: $key: out of range (want $lo to $hi)"
	printf '%s = %s\n' "$key" "$above" > "$conf"
	refused "$key = $above" "1: $key: out of range (want $lo to $hi)"
	for v in "$lo" "$hi"; do
		printf '%s = %s\n' "$key" "$v" > "$conf"
		got=$(load | grep "^$key =") || fail "$key = $v refused"
		[ -n "$got" ] || fail "$key = $v not dumped"
	done
	# The page gives the same range right under the key.
	awk -v k="$key" '$0 ~ "^\\.It Cm " k " No = " { getline; print; exit }' "$page" |
		grep -qx "Range: $lo to $hi\." || fail "authrelay.conf.5 lacks 'Range: $lo to $hi.' under $key"
done <<'TABLE'
expire 1s 0 7d 999999999d
sweep_interval 100ms 99ms 1d 25h
cdb_interval 1ms 0ms 1h 61m
cdb_max_age 1s 999ms 7d 8d
lookup_deadline 1ms 0 60s 61s
max_clock_skew 1s 0 1d 1441m
TABLE
# Every duration key of the table has a range, but for audit_keep and
# audit_interval, whose ranges watcher/retention.c checks (0 or 1d to
# 36500d; 1s to 1d).
n=$(grep -c 'DURATION("' "$TOP/lib/config.c")
assert_eq 6 "$n" "duration keys with a range in lib/config.c"
other=$(grep -o 'KEYAS("[a-z_]*", [a-z_]*, T_DURATION' "$TOP/lib/config.c" | cut -d'"' -f2 | tr '\n' ' ')
assert_eq "audit_keep audit_interval " "$other" "duration keys without a range in lib/config.c"
ok "each of the 6 duration keys refuses values outside its documented range"

# Lines: 65535 bytes before the newline load, 65536 do not (the page says so).
grep -q 'at most 65535 bytes long' "$page" || fail "page does not state the line limit"
grep -q 'most 65500 bytes' "$page" || fail "page does not state the value limit"
# on_change = /aaa... (a 65500-byte value) # padding ... to N bytes
line() { python3 -c 'import sys; n=int(sys.argv[1]); v="/"+"a"*65499; l="on_change = "+v+" #"; sys.stdout.write(l+"x"*(n-len(l))+"\n")' "$1"; }
line 65535 > "$conf"
assert_eq 65536 "$(wc -c < "$conf")" "test line size"
load > /dev/null || fail "a 65535-byte line was refused"
line 65536 > "$conf"
refused "65536-byte line" "1: line too long"
python3 -c 'import sys; sys.stdout.write("on_change = /" + "a" * 65500 + "\n")' > "$conf"
refused "65501-byte value" "1: on_change: value too long"
python3 -c 'import sys; sys.stdout.write("on_change = /" + "a" * (1 << 20) + "\n")' > "$conf"
refused "1 MiB line" "1: line too long"
# Whatever loads dumps in lines that load again (the fuzz target's round trip).
python3 -c 'import sys; sys.stdout.write("services=" + ",".join(["a"] * 32500) + "\n")' > "$conf"
load > "$T/dump" || fail "a 65009-byte list line was refused"
cp "$T/dump" "$conf"
load > "$T/dump2" || fail "the dump of a long list does not load again"
cmp -s "$T/dump" "$T/dump2" || fail "dump differs after a round trip"
python3 -c 'import sys; sys.stdout.write("never_relay = " + " ".join("10.%d.%d.1" % (i >> 8, i & 255) for i in range(1025)) + "\n")' > "$conf"
refused "1025 networks" "1: never_relay: too many networks (at most 1024)"
ok "line limit 65535 bytes, value 65500, 1024 networks: as documented, dumps reload"
