#!/usr/bin/env bash
# A login line in the FIFO becomes a relay row and an audit row; loopback,
# disallowed services and hostile user names are handled as specified.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/watcher-lib.sh"

pg_start
watcher_start "services = imap pop3"
fifo_writer_open

dovecot_login alice@example.org 192.0.2.10 >&$FIFO_FD
wait_for 10 has_relay 192.0.2.10
assert_eq "alice@example.org|dovecot|imap|1" \
    "$(sql "SELECT username, parser, service, logins FROM relay WHERE ip = '192.0.2.10'")" "relay row"
assert_eq 1 "$(audit_count 192.0.2.10 "AND outcome = 'granted' AND expires_at > at")" "audit row"
ok "login recorded"

# The expiry is stored: about 30 minutes (the default) after the login.
assert_eq t "$(sql "SELECT expires_at BETWEEN now() + interval '29 minutes' AND now() + interval '31 minutes' FROM relay WHERE ip = '192.0.2.10'")" "expires_at"

# A second login extends and counts; IPv4-mapped spelling is the same host.
dovecot_login alice@example.org ::ffff:192.0.2.10 pop3 >&$FIFO_FD
wait_for 10 sql_is 2 "SELECT logins FROM relay WHERE ip = '192.0.2.10'"
assert_eq pop3 "$(sql "SELECT service FROM relay WHERE ip = '192.0.2.10'")" "latest service"
ok "second login counted"

# IPv6
dovecot_login bob 2001:DB8::77 >&$FIFO_FD
wait_for 10 has_relay 2001:db8::77
ok "IPv6 recorded canonically"

# Loopback never relays, but the decision is audited.
dovecot_login carol 127.0.0.1 >&$FIFO_FD
wait_for 10 sql_is 1 "SELECT count(*) FROM login_event WHERE ip = '127.0.0.1' AND outcome = 'ignored' AND reason = 'never_relay:loopback'"
assert_eq 0 "$(relay_count 127.0.0.1)" "loopback relay"
ok "loopback ignored"

# Configured never_relay network (via a reload) and a service not allowed.
printf 'never_relay = 198.51.100.0/24\n' >> "$T/authrelay.conf"
kill -HUP "$WATCHER_PID"
wait_for 10 grep -q 'event=reloaded' "$T/watcher.log"
dovecot_login dave 198.51.100.7 >&$FIFO_FD
dovecot_login erin 203.0.113.5 pop3 >&$FIFO_FD
sed -i 's/^services = .*/services = imap/' "$T/authrelay.conf"
kill -HUP "$WATCHER_PID"
reloaded_twice() { [ "$(grep -c 'event=reloaded' "$T/watcher.log")" = 2 ]; }
wait_for 10 reloaded_twice
dovecot_login frank 203.0.113.6 pop3 >&$FIFO_FD
wait_for 10 sql_is 1 "SELECT count(*) FROM login_event WHERE ip = '203.0.113.6' AND reason = 'service'"
assert_eq 1 "$(audit_count 198.51.100.7 "AND reason = 'never_relay:never_relay'")" "never_relay audit"
assert_eq 0 "$(relay_count 198.51.100.7)" "never_relay relay"
assert_eq 0 "$(relay_count 203.0.113.6)" "service relay"
assert_eq 1 "$(relay_count 203.0.113.5)" "pop3 before the reload"
ok "never_relay and services honoured"

# A hostile user name is stored literally (parameters, never SQL text).
dovecot_login "x'); DROP TABLE relay;--" 192.0.2.99 >&$FIFO_FD
wait_for 10 has_relay 192.0.2.99
assert_eq "x'); DROP TABLE relay;--" "$(sql "SELECT username FROM relay WHERE ip = '192.0.2.99'")" "literal user"
ok "hostile user name stored literally"

# Lines that are not logins change nothing.
before=$(sql "SELECT count(*) FROM login_event")
printf 'Nov 23 10:00:00 mx postfix/smtpd[1]: connect from x[192.0.2.200]\n' >&$FIFO_FD
printf 'Nov 23 10:00:00 mx dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<z>, method=PLAIN, rip=192.0.2.201, lip=1.2.3.4\n' >&$FIFO_FD
dovecot_login marker 192.0.2.202 >&$FIFO_FD
wait_for 10 has_relay 192.0.2.202
assert_eq $((before + 1)) "$(sql "SELECT count(*) FROM login_event")" "only the login was audited"
ok "non-login lines ignored"
