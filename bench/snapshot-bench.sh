#!/usr/bin/env bash
# snapshot-bench.sh - the relay snapshot at scale (issue: cost per change,
# not per table). For N active relays already in PostgreSQL (10 k, 100 k,
# 1 M by default): the time from a login line written into the FIFO until
# auth-wrap (cdb mode) grants that address, and from `authrelayctl revoke`
# until it refuses; the rows an `authrelayd --sync` host reads per
# notification; durable ingest with the snapshot on against the same run
# with it off; the longest stretch authrelayd's event loop went without
# polling its inputs while bases were rebuilt. Never part of make check.
# SNAP_SIZES="10000 100000 1000000", SNAP_PROBES=100 logins per size,
# SNAP_INGEST=100000 logins per ingest run.
. "$(dirname "$0")/../tests/lib.sh"
. "$TOP/tests/watcher/watcher-lib.sh"
SIZES=${SNAP_SIZES:-10000 100000 1000000}
PROBES=${SNAP_PROBES:-100}
INGEST=${SNAP_INGEST:-100000}

# A probe that times each login -> grant and revoke -> refuse through the
# real auth-wrap, spawned as tcpserver would (a C loop: no shell in the
# measurement).
cat >"$T/hasrc.c" <<'C'
#include <stdlib.h>
int main(void) { return getenv("RELAYCLIENT") != NULL ? 0 : 1; }
C
cat >"$T/latprobe.c" <<'C'
/* latprobe CONF AUTHWRAP HASRC CTL FIFO COUNT: logins from 100.64.x.y. */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
extern char **environ;
static double ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static int run(char **argv, char **env) {
	pid_t pid; int st;
	if (posix_spawn(&pid, argv[0], NULL, NULL, argv, env) != 0) return -1;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
static int granted(const char *conf, const char *aw, const char *hasrc, const char *ip) {
	char e1[512], e2[64]; char *env[] = { e1, e2, "PATH=/usr/bin:/bin", NULL };
	char *argv[] = { (char *)aw, (char *)hasrc, NULL };
	snprintf(e1, sizeof e1, "AUTHRELAY_CONF=%s", conf);
	snprintf(e2, sizeof e2, "TCPREMOTEIP=%s", ip);
	return run(argv, env) == 0;
}
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
static void report(const char *what, double *v, int n) {
	qsort(v, n, sizeof *v, cmp);
	printf("%s %.1f %.1f %.1f\n", what, v[n / 2], v[(int)(n * 0.99)], v[n - 1]);
}
int main(int argc, char **argv) {
	const char *conf = argv[1], *aw = argv[2], *hasrc = argv[3], *ctl = argv[4];
	int n = atoi(argv[6]), fd = open(argv[5], O_WRONLY);
	double *g = calloc(n, sizeof *g), *r = calloc(n, sizeof *r), *c = calloc(n, sizeof *c);
	char ip[32], line[512];
	if (argc != 7 || fd < 0) return 2;
	for (int i = 0; i < n; i++) {
		snprintf(ip, sizeof ip, "100.64.%d.%d", i / 250, i % 250 + 1);
		int len = snprintf(line, sizeof line, "Nov 23 10:00:00 mx dovecot: imap-login: Login: "
		    "user=<p%d>, method=PLAIN, rip=%s, lip=192.0.2.1, mpid=%d, TLS\n", i, ip, i);
		double t0 = ms();
		if (write(fd, line, len) != len) return 3;
		while (!granted(conf, aw, hasrc, ip))
			if (ms() - t0 > 60000) return 4;
		g[i] = ms() - t0;
	}
	for (int i = 0; i < n; i++) {
		char *cargv[] = { (char *)ctl, "-c", (char *)conf, "revoke", ip, NULL };
		char *none[] = { "PATH=/usr/bin:/bin", NULL };
		int devnull = open("/dev/null", O_WRONLY), saved = dup(1);
		snprintf(ip, sizeof ip, "100.64.%d.%d", i / 250, i % 250 + 1);
		double t0 = ms();
		dup2(devnull, 1);
		int rc = run(cargv, none);
		dup2(saved, 1); close(saved); close(devnull);
		if (rc != 0) return 5;
		c[i] = ms() - t0;
		while (granted(conf, aw, hasrc, ip))
			if (ms() - t0 > 60000) return 6;
		r[i] = ms() - t0;
	}
	report("grant", g, n);
	report("revoke", r, n);
	report("ctl", c, n);
	return 0;
}
C
cc -O2 -o "$T/hasrc" "$T/hasrc.c"
cc -O2 -o "$T/latprobe" "$T/latprobe.c"

PG_EXTRA_OPTS="-c max_wal_size=4GB" pg_start >/dev/null
mkfifo -m 0620 "$T/fifo"

fill() { # COUNT: the table holds COUNT active relays (10.0.0.0 onwards), nothing else
	sql "TRUNCATE relay, relay_tombstone, login_event"
	sql "INSERT INTO relay (ip, username, parser, service, first_seen, last_seen,
	    expires_at) SELECT '10.0.0.0'::inet + g, 'user' || g, 't', 'pop3', now(),
	    now(), now() + interval '2 hours' FROM generate_series(1, $1) g"
	sql "VACUUM ANALYZE relay" 2>/dev/null
	# the fill's dirty pages are written now, not by a timed checkpoint
	# in the middle of a measured run (the WAL's fsyncs would wait on it)
	sql "CHECKPOINT"
}

