/* retention.h - the watcher's upkeep of the audit trail: schema check, day partitions. */
#ifndef AUTHRELAY_RETENTION_H
#define AUTHRELAY_RETENTION_H

#include <stdint.h>

#include "config.h"
#include "store.h"

/* Partitions created ahead of today (UTC days). */
#define RETENTION_AHEAD_DAYS 3

/*
 * On every new database session the schema version is checked first
 * (nothing else is sent before it answers); then, every audit_interval,
 * authrelay_audit_maintain() creates the coming days' partitions of
 * login_event and drops the days past audit_keep. Both run as jobs on
 * the store's connection between batches, so the loop never blocks.
 */
struct retention {
	int64_t next_ms;	/* next partition upkeep */
	unsigned session;	/* store session whose schema was found good */
	int checked;		/* session is valid */
};

/* Nothing checked yet; the first upkeep is due at once. */
void retention_init(struct retention *r, int64_t now_ms);

/* audit_keep and audit_interval within range; else -1 and a message. */
int retention_check_config(const struct config *cfg, char *error, size_t len);

/* After a reload: a shorter audit_interval applies now. */
void retention_reload(struct retention *r, const struct config *cfg,
    int64_t now_ms);

/*
 * With the store IDLE: send the schema check, or the upkeep when due.
 * Returns 1 when the caller must not send anything now (a job went out,
 * or the schema is not known good yet), 0 when batches may go.
 */
int retention_start(struct retention *r, struct store *st,
    const struct config *cfg, int64_t now_ms);

/*
 * A finished STORE_JOB_VERSION or STORE_JOB_MAINTAIN. Returns -1 when
 * the database holds a schema this program does not know (logged, with
 * the command that upgrades it): the watcher must stop.
 */
int retention_handle(struct retention *r, struct store *st,
    const struct store_result *res, int64_t now_ms);

/* Milliseconds until retention_start has work (-1: none). */
int64_t retention_next_ms(const struct retention *r, const struct store *st,
    int64_t now_ms);

#endif
