#!/usr/bin/env bash
# omprog-bench.sh - durable logins/s when rsyslog runs authrelayd as an
# omprog child (the shipped etc/rsyslog/authrelay-omprog.conf: confirmed,
# transactions, journal) against the FIFO in the same run, with the same
# N logins into the same PostgreSQL (fsync on): the FIFO fed by cat (the
# watcher's own ceiling) and by rsyslog through the shipped
# authrelay-pipe.conf. Then authrelayd's peak RSS (VmHWM) while a burst
# of lines is written into the FIFO at full speed: the queue is bounded
# and a full queue stops the reading.
# Also omprog without a journal (each line answered after its own commit,
# one transaction per line: the behaviour before batching), on fewer
# logins (BENCH_OMPROG_UNBATCHED, default 1000), as logins/s; and an
# omprog child that answers each line at once and keeps nothing: what
# rsyslog itself delivers when every line waits for its answer.
# BENCH_OMPROG_LOGINS (default 20000) logins per run; BENCH_BURST_LINES
# (default 500000; the target is stated for 2000000, which takes a few
# minutes on a busy 2-core machine) lines in the burst.
. "$(dirname "$0")/../tests/lib.sh"
. "$TOP/tests/watcher/watcher-lib.sh"
N=${BENCH_OMPROG_LOGINS:-20000}
BURST=${BENCH_BURST_LINES:-500000}
NUNB=${BENCH_OMPROG_UNBATCHED:-1000}
# the recipe's queue.dequeueBatchSize unless BENCH_OMPROG_BATCH says otherwise
DEQUEUE=${BENCH_OMPROG_BATCH:-$(sed -n 's/.*queue.dequeueBatchSize="\([0-9]*\)".*/\1/p' \
    "$TOP/etc/rsyslog/authrelay-omprog.conf")}

pg_start

# A do-nothing omprog child speaking the same confirm protocol: it
# answers each line at once and, every 100 lines, writes how many it has
# had and when the last came (unix seconds) into PROGRESS. Its rate is
# rsyslog's own ceiling for one-answer-per-line delivery.
cat >"$T/null-omprog.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <time.h>
int main(int argc, char **argv) {
	char line[4096];
	long seen = 0;
	struct timespec t;
	FILE *f;
	char tmp[4200];
	if (argc != 2) return 2;
	snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
	setvbuf(stdout, NULL, _IONBF, 0);
	fputs("OK\n", stdout);
	while (fgets(line, sizeof line, stdin) != NULL) {
		if (strcmp(line, "BEGIN TRANSACTION\n") == 0 ||
		    strcmp(line, "COMMIT TRANSACTION\n") == 0) {
			fputs("OK\n", stdout);
			continue;
		}
		fputs("DEFER_COMMIT\n", stdout);
		if (++seen % 100 == 0 && (f = fopen(tmp, "w")) != NULL) {
			clock_gettime(CLOCK_REALTIME, &t);
			fprintf(f, "%ld %ld.%09ld\n", seen, (long)t.tv_sec, t.tv_nsec);
			fclose(f);
			rename(tmp, argv[1]);	/* never read half written */
		}
	}
	return 0;
}
C
cc -O2 -o "$T/null-omprog" "$T/null-omprog.c"

now() { date +%s.%N; }
elapsed() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.3f", e - s }'; }

# bodies COUNT OCTET: Dovecot login messages, one distinct address each
bodies() {
	awk -v n="$1" -v a="$2" 'BEGIN { for (i = 0; i < n; i++)
		printf "imap-login: Login: user=<u%d@example.org>, method=PLAIN, rip=%d.%d.%d.%d, lip=192.0.2.1, mpid=%d, TLS, session=<s%d>\n",
		    i, a, int(i / 65536) % 256, int(i / 256) % 256, i % 256, i, i }'
}