start_watcher() { # LOG EXTRA-CONFIG...: authrelayd on $T/fifo
	local log=$1; shift
	watcher_config "expire = 2h" "batch_max = 5000" "$@"
	"$BIN/authrelayd" -f -v -c "$T/authrelay.conf" >"$log" 2>&1 &
	WATCHER_PID=$!
	track_pid "$WATCHER_PID"
	wait_for 60 grep -q 'event=db_connected' "$log"
}

stop_watcher() {
	kill -TERM "$WATCHER_PID"; wait "$WATCHER_PID" 2>/dev/null || true
}

# ingest COUNT FIRST-OCTET SPREAD: seconds until COUNT logins are committed;
# logins cycle over SPREAD addresses
ingest() {
	local n=$1 octet=$2 spread=$3 start end
	python3 - "$n" "$octet" "$spread" >"$T/lines" <<'PY'
import sys
n, a, spread = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    j = i % spread
    print("Nov 23 10:00:00 mx dovecot: imap-login: Login: user=<u%d@example.org>, method=PLAIN, "
          "rip=%d.%d.%d.%d, lip=192.0.2.1, mpid=%d, TLS, session=<s%d>"
          % (i, a, (j >> 16) & 255, (j >> 8) & 255, j & 255, i, i))
PY
	local mark
	mark=$(audit_mark)
	start=$(date +%s.%N)
	cat "$T/lines" >"$T/fifo"
	wait_ingested 600 "$(last_ip "$octet" $(((n - 1) % spread)))" "u$((n - 1))@example.org" \
	    "$n" "$mark"
	end=$(date +%s.%N)
	awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }'
}

echo "login -> auth-wrap grants, revoke -> auth-wrap refuses ($PROBES addresses per size, ms)"
printf '%-10s %9s %9s %9s %10s %10s %10s %9s %14s %14s %s\n' relays grant_p50 grant_p99 grant_max \
    revoke_p50 revoke_p99 revoke_max ctl_p99 sync_rows_mean sync_rows_max target
for n in $SIZES; do
	fill "$n"
	rm -f "$T/relay.cdb" "$T/relay.cdb.delta" "$T/sync.cdb" "$T/sync.cdb.delta"
	start_watcher "$T/w.log" "cdb_file = $T/relay.cdb"
	wait_for 300 grep -q 'event=rebase relays=' "$T/w.log"
	# an SMTP host of its own: authrelayd --sync on the same database
	cat >"$T/sync.conf" <<CONF
database = $AUTHRELAY_DB
cdb_file = $T/sync.cdb
user =
CONF
	"$BIN/authrelayd" --sync -f -v -c "$T/sync.conf" >"$T/sync.log" 2>&1 &
	SYNC_PID=$!
	track_pid "$SYNC_PID"
	wait_for 300 grep -q 'event=rebase relays=' "$T/sync.log"
	from=$(grep -c 'event=sync_fetch ' "$T/sync.log")
	out=$("$T/latprobe" "$T/authrelay.conf" "$BIN/auth-wrap" "$T/hasrc" \
	    "$BIN/authrelayctl" "$T/fifo" "$PROBES") || fail "latprobe failed at $n relays"
	kill -TERM "$SYNC_PID"; wait "$SYNC_PID" 2>/dev/null || true
	stop_watcher
	rows=$(grep 'event=sync_fetch ' "$T/sync.log" | tail -n +"$((from + 1))" |
	    sed 's/.* rows=\([0-9]*\).*/\1/' |
	    awk '{ s += $1; if ($1 > m) m = $1; c++ } END { printf "%.1f %d", c ? s / c : 0, m }')
	read -r _ gp50 gp99 gmax <<<"$(echo "$out" | grep '^grant')"
	read -r _ rp50 rp99 rmax <<<"$(echo "$out" | grep '^revoke')"
	read -r _ _ cp99 _ <<<"$(echo "$out" | grep '^ctl')"
	read -r rmean rmax_rows <<<"$rows"
	printf '%-10s %9s %9s %9s %10s %10s %10s %9s %14s %14s %s\n' "$n" "$gp50" "$gp99" "$gmax" \
	    "$rp50" "$rp99" "$rmax" "$cp99" "$rmean" "$rmax_rows" "p99 <= 50 ms, rows per change"
