#!/usr/bin/env bash
# metrics_file and `authrelayctl stats --format=prometheus`: after a known
# run (granted, ignored and junk lines through a real FIFO, a database
# restart) both outputs pass promtool's check and, read back with the
# Python client's parser, hold exactly the counts of that run.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/watcher/watcher-lib.sh"
PY=/usr/bin/python3
command -v promtool >/dev/null || skip "promtool missing (Debian package prometheus; tools/deps.sh)"
"$PY" -c 'import prometheus_client' 2>/dev/null ||
    skip "python3-prometheus-client missing (tools/deps.sh)"
G=${METRICS_GRANTED:-40} I=${METRICS_IGNORED:-7} J=5
M=$T/textfile/authrelay.prom

pg_start
mkdir -p "$T/textfile"
watcher_start "metrics_file = $M" "never_relay = 10.0.0.0/8" "sweep_interval = 1h" \
    "cdb_file = $T/relay.cdb"
fifo_writer_open

# value NAME [LABELS]: one sample of the textfile, read by the real parser.
value() {
	"$PY" - "$1" "$2" "${3:-}" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
path, name, labels = sys.argv[1], sys.argv[2], sys.argv[3]
want = dict(kv.split("=", 1) for kv in labels.split(",") if kv)
for fam in text_string_to_metric_families(open(path).read()):
    for s in fam.samples:
        if s.name == name and s.labels == want:
            print(int(s.value) if s.value == int(s.value) else s.value)
            sys.exit(0)
sys.exit(1)
PY
}
value_is() { [ "$(value "$M" "$2" "${3:-}")" = "$1" ]; }

for i in $(seq 1 "$G"); do dovecot_login "u$i" "198.51.100.$i" >&"$FIFO_FD"; done
for i in $(seq 1 "$I"); do dovecot_login "n$i" "10.0.0.$i" >&"$FIFO_FD"; done
for i in $(seq 1 "$J"); do echo "junk line $i" >&"$FIFO_FD"; done
wait_for 60 value_is $((G + I)) authrelay_committed_total

promtool check metrics < "$M" || fail "promtool check metrics: $M"
assert_eq "$G" "$(value "$M" authrelay_logins_total outcome=granted)" "granted"
assert_eq "$I" "$(value "$M" authrelay_logins_total outcome=ignored)" "ignored"
assert_eq $((G + I + J)) "$(value "$M" authrelay_lines_total)" "lines"
assert_eq $((G + I)) "$(value "$M" authrelay_matched_total)" "matched"
assert_eq 0 "$(value "$M" authrelay_queue_depth)" "queue depth"
assert_eq 0 "$(value "$M" authrelay_queue_dropped_total)" "dropped"
assert_eq 0 "$(value "$M" authrelay_db_errors_total)" "db errors"
assert_eq 1 "$(value "$M" authrelay_db_up)" "db up"
assert_eq 0 "$(value "$M" authrelay_db_reconnects_total)" "reconnects"
age=$(value "$M" authrelay_last_commit_age_seconds)
"$PY" -c "import sys; sys.exit(not 0 <= float('$age') < 60)" ||
    fail "last commit age $age"
assert_eq 644 "$(stat -c %a "$M")" "textfile mode"
ok "textfile: $G granted, $I ignored, $J junk lines, parsed by promtool and prometheus_client"

# The snapshot process's own file beside it: the relays it holds.
S=$T/textfile/authrelay-snapshot.prom
# The first base is built while the logins arrive: each relay is in the base
# or in the delta after it, never in both (each was written once).
snap_has() {
	[ -s "$S" ] || return 1
	local base delta
	base=$(value "$S" authrelay_snapshot_base_relays) || return 1
	delta=$(value "$S" authrelay_snapshot_delta_rows) || return 1
	[ $((base + delta)) = "$G" ]
}
wait_for 60 snap_has
promtool check metrics < "$S" || fail "promtool check metrics: $S"
"$PY" -c "import sys; sys.exit(not 0 <= float('$(value "$S" authrelay_snapshot_age_seconds)') < 120)" ||
    fail "snapshot age"
ok "snapshot textfile: $G relays in base and delta, a current age"

# A database restart: down, then one reconnect.
pg_stop
wait_for 30 value_is 0 authrelay_db_up
dovecot_login late 198.51.100.250 >&"$FIFO_FD"
wait_for 30 value_is 1 authrelay_queue_depth
pg_restart_stopped
wait_for 60 value_is 1 authrelay_db_reconnects_total
wait_for 30 value_is $((G + I + 1)) authrelay_committed_total
assert_eq 0 "$(value "$M" authrelay_queue_depth)" "queue drained"
ok "textfile: database down seen, one reconnect counted"

# The database's side of the same run.
P=$T/stats.prom
"$BIN/authrelayctl" -c "$T/authrelay.conf" stats --format=prometheus > "$P"
promtool check metrics < "$P" || fail "promtool check metrics: stats"
assert_eq $((G + 1)) "$(value "$P" authrelay_db_active_relays)" "active relays"
assert_eq $((G + I + 1)) "$(value "$P" authrelay_db_audit_rows)" "audit rows"
assert_eq $((G + 1)) "$(value "$P" authrelay_db_logins_last_hour outcome=granted)" "granted, last hour"
assert_eq "$I" "$(value "$P" authrelay_db_logins_last_hour outcome=ignored)" "ignored, last hour"
"$BIN/authrelayctl" -c "$T/authrelay.conf" stats --format=xml 2>/dev/null &&
    fail "stats accepted --format=xml"
table=$("$BIN/authrelayctl" -c "$T/authrelay.conf" stats)
assert_contains "$table" "active relays" "stats table"

# The sample alert rules load in promtool.
promtool check rules "$TOP/etc/prometheus/authrelay-alerts.yml" >/dev/null ||
    fail "promtool check rules etc/prometheus/authrelay-alerts.yml"
ok "authrelayctl stats --format=prometheus matches the run; alert rules check"
