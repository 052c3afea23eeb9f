#!/usr/bin/env bash
# login_event's day partitions with a real PostgreSQL and a real watcher:
# created ahead, dropped whole past audit_keep (a fake clock through
# authrelay_audit_maintain_at), audit_keep = 0 keeps everything, rows
# that found no partition move to their day's, the writer role's limits,
# a watcher that keeps recording while its own timer drops a partition,
# the EXPLAIN plans of the audit queries on many partitions (pruned to
# the days asked for), and authrelayctl audit --until --format=csv|json.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/watcher-lib.sh"

# Durability is not under test here: no fsync, a shorter run.
PG_FSYNC=off pg_start
parts() { sql "SELECT count(*) FROM pg_inherits WHERE inhparent = 'login_event'::regclass"; }
has_part() { [ "$(sql "SELECT to_regclass('$1') IS NOT NULL")" = t ]; }
day() { date -u -d "$1 days" +%Y%m%d; }	# the same clock as the server's
maintain_at() { # keep ahead now-expression: action|partition lines
	sql "SELECT action || '|' || part FROM authrelay_audit_maintain_at(interval '$1', $2, $3)"
}
add_row() { # at-expression ip user
	sql "INSERT INTO login_event (at, ip, username, parser, service, outcome, expires_at)
	     VALUES ($1, '$2', '$3', 'dovecot', 'imap', 'granted', $1 + interval '30 minutes')"
}

## schema.sql creates today's partition and 3 days ahead
for d in 0 1 3; do
	has_part "login_event_$(day $d)" || fail "partition for day +$d after schema.sql"
done
assert_eq 5 "$(parts)" "today, 3 days ahead and the default partition"
assert_eq "" "$(maintain_at 90d 3 'now()')" "a second upkeep has nothing to do"
ok "partitions exist ahead from the first schema.sql"

## A fake clock: 100 days ago, with rows
maintain_at 0 1 "now() - interval '100 days'" >"$T/m.out"
assert_contains "$(cat "$T/m.out")" "created|login_event_$(day -100)" "a partition for then"
add_row "now() - interval '100 days'" 192.0.2.1 old1
add_row "now() - interval '99 days'" 192.0.2.2 old2
add_row "now() - interval '80 days'" 192.0.2.3 mid
assert_eq login_event_default "$(sql "SELECT tableoid::regclass FROM login_event WHERE username = 'mid'")" \
    "a row without its day's partition lands in the default partition"
# Upkeep creates the day the default partition holds rows of, and moves them.
id_mid=$(sql "SELECT id FROM login_event WHERE username = 'mid'")
out=$(maintain_at 0 1 'now()')
assert_contains "$out" "created|login_event_$(day -80)" "the default's day gets a partition"
assert_contains "$out" "moved|login_event_$(day -80)" "its rows move"
assert_eq "login_event_$(day -80)|$id_mid" "$(sql "SELECT tableoid::regclass || '|' || id FROM login_event WHERE username = 'mid'")" \
    "the moved row keeps its id, in its day's partition"
assert_eq 0 "$(sql "SELECT count(*) FROM login_event_default")" "the default partition is empty again"
ok "rows without a partition move to their day's partition"

## audit_keep = 0 keeps everything, however old
add_row "now() - interval '3650 days'" 192.0.2.4 ancient
maintain_at 0 1 'now()' >/dev/null
maintain_at 0 1 "now() + interval '3650 days'" >/dev/null
assert_eq 4 "$(sql "SELECT count(*) FROM login_event")" "keep 0: no row removed"
ok "audit_keep 0 keeps rows for ever"

