#!/usr/bin/env bash
# test-omprog-cuts.sh - rsyslog omprog delivery with the shipped recipe
# (etc/rsyslog/authrelay-omprog.conf) and PostgreSQL cut at chosen
# points. Each run sends 200 logins that rsyslog hands to authrelayd as
# one transaction, holds the database batch that carries login K, then
# cuts: PostgreSQL stopped (-m fast) and authrelayd sent SIGTERM, or
# SIGKILL, or no signal (a database restart); or login K is refused by
# the database (a data error in the middle of the transaction). Every
# run must end with every login recorded once unmarked (the refused one
# not at all), one relay per address, and any repeat marked redelivered.
. "$(dirname "$0")/../lib.sh"
command -v rsyslogd >/dev/null || skip "rsyslogd is not installed"
N=200

pg_start
# Test gates: a login whose username is in gate waits inside PostgreSQL
# while gate.lock is in gate_closed (holding advisory lock 1000 + lock
# meanwhile, which shows where it waits); a username ending in "bad" is
# refused. A row, not a lock another session holds: stopping PostgreSQL
# ends that session too, and the batch could go on and commit before its
# own backend stops.
sql "CREATE TABLE gate (username text PRIMARY KEY, lock int NOT NULL);
CREATE TABLE gate_closed (lock int PRIMARY KEY);
CREATE FUNCTION gate() RETURNS trigger LANGUAGE plpgsql AS \$\$
DECLARE l int;
BEGIN
	IF NEW.username LIKE '%bad' THEN
		RAISE EXCEPTION 'refused by the test' USING ERRCODE = '22023';
	END IF;
	SELECT lock INTO l FROM gate WHERE username = NEW.username;
	IF l IS NOT NULL THEN
		PERFORM pg_advisory_xact_lock_shared(1000 + l);
		WHILE EXISTS (SELECT 1 FROM gate_closed WHERE lock = l) LOOP
			PERFORM pg_sleep(0.01);
		END LOOP;
	END IF;
	RETURN NEW;
END \$\$;
CREATE TRIGGER gate BEFORE INSERT ON login_event FOR EACH ROW EXECUTE FUNCTION gate();"

cat > "$T/authrelay.conf" <<CONF
fifo = -
confirm = yes
confirm_journal = $T/omprog.journal
database = $AUTHRELAY_DB
parsers = $TOP/parsers
user =
pidfile =
CONF
"$BIN/authrelayd" -n -c "$T/authrelay.conf" >/dev/null || fail "config rejected"

# The shipped recipe, paths changed; impstats shows the action's queue.
mkdir -p "$T/rs"
{
	cat <<CONF
global(workDirectory="$T/rs")
module(load="imuxsock" SysSock.Use="off")
module(load="impstats" interval="1" log.syslog="off" log.file="$T/stats")
input(type="imuxsock" Socket="$T/log.sock")
CONF
	sed -e '/^module(load="imuxsock"/,/)$/d' \
	    -e "s|/usr/local/bin/authrelayd -f|$BIN/authrelayd -f -v|" \
	    -e "s|/etc/authrelay/authrelay.conf|$T/authrelay.conf|" \
	    -e "s|/var/log/authrelayd.log|$T/watcher.log|" \
	    "$TOP/etc/rsyslog/authrelay-omprog.conf"
} > "$T/rsyslog.conf"
rsyslogd -N1 -f "$T/rsyslog.conf" >"$T/rsyslog.check" 2>&1 ||
    { cat "$T/rsyslog.check"; fail "rsyslogd -N1 rejects the recipe"; }
rsyslogd -n -f "$T/rsyslog.conf" -i "$T/rs/pid" 2>"$T/rsyslog.err" &
RSYSLOG_PID=$!
track_pid "$RSYSLOG_PID"
wait_for 10 test -S "$T/log.sock"

# send RUN FIRST COUNT [BAD]: Dovecot logins r<RUN>u<i> from 198.18.RUN.(i+1);
# login BAD has a username the database refuses. One logger, one
# datagram per line (fewer than the socket's queue of 512).
send() {
	local r=$1 i=$2 end=$(($2 + $3)) bad=${4:--1} user
	while [ "$i" -lt "$end" ]; do
		user=r${r}u$i
		[ "$i" = "$bad" ] && user=${user}bad
		printf 'imap-login: Login: user=<%s>, method=PLAIN, rip=198.18.%d.%d, lip=192.0.2.1, mpid=%d, TLS, session=<s%d>\n' \
		    "$user" "$r" $((i + 1)) "$i" "$i"
		i=$((i + 1))
	done > "$T/lines"
	logger -u "$T/log.sock" --socket-errors=on -t dovecot --id=1000 \
	    -p mail.info -f "$T/lines" || fail "logger"
}

