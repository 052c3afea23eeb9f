#!/usr/bin/env bash
# sql/upgrade-1-2.sql on a real version-1 database full of rows: every
# row kept with its id, ids continue, one partition per day, the table
# alike to a new one, sql/audit.sql's answers unchanged by partitioning;
# authrelayd and authrelayctl refuse version 1 (and an unknown version)
# with the command that upgrades it; schema.sql refuses to run over
# version 1; the upgrade refuses to run twice.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/watcher-lib.sh"

PG_FSYNC=off pg_start		# a new version-2 database: authrelay
"$PG_BINDIR/createdb" v1
q() { PGDATABASE=v1 sql "$1"; }
PGOPTIONS='-c client_min_messages=warning' PGDATABASE=v1 \
    psql -X -q -v ON_ERROR_STOP=1 -f "$TOP/tests/watcher/schema-v1.sql" >/dev/null
assert_eq 1 "$(q "SELECT max(version) FROM schema_version")" "a version-1 database"

# 8000 decisions over 40 days: grants, ignored logins, revokes, re-deliveries.
q "INSERT INTO login_event (at, ip, username, parser, service, outcome, reason, expires_at, redelivered, line_hash)
   SELECT t, ip, CASE WHEN o = 'revoked' THEN 'admin:root' ELSE 'user' || (i % 23) END,
          CASE WHEN o = 'revoked' THEN 'authrelayctl' ELSE 'dovecot' END,
          CASE WHEN o = 'revoked' THEN 'admin' WHEN o = 'ignored' THEN 'pop3' ELSE 'imap' END,
          o, CASE WHEN o = 'ignored' THEN 'service' END,
          CASE WHEN o = 'granted' THEN t + interval '30 minutes' END, i % 97 = 0, i
   FROM (SELECT i, timestamptz '2026-10-01 00:00:00+00' + i * interval '7 minutes 13 seconds' AS t,
                ('192.0.2.' || (i % 40 + 1))::inet AS ip,
                CASE WHEN i % 11 = 0 THEN 'ignored' WHEN i % 17 = 0 THEN 'revoked' ELSE 'granted' END AS o
         FROM generate_series(1, 8000) AS i) AS s"
# A grant that a revoke ends early, and one that a re-login extends.
q "INSERT INTO login_event (at, ip, username, parser, service, outcome, expires_at)
   VALUES ('2026-10-12 10:00+00', '192.0.2.250', 'rita', 'dovecot', 'imap', 'granted', '2026-10-12 12:00+00'),
          ('2026-10-12 10:30+00', '192.0.2.250', 'admin:root', 'authrelayctl', 'admin', 'revoked', NULL),
          ('2026-10-12 11:00+00', '192.0.2.250', 'rita', 'dovecot', 'imap', 'granted', '2026-10-12 11:30+00'),
          ('2026-10-13 23:50+00', '192.0.2.251', 'nick', 'dovecot', 'imap', 'granted', '2026-10-14 00:20+00'),
          ('2026-10-14 00:10+00', '192.0.2.251', 'nick', 'dovecot', 'imap', 'granted', '2026-10-14 00:40+00')"
