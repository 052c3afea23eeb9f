#!/usr/bin/env bash
# UTF-8 user names end to end in the watcher: recorded byte for byte in
# the relay and audit rows, never normalised; invalid UTF-8 and controls
# refused; authrelayctl list/audit print any stored name terminal-safe;
# parse prints valid JSON; a database that is not UTF8 stops authrelayd.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/watcher-lib.sh"

pg_start
cat > "$T/hook" <<HOOK
#!/bin/sh
printf '%s|' "\$@" >> "$T/hook.out"
echo >> "$T/hook.out"
HOOK
chmod 0755 "$T/hook"
watcher_start "services = imap pop3" "on_change = $T/hook"
fifo_writer_open
ctl() { "$BIN/authrelayctl" -c "$T/authrelay.conf" "$@"; }
hex() { sql "SELECT encode(convert_to(username, 'UTF8'), 'hex') FROM $1 WHERE ip = '$2'"; }

nfc=$'j\xc3\xb6rg@example.org'
nfd=$'jo\xcc\x88rg@example.org'
cjk=$'\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a'
dovecot_login "$nfc" 192.0.2.20 >&$FIFO_FD
dovecot_login "$nfd" 192.0.2.21 pop3 >&$FIFO_FD
dovecot_login "$cjk" 2001:db8::22 >&$FIFO_FD
wait_for 10 has_relay 2001:db8::22
wait_for 10 has_relay 192.0.2.21
wait_for 10 has_relay 192.0.2.20
assert_eq "6ac3b67267406578616d706c652e6f7267" "$(hex relay 192.0.2.20)" "NFC name, bytes"
assert_eq "6a6fcc887267406578616d706c652e6f7267" "$(hex relay 192.0.2.21)" "NFD name kept NFD"
assert_eq "$cjk" "$(sql "SELECT username FROM relay WHERE ip = '2001:db8::22'")" "CJK name"
assert_eq "6ac3b67267406578616d706c652e6f7267" "$(hex login_event 192.0.2.20)" "audit row bytes"
assert_eq 1 "$(audit_count 192.0.2.21 "AND outcome = 'granted'")" "NFD audit row"
ok "UTF-8 names recorded byte for byte (no normalisation)"

# Invalid UTF-8, an overlong '/', a C1 control and an escaped control:
# no relay, no audit row. A later good line proves they were read.
dovecot_login $'j\xf6rg' 192.0.2.30 >&$FIFO_FD
dovecot_login $'a\xc0\xafb' 192.0.2.31 >&$FIFO_FD
dovecot_login $'j\xc2\x9b2J' 192.0.2.32 >&$FIFO_FD
dovecot_login 'j#033[2J' 192.0.2.33 >&$FIFO_FD
dovecot_login "$nfc" 192.0.2.34 >&$FIFO_FD
wait_for 10 has_relay 192.0.2.34
assert_eq 0 "$(sql "SELECT count(*) FROM login_event WHERE ip BETWEEN '192.0.2.30' AND '192.0.2.33'")" "refused names"
ok "invalid UTF-8 and controls refused"

# The hook gets the action and the address, never the name.
wait_for 10 grep -q '192.0.2.34' "$T/hook.out"
assert_contains "$(cat "$T/hook.out")" "grant|192.0.2.20|" "hook argv"
assert_eq 0 "$(grep -c 'rg' "$T/hook.out")" "no user in hook arguments"
ok "on_change arguments"

# A name stored by other means (authrelayctl allow takes SUDO_USER):
# escape sequences, C1 CSI, a bidi override and a backslash are shown
# escaped; UTF-8 text is shown as it is.
evil=$'e\e]0;pwned\a\e[2J\xc2\x9b31m\xe2\x80\xaeabc\\x'
SUDO_USER=$evil ctl allow 198.51.100.40 1h >/dev/null || fail "allow"
list=$(ctl list)
audit=$(ctl audit)
check=$(ctl check 198.51.100.40)
for out in "$list" "$audit" "$check"; do
	case $out in *$'\e'* | *$'\a'* | *$'\xc2\x9b'* | *$'\xe2\x80\xae'*)
		fail "raw control or bidi character printed" ;;
	esac
done
assert_contains "$list" 'admin:e\x1b]0;pwned\x07\x1b[2J\xc2\x9b31m\u202eabc\\x' "escaped name in list"
assert_contains "$audit" 'admin:e\x1b]0;pwned' "escaped name in audit"
assert_contains "$list" "$nfc" "UTF-8 name in list as it is"
assert_contains "$audit" "$cjk" "UTF-8 name in audit as it is"
# Columns line up by characters, not bytes (the CJK name is two columns
# a character): every row's parser value starts under the header's.
printf '%s\n' "$list" | python3 -c '
import sys, unicodedata
lines = sys.stdin.buffer.read().decode().splitlines()
def cols(s):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else
               0 if unicodedata.combining(c) else 1 for c in s)
head = lines[0]
at = cols(head[:head.index("parser")])
for l in lines[1:]:
    ip, rest = l.split(" ", 1)
    pos = [i for i in range(len(l)) if cols(l[:i]) == at]
    assert pos and l[pos[0] - 2:pos[0]] == "  " and l[pos[0]] != " ", (at, l)
' || fail "columns not aligned: $list"
ok "list, audit and check are terminal-safe"

# parse: valid JSON with the name as UTF-8.
dovecot_login "$nfc" 192.0.2.50 > "$T/in.log"
dovecot_login $'a\xf6' 192.0.2.51 >> "$T/in.log"
out=$("$BIN/authrelayctl" parse -p "$TOP/parsers" "$T/in.log" 2>/dev/null)
printf '%s\n' "$out" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert len(rows) == 1, rows
assert rows[0]["user"] == "j\u00f6rg@example.org", rows
' || fail "parse JSON: $out"
ok "parse prints the name as a valid JSON string"

# A database in another encoding stops authrelayd with a clear message.
kill "$WATCHER_PID"
wait "$WATCHER_PID" 2>/dev/null || true
"$PG_BINDIR/createdb" -E LATIN1 -T template0 --locale=C authrelay_latin1
sed -i "s|^database = .*|database = host=$PGHOST dbname=authrelay_latin1 user=authrelay|" "$T/authrelay.conf"
rc=0
timeout 60 "$BIN/authrelayd" -f -c "$T/authrelay.conf" >"$T/latin1.log" 2>&1 || rc=$?
assert_eq 1 "$rc" "authrelayd exit status on a LATIN1 database"
assert_contains "$(cat "$T/latin1.log")" "database encoding is LATIN1 (client LATIN1), authrelay needs UTF8" "message"
ok "a non-UTF8 database is refused at start"
