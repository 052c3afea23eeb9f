/* handover.h - a new database session waits until no earlier session of this watcher is still writing. */
#ifndef AUTHRELAY_HANDOVER_H
#define AUTHRELAY_HANDOVER_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/*
 * A statement does not stop when its client does. After SIGKILL, a
 * query deadline or a reload, a batch that an earlier session of this
 * watcher sent may still run on the server, and commit. If the same
 * events go again in a new session meanwhile (from the journal, from
 * rsyslog, from the queue), neither batch's snapshot sees the other's
 * rows and both are recorded, neither marked redelivered.
 *
 * So each session is named after what the watcher reads: this host and
 * its journal file, or its FIFO (application_name "authrelayd:" and a
 * hash). Before a new session's first batch the watcher waits until no
 * other session of that name, or of a journal it took over, is inside
 * a statement or a transaction: up to HANDOVER_WAIT_MS, then it goes on
 * (a predecessor stuck that long must not stop ingest; at worst its
 * repeats are not marked, nothing is lost).
 */
#define HANDOVER_NAMES_MAX 16
#define HANDOVER_NAME_LEN 27	/* "authrelayd:" and 16 hex digits */
#define HANDOVER_WAIT_MS 30000
#define HANDOVER_POLL_MS 20

struct handover {
	char names[HANDOVER_NAMES_MAX][HANDOVER_NAME_LEN + 1];
	size_t n;		/* names[0]: this watcher's own */
	unsigned clear;		/* the store session found clear; 0: none */
	unsigned checking;	/* the session being checked */
	int64_t deadline_ms, next_ms, since_ms;
	int waited;		/* a predecessor was found busy */
};

/* Names for what the watcher reads: sources[0] its own, the rest taken over. */
void handover_init(struct handover *h, const char *const *sources, size_t n);

/* This watcher's session name (application_name). */
const char *handover_name(const struct handover *h);

/* With the store idle: 1 while its session may not write yet (a check may have been sent). */
int handover_start(struct handover *h, struct store *st, int64_t now_ms);

/* Milliseconds until handover_start wants to run again (-1: no timer). */
int64_t handover_next_ms(const struct handover *h, const struct store *st,
    int64_t now_ms);

/* The result of a STORE_JOB_HANDOVER. */
void handover_handle(struct handover *h, struct store *st,
    const struct store_result *res, int64_t now_ms);

#endif
