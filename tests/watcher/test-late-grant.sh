#!/usr/bin/env bash
# Two POP hosts, one slow: a login that one watcher held while it could
# not reach the database is older than an administrator's revoke made in
# the meantime; when it arrives it is audited as ignored (reason revoked)
# and never opens the relay again.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/watcher-lib.sh"

pg_start
watcher_start "cdb_file = $T/relay.cdb"
fifo_writer_open
conf=$T/authrelay.conf
dovecot_login anne 192.0.2.10 >&$FIFO_FD
wait_for 10 snapshot_grants "$conf" 192.0.2.10

# The slow host: its database is not reachable yet (a socket directory
# that appears later).
mkfifo -m 0620 "$T/fifo2"
cat >"$T/slow.conf" <<CONF
fifo = $T/fifo2
database = host=$T/later dbname=authrelay user=authrelay
parsers = $TOP/parsers
user =
pidfile =
CONF
"$BIN/authrelayd" -f -v -c "$T/slow.conf" >"$T/slow.log" 2>&1 &
SLOW_PID=$!
track_pid "$SLOW_PID"
exec {SLOW_FD}<>"$T/fifo2"
dovecot_login late 192.0.2.10 >&$SLOW_FD
wait_for 10 grep -q 'event=login .*ip=192.0.2.10' "$T/slow.log"

"$BIN/authrelayctl" -c "$conf" revoke 192.0.2.10 >/dev/null
wait_for 10 snapshot_refuses "$conf" 192.0.2.10

ln -s "$T/pg/sock" "$T/later"	# the slow host reaches the database
wait_for 30 sql_is 1 "SELECT count(*) FROM login_event WHERE ip = '192.0.2.10'
    AND username = 'late' AND outcome = 'ignored' AND reason = 'revoked'"
assert_eq 0 "$(relay_count 192.0.2.10)" "relay rows after the late login"
snapshot_refuses "$conf" 192.0.2.10 || fail "the late login reopened the relay"
ok "a login older than a revoke never undoes it"

# A login after the revoke grants again, from either host.
dovecot_login anne 192.0.2.10 >&$SLOW_FD
wait_for 10 snapshot_grants "$conf" 192.0.2.10
ok "a newer login grants again"
