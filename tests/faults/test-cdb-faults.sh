#!/usr/bin/env bash
# The snapshot (base + delta) under faults: disk full (a tiny tmpfs) and
# a crash between writing and renaming (a preload that kills the
# snapshot process in rename) both leave the old pair intact and
# readable; the watcher keeps recording, the snapshot process comes
# back, and a later write succeeds.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/watcher/watcher-lib.sh"
command -v cdb >/dev/null || skip "tinycdb's cdb tool is missing"

pg_start
mkdir -p "$T/cdb"
mount -t tmpfs -o size=64k,mode=0755 tmpfs "$T/cdb" || skip "cannot mount a tmpfs"
on_exit "umount -l $T/cdb"
conf=$T/authrelay.conf
grants() { snapshot_grants "$conf" "$1"; }
pair_sum() { cat "$T/cdb/relay.cdb" "$T/cdb/relay.cdb.delta" | md5sum; }
watcher_start "cdb_file = $T/cdb/relay.cdb" "cdb_interval = 10ms"
fifo_writer_open
dovecot_login alice 192.0.2.10 >&$FIFO_FD
wait_for 10 grants 192.0.2.10
before=$(pair_sum)

# Disk full: 5000 relays do not fit in 64 KiB, in a delta or a base.
sql "INSERT INTO relay (ip, username, parser, service, first_seen, last_seen, expires_at)
     SELECT ('10.9.' || (i / 250) || '.' || (i % 250 + 1))::inet, 'bulk' || i, 'dovecot', 'imap',
            now(), now(), now() + interval '1 hour' FROM generate_series(0, 4999) i"
dovecot_login bob 192.0.2.11 >&$FIFO_FD
wait_for 10 has_relay 192.0.2.11
wait_for 10 grep -q 'event=delta_write_failed' "$T/watcher.log"
wait_for 10 grep -q 'event=rebase_failed' "$T/watcher.log"
assert_eq "$before" "$(pair_sum)" "old pair changed"
grants 192.0.2.10 || fail "old pair unreadable"
assert_eq 0 "$(find "$T/cdb" -name '*.tmp.*' | wc -l)" "temp files left"
note "$(grep 'event=delta_write_failed' "$T/watcher.log" | head -n 1)"
ok "disk full: old pair intact, no temp file, still recording"

sql "UPDATE relay SET expires_at = now() - interval '1 second' WHERE username LIKE 'bulk%'"
sql "DELETE FROM relay WHERE username LIKE 'bulk%'"
dovecot_login carol 192.0.2.12 >&$FIFO_FD
wait_for 20 grants 192.0.2.12
grants 192.0.2.11 || fail "the login held during the disk-full spell"
ok "space back: the next write succeeds"
kill -TERM "$WATCHER_PID"; wait "$WATCHER_PID" || true

# Crash between write and rename.
cat > "$T/crash.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
int rename(const char *from, const char *to)
{
	int (*real)(const char *, const char *) = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
	/* The first write after the marker appears dies, once. */
	const char *arm = getenv("CRASH_ARM"), *done = getenv("CRASH_DONE");
	if (strstr(to, "relay.cdb") != NULL && access(arm, F_OK) == 0 &&
	    open(done, O_CREAT | O_EXCL | O_WRONLY, 0600) >= 0)
		raise(SIGKILL);		/* the file is written and synced, not renamed */
	return real(from, to);
}
C
cc -shared -fPIC -o "$T/crash.so" "$T/crash.c" -ldl
CRASH_ARM=$T/arm CRASH_DONE=$T/crashed LD_PRELOAD=$T/crash.so \
    "$BIN/authrelayd" -f -v -c "$T/authrelay.conf" > "$T/crash.log" 2>&1 &
WATCHER_PID=$!
track_pid "$WATCHER_PID"
wait_for 10 grep -q "event=delta_written" "$T/crash.log"
before=$(pair_sum)	# what the start-up wrote
touch "$T/arm"
dovecot_login dave 192.0.2.13 >&$FIFO_FD
wait_for 10 grep -q "event=snapshot_exited status=137" "$T/crash.log"
assert_eq "$before" "$(pair_sum)" "snapshot changed by a crashed write"
grants 192.0.2.12 || fail "old pair unreadable after the crash"
ok "crash between write and rename: old pair intact"

wait_for 20 grants 192.0.2.13
kill -0 "$WATCHER_PID" || fail "the watcher died with its snapshot process"
assert_eq 0 "$(find "$T/cdb" -name '*.tmp.*' | wc -l)" "temp files left after the restart"
ok "after the crash, the snapshot process comes back and writes the held login"
kill -TERM "$WATCHER_PID"; wait "$WATCHER_PID" || true

# A symlink planted at the temp path (the shim plants it just before the
# open, as a racing attacker would): the export refuses it and writes
# nothing through it.
cat > "$T/plant.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int open(const char *path, int flags, ...)
{
	int (*real)(const char *, int, ...) = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
	const char *victim = getenv("PLANT_VICTIM");
	mode_t mode = 0;
	if (flags & O_CREAT) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (victim != NULL && strstr(path, "relay.cdb") != NULL && strstr(path, ".tmp.") != NULL)
		(void)symlink(victim, path);
	return real(path, flags, mode);
}
C
cc -shared -fPIC -o "$T/plant.so" "$T/plant.c" -ldl
echo "precious" > "$T/victim"
before=$(pair_sum)
PLANT_VICTIM=$T/victim LD_PRELOAD=$T/plant.so "$BIN/authrelayd" -f -v -c "$T/authrelay.conf" > "$T/plant.log" 2>&1 &
WATCHER_PID=$!
track_pid "$WATCHER_PID"
dovecot_login erin 192.0.2.14 >&$FIFO_FD
wait_for 10 grep -q '_failed error="open(.*relay.cdb.*tmp.*): File exists"' "$T/plant.log"
assert_eq precious "$(cat "$T/victim")" "the symlink's target"
assert_eq "$before" "$(pair_sum)" "snapshot changed"
ok "symlink planted at the temp path: refused, nothing written through it"
