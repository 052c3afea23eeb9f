/* sync.h - authrelayd --sync: keep this host's cdb files current from PostgreSQL. */
#ifndef AUTHRELAY_SYNC_H
#define AUTHRELAY_SYNC_H

#include "config.h"

/*
 * Connect to cfg->database, LISTEN on authrelay_relay and export the
 * cdb files (watcher/cdbexport.h) at start, after notifications
 * (coalesced to at most one export per cdb_interval) and every
 * min(cdb_max_age / 2, 60 s) so expired entries drop out and the
 * snapshot never looks stale. Reconnects with capped, jittered back-off
 * while the database is away. Returns 0 after SIGTERM or SIGINT, 1 on
 * a configuration error. Logs through log.h (call log_init first).
 */
int sync_run(const struct config *cfg);

#endif
