#!/usr/bin/env bash
# sql/audit.sql answers correctly on what the real watcher recorded;
# sql/roles.sql and sql/schema.sql are idempotent; the roles are least
# privilege (the reader sees only relay, the writer is enough to run the
# watcher and authrelayctl).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/watcher-lib.sh"

pg_start
# pop3 is not a relaying service here, and 10.0.0.0/8 never relays: the
# built-in classes (loopback, ...) must still apply with a custom list.
watcher_start "services = imap" "never_relay = 10.0.0.0/8"
fifo_writer_open
ctl() { "$BIN/authrelayctl" -c "$T/authrelay.conf" "$@"; }

# audit Q [VAR=VALUE...]: run one query of audit.sql, rows as a|b|c.
audit() {
	local q=$1 kv; shift
	local args=(-v "q=$q")
	for kv in "$@"; do args+=(-v "$kv"); done
	psql -X -q -A -t -F '|' "${args[@]}" -f "$TOP/sql/audit.sql"
}
col() { cut -d'|' -f"$1"; }
events() { sql "SELECT count(*) FROM login_event"; }

## What the watcher records from real log lines
dovecot_login alice@example.org 192.0.2.10 >&$FIFO_FD
dovecot_login alice@example.org 192.0.2.10 >&$FIFO_FD
dovecot_login alice@example.org 198.51.100.20 >&$FIFO_FD
dovecot_login alice@example.org 203.0.113.5 >&$FIFO_FD
dovecot_login bob 192.0.2.20 >&$FIFO_FD
dovecot_login carol 192.0.2.30 pop3 >&$FIFO_FD
dovecot_login dave 127.0.0.1 >&$FIFO_FD
dovecot_login eve 10.1.2.3 >&$FIFO_FD
wait_for 10 sql_is 8 "SELECT count(*) FROM login_event"
assert_eq 4 "$(sql "SELECT count(*) FROM relay")" "relays opened"
ok "watcher recorded 5 grants and 3 ignored logins"

## (a) relay_at: who could relay from IP at time T
at1=$(sql "SELECT min(at) FROM login_event WHERE ip = '192.0.2.10'")
exp1=$(sql "SELECT max(expires_at) FROM login_event WHERE ip = '192.0.2.10'")
# One second after the later of alice's two logins there: both cover it.
inside=$(sql "SELECT max(at) + interval '1 second' FROM login_event WHERE ip = '192.0.2.10'")
out=$(audit relay_at ip=192.0.2.10 "at=$inside")
assert_eq "alice@example.org
alice@example.org" "$(col 1 <<<"$out")" "relay_at inside the grant: both logins"
assert_eq 192.0.2.10 "$(head -n 1 <<<"$out" | col 2)" "relay_at ip column"
out=$(audit relay_at ip=::ffff:192.0.2.10 "at=$inside" | col 1 | sort -u)
assert_eq alice@example.org "$out" "relay_at with an IPv4-mapped address"
assert_eq alice@example.org "$(audit relay_at ip=192.0.2.10 "at=$at1" | col 1 | sort -u)" \
    "relay_at at the grant's first instant"
assert_eq "" "$(audit relay_at ip=192.0.2.10 "at=$exp1")" "relay_at at the expiry instant"
assert_eq "" "$(audit relay_at ip=192.0.2.10 "at=$(sql "SELECT '$exp1'::timestamptz + interval '1 minute'")")" \
    "relay_at after expiry"
assert_eq "" "$(audit relay_at ip=192.0.2.10 "at=$(sql "SELECT '$at1'::timestamptz - interval '1 second'")")" \
    "relay_at before the first login"
assert_eq "" "$(audit relay_at ip=192.0.2.11 "at=$inside")" "relay_at for another address"
assert_eq "" "$(audit relay_at ip=192.0.2.30 "at=$inside")" "relay_at for an ignored login"
ok "relay_at: inside, edges, after expiry, mapped address"