## Past the retention, whole days go (a drop, not a DELETE)
out=$(maintain_at '90 days' 1 'now()')
assert_contains "$out" "dropped|login_event_$(day -100)" "100 days ago dropped"
assert_contains "$out" "dropped|login_event_$(day -99)" "99 days ago dropped"
assert_contains "$out" "dropped|login_event_$(day -3650)" "ten years ago dropped"
assert_not_contains "$out" "login_event_$(day -80)" "80 days ago kept"
assert_eq "mid" "$(sql "SELECT string_agg(username, ' ') FROM login_event")" "rows left"
has_part "login_event_$(day -100)" && fail "a dropped partition is still there"
# The boundary: a day goes once its last instant is keep old, not before.
boundary=$(sql "SELECT ((date_trunc('day', now() AT TIME ZONE 'UTC') - interval '80 days' + interval '1 day') AT TIME ZONE 'UTC') + interval '2 days'")
out=$(maintain_at '2 days' 1 "'$boundary'::timestamptz - interval '1 second'")
assert_not_contains "$out" "login_event_$(day -80)" "a day whose end is not yet 2 days old"
out=$(maintain_at '2 days' 1 "'$boundary'::timestamptz")
assert_contains "$out" "dropped|login_event_$(day -80)" "a day whose end is exactly 2 days old"
# Rows that sit in the default partition past the retention are deleted.
# A table named like a day but not a partition of login_event stays.
sql "CREATE TABLE login_event_20000101 (LIKE login_event)"
add_row "now() + interval '400 days'" 192.0.2.5 future
out=$(maintain_at '90 days' 1 "now() + interval '600 days'")
assert_contains "$out" "deleted|login_event_default" "an old row in the default partition"
assert_eq 0 "$(sql "SELECT count(*) FROM login_event WHERE username = 'future'")" "deleted"
has_part login_event_20000101 || fail "a table that is not a partition was dropped"
# That clock dropped every real day: today's and the next week's again.
maintain_at 0 7 'now()' >/dev/null
ok "whole days past audit_keep are dropped, at the right boundary"

## The writer role: upkeep through the definer function only, keep >= 1 day
PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -f "$TOP/sql/roles.sql" >/dev/null
sql "CREATE ROLE watcher LOGIN IN ROLE authrelay_writer"
sql "CREATE ROLE wrapper LOGIN IN ROLE authrelay_reader"
as() { local u=$1; shift; psql -X -q -A -t -v ON_ERROR_STOP=1 -U "$u" -c "$1" 2>&1; }
before=$(parts)
assert_eq "" "$(as watcher "SELECT * FROM authrelay_audit_maintain('90 days', 3)")" "the writer keeps partitions"
assert_contains "$(as watcher "SELECT * FROM authrelay_audit_maintain('1 hour', 7)" || true)" "at least 1 day" \
    "the writer cannot keep less than a day"
assert_contains "$(as watcher "SELECT * FROM authrelay_audit_maintain_at('0', 1, now() + interval '1 year')" || true)" \
    "permission denied" "the writer cannot fake the clock"
assert_contains "$(as wrapper "SELECT * FROM authrelay_audit_maintain('90 days', 7)" || true)" "permission denied" \
    "the reader cannot keep partitions"
assert_contains "$(as watcher "DROP TABLE login_event_$(day 1)" || true)" "must be owner" "the writer drops a partition"
assert_eq "$before" "$(parts)" "nothing changed by refused calls"
assert_eq 2 "$(as watcher "SELECT max(version) FROM schema_version")" "the writer reads the schema version"
ok "the writer keeps partitions only through authrelay_audit_maintain"

## audit_keep and audit_interval out of range stop the watcher at once
for bad in "audit_keep = 12h" "audit_keep = 36501d" "audit_interval = 500ms" "audit_interval = 2d"; do
	watcher_config "$bad"
	rc=0; "$BIN/authrelayd" -n -c "$T/authrelay.conf" >"$T/bad.out" 2>&1 || rc=$?
	assert_eq 1 "$rc" "authrelayd -n with $bad"
	assert_contains "$(cat "$T/bad.out")" "${bad%% *}: want" "the message for $bad"
done
watcher_config "audit_keep = 0" "audit_interval = 1d"
"$BIN/authrelayd" -n -c "$T/authrelay.conf" >/dev/null 2>&1 || fail "audit_keep = 0 refused"
ok "audit_keep and audit_interval ranges"

## A watcher keeps recording while its own timer drops a partition
watcher_start "audit_keep = 30d" "audit_interval = 1s"
fifo_writer_open
wait_for 20 grep -q 'event=schema\|event=audit' "$T/watcher.log"
old=login_event_$(day -45)
(
	i=0
	while [ ! -e "$T/stop" ]; do
		dovecot_login "stream$i" "203.0.113.$((i % 250 + 1))" >&$FIFO_FD
		i=$((i + 1))
		echo "$i" >"$T/sent.tmp" && mv "$T/sent.tmp" "$T/sent"
		sleep 0.01
	done
	touch "$T/stream.done"
) &
track_pid $!
streamed() { sql "SELECT count(*) FROM login_event WHERE username LIKE 'stream%'"; }
wait_for 30 sql_is t "SELECT count(*) > 20 FROM login_event WHERE username LIKE 'stream%'"
# One transaction, so that the watcher's upkeep sees the day full.
sql "SELECT count(*) FROM authrelay_audit_maintain_at(interval '0', 0, now() - interval '45 days');
     INSERT INTO login_event (at, ip, username, parser, service, outcome)
     SELECT now() - interval '45 days' + i * interval '1 second', '192.0.2.9', 'gone', 'dovecot', 'imap', 'ignored'
     FROM generate_series(1, 5000) i" >/dev/null
