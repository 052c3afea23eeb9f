#!/usr/bin/env bash
# on_change: run with the action and the address on grant, expire and
# revoke; a slow hook never blocks the watcher, a missing one is logged.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/watcher-lib.sh"

pg_start
cat > "$T/hook" <<HOOK
#!/bin/sh
echo "\$1 \$2" >> "$T/hook.log"
[ "\$2" = 192.0.2.66 ] && echo \$\$ > "$T/slow.pid" && exec sleep 300
exit 0
HOOK
chmod 755 "$T/hook"
watcher_start "on_change = $T/hook" "expire = 2s" "sweep_interval = 200ms"
fifo_writer_open
hooked() { grep -qx "$1" "$T/hook.log" 2>/dev/null; }

dovecot_login slow 192.0.2.66 >&$FIFO_FD
wait_for 10 hooked "grant 192.0.2.66"
wait_for 10 test -s "$T/slow.pid"
track_pid "$(cat "$T/slow.pid")"
# The first hook is still sleeping; the watcher goes on.
dovecot_login alice 192.0.2.10 >&$FIFO_FD
wait_for 10 hooked "grant 192.0.2.10"
ok "grant runs the hook, a slow hook does not block"

wait_for 15 hooked "expire 192.0.2.10"
ok "expiry runs the hook"

"$BIN/authrelayctl" -c "$T/authrelay.conf" allow 198.51.100.5 1h >/dev/null
"$BIN/authrelayctl" -c "$T/authrelay.conf" revoke 198.51.100.5 >/dev/null
wait_for 10 hooked "revoke 198.51.100.5"
ok "authrelayctl allow/revoke run the hook"

# A missing program: logged, the watcher keeps recording.
sed -i "s|^on_change = .*|on_change = $T/no-such-hook|" "$T/authrelay.conf"
kill -HUP "$WATCHER_PID"
wait_for 10 grep -q 'event=reloaded' "$T/watcher.log"
dovecot_login bob 192.0.2.11 >&$FIFO_FD
wait_for 10 has_relay 192.0.2.11
wait_for 10 grep -q 'event=on_change_failed program=.*no-such-hook action=grant ip=192.0.2.11' "$T/watcher.log"
kill -0 "$WATCHER_PID" || fail "watcher died"
ok "missing hook logged, watcher unharmed"