# A revoke ends the window from its own time on, not before.
bob_at=$(sql "SELECT at FROM login_event WHERE username = 'bob'")
ctl revoke 192.0.2.20 >/dev/null || fail "authrelayctl revoke"
rev_at=$(sql "SELECT at FROM login_event WHERE outcome = 'revoked'")
before_rev=$(sql "SELECT '$rev_at'::timestamptz - (('$rev_at'::timestamptz - '$bob_at'::timestamptz) / 2)")
assert_eq bob "$(audit relay_at ip=192.0.2.20 "at=$before_rev" | col 1)" "relay_at between grant and revoke"
assert_eq "" "$(audit relay_at ip=192.0.2.20 "at=$rev_at")" "relay_at at the revoke"
assert_eq "" "$(audit relay_at ip=192.0.2.20 at=now)" "relay_at after the revoke"
# A login after the revoke opens the relay again.
dovecot_login bob 192.0.2.20 >&$FIFO_FD
wait_for 10 has_relay 192.0.2.20
assert_eq bob "$(audit relay_at ip=192.0.2.20 at=now | col 1)" "relay_at after a new login"
ok "relay_at honours revoke, and a later login"

# Hostile values are data, never SQL: the cast fails and nothing runs.
if audit relay_at "ip=192.0.2.10'; DELETE FROM relay; --" at=now >"$T/inj.out" 2>&1; then
	fail "a malformed ip was accepted"
fi
assert_contains "$(cat "$T/inj.out")" "invalid input syntax for type inet" "malformed ip message"
assert_eq 4 "$(sql "SELECT count(*) FROM relay")" "relay rows after a hostile ip"
if audit user_logins "user=x' OR '1'='1" >"$T/inj.out" 2>&1; then :; else fail "user_logins with quotes"; fi
assert_eq "" "$(cat "$T/inj.out")" "a quoted user name matches nothing"
ok "hostile variables stay literals"

## (b) user_logins
out=$(audit user_logins user=alice@example.org)
assert_eq 4 "$(wc -l <<<"$out")" "alice's logins"
# Sorted: 'at' is exact to a few milliseconds only, across batches.
assert_eq "192.0.2.10 192.0.2.10 198.51.100.20 203.0.113.5" "$(col 2 <<<"$out" | sort | xargs)" "alice's addresses"
assert_eq "granted granted granted granted" "$(col 5 <<<"$out" | xargs)" "alice's outcomes"
assert_eq "pop3|ignored|service" "$(audit user_logins user=carol | cut -d'|' -f4-6)" "carol: ignored, service"
assert_eq "ignored|never_relay:loopback" "$(audit user_logins user=dave | col 5-6)" "dave: built-in class"
assert_eq "ignored|never_relay:never_relay" "$(audit user_logins user=eve | col 5-6)" "eve: configured list"
assert_eq "" "$(audit user_logins user=alice@example.org "to=$at1")" "user_logins before the period"
assert_eq 1 "$(audit user_logins user=bob "from=$rev_at" to=infinity | wc -l)" "user_logins from a time"
ok "user_logins"

## (c) top_ips
out=$(audit top_ips)
assert_eq "192.0.2.10|2|2|0|1" "$(head -n 1 <<<"$out" | col 1-5)" "top address first"
assert_eq 1 "$(audit top_ips limit=1 | wc -l)" "limit"
assert_not_contains "$(audit top_ips | col 1)" "admin" "admin rows are not logins"
ok "top_ips"

## (d) shared_users
out=$(audit shared_users)
assert_eq "alice@example.org|3|3|4" "$(col 1-4 <<<"$out")" "alice from 3 addresses in 3 networks"
assert_eq 1 "$(wc -l <<<"$out")" "only alice reaches the default min_ips"
assert_eq "192.0.2.10 198.51.100.20 203.0.113.5" "$(col 7 <<<"$out")" "addresses listed"
assert_eq "alice@example.org bob carol dave eve" "$(audit shared_users min_ips=1 | col 1 | xargs)" "min_ips=1"
ok "shared_users"

