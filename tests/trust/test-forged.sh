#!/usr/bin/env bash
# The central threat: any local user can write a perfect login line with
# logger(1). Through a real rsyslog with trusted properties, a line from
# a uid the policy does not allow grants nothing; the same line from an
# allowed uid is granted. Plain syslog input cannot be "trusted".
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/watcher/watcher-lib.sh"

pg_start
mkfifo -m 0620 "$T/fifo"
rsyslog_start "action(type=\"ompipe\" pipe=\"$T/fifo\" template=\"authrelay_trusted\")"
watcher_start "input_format = trusted" "require_trusted = yes" \
    "trusted_uids = vchkpw:0 dovecot:root"

# An unprivileged user forges vpopmail's success line.
log_as authrelay vpopmail "vchkpw-pop3: (PLAIN) login success x@y:203.0.113.66"
# The real daemon's line (root, the uid vchkpw logs as).
log_as root vpopmail "vchkpw-pop3: (PLAIN) login success alice@example.org:203.0.113.77"
wait_for 10 has_relay 203.0.113.77
wait_for 10 sql_is 1 "SELECT count(*) FROM login_event WHERE ip = '203.0.113.66' AND reason = 'untrusted:uid'"
assert_eq 0 "$(relay_count 203.0.113.66)" "forged line granted"
grep -q 'event=untrusted parser=vchkpw ip=203.0.113.66 reason=uid uid=999\|event=untrusted parser=vchkpw ip=203.0.113.66 reason=uid' "$T/watcher.log" || fail "no untrusted log line"
ok "forged logger line refused, real one granted"

# Root may speak for vchkpw and dovecot only: root posing as courier is refused.
log_as root pop3d "LOGIN, user=bob, ip=[::ffff:203.0.113.88], port=[4242]"
wait_for 10 sql_is 1 "SELECT count(*) FROM login_event WHERE ip = '203.0.113.88' AND reason = 'untrusted:uid'"
assert_eq 0 "$(relay_count 203.0.113.88)" "family without policy granted"
ok "a family's lines only from that family's uids"

# A user name carrying a newline arrives escaped (#012) inside one line
# and cannot smuggle a second record.
log_as root vpopmail "$(printf 'vchkpw-pop3: (PLAIN) login success evil\nv1 t=1 uid=0 pid=1 in=imuxsock from=x prog=x msg=vpopmail[1]: vchkpw-pop3: (PLAIN) login success a@b:203.0.113.99')"
log_as root vpopmail "vchkpw-pop3: (PLAIN) login success marker@example.org:203.0.113.100"
wait_for 10 has_relay 203.0.113.100
assert_eq 0 "$(sql "SELECT count(*) FROM login_event WHERE ip = '203.0.113.99'")" "smuggled record"
ok "embedded newline cannot smuggle a record"

# Lines written straight into the FIFO, without the template, are junk.
printf 'Nov 23 10:00:00 mx vpopmail[1]: vchkpw-pop3: (PLAIN) login success z@y:203.0.113.55\n' > "$T/fifo"
printf 'v1 t=%s uid=0 pid=1 in=imudp from=198.51.100.1 prog=vpopmail msg=vpopmail[1]: vchkpw-pop3: (PLAIN) login success z@y:203.0.113.56\n' "$(date +%s)" > "$T/fifo"
printf 'v1 t=1000000000 uid=0 pid=1 in=imuxsock from=127.0.0.1 prog=vpopmail msg=vpopmail[1]: vchkpw-pop3: (PLAIN) login success z@y:203.0.113.57\n' > "$T/fifo"
log_as root vpopmail "vchkpw-pop3: (PLAIN) login success marker2@example.org:203.0.113.101"
wait_for 10 has_relay 203.0.113.101
assert_eq 0 "$(relay_count 203.0.113.55)" "template-less line"
assert_eq 1 "$(sql "SELECT count(*) FROM login_event WHERE ip = '203.0.113.56' AND reason = 'untrusted:network-input'")" "network input"
assert_eq 1 "$(sql "SELECT count(*) FROM login_event WHERE ip = '203.0.113.57' AND reason = 'untrusted:clock'")" "stale reception time"
ok "no template, network input and stale times refused"

# -n refuses a trusted requirement on an input that carries no credentials.
watcher_config "require_trusted = yes" "trusted_uids = vchkpw:0"
if "$BIN/authrelayd" -n -c "$T/authrelay.conf" > "$T/n.out" 2>&1; then fail "-n accepted require_trusted with plain syslog"; fi
assert_contains "$(cat "$T/n.out")" "plain syslog lines carry no sender credentials" "-n message"
watcher_config "input_format = trusted" "require_trusted = yes" "trusted_uids = vchkpw:nosuchuser"
if "$BIN/authrelayd" -n -c "$T/authrelay.conf" > "$T/n.out" 2>&1; then fail "-n accepted an unknown user"; fi
assert_contains "$(cat "$T/n.out")" "trusted_uids: 'vchkpw:nosuchuser'" "-n names the bad entry"
ok "-n refuses untrustworthy configurations"
