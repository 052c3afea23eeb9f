#!/usr/bin/env bash
# The watcher's cdb snapshot follows every change: its own grants, and an
# administrator's revoke or allow from authrelayctl (LISTEN/NOTIFY), fast.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/watcher-lib.sh"

pg_start
watcher_start "cdb_file = $T/relay.cdb" "cdb_interval = 20ms"
fifo_writer_open
in_cdb() { snapshot_grants "$T/authrelay.conf" "$1"; }
not_in_cdb() { snapshot_refuses "$T/authrelay.conf" "$1"; }

dovecot_login alice 192.0.2.10 >&$FIFO_FD
wait_for 10 in_cdb 192.0.2.10
ok "a login reaches the snapshot"

"$BIN/authrelayctl" -c "$T/authrelay.conf" revoke 192.0.2.10 >/dev/null
wait_for 5 not_in_cdb 192.0.2.10
ok "authrelayctl revoke leaves the snapshot within seconds"

"$BIN/authrelayctl" -c "$T/authrelay.conf" allow 198.51.100.9 1h >/dev/null
wait_for 5 in_cdb 198.51.100.9
ok "authrelayctl allow reaches the snapshot"

# list shows remaining time beyond a day correctly (no wrap at 24h).
sql "UPDATE relay SET expires_at = now() + interval '23 hours 59 minutes' WHERE ip = '198.51.100.9'"
assert_contains "$("$BIN/authrelayctl" -c "$T/authrelay.conf" list)" "23:58:" "remaining time"
