#!/usr/bin/env bash
# The FIFO is checked before anything is read from it: a symlink, another
# file type, a world-writable mode or a foreign owner stops authrelayd
# with a message naming the check, and so does a directory writable by
# others without the sticky bit. A good FIFO: it drops to `user` and works.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/watcher/watcher-lib.sh"

pg_start
refused() { # setup-description expected-message
	watcher_config
	if "$BIN/authrelayd" -f -c "$T/authrelay.conf" > "$T/out" 2>&1; then
		fail "$1: started"
	fi
	assert_contains "$(cat "$T/out")" "$2" "$1"
	ok "$1 refused: $2"
}

mkfifo -m 0620 "$T/real-fifo"
ln -s "$T/real-fifo" "$T/fifo"
refused symlink "is a symlink"
rm "$T/fifo"; : > "$T/fifo"
refused "regular file" "not a FIFO"
rm "$T/fifo"; mkfifo -m 0622 "$T/fifo"; chmod 0622 "$T/fifo"
refused "world-writable FIFO" "mode 0622 lets any user write login lines"
chmod 0620 "$T/fifo"; chown nobody "$T/fifo"
refused "foreign owner" "owner uid $(id -u nobody) is neither root nor the watcher"

# A good FIFO, started as root with user = authrelay: runs as authrelay.
chown root:authrelay "$T/fifo"
watcher_config
sed -i 's/^user =$/user = authrelay/' "$T/authrelay.conf"
"$BIN/authrelayd" -f -c "$T/authrelay.conf" > "$T/watcher.log" 2>&1 &
WATCHER_PID=$!
track_pid "$WATCHER_PID"
wait_for 20 grep -q 'event=db_connected' "$T/watcher.log"
uid=$(awk '/^Uid:/ {print $2 $3 $4 $5}' "/proc/$WATCHER_PID/status")
a=$(id -u authrelay)
assert_eq "$a$a$a$a" "$uid" "real, effective, saved and fs uid"
assert_eq "0" "$(awk '/^Groups:/ {print NF - 1}' "/proc/$WATCHER_PID/status")" "supplementary groups"
assert_eq 1 "$(awk '/^NoNewPrivs:/ {print $2}' "/proc/$WATCHER_PID/status")" "no_new_privs"
fifo_writer_open
dovecot_login alice 192.0.2.10 >&$FIFO_FD
wait_for 10 has_relay 192.0.2.10
ok "privileges dropped to authrelay after opening the FIFO; still recording"

# The FIFO's directory: writable by others without the sticky bit lets
# another user swap the FIFO between restarts (issue 12 item 5); with
# the sticky bit (as /tmp) it is fine.
kill -TERM "$WATCHER_PID"; wait "$WATCHER_PID" || true
mkdir -m 0777 "$T/open"; chmod 0777 "$T/open"
mkfifo -m 0600 "$T/open/fifo"
watcher_config
sed -i "s|^fifo = .*|fifo = $T/open/fifo|" "$T/authrelay.conf"
if "$BIN/authrelayd" -f -c "$T/authrelay.conf" > "$T/out" 2>&1; then fail "open directory: started"; fi
assert_contains "$(cat "$T/out")" "directory $T/open mode 0777 lets any user replace the FIFO (writable by others, no sticky bit)" "open directory"
ok "FIFO in a directory writable by others (no sticky bit) refused"
chmod 1777 "$T/open"
"$BIN/authrelayd" -f -c "$T/authrelay.conf" > "$T/watcher2.log" 2>&1 &
WATCHER_PID=$!
track_pid "$WATCHER_PID"
wait_for 20 grep -q 'event=db_connected' "$T/watcher2.log"
ok "the same directory with the sticky bit is accepted"