# relay_at instants: inside grants of the generated rows, and around those above.
instants=$(q "SELECT host(ip) || '|' || (at + interval '10 minutes')::text FROM login_event
    WHERE id IN (81, 500, 1234, 4321, 7001) ORDER BY id")
instants+="
192.0.2.250|2026-10-12 10:20+00
192.0.2.250|2026-10-12 10:40+00
192.0.2.250|2026-10-12 11:10+00
192.0.2.251|2026-10-14 00:05+00
192.0.2.251|2026-10-14 00:30+00
::ffff:192.0.2.251|2026-10-14 00:15+00"
days=$(q "SELECT count(DISTINCT (at AT TIME ZONE 'UTC')::date) FROM login_event")

# Every audit.sql query, with and without periods, on database $1, in
# one psql session: each run \i's audit.sql with only its own variables.
audit_all() {
	local db=$1 ip at u x
	run() { # q [var=value...]
		printf '\\echo %s\n\\unset ip\n\\unset at\n\\unset user\n\\unset from\n\\unset to\n\\unset limit\n\\unset min_ips\n\\unset span\n\\set q %s\n' "$*" "$1"
		shift
		local kv
		for kv in "$@"; do printf "\\\\set %s '%s'\\n" "${kv%%=*}" "${kv#*=}"; done
		printf '\\i %s\n' "$TOP/sql/audit.sql"
	}
	{
		while IFS='|' read -r ip at; do run relay_at "ip=$ip" "at=$at"; done <<<"$instants"
		for u in user0 user5 admin:root rita nick; do
			run user_logins "user=$u"
			run user_logins "user=$u" from=2026-10-10 to=2026-10-17
		done
		for x in top_ips shared_users ignored; do
			run "$x"
			run "$x" 'from=2026-10-05 06:00+00' 'to=2026-10-06 18:00+00'
		done
		run top_ips limit=5
		run shared_users min_ips=10
	} >"$T/audit-all.sql"
	PGDATABASE=$db psql -X -q -A -t -F '|' -f "$T/audit-all.sql"
}
dump() { PGDATABASE=$1 sql "SELECT id, at, host(ip), username, parser, service, outcome, reason, expires_at, redelivered, line_hash
	FROM login_event ORDER BY id" | md5sum; }
audit_all v1 >"$T/before.txt"
[ "$(grep -c '|' "$T/before.txt")" -gt 1000 ] || fail "the queries found too little to compare"
[ "$(grep -A1 '^relay_at' "$T/before.txt" | grep -c '|')" -ge 8 ] || { cat "$T/before.txt"; fail "relay_at found too few grants to compare"; }
rows_before=$(dump v1)

## Both programs refuse version 1, saying how to upgrade
watcher_config "database = host=$PGHOST dbname=v1 user=authrelay"
mkfifo -m 0620 "$T/fifo"
rc=0; timeout 60 "$BIN/authrelayd" -f -c "$T/authrelay.conf" >"$T/refused.log" 2>&1 || rc=$?
assert_eq 1 "$rc" "authrelayd's exit status on a version-1 database"
assert_contains "$(cat "$T/refused.log")" "schema version 1, this program needs 2" "authrelayd's reason"
assert_contains "$(cat "$T/refused.log")" "psql -X -v ON_ERROR_STOP=1 -d v1 -f /usr/local/share/authrelay/sql/upgrade-1-2.sql" \
    "authrelayd names the upgrade command"
rc=0; "$BIN/authrelayctl" -c "$T/authrelay.conf" list >/dev/null 2>"$T/ctl.err" || rc=$?
assert_eq 1 "$rc" "authrelayctl's exit status on a version-1 database"
assert_contains "$(cat "$T/ctl.err")" "upgrade-1-2.sql" "authrelayctl names the upgrade"
rc=0; PGDATABASE=v1 psql -X -q -v ON_ERROR_STOP=1 -f "$TOP/sql/schema.sql" >/dev/null 2>"$T/schema.err" || rc=$?
assert_eq 3 "$rc" "schema.sql over version 1"
assert_contains "$(cat "$T/schema.err")" "upgrade it with: psql -X -v ON_ERROR_STOP=1 -f sql/upgrade-1-2.sql" "schema.sql's hint"
assert_eq "$rows_before" "$(dump v1)" "rows after the refusals"
ok "authrelayd, authrelayctl and schema.sql refuse version 1 with the upgrade command"

## The upgrade
PGDATABASE=v1 psql -X -q -v ON_ERROR_STOP=1 -f "$TOP/sql/upgrade-1-2.sql" >"$T/upgrade.out" 2>&1 ||
    { cat "$T/upgrade.out"; fail "upgrade-1-2.sql"; }
assert_eq 2 "$(q "SELECT max(version) FROM schema_version")" "version after the upgrade"
assert_eq "$rows_before" "$(dump v1)" "every row, id and value kept"
assert_eq p "$(q "SELECT relkind FROM pg_class WHERE oid = 'login_event'::regclass")" "login_event is partitioned"
assert_eq 0 "$(q "SELECT count(*) FROM login_event_default")" "nothing in the default partition"
assert_eq 0 "$(q "SELECT count(*) FROM (SELECT tableoid FROM login_event
    GROUP BY tableoid HAVING count(DISTINCT (at AT TIME ZONE 'UTC')::date) > 1) d")" "one day per partition"
assert_eq "$days" "$(q "SELECT count(DISTINCT tableoid) FROM login_event")" "a partition per day with rows"
assert_eq 0 "$(q "SELECT count(*) FROM login_event WHERE tableoid::regclass::text <> authrelay_audit_partition(at)")" \
    "partition names as maintenance makes them"
assert_eq "" "$(q "SELECT to_regclass('login_event_v1')")" "the old table is gone"
# Alike to a new database's table (bar the partitions), privileges included.
desc() { PGDATABASE=$1 psql -X -c '\d login_event' | grep -v 'partitions'; }
diff <(desc authrelay) <(desc v1) >"$T/desc.diff" || { cat "$T/desc.diff"; fail "upgraded and new login_event differ"; }
next=$(q "INSERT INTO login_event (at, ip, username, parser, service, outcome)
    VALUES (now(), '192.0.2.200', 'x', 'p', 's', 'granted') RETURNING id")
assert_eq 8006 "$next" "ids continue from the old sequence"
q "DELETE FROM login_event WHERE id = 8006"
ok "upgrade kept all $(q "SELECT count(*) FROM login_event") rows in $days day partitions"

audit_all v1 >"$T/after.txt"
diff "$T/before.txt" "$T/after.txt" >"$T/audit.diff" || { head -n 40 "$T/audit.diff"; fail "audit.sql answers changed by partitioning"; }
ok "audit.sql's answers are unchanged by partitioning ($(grep -c '|' "$T/after.txt") rows compared)"

## Twice is refused and changes nothing
rc=0; PGDATABASE=v1 psql -X -q -v ON_ERROR_STOP=1 -f "$TOP/sql/upgrade-1-2.sql" >/dev/null 2>"$T/again.err" || rc=$?
assert_eq 3 "$rc" "a second upgrade"
assert_contains "$(cat "$T/again.err")" "schema version 2, not 1" "a second upgrade's message"
assert_eq "$rows_before" "$(dump v1)" "rows after a second upgrade"
# schema.sql and roles.sql now apply over it.
PGOPTIONS='-c client_min_messages=warning' PGDATABASE=v1 psql -X -q -v ON_ERROR_STOP=1 -f "$TOP/sql/schema.sql" >/dev/null ||
    fail "schema.sql after the upgrade"
PGOPTIONS='-c client_min_messages=warning' PGDATABASE=v1 psql -X -q -v ON_ERROR_STOP=1 -f "$TOP/sql/roles.sql" >/dev/null ||
    fail "roles.sql after the upgrade"
ok "the upgrade refuses to run twice; schema.sql and roles.sql apply after it"

## The new programs run on the upgraded database as the writer role
q "CREATE ROLE watcher LOGIN IN ROLE authrelay_writer"
watcher_config "database = host=$PGHOST dbname=v1 user=watcher"
"$BIN/authrelayd" -f -v -c "$T/authrelay.conf" >"$T/watcher.log" 2>&1 &
WATCHER_PID=$!
track_pid "$WATCHER_PID"
fifo_writer_open
dovecot_login newuser 198.51.100.5 >&$FIFO_FD
relayed() { [ "$(q "SELECT count(*) FROM relay WHERE ip = '198.51.100.5'")" = 1 ]; }
wait_for 20 relayed
assert_contains "$("$BIN/authrelayctl" -c "$T/authrelay.conf" audit --user newuser)" "granted" "authrelayctl audit"
grep -q 'event=schema version=2' "$T/watcher.log" || fail "the watcher did not check the schema"
assert_eq "$(date -u +%Y%m%d)" "$(q "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYYMMDD') FROM login_event WHERE username = 'newuser'")" \
    "today's row"
assert_eq "login_event_$(date -u +%Y%m%d)" "$(q "SELECT tableoid::regclass FROM login_event WHERE username = 'newuser'")" \
    "the new row is in today's partition"
kill -TERM "$WATCHER_PID"
wait "$WATCHER_PID" || fail "the watcher's exit status"
ok "authrelayd and authrelayctl work on the upgraded database"

## A newer schema than the programs know is refused too
q "INSERT INTO schema_version (version) VALUES (3)"
rc=0; "$BIN/authrelayctl" -c "$T/authrelay.conf" list >/dev/null 2>"$T/ctl.err" || rc=$?
assert_eq 1 "$rc" "authrelayctl on version 3"
assert_contains "$(cat "$T/ctl.err")" "version 3 is newer than this program knows (2)" "authrelayctl's reason"
rc=0; timeout 60 "$BIN/authrelayd" -f -c "$T/authrelay.conf" >"$T/refused.log" 2>&1 || rc=$?
assert_eq 1 "$rc" "authrelayd on version 3"
assert_contains "$(cat "$T/refused.log")" "version 3 is newer" "authrelayd's reason"
ok "a newer schema is refused"
