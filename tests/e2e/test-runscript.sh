#!/usr/bin/env bash
# test-runscript.sh - etc/daemontools/authrelayd/run as supervise would
# run it, in a private mount namespace whose /run and /var/lib are empty
# (as after boot on a system without systemd-tmpfiles): it makes the
# FIFO and the snapshot directory with the documented owners and modes,
# checks the config, and becomes authrelayd, which drops to authrelay;
# a login line written into that FIFO relays. Nothing changes outside.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/e2e-lib.sh"
getent group authrelay >/dev/null || skip "no authrelay group (tools/deps.sh makes it)"

pg_start
watcher_config "fifo = /run/authrelay/fifo" "user = authrelay" \
    "cdb_file = /var/lib/authrelay/relay.cdb" "cdb_interval = 50ms"
sed -e "s|/usr/local/bin/authrelayd|$BIN/authrelayd|g" \
    -e "s|/etc/authrelay/authrelay.conf|$T/authrelay.conf|" \
    "$TOP/etc/daemontools/authrelayd/run" > "$T/run"
chmod 755 "$T/run"
host_had=no
[ -e /run/authrelay ] && host_had=yes
unshare -m --propagation private sh -ec '
	mount -t tmpfs -o mode=0755 authrelay-run /run
	mount -t tmpfs -o mode=0755 authrelay-varlib /var/lib
	exec "$1"' runscript "$T/run" > "$T/run.log" 2>&1 &
PID=$!
track_pid "$PID"
wait_for 20 grep -q 'event=db_connected' "$T/run.log"
assert_contains "$(cat /proc/$PID/cmdline | tr '\0' ' ')" "$BIN/authrelayd -f -c" \
    "the run script became authrelayd (same PID, for supervise)"
assert_eq authrelay "$(ps -o user= -p "$PID")" "authrelayd dropped to authrelay"
root=/proc/$PID/root
assert_eq "directory 750 root:authrelay" \
    "$(stat -c '%F %a %U:%G' "$root/run/authrelay")" "FIFO directory"
assert_eq "fifo 620 root:authrelay" \
    "$(stat -c '%F %a %U:%G' "$root/run/authrelay/fifo")" "FIFO"
assert_eq "directory 755 authrelay:authrelay" \
    "$(stat -c '%F %a %U:%G' "$root/var/lib/authrelay")" "snapshot directory"
[ "$host_had" = yes ] || [ ! -e /run/authrelay ] ||
    fail "the run script changed the host's /run"
ok "run script made the FIFO and directories as documented"

dovecot_login alice 192.0.2.10 pop3 > "$root/run/authrelay/fifo"
wait_for 10 has_relay 192.0.2.10
wait_for 10 test -s "$root/var/lib/authrelay/relay.cdb"
assert_eq authrelay "$(stat -c %U "$root/var/lib/authrelay/relay.cdb")" "snapshot owner"
ok "login through the run script's FIFO relays; snapshot written"