# rsyslog_with RECIPE: a private rsyslogd running the shipped recipe
rsyslog_with() {
	rm -rf "$T/rs"
	mkdir -p "$T/rs"
	{
		cat <<CONF
global(workDirectory="$T/rs")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$T/log.sock")
CONF
		sed -e '/^module(load="imuxsock"/,/)$/d' \
		    -e "s|/run/authrelay/fifo|$T/fifo|" \
		    -e "s|/usr/local/bin/authrelayd -f -c /etc/authrelay/authrelay.conf|${OMPROG_BINARY:-$BIN/authrelayd -f -c $T/authrelay.conf}|" \
		    -e "s|/usr/local/bin/authrelayd|$BIN/authrelayd|" \
		    -e "s|/etc/authrelay/authrelay.conf|$T/authrelay.conf|" \
		    -e "s|/var/log/authrelayd.log|$T/watcher.log|" \
		    -e "s|queue.dequeueBatchSize=\"[0-9]*\"|queue.dequeueBatchSize=\"$DEQUEUE\"|" \
		    "$TOP/etc/rsyslog/$1.conf"
	} > "$T/rsyslog.conf"
	rm -f "$T/log.sock"
	rsyslogd -n -f "$T/rsyslog.conf" -i "$T/rs/pid" >"$T/rsyslog.err" 2>&1 &
	RSYSLOG_PID=$!
	track_pid "$RSYSLOG_PID"
	wait_for 10 test -S "$T/log.sock"
}

rsyslog_stop() {
	kill -TERM "$RSYSLOG_PID"
	wait "$RSYSLOG_PID" 2>/dev/null || true
}

# ingest HOW OCTET [COUNT]: seconds until COUNT (N) logins are committed
ingest() {
	local how=$1 octet=$2 N=${3:-$N} start end
	sql "TRUNCATE relay, login_event"
	bodies "$N" "$octet" > "$T/bodies"
	case $how in
	cat)
		sed 's/^/Nov 23 10:00:00 mx dovecot: /' "$T/bodies" > "$T/lines"
		watcher_start
		start=$(now)
		cat "$T/lines" > "$T/fifo" ;;
	pipe)
		watcher_start
		rsyslog_with authrelay-pipe
		start=$(now)
		logger -u "$T/log.sock" -t dovecot -p mail.info -f "$T/bodies" ;;
	omprog|unbatched)
		if [ "$how" = omprog ]; then
			watcher_config "fifo = -" "confirm = yes" \
			    "confirm_journal = $T/omprog.journal"
		else
			watcher_config "fifo = -" "confirm = yes" "confirm_journal ="
		fi
		rsyslog_with authrelay-omprog
		start=$(now)
		logger -u "$T/log.sock" -t dovecot -p mail.info -f "$T/bodies" ;;
	esac
	wait_ingested 600 "$(last_ip "$octet" $((N - 1)))" "u$((N - 1))@example.org" "$N"
	end=$(now)
	[ "$(sql "SELECT count(*) FROM relay")" = "$N" ] || fail "$how: relays missing"
	case $how in
	cat) kill -TERM "$WATCHER_PID"; wait "$WATCHER_PID" || true ;;
	pipe) rsyslog_stop; kill -TERM "$WATCHER_PID"; wait "$WATCHER_PID" || true ;;
	*) rsyslog_stop ;;
	esac
	elapsed "$start" "$end"
}