done
echo

# The event loop while a full base of the largest size is built: a
# trickle of logins (200/s) keeps it busy; the longest stretch between two
# polls of its inputs, from its counters.
big=$(echo "$SIZES" | tr ' ' '\n' | sort -n | tail -n 1)
fill "$big"
rm -f "$T/relay.cdb" "$T/relay.cdb.delta"
start_watcher "$T/stall.log" "cdb_file = $T/relay.cdb"
python3 - "$T/fifo" <<'PY' &
import sys, time
f = open(sys.argv[1], "w")
for i in range(100000):
    f.write("Nov 23 10:00:00 mx dovecot: imap-login: Login: user=<t%d>, method=PLAIN, "
            "rip=100.65.%d.%d, lip=192.0.2.1, mpid=%d, TLS\n" % (i, i // 250, i % 250 + 1, i))
    f.flush()
    time.sleep(0.005)
PY
TRICKLE_PID=$!
track_pid "$TRICKLE_PID"
wait_for 600 grep -q 'event=rebase relays=' "$T/stall.log"
kill "$TRICKLE_PID"; wait "$TRICKLE_PID" 2>/dev/null || true
kill -USR1 "$WATCHER_PID"
wait_for 10 grep -q 'event=counters' "$T/stall.log"
stall=$(grep 'event=counters' "$T/stall.log" | tail -n 1 | sed 's/.*loop_busy_max_ms=\([0-9]*\).*/\1/')
rebase_ms=$(grep 'event=rebase relays=' "$T/stall.log" | head -n 1 | sed 's/.* ms=\([0-9]*\).*/\1/')
stop_watcher

# Durable ingest: 1 M relays, snapshot off vs on (the same logins, new
# addresses). Every run starts from the same table (refilled, vacuumed),
# and a snapshot-on run starts once its base is built: what it measures is
# the snapshot's work for these logins (the delta, the rebase they cause),
# not a catch-up of the runs before it.
best_off="" best_on=""
for round in 1 2 3; do
	fill "$big"
	start_watcher "$T/off.log"
	s=$(ingest "$INGEST" 42 "$INGEST")
	stop_watcher
	[ -z "$best_off" ] || awk -v a="$s" -v b="$best_off" 'BEGIN { exit !(a < b) }' && best_off=$s
	fill "$big"
	rm -f "$T/relay.cdb" "$T/relay.cdb.delta"
	start_watcher "$T/on.log" "cdb_file = $T/relay.cdb"
	wait_for 300 grep -q 'event=rebase relays=' "$T/on.log"
	s=$(ingest "$INGEST" 42 "$INGEST")
	rebases=$(grep -c 'event=rebase_started' "$T/on.log")
	stop_watcher
	[ -z "$best_on" ] || awk -v a="$s" -v b="$best_on" 'BEGIN { exit !(a < b) }' && best_on=$s
done
fill 1000
start_watcher "$T/small.log" "cdb_file = $T/relay.cdb"
wait_for 300 grep -qE 'event=(delta_written|rebase relays=)' "$T/small.log"
small=$(ingest "$INGEST" 60 1000)
stop_watcher

echo "durable ingest through the FIFO ($INGEST logins, fsync on; best of 3 where paired)"
awk -v n="$INGEST" -v off="$best_off" -v on="$best_on" -v small="$small" -v big="$big" \
    -v stall="$stall" -v rebases="$rebases" -v rebase_ms="$rebase_ms" 'BEGIN {
	printf "%-44s %10s %12s %8s %s\n", "case", "seconds", "logins/s", "ratio", "target"
	printf "%-44s %10.3f %12.0f %8.2f\n", sprintf("%d relays, snapshot off", big), off, n / off, 1
	printf "%-44s %10.3f %12.0f %8.2f %s\n", sprintf("%d relays, snapshot on", big), on, n / on, off / on, ">= 0.90"
	printf "%-44s %10.3f %12.0f %8s %s\n", "1000 relays, snapshot on", small, n / small, "-", ">= 40000 logins/s"
	printf "rebases started in the last snapshot-on run, the first base included: %d\n\n", rebases
	printf "event loop while a base of %d relays was built (%d ms, in the snapshot process) with 200 logins/s arriving:\n", big, rebase_ms
	printf "longest stretch without polling the inputs: %d ms (target <= 10 ms)\n", stall
}'