wait_for 30 grep -q "event=audit_partition action=dropped partition=$old" "$T/watcher.log"
n_at_drop=$(streamed)
wait_for 30 sql_is t "SELECT count(*) > $n_at_drop + 20 FROM login_event WHERE username LIKE 'stream%'"
touch "$T/stop"
wait_for 10 test -e "$T/stream.done"
sent=$(cat "$T/sent")
wait_for 30 sql_is "$sent" "SELECT count(*) FROM login_event WHERE username LIKE 'stream%'"
has_part "$old" && fail "the partition past audit_keep is still there"
assert_eq 0 "$(sql "SELECT count(*) FROM login_event WHERE username = 'gone'")" "its rows are gone"
if grep -q 'event=db_refused\|event=db_error\|event=db_down\|audit_maintain_failed' "$T/watcher.log"; then
	grep 'event=db_\|audit_maintain' "$T/watcher.log" >&2
	fail "the watcher hit an error while a partition was dropped"
fi
ok "the watcher recorded all $sent logins while it dropped $old ($n_at_drop before, the rest after)"
kill -TERM "$WATCHER_PID"
wait "$WATCHER_PID" || fail "the watcher's exit status"

## audit.sql's plans on many partitions: only the days asked for
maintain_at 0 62 "now() - interval '60 days'" >/dev/null
sql "INSERT INTO login_event (at, ip, username, parser, service, outcome, expires_at, line_hash)
     SELECT now() - i * interval '4 minutes', ('198.51.100.' || (i % 250 + 1))::inet, 'u' || i % 500,
            'dovecot', 'imap', 'granted', now() - i * interval '4 minutes' + interval '30 minutes', i
     FROM generate_series(1, 21600) i"
sql "ANALYZE login_event"
total=$(parts)
[ "$total" -ge 60 ] || fail "only $total partitions"
# plan Q VAR=VALUE...: the plan, and the number of partitions it reads.
plan() {
	local q=$1 kv; shift
	local args=(-v "q=$q" -v "explain=EXPLAIN (COSTS OFF)")
	for kv in "$@"; do args+=(-v "$kv"); done
	psql -X -q -A -t "${args[@]}" -f "$TOP/sql/audit.sql" >"$T/plan.$q"
	grep -oE ' on login_event_([0-9]{8}|default)' "$T/plan.$q" | sort -u | wc -l
}
at20=$(sql "SELECT now() - interval '20 days'")
week=$(sql "SELECT now() - interval '7 days'")
yday=$(sql "SELECT now() - interval '1 day'")
n=$(plan relay_at ip=198.51.100.7 "at=$at20")
[ "$n" -ge 1 ] && [ "$n" -le 2 ] || { cat "$T/plan.relay_at"; fail "relay_at reads $n of $total partitions"; }
assert_contains "$(cat "$T/plan.relay_at")" "ip_at_idx" "relay_at uses the (ip, at) index"
n=$(plan user_logins user=u7 "from=$week" to=now)
[ "$n" -ge 7 ] && [ "$n" -le 9 ] || { cat "$T/plan.user_logins"; fail "user_logins for a week reads $n of $total partitions"; }
assert_contains "$(cat "$T/plan.user_logins")" "username_at_idx" "user_logins uses the (username, at) index"
for q in top_ips shared_users ignored; do
	n=$(plan $q "from=$yday" to=now)
	[ "$n" -ge 1 ] && [ "$n" -le 3 ] || { cat "$T/plan.$q"; fail "$q for a day reads $n of $total partitions"; }
done
# The watcher's re-delivery check (watcher/store.c, the same bounds)
# plans only the last day's partitions (or expire's), whatever the total,
# and probes the line_hash index once per event of a full batch (5000
# hashes), never hashing a whole partition: its cost follows the batch,
# not the audit trail. (A partition of a few rows may be scanned per
# probe; that is the planner's cheaper choice there.)
grep -q 'LEFT JOIN LATERAL (SELECT le.line_hash AS h FROM login_event le' "$TOP/watcher/store.c" &&
grep -q '"      AND le.at > to_timestamp($10::float8 - 3600 -"' "$TOP/watcher/store.c" ||
    fail "store.c's re-delivery check is not the one tested here"