# null_omprog COUNT: "LINES SECONDS", the lines the do-nothing child had
# when they stopped coming (COUNT, or 2 s without one more: rsyslog can
# lose a few lines when its consumer is this fast) and the time they took
null_omprog() {
	local n=$1 start got last=-1 still=0
	rm -f "$T/null.progress"
	bodies "$n" 36 > "$T/bodies"
	OMPROG_BINARY="$T/null-omprog $T/null.progress" rsyslog_with authrelay-omprog
	start=$(now)
	logger -u "$T/log.sock" -t dovecot -p mail.info -f "$T/bodies"
	while :; do
		got=$(cut -d' ' -f1 "$T/null.progress" 2>/dev/null)
		got=${got:-0}
		[ "$got" -ge $((n / 100 * 100)) ] && break
		if [ "$got" = "$last" ]; then
			still=$((still + 1))
			[ "$still" -ge 100 ] && break	# 2 s without 100 more
		else
			still=0
			last=$got
		fi
		sleep 0.02
	done
	rsyslog_stop
	[ "$got" -gt 0 ] || fail "the do-nothing omprog child had no lines"
	awk -v s="$start" '{ printf "%d %.3f\n", $1, $2 - s }' "$T/null.progress"
}

# In this shell, not in $(...): a run that fails must stop the bench and
# its daemons (tracked here), not leave them holding a subshell's pipe.
ingest cat 31 >"$T/took"; cat_s=$(cat "$T/took")
ingest pipe 32 >"$T/took"; pipe_s=$(cat "$T/took")
ingest omprog 33 >"$T/took"; omprog_s=$(cat "$T/took")
ingest unbatched 35 "$NUNB" >"$T/took"; unb_s=$(cat "$T/took")
null_omprog "$N" >"$T/took"; read -r null_n null_s <"$T/took"

# The burst: lines written into the FIFO at full speed.
sql "TRUNCATE relay, login_event"
bodies "$BURST" 34 | sed 's/^/Nov 23 10:00:00 mx dovecot: /' > "$T/burst"
watcher_start
start=$(now)
cat "$T/burst" > "$T/fifo"
wait_ingested 1800 "$(last_ip 34 $((BURST - 1)))" "u$((BURST - 1))@example.org" "$BURST"
end=$(now)
hwm_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$WATCHER_PID/status")
kill -TERM "$WATCHER_PID"; wait "$WATCHER_PID" || true
burst_s=$(elapsed "$start" "$end")

awk -v n="$N" -v c="$cat_s" -v p="$pipe_s" -v o="$omprog_s" -v b="$BURST" \
    -v bs="$burst_s" -v hwm="$hwm_kb" -v nu="$NUNB" -v u="$unb_s" -v z="$null_s" -v zn="$null_n" 'BEGIN {
	printf "%-52s %8s %9s %10s %7s\n", "durable logins into PostgreSQL", "logins", "seconds", "logins/s", "ratio"
	printf "%-52s %8d %9.3f %10.0f %7.2f\n", "FIFO, written by cat (baseline)", n, c, n / c, 1
	printf "%-52s %8d %9.3f %10.0f %7.2f\n", "FIFO, written by rsyslog (authrelay-pipe.conf)", n, p, n / p, c / p
	printf "%-52s %8d %9.3f %10.0f %7.2f\n", "omprog, confirmed (authrelay-omprog.conf)", n, o, n / o, c / o
	printf "%-52s %8d %9.3f %10.0f %7.2f\n", "omprog, no journal: one transaction per line", nu, u, nu / u, (nu / u) / (n / c)
	printf "%-52s %8d %9.3f %10.0f %7.2f\n", "omprog, a child that answers at once (no database)", zn, z, zn / z, (zn / z) / (n / c)
	printf "omprog / FIFO by rsyslog: %.2f; target: omprog >= 0.80 of FIFO ingest\n", p / o
	printf "omprog / the do-nothing child: %.2f (that child: rsyslog'"'"'s ceiling for one answer per line)\n\n", (n / o) / (zn / z)
	printf "%-52s %8s %9s %10s %7s\n", "burst into the FIFO at full speed", "lines", "seconds", "logins/s", "VmHWM"
	printf "%-52s %8d %9.3f %10.0f %6.1fM\n", "authrelayd, default queue_max", b, bs, b / bs, hwm / 1024
	printf "target: peak RSS <= 32 MiB (stated for 2000000 lines; BENCH_BURST_LINES)\n"
}'