child() { pgrep -P "$RSYSLOG_PID" -f "$BIN/authrelayd -f -v" | head -n 1; }
waiting_at() { # GATE: a backend waits at that gate
	[ "$(sql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
	    AND objid = $((1000 + $1)) AND granted")" -ge 1 ]
}
close_gates() { # GATE...: close them
	local l
	for l in "$@"; do
		sql "INSERT INTO gate_closed VALUES ($l)"
	done
}
open_gate() { sql "DELETE FROM gate_closed WHERE lock = $1"; }
action_queue_at_least() { # N: rsyslog's last stats show N queued for authrelay
	local size
	size=$(grep -a 'authrelay queue:' "$T/stats" 2>/dev/null | tail -n 1 |
	    sed -n 's/.* size=\([0-9]*\).*/\1/p')
	[ -n "$size" ] && [ "$size" -ge "$1" ]
}
in_run() { echo "ip << '198.18.$1.0/24'"; }

# run NUMBER CASE K: one delivery of N logins cut at login K
run() {
	local r=$1 how=$2 k=$3 want=$((N + 1)) bad=-1 pid waits t0=$SECONDS
	: > "$T/stats"
	# (rsyslog may still be sending the last run's batch again)
	sql "DELETE FROM gate; DELETE FROM gate_closed"
	if [ "$how" = data ]; then
		bad=$k
		close_gates 1
		sql "INSERT INTO gate VALUES ('r${r}w', 1)"
	else
		close_gates 1 2
		sql "INSERT INTO gate VALUES ('r${r}w', 1), ('r${r}u$k', 2)"
	fi
	# One login held in PostgreSQL keeps rsyslog's worker waiting for the
	# COMMIT answer while the N logins queue up behind it ...
	printf 'imap-login: Login: user=<r%dw>, method=PLAIN, rip=198.18.%d.250, lip=192.0.2.1, mpid=1, TLS, session=<w>\n' \
	    "$r" "$r" | logger -u "$T/log.sock" -t dovecot --id=99 -p mail.info || fail "logger"
	wait_for 30 waiting_at 1
	send "$r" 0 "$N" "$bad"
	wait_for 30 action_queue_at_least "$N"
	# ... so they come as one transaction once it is let go.
	open_gate 1
	case $how in
	data)
		want=$N ;;
	*)
		wait_for 30 waiting_at 2
		pid=$(child)
		[ -n "$pid" ] || fail "run $r: no authrelayd under rsyslog"
		if [ "$how" = kill-held ]; then
			# The batch goes on in PostgreSQL without its client; the
			# next authrelayd replays its journal and must wait for it.
			waits=$(grep -c "event=handover_wait" "$T/watcher.log" || true)
			kill -KILL "$pid"
			wait_for 30 eval '[ "$(grep -c "event=handover_wait" "$T/watcher.log")" -gt "$waits" ]'
			open_gate 2
		else
			pg_stop
			case $how in
			term) kill -TERM "$pid" ;;
			kill) kill -KILL "$pid" ;;
			term-unflushed)
				kill -TERM "$pid"
				wait_for 30 grep -q "event=stopped_unflushed" "$T/watcher.log" ;;
			restart) ;;
			esac
			pg_restart_stopped
			sql "DELETE FROM gate_closed"	# the batch comes again: let it by
		fi ;;
	esac
	# distinct lines, unmarked rows, relays, logins counted
	wait_for 60 sql_is "$want|$want|$want|$want" "SELECT
	    (SELECT count(DISTINCT line_hash) FROM login_event WHERE $(in_run "$r")),
	    (SELECT count(*) FROM login_event WHERE NOT redelivered AND $(in_run "$r")),
	    (SELECT count(*) FROM relay WHERE $(in_run "$r")),
	    (SELECT sum(logins) FROM relay WHERE $(in_run "$r"))"
	assert_eq 0 "$(sql "SELECT count(*) FROM (SELECT line_hash FROM login_event
	    WHERE NOT redelivered AND $(in_run "$r") GROUP BY line_hash HAVING count(*) > 1) d")" \
	    "run $r ($how at $k): unmarked duplicates"
	if [ "$how" = data ]; then
		assert_eq 0 "$(sql "SELECT count(*) FROM login_event WHERE username LIKE '%bad'
		    AND $(in_run "$r")")" "run $r: the refused login is not recorded"
		grep -q "event=db_refused ip=198.18.$r.$((k + 1)) " "$T/watcher.log" ||
		    fail "run $r: no db_refused for login $k"
	fi
	note "run $r: $how at login $k: $want recorded, $(sql "SELECT count(*) FROM login_event
	    WHERE redelivered AND $(in_run "$r")") repeats marked ($((SECONDS - t0)) s)"
}

r=0
for spec in ${CUTS:-term:0 kill:1 restart:2 data:3 term:50 kill:51 restart:99 \
    data:100 term:150 kill:150 data:199 term:199 kill:199 restart:170 data:0 \
    term-unflushed:60 kill-held:120}; do
	r=$((r + 1))
	run "$r" "${spec%%:*}" "${spec#*:}"
done
# The data-error runs end without a restart: their 200 logins went as
# one transaction, answered once all were written.
case " ${CUTS:-data} " in *" data:"*)
grep -q "event=confirm_commit lines=$N refused=0" "$T/watcher.log" ||
    fail "no transaction of $N lines seen" ;;
esac
case " ${CUTS:-kill} " in *" kill:"*)
	grep -q "event=journal_replayed" "$T/watcher.log" || fail "no journal replay seen" ;;
esac
ok "$r runs, cut by SIGTERM, SIGKILL, database restarts and data errors: every login recorded, repeats marked"