sql "PREPARE redelivered(bigint[], float8, float8) AS
     SELECT e.h, seen.h IS NOT NULL
     FROM unnest(\$1) AS e(h)
     LEFT JOIN LATERAL (SELECT le.line_hash AS h FROM login_event le
       WHERE le.line_hash = e.h
         AND le.at > to_timestamp(\$3 - 3600 - greatest(\$2, 86400000) / 1000)
         AND le.at < to_timestamp(\$3 + 3600)
       LIMIT 1) seen ON true;
     EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
       EXECUTE redelivered('{$(seq -s, 1 5000)}', 1800000, $(date +%s))" >"$T/plan.batch"
read_parts=$(grep -oE ' on login_event_([0-9]{8}|default)' "$T/plan.batch" | sort -u | wc -l)
[ "$read_parts" -ge 1 ] && [ "$read_parts" -le 3 ] || { cat "$T/plan.batch"; fail "the re-delivery check plans $read_parts partitions"; }
assert_contains "$(cat "$T/plan.batch")" "line_hash_idx" "the re-delivery check uses the line_hash index"
assert_contains "$(cat "$T/plan.batch")" "Limit (actual rows=0 loops=5000)" "one probe per event"
assert_not_contains "$(cat "$T/plan.batch")" "hashed SubPlan" "the re-delivery check hashes no partition"
ok "audit queries and the re-delivery check read only their days of $total partitions"

## authrelayctl audit: --until, --format=csv|json, audit-maintain
ctl() { "$BIN/authrelayctl" -c "$T/authrelay.conf" "$@"; }
sql "INSERT INTO login_event (at, ip, username, parser, service, outcome, reason)
     VALUES (now() - interval '3 hours', '192.0.2.77', 'we\"ird, user', 'dovecot', 'imap', 'ignored', 'service'),
            (now() - interval '1 hour', '192.0.2.77', 'plain', 'dovecot', 'imap', 'granted', NULL)"
assert_eq "we\"ird, user" "$(ctl audit --ip 192.0.2.77 --until 2h | awk 'NR == 2 { print $4, $5 }')" "--until 2h: the older row only"
assert_eq 2 "$(ctl audit --ip 192.0.2.77 --until 2h | wc -l)" "--until 2h: header and one row"
assert_eq 3 "$(ctl audit --ip 192.0.2.77 --since 1d --until now | wc -l)" "--since and --until"
ctl audit --ip 192.0.2.77 --format=csv >"$T/a.csv" || fail "audit --format=csv"
assert_eq "id,time,ip,user,parser,service,outcome,reason,until,redelivered" "$(head -n 1 "$T/a.csv")" "csv header"
python3 - "$T/a.csv" <<'PY' || fail "csv content"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert [r["user"] for r in rows] == ['we"ird, user', "plain"], rows
assert rows[0]["reason"] == "service" and rows[1]["reason"] == "", rows
assert rows[0]["redelivered"] == "false", rows
assert rows[0]["time"].endswith("Z") and "T" in rows[0]["time"], rows
PY
ctl audit --ip 192.0.2.77 --format=json >"$T/a.json" || fail "audit --format=json"
python3 - "$T/a.json" <<'PY' || fail "json content"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["user"] for r in rows] == ['we"ird, user', "plain"], rows
assert rows[0]["reason"] == "service" and rows[1]["reason"] is None, rows
assert rows[1]["until"] is None and rows[0]["redelivered"] is False, rows
assert isinstance(rows[0]["id"], int) and rows[0]["ip"] == "192.0.2.77", rows
PY
rc=0; ctl audit --format=xml >/dev/null 2>"$T/err" || rc=$?
assert_eq 2 "$rc" "unknown format: usage status"
assert_contains "$(cat "$T/err")" "want table, csv or json" "unknown format message"
sql "SELECT authrelay_audit_maintain_at('0', 0, now() - interval '200 days')" >/dev/null
assert_contains "$(ctl audit-maintain)" "dropped  login_event_$(day -200)" "audit-maintain drops past audit_keep"
ok "authrelayctl audit --until, --format=csv|json, audit-maintain"
