#!/usr/bin/env bash
# A fleet in network namespaces on one bridge (documentation addresses):
# db1 (primary) and db2 (streaming hot standby) over TCP; two POP hosts,
# each with a real rsyslog running authrelayd as its omprog child
# (trusted template, confirm = yes, writers' multi-host string); two SMTP
# hosts, each with authrelayd --sync reading the standby
# (target_session_attrs=prefer-standby) and auth-wrap under the real
# tcpserver; a client host. A login on either POP host lets its client
# relay through both SMTP hosts (time printed, generous bound); a client
# that never logged in may not; with the standby gone --sync reads the
# primary and a revoke still reaches both; with no database left the SMTP
# hosts fail closed after cdb_max_age.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/e2e/fleet-lib.sh"
BOUND=${FLEET_BOUND:-120}	# seconds per stage (primary, standby, both SMTP hosts)
fleet_up

send() { # SMTP-ADDR SOURCE RCPT
	on client python3 "$TOP/tests/authwrap/smtp-client.py" "$1" 25 "$2" "$3"
}
relays() { [ "$(send "$1" "$2" bob@elsewhere.org)" = "sent 250 ok relayuser=$3" ]; }
refused() { [ "$(send "$1" "$2" bob@elsewhere.org)" = "refused 553" ]; }
wait_for 30 send 192.0.2.31 192.0.2.102 postmaster@example.net
wait_for 30 send 192.0.2.32 192.0.2.102 postmaster@example.net
refused 192.0.2.31 192.0.2.100 || fail "relays before any login"

# --- a login on each POP host; both clients relay through both SMTP hosts
both_relay() { relays 192.0.2.31 "$1" "$2" && relays 192.0.2.32 "$1" "$2"; }
login() { # POP-HOST USER ADDR
	logger -u "$T/$1/log.sock" -t vpopmail -p mail.notice -- \
	    "vchkpw-pop3: (PLAIN) login success $2@example.org:$3"
}
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
standby_has() { [ "$(PGHOST=$T/pg2/sock sql "SELECT count(*) FROM relay WHERE ip = '$1'")" = 1 ]; }
primary_has() { [ "$(sql "SELECT count(*) FROM relay WHERE ip = '$1'")" = 1 ]; }
login_through() { # POP-HOST USER ADDR
	local t0 a b c
	t0=$(date +%s%N)
	login "$1" "$2" "$3"
	wait_for "$BOUND" primary_has "$3"; a=$(ms_since "$t0")
	wait_for "$BOUND" standby_has "$3"; b=$(ms_since "$t0")
	wait_for "$BOUND" both_relay "$3" "$2@example.org"; c=$(ms_since "$t0")
	note "login on $1: on the primary after $a ms, on the standby after $b ms, relaying on both SMTP hosts after $c ms"
}
login_through pop1 alice 192.0.2.100
login_through pop2 bruno 192.0.2.101
refused 192.0.2.31 192.0.2.102 || fail "smtp1 relays for a client that never logged in"
refused 192.0.2.32 192.0.2.102 || fail "smtp2 relays for a client that never logged in"
assert_eq 2 "$(sql "SELECT count(*) FROM relay")" "relays on the primary"
ok "a login on either POP host relays through both SMTP hosts (via the standby)"

# --- the standby goes away: --sync moves to the primary (prefer-standby);
# a revoke made there reaches both SMTP hosts
on db2 setpriv --reuid=authrelay --regid=authrelay --init-groups -- \
    "$PG_BINDIR/pg_ctl" -D "$T/pg2/data" -m fast -w stop >/dev/null
wait_for 30 grep -q 'event=sync_connected standby=no' "$T/smtp1/sync.log"
wait_for 30 grep -q 'event=sync_connected standby=no' "$T/smtp2/sync.log"
on pop1 "$BIN/authrelayctl" -c "$T/pop1/authrelay.conf" revoke 192.0.2.100 >/dev/null
wait_for "$BOUND" refused 192.0.2.31 192.0.2.100
wait_for "$BOUND" refused 192.0.2.32 192.0.2.100
wait_for "$BOUND" both_relay 192.0.2.101 bruno@example.org
ok "standby gone: the SMTP hosts read the primary; a revoke there reaches both"

# --- the primary goes too: both SMTP hosts fail closed after cdb_max_age
on db1 setpriv --reuid=authrelay --regid=authrelay --init-groups -- \
    "$PG_BINDIR/pg_ctl" -D "$T/pg/data" -m immediate -w stop >/dev/null
closed() { refused 192.0.2.31 192.0.2.101 && refused 192.0.2.32 192.0.2.101; }
wait_for $((MAXAGE * 5 + 30)) closed
send 192.0.2.31 192.0.2.101 postmaster@example.net | grep -q '^sent 250' ||
    fail "local mail refused while failing closed"
ok "no database: both SMTP hosts stop relaying after cdb_max_age, local mail still flows"
