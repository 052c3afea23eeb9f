#!/usr/bin/env bash
# The host's own addresses never relay (issue 12 item 3), in authrelayd:
# it reads them at start and on SIGHUP (getifaddrs); a login from one is
# recorded as ignored with reason never_relay:self. Runs in a private
# network namespace whose addresses the test controls.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/watcher/watcher-lib.sh"

netns_setup 192.0.2.77 2001:db8::77
pg_start
mkfifo -m 0620 "$T/fifo"
watcher_config
ip netns exec "$NS" "$BIN/authrelayd" -f -v -c "$T/authrelay.conf" > "$T/watcher.log" 2>&1 &
WATCHER_PID=$!
track_pid "$WATCHER_PID"
wait_for 30 grep -q 'event=db_connected' "$T/watcher.log"
assert_contains "$(cat "$T/watcher.log")" "event=self_addresses count=" "addresses read at start"
fifo_writer_open

dovecot_login web 192.0.2.77 >&$FIFO_FD
dovecot_login web6 2001:db8::77 >&$FIFO_FD
dovecot_login alice 192.0.2.10 >&$FIFO_FD
dovecot_login later 192.0.2.78 >&$FIFO_FD	# not ours yet
wait_for 30 has_relay 192.0.2.10
wait_for 30 has_relay 192.0.2.78
wait_for 30 sql_is 1 "SELECT count(*) FROM login_event WHERE ip = '2001:db8::77'"
assert_eq 0 "$(relay_count 192.0.2.77)" "own IPv4 address: no relay"
assert_eq 0 "$(relay_count 2001:db8::77)" "own IPv6 address: no relay"
assert_eq 1 "$(audit_count 192.0.2.77 "AND outcome <> 'granted' AND reason = 'never_relay:self'")" "IPv4 audit"
assert_eq 1 "$(audit_count 2001:db8::77 "AND outcome <> 'granted' AND reason = 'never_relay:self'")" "IPv6 audit"
assert_contains "$(cat "$T/watcher.log")" "event=ignore ip=192.0.2.77 user=web parser=dovecot service=imap reason=never_relay:self" "log line"
ok "logins from the host's own addresses are ignored with reason never_relay:self"

# An address added later counts after SIGHUP.
in_ns ip addr add 192.0.2.79/32 dev lo
reads() { grep -c 'event=self_addresses' "$T/watcher.log"; }
n=$(reads)
reread() { [ "$(reads)" -gt "$n" ]; }
kill -HUP "$WATCHER_PID"
wait_for 30 reread
dovecot_login web 192.0.2.79 >&$FIFO_FD
dovecot_login bob 192.0.2.11 >&$FIFO_FD
wait_for 30 has_relay 192.0.2.11
wait_for 30 sql_is 1 "SELECT count(*) FROM login_event WHERE ip = '192.0.2.79'"
assert_eq 0 "$(relay_count 192.0.2.79)" "address added before SIGHUP: no relay"
assert_eq 1 "$(audit_count 192.0.2.79 "AND reason = 'never_relay:self'")" "audit after SIGHUP"
ok "SIGHUP re-reads the host's addresses"