## (e) ignored
out=$(audit ignored)
assert_eq "never_relay:loopback|1 never_relay:never_relay|1 service|1" \
    "$(col 1-2 <<<"$out" | sort | xargs)" "ignored by reason"
assert_eq "" "$(audit ignored from=infinity)" "ignored in an empty period"
ok "ignored"

## (f) active
out=$(audit active | col 1 | sort | xargs)
assert_eq "192.0.2.10 192.0.2.20 198.51.100.20 203.0.113.5" "$out" "active relays"
sql "UPDATE relay SET expires_at = now() - interval '1 second' WHERE ip = '203.0.113.5'"
assert_not_contains "$(audit active)" "203.0.113.5" "an expired, unswept row is not active"
ok "active"

## Selecting a query
assert_contains "$(psql -X -q -f "$TOP/sql/audit.sql")" "usage: psql -v q=NAME" "usage without q"
rc=0; audit frobnicate >"$T/q.out" 2>&1 || rc=$?
assert_eq 3 "$rc" "unknown query exit status"
assert_contains "$(cat "$T/q.out")" "unknown q" "unknown query message"
rc=0; audit relay_at ip=192.0.2.10 >"$T/q.out" 2>&1 || rc=$?
assert_eq 3 "$rc" "relay_at without at: exit status"
assert_contains "$(cat "$T/q.out")" "missing variable" "relay_at without at: message"
rc=0; audit user_logins >"$T/q.out" 2>&1 || rc=$?
assert_eq 3 "$rc" "user_logins without user: exit status"
ok "usage, unknown and incomplete queries"

## schema.sql applied again keeps the data
n=$(events)
PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -f "$TOP/sql/schema.sql" >/dev/null ||
    fail "schema.sql a second time"
assert_eq "$n" "$(events)" "audit rows after a second schema.sql"
assert_eq 4 "$(sql "SELECT count(*) FROM relay")" "relay rows after a second schema.sql"
assert_eq 1 "$(sql "SELECT count(*) FROM schema_version")" "one schema version"
ok "schema.sql is idempotent"

## roles.sql, twice, and what the roles may do
for i in 1 2; do
	PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -f "$TOP/sql/roles.sql" >"$T/roles.out" 2>&1 ||
	    { cat "$T/roles.out"; fail "roles.sql, apply $i"; }
done
sql "CREATE ROLE wrapper LOGIN IN ROLE authrelay_reader"
sql "CREATE ROLE watcher LOGIN IN ROLE authrelay_writer"
# A hand-made extra grant is taken back by the next apply.
sql "GRANT SELECT ON login_event TO authrelay_reader"
psql -X -q -v ON_ERROR_STOP=1 -f "$TOP/sql/roles.sql" >/dev/null 2>&1 || fail "roles.sql, apply 3"

as() { local u=$1; shift; psql -X -q -A -t -v ON_ERROR_STOP=1 -U "$u" -c "$1" 2>&1; }
assert_eq 4 "$(as wrapper "SELECT count(*) FROM relay")" "reader selects relay"
assert_contains "$(as wrapper "SELECT count(*) FROM login_event" || true)" "permission denied" "reader and login_event"
assert_contains "$(as wrapper "INSERT INTO relay VALUES ('192.0.2.99', 'x', 'p', 's', now(), now(), now())" || true)" \
    "permission denied" "reader inserts into relay"
assert_contains "$(as wrapper "DELETE FROM relay" || true)" "permission denied" "reader deletes"
assert_contains "$(as wrapper "SELECT count(*) FROM schema_version" || true)" "permission denied" "reader and schema_version"
assert_contains "$(as watcher "DELETE FROM login_event" || true)" "permission denied" "writer deletes audit rows"
assert_contains "$(as watcher "UPDATE login_event SET username = 'x'" || true)" "permission denied" "writer rewrites audit rows"
assert_eq 4 "$(sql "SELECT count(*) FROM relay")" "nothing changed by refused statements"
ok "roles.sql is idempotent; the reader only reads relay, the writer cannot rewrite the trail"

