#!/usr/bin/env bash
# authrelayd --sync against a hot standby (pg_basebackup, streaming
# replication, both on unix sockets): no NOTIFY there, so it polls the
# changes; a login on the primary reaches the SMTP host's snapshot. The
# snapshot's age counts the replication lag (the primary watcher's
# heartbeat): a standby that stops replaying, or goes away, makes the SMTP
# host fail closed after cdb_max_age, never open.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/common.sh"
. "$TOP/tests/watcher/watcher-lib.sh"

pg_start
# the standby: a base backup of the primary, replaying its WAL
pg_start_standby
standby_sql() { PGHOST=$PG_STANDBY_SOCK sql "$1"; }
assert_eq t "$(standby_sql "SELECT pg_is_in_recovery()")" "the standby is in recovery"

# the POP host's watcher writes to the primary (its sweeper beats the heartbeat)
watcher_start "sweep_interval = 200ms"
fifo_writer_open
# the SMTP host reads the standby
conf=$T/smtp.conf
write_conf "$conf" "database=host=$PG_STANDBY_SOCK dbname=authrelay user=authrelay" \
    cdb_interval=100ms cdb_max_age=4s
AUTHRELAY_CONF=$conf "$BIN/authrelayd" --sync -f -v -c "$conf" >"$T/sync.log" 2>&1 &
SYNC_PID=$!
track_pid "$SYNC_PID"
wait_for 20 grep -q 'event=sync_connected standby=yes' "$T/sync.log"

dovecot_login anne 192.0.2.10 >&$FIFO_FD
wait_for 20 aw_grants "$conf" 192.0.2.10
grep -q 'LISTEN' "$T/sync.log" && fail "LISTEN tried on a standby"
ok "a login on the primary reaches the SMTP host through the standby"

"$BIN/authrelayctl" -c "$T/authrelay.conf" revoke 192.0.2.10 >/dev/null
wait_for 20 aw_denies "$conf" 192.0.2.10
dovecot_login anne 192.0.2.11 >&$FIFO_FD
wait_for 20 aw_grants "$conf" 192.0.2.11
ok "revoke and grant through the standby"

# A writer's transaction still open on the primary while --sync reads the
# standby: a snapshot taken in recovery keeps every running xid out of the
# list pg_current_snapshot() prints, so the next read must not take that
# list for the truth, or this relay is never fetched after its commit.
mkfifo "$T/held.sql"
psql -X -q -v ON_ERROR_STOP=1 <"$T/held.sql" >"$T/held.out" 2>&1 &
HELD_PID=$!
track_pid "$HELD_PID"
exec {HELD}>"$T/held.sql"
echo "BEGIN; INSERT INTO relay (ip, username, parser, service, first_seen," \
    " last_seen, expires_at) VALUES ('192.0.2.13', 'held', 'manual', 'pop3'," \
    " now(), now(), now() + interval '1 hour');" >&$HELD
held_xid_running() { standby_sql "SELECT pg_snapshot_xmin(pg_current_snapshot()) < pg_snapshot_xmax(pg_current_snapshot())" | grep -qx t; }
dovecot_login anne 192.0.2.14 >&$FIFO_FD	# a commit after it: the WAL holds the open xid
wait_for 20 aw_grants "$conf" 192.0.2.14	# --sync read the standby while it ran
wait_for 20 held_xid_running
fetches() { grep -c 'event=sync_fetch ' "$T/sync.log"; }
n=$(fetches)
wait_for 20 eval '[ "$(fetches)" -gt "$n" ]'	# a read of the standby that saw it run
echo "COMMIT;" >&$HELD
exec {HELD}>&-
wait "$HELD_PID" || fail "the held transaction failed: $(cat "$T/held.out")"
wait_for 20 aw_grants "$conf" 192.0.2.13
ok "a relay committed late on the primary reaches the SMTP host through the standby"

# The standby stops replaying: its data ages, so does the snapshot
standby_sql "SELECT pg_wal_replay_pause()" >/dev/null
dovecot_login bert 192.0.2.12 >&$FIFO_FD
wait_for 10 has_relay 192.0.2.12
wait_for 20 aw_denies "$conf" 192.0.2.11	# fails closed for everyone
assert_contains "$(cat "$T/aw.err")" "older than cdb_max_age" "why it refuses"
aw_denies "$conf" 192.0.2.12 || fail "granted what the standby never saw"
standby_sql "SELECT pg_wal_replay_resume()" >/dev/null
wait_for 20 aw_grants "$conf" 192.0.2.12
aw_grants "$conf" 192.0.2.11 || fail "not granted again after catching up"
ok "a lagging standby fails closed after cdb_max_age, and recovers"

# The standby goes away: closed after cdb_max_age as well
as_service_user "$PG_BINDIR/pg_ctl" -D "$T/pg2/data" -m fast -w stop >/dev/null
wait_for 20 grep -q 'event=sync_disconnected' "$T/sync.log"
wait_for 20 aw_denies "$conf" 192.0.2.12
ok "a lost standby fails closed after cdb_max_age"
