#!/usr/bin/env bash
# Failover with real PostgreSQL: a primary and a synchronous streaming
# standby (pg_basebackup -R, unix sockets only). Two authrelayd share one
# libpq multi-host string (target_session_attrs=read-write): one reads a
# FIFO, one is the omprog child of a real rsyslog (confirm = yes). Logins
# arrive before the primary crashes, while no server accepts writes, and
# after `pg_ctl promote` of the standby. Every login acknowledged to
# rsyslog, and every login either watcher logged as committed, is in the
# new primary; both are writing again within a generous bound of the
# promotion (the time is printed); authrelayctl list works through the
# same multi-host string. A third watcher pointed at the standby alone
# (no target_session_attrs) keeps its logins through the read-only
# errors until the promotion.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/watcher/watcher-lib.sh"
N=${FAILOVER_LOGINS:-30}	# per phase and per watcher
BOUND=${FAILOVER_BOUND:-30}	# seconds from the promotion (target: 10)

pg_start
pg_start_standby
pg_sync_standby
PRIMARY_SOCK=$PGHOST
MULTI="host=$PRIMARY_SOCK,$PG_STANDBY_SOCK dbname=authrelay user=authrelay target_session_attrs=read-write connect_timeout=5"

# The FIFO watcher.
watcher_start "database = $MULTI" "sweep_interval = 1h"
fifo_writer_open
fifo_login() { dovecot_login "u$1" "198.18.$2.$3" >&"$FIFO_FD"; }

# The omprog watcher, started by rsyslog.
omprog_conf "$T/omprog.conf" "$MULTI" "sweep_interval = 1h"
"$BIN/authrelayd" -n -c "$T/omprog.conf" >/dev/null
rsyslog_start "$(omprog_action "$T/omprog.conf" "$T/omprog.log" 120000 \
    'queue.type="LinkedList" queue.size="10000" queue.dequeueBatchSize="20"')"
omprog_login() {
	log_as root vpopmail "vchkpw-pop3: (PLAIN) login success u$1@example.org:198.19.$2.$3"
}

# A third watcher whose string names only the standby, without
# target_session_attrs: the read-only server refuses its writes (25006),
# which must mean "reconnect and retry", never "drop the logins".
mkfifo -m 0620 "$T/fifo3"
sed -e "s|^fifo = .*|fifo = $T/fifo3|" \
    -e "s|^database = .*|database = host=$PG_STANDBY_SOCK dbname=authrelay user=authrelay|" \
    "$T/authrelay.conf" > "$T/ro.conf"
"$BIN/authrelayd" -f -c "$T/ro.conf" > "$T/ro.log" 2>&1 &
track_pid $!
exec {RO_FD}<>"$T/fifo3"
for i in 1 2 3; do dovecot_login "ro$i" "198.18.9.$i" >&"$RO_FD"; done
wait_for 30 grep -q 'event=db_down error=".*read-only' "$T/ro.log"

# phase P: N logins through each watcher, from 198.18.P.x and 198.19.P.x.
send_phase() {
	local i
	for i in $(seq 1 "$N"); do
		fifo_login "$1$i" "$1" "$i"
		omprog_login "$1$i" "$1" "$i"
	done
}
relays_in() { # NET PHASE: relays of one phase on the server at $PGHOST
	sql "SELECT count(*) FROM relay WHERE ip << '$1.$2.0/24'"
}
phase_is() { [ "$(relays_in "$1" "$2")" = "$3" ]; }

# 1: before the failure, on the primary.
send_phase 1
wait_for 60 phase_is 198.18 1 "$N"
wait_for 60 phase_is 198.19 1 "$N"
note "phase 1 recorded on the primary"

# 2: the primary crashes (immediate stop: no shutdown checkpoint); the
# logins that arrive now wait in authrelayd's queue and rsyslog's.
as_service_user "$PG_BINDIR/pg_ctl" -D "$T/pg/data" -m immediate -w stop >/dev/null
wait_for 30 grep -q 'event=db_down' "$T/watcher.log"
send_phase 2
# The FIFO watcher has read them (queued, not committed).
matched_is() {
	kill -USR1 "$WATCHER_PID"
	grep -q "event=counters .* matched=$1 " "$T/watcher.log"
}
wait_for 30 matched_is $((2 * N))
assert_eq 0 "$(grep -c 'event=grant ip=198\.18\.2\.' "$T/watcher.log" || true)" \
    "phase 2 logged as committed before any primary exists"

# Promote the standby; the old primary stays down.
t0=$(date +%s%N)
pg_promote_standby
t_promoted=$(date +%s%N)
export PGHOST=$PG_STANDBY_SOCK
assert_eq f "$(sql "SELECT pg_is_in_recovery()")" "the standby is promoted"
first_write() { [ "$(relays_in 198.18 2)" != 0 ] && [ "$(relays_in 198.19 2)" != 0 ]; }
wait_for "$BOUND" first_write
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
note "writing again $ms ms after pg_ctl promote began ($(((t1 - t_promoted) / 1000000)) ms after it returned)"
[ "$ms" -le $((BOUND * 1000)) ] || fail "back to writing after $ms ms (bound ${BOUND}s)"
wait_for 60 phase_is 198.18 2 "$N"
wait_for 60 phase_is 198.18 9 3
assert_not_contains "$(cat "$T/ro.log")" "db_refused" "logins refused by a read-only server"
wait_for 120 phase_is 198.19 2 "$N"

# 3: after the promotion.
send_phase 3
wait_for 60 phase_is 198.18 3 "$N"
wait_for 120 phase_is 198.19 3 "$N"

# Every login a watcher logged as committed is in the new primary, once
# each (the audit's unmarked rows), and nothing else is.
committed=$(grep -ho 'event=grant ip=198\.1[89]\.[0-9]*\.[0-9]*' \
    "$T/watcher.log" "$T/omprog.log" "$T/ro.log" | sed 's/.*ip=//' | sort -u)
assert_eq $((6 * N + 3)) "$(printf '%s\n' "$committed" | grep -c .)" "logged as committed"
in_db=$(sql "SELECT host(ip) FROM relay ORDER BY 1" | sort -u)
assert_eq "$committed" "$in_db" "committed logins in the new primary"
assert_eq $((6 * N + 3)) "$(sql "SELECT count(DISTINCT line_hash) FROM login_event WHERE NOT redelivered")" \
    "one unmarked audit row per login"
assert_eq 0 "$(sql "SELECT count(*) FROM (SELECT line_hash FROM login_event WHERE NOT redelivered GROUP BY line_hash HAVING count(*) > 1) d")" \
    "unmarked duplicates"
note "re-deliveries marked: $(sql "SELECT count(*) FROM login_event WHERE redelivered")"

# authrelayctl with the multi-host string, after the failover.
list=$(AUTHRELAY_CONF="$T/authrelay.conf" "$BIN/authrelayctl" list)
assert_contains "$list" "198.18.3.$N" "authrelayctl list after failover"
assert_contains "$list" "198.19.3.$N" "authrelayctl list after failover"
ok "failover: $((6 * N)) logins before, during and after promotion all in the new primary; writing again after $ms ms; a read-only server delayed, never dropped, 3 logins"
