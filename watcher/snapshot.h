/* snapshot.h - keep this host's relay snapshot current: the one loop authrelayd and --sync share. */
#ifndef AUTHRELAY_SNAPSHOT_H
#define AUTHRELAY_SNAPSHOT_H

#include <sys/types.h>

#include "config.h"

/*
 * How a login reaches auth-wrap: authrelayd commits the relay row
 * (watcher/store.c); the row's trigger stamps it with its transaction
 * id and notifies; this loop (its own process, its own connection)
 * fetches just the rows its last read did not see, merges them into the
 * delta and rewrites the small delta file; auth-wrap reads the delta,
 * then the base (lib/relaylookup.c).
 *
 * When to write what:
 * - delta: after every fetch that changed it, spaced so that writing
 *   takes at most a quarter of the time; and every
 *   min(cdb_max_age / 2, 60 s) anyway, so a current snapshot never
 *   looks stale (its record carries the database time of the fetch).
 * - base: rebuilt in a child process with its own connection, when
 *   there is none, when the delta outgrows max(4096, base / 16) rows, or
 *   hourly while the delta holds any; put in place with the delta naming
 *   both bases around the rename, so every pair on disk agrees.
 * - tcp_cdb (tcprules format, a full table by nature): rebuilt in a
 *   child process after changes, at most every cdb_interval.
 * On a hot standby (no NOTIFY there) the loop polls every cdb_interval.
 *
 * Runs until SIGTERM or SIGINT: 0, or 1 on a configuration error.
 */
int snapshot_run(const struct config *cfg);

/*
 * authrelayd: fork a process running snapshot_run(cfg) with standard
 * input and output on /dev/null and no other inherited descriptor.
 * Returns its pid, or -1.
 */
pid_t snapshot_spawn(const struct config *cfg);

#endif