# The writer role is all the watcher and authrelayctl need: switch the
# running watcher to it (SIGHUP), record, export, allow, revoke, audit.
watcher_config "services = imap" "never_relay = 10.0.0.0/8" \
    "cdb_file = $T/relay.cdb"
sed -i "s|^database = .*|database = host=$PGHOST dbname=authrelay user=watcher|" "$T/authrelay.conf"
kill -HUP "$WATCHER_PID"
wait_for 10 grep -q 'event=reloaded' "$T/watcher.log"
wait_for 10 sql_is t "SELECT count(*) >= 1 FROM pg_stat_activity WHERE usename = 'watcher'"
dovecot_login frank 198.51.100.77 >&$FIFO_FD
wait_for 10 has_relay 198.51.100.77
wait_for 10 test -s "$T/relay.cdb"
# The expired row set above goes with the sweeper's DELETE (unless the
# daemon's own sweeper, running as the writer too, was first).
ctl expire >/dev/null || fail "expire as the writer"
assert_eq 0 "$(relay_count 203.0.113.5)" "expired row deleted by the writer"
ctl allow 198.51.100.88 1h >/dev/null || fail "allow as the writer"
ctl revoke 198.51.100.88 >/dev/null || fail "revoke as the writer"
assert_contains "$(ctl audit --user frank)" "granted" "audit as the writer"
ctl export-cdb >/dev/null || fail "export-cdb as the writer"
ctl verify >"$T/verify.out" || { cat "$T/verify.out"; fail "verify as the writer"; }
if grep -q 'event=db_refused\|event=db_error\|permission denied' "$T/watcher.log"; then
	grep 'event=db_\|permission' "$T/watcher.log" >&2
	fail "the watcher hit a privilege error as the writer"
fi
ok "the writer role runs the watcher, cdb export and authrelayctl"

# auth-wrap's database lookup needs only the reader.
if [ -x "$BIN/auth-wrap" ]; then
	printf 'lookup = db\nlookup_database = host=%s dbname=authrelay user=wrapper\nlookup_deadline = 5s\n' \
	    "$PGHOST" >"$T/wrap.conf"
	out=$(env -i PATH=/usr/bin:/bin AUTHRELAY_CONF="$T/wrap.conf" TCPREMOTEIP=198.51.100.77 \
	    "$BIN/auth-wrap" /usr/bin/env 2>"$T/wrap.err" | grep '^RELAYCLIENT=' || true)
	assert_eq "RELAYCLIENT=" "$out" "auth-wrap as the reader: relay found ($(cat "$T/wrap.err"))"
	ok "auth-wrap's lookup works as the reader role"
fi

# authrelayd --sync only reads relay: the reader role is enough for it.
cat >"$T/sync.conf" <<CONF
database = host=$PGHOST dbname=authrelay user=wrapper
cdb_file = $T/sync.cdb
user =
CONF
"$BIN/authrelayd" --sync -f -c "$T/sync.conf" >"$T/sync.log" 2>&1 &
track_pid $!
wait_for 20 grep -q 'event=rebase relays=' "$T/sync.log"
assert_not_contains "$(cat "$T/sync.log")" "permission denied" "--sync as the reader"
cp "$T/authrelay.conf" "$T/check-sync.conf"
sed -i "s|^cdb_file = .*|cdb_file = $T/sync.cdb|" "$T/check-sync.conf"
"$BIN/authrelayctl" -c "$T/check-sync.conf" verify >"$T/verify.out" ||
    { cat "$T/verify.out"; fail "verify of the snapshot --sync wrote as the reader"; }
ok "authrelayd --sync runs as the reader role"
