#!/usr/bin/env bash
# The cdb snapshot under faults: disk full (a tiny tmpfs) and a crash
# between writing and renaming (a preload that kills the process in
# rename) both leave the old snapshot intact and readable; the watcher
# keeps recording and a later export succeeds.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/watcher/watcher-lib.sh"
command -v cdb >/dev/null || skip "tinycdb's cdb tool is missing"

pg_start
mkdir -p "$T/cdb"
mount -t tmpfs -o size=64k,mode=0755 tmpfs "$T/cdb" || skip "cannot mount a tmpfs"
on_exit "umount -l $T/cdb"
watcher_start "cdb_file = $T/cdb/relay.cdb" "cdb_interval = 10ms"
fifo_writer_open
dovecot_login alice 192.0.2.10 >&$FIFO_FD
wait_for 10 sh -c "cdb -q '$T/cdb/relay.cdb' 192.0.2.10 >/dev/null"
cp "$T/cdb/relay.cdb" "$T/before.cdb"

# Disk full: 5000 relays do not fit in 64 KiB.
sql "INSERT INTO relay (ip, username, parser, service, first_seen, last_seen, expires_at)
     SELECT ('10.9.' || (i / 250) || '.' || (i % 250 + 1))::inet, 'bulk' || i, 'dovecot', 'imap',
            now(), now(), now() + interval '1 hour' FROM generate_series(0, 4999) i"
dovecot_login bob 192.0.2.11 >&$FIFO_FD
wait_for 10 has_relay 192.0.2.11
wait_for 10 grep -q 'event=cdb_export_failed' "$T/watcher.log"
cmp -s "$T/before.cdb" "$T/cdb/relay.cdb" || fail "old snapshot changed"
cdb -q "$T/cdb/relay.cdb" 192.0.2.10 >/dev/null || fail "old snapshot unreadable"
assert_eq 0 "$(find "$T/cdb" -name '*.tmp.*' | wc -l)" "temp files left"
note "$(grep 'event=cdb_export_failed' "$T/watcher.log" | head -n 1)"
ok "disk full: old snapshot intact, no temp file, still recording"

sql "DELETE FROM relay WHERE username LIKE 'bulk%'"
dovecot_login carol 192.0.2.12 >&$FIFO_FD
wait_for 10 sh -c "cdb -q '$T/cdb/relay.cdb' 192.0.2.12 >/dev/null"
ok "space back: the next export succeeds"
kill -TERM "$WATCHER_PID"; wait "$WATCHER_PID" || true

# Crash between write and rename.
cat > "$T/crash.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
static int calls;
int rename(const char *from, const char *to)
{
	int (*real)(const char *, const char *) = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
	/* The start-up export goes through; the one after the login dies. */
	if (strstr(to, "relay.cdb") != NULL && ++calls == 2)
		raise(SIGKILL);		/* the file is written and synced, not renamed */
	return real(from, to);
}
C
cc -shared -fPIC -o "$T/crash.so" "$T/crash.c" -ldl
LD_PRELOAD=$T/crash.so "$BIN/authrelayd" -f -v -c "$T/authrelay.conf" > "$T/crash.log" 2>&1 &
pid=$!
wait_for 10 grep -q "event=cdb_export relays" "$T/crash.log"
cp "$T/cdb/relay.cdb" "$T/before.cdb"	# what the start-up export wrote
dovecot_login dave 192.0.2.13 >&$FIFO_FD
rc=0; wait "$pid" || rc=$?
assert_eq 137 "$rc" "killed in rename"
cmp -s "$T/before.cdb" "$T/cdb/relay.cdb" || fail "snapshot changed by a crashed export"
cdb -q "$T/cdb/relay.cdb" 192.0.2.12 >/dev/null || fail "old snapshot unreadable after the crash"
ok "crash between write and rename: old snapshot intact"

watcher_start "cdb_file = $T/cdb/relay.cdb" "cdb_interval = 10ms"
wait_for 10 sh -c "cdb -q '$T/cdb/relay.cdb' 192.0.2.13 >/dev/null"
ok "after the crash, a restart exports the held login"
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
	if (victim != NULL && strstr(path, "relay.cdb.tmp.") != NULL)
		(void)symlink(victim, path);
	return real(path, flags, mode);
}
C
cc -shared -fPIC -o "$T/plant.so" "$T/plant.c" -ldl
echo "precious" > "$T/victim"
cp "$T/cdb/relay.cdb" "$T/before.cdb"
PLANT_VICTIM=$T/victim LD_PRELOAD=$T/plant.so "$BIN/authrelayd" -f -v -c "$T/authrelay.conf" > "$T/plant.log" 2>&1 &
WATCHER_PID=$!
track_pid "$WATCHER_PID"
wait_for 10 grep -q 'event=cdb_export_failed error="open(.*relay.cdb.tmp.*): File exists"' "$T/plant.log"
assert_eq precious "$(cat "$T/victim")" "the symlink's target"
cmp -s "$T/before.cdb" "$T/cdb/relay.cdb" || fail "snapshot changed"
ok "symlink planted at the temp path: refused, nothing written through it"
