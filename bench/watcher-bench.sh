#!/usr/bin/env bash
# watcher-bench.sh - durable logins/s through the FIFO into PostgreSQL
# (fsync and synchronous_commit on), batched against the one-transaction-
# per-login baseline in the same run; and the latency from a line entering
# the FIFO to its relay row being committed, at a paced 1000 logins/s
# (commit times from PostgreSQL's track_commit_timestamp).
. "$(dirname "$0")/../tests/lib.sh"
. "$TOP/tests/watcher/watcher-lib.sh"
N=${BENCH_LOGINS:-100000}
NBASE=${BENCH_BASELINE_LOGINS:-3000}
RATE=${BENCH_RATE:-1000}
SECONDS_PACED=${BENCH_PACED_SECONDS:-5}

PG_EXTRA_OPTS="-c track_commit_timestamp=on" pg_start

gen_lines() { # count, first octet: one login per distinct address
	python3 - "$1" "$2" <<'PY'
import sys
n, a = int(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    print("Nov 23 10:00:00 mx dovecot: imap-login: Login: user=<u%d@example.org>, method=PLAIN, "
          "rip=%d.%d.%d.%d, lip=192.0.2.1, mpid=%d, TLS, session=<s%d>"
          % (i, a, (i >> 16) & 255, (i >> 8) & 255, i & 255, i, i))
PY
}

# run_throughput COUNT FIRST_OCTET BATCH_MAX: prints seconds
run_throughput() {
	local n=$1 octet=$2 batch=$3 start end
	gen_lines "$n" "$octet" > "$T/lines.$octet"
	sql "TRUNCATE relay, login_event"
	watcher_start "batch_max = $batch" "queue_max = $((n + 1))"
	start=$(date +%s.%N)
	cat "$T/lines.$octet" > "$T/fifo"
	wait_ingested 600 "$(last_ip "$octet" $((n - 1)))" "u$((n - 1))@example.org" "$n"
	end=$(date +%s.%N)
	kill -TERM "$WATCHER_PID"; wait "$WATCHER_PID" || true
	awk -v s="$start" -v e="$end" 'BEGIN{printf "%.3f", e - s}'
}

base_s=$(run_throughput "$NBASE" 21 1)
fast_s=$(run_throughput "$N" 22 5000)
[ "$(sql "SELECT count(*) FROM relay")" = "$N" ] || fail "relays missing"

# Latency at a paced rate: send time per address, commit time per row.
sql "TRUNCATE relay, login_event"
watcher_start
python3 - "$T/fifo" "$RATE" "$SECONDS_PACED" > "$T/sent" <<'PY'
import sys, time
fifo, rate, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
f = open(fifo, "w")
t0 = time.time()
for i in range(rate * secs):
    due = t0 + i / rate
    d = due - time.time()
    if d > 0:
        time.sleep(d)
    ip = "23.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)
    line = ("Nov 23 10:00:00 mx dovecot: imap-login: Login: user=<p%d>, method=PLAIN, "
            "rip=%s, lip=192.0.2.1, mpid=%d, TLS\n" % (i, ip, i))
    t = time.time()
    f.write(line)
    f.flush()
    print(ip, "%.6f" % t)
PY
paced=$((RATE * SECONDS_PACED))
wait_for 60 sql_is "$paced" "SELECT count(*) FROM relay"
sql "SELECT host(ip), extract(epoch FROM pg_xact_commit_timestamp(xmin)) FROM relay" |
    tr '|' ' ' > "$T/committed"
lat=$(awk 'NR == FNR { sent[$1] = $2; next }
	{ d = ($2 - sent[$1]) * 1000; print d }' "$T/sent" "$T/committed" | sort -n |
	awk '{ a[NR] = $1 } END { printf "%.2f %.2f %.2f", a[int(NR * 0.5)], a[int(NR * 0.99)], a[NR] }')
read -r p50 p99 pmax <<<"$lat"

awk -v n="$N" -v nb="$NBASE" -v fs="$fast_s" -v bs="$base_s" \
    -v p50="$p50" -v p99="$p99" -v pmax="$pmax" -v rate="$RATE" 'BEGIN {
	printf "%-46s %8s %9s %12s %7s\n", "durable logins, FIFO to PostgreSQL", "logins", "seconds", "logins/s", "ratio"
	printf "%-46s %8d %9.3f %12.0f %7.2f\n", "baseline: one transaction per login", nb, bs, nb / bs, 1
	printf "%-46s %8d %9.3f %12.0f %7.2f\n", "batched (authrelayd, batch_max 5000)", n, fs, n / fs, (n / fs) / (nb / bs)
	printf "targets: >= 20000 logins/s and >= 10x the baseline\n\n"
	printf "%-46s %8s %8s %8s\n", "latency FIFO -> committed relay row (ms)", "p50", "p99", "max"
	printf "%-46s %8.2f %8.2f %8.2f\n", "paced at " rate " logins/s", p50, p99, pmax
	printf "target: p99 < 20 ms\n"
}'
