/* store.h - the watcher's PostgreSQL connection: never blocks the main loop. */
#ifndef AUTHRELAY_STORE_H
#define AUTHRELAY_STORE_H

#include <stdint.h>

#include "event.h"

enum store_state { STORE_DOWN, STORE_CONNECTING, STORE_IDLE, STORE_BUSY };
enum store_job {
	STORE_JOB_NONE, STORE_JOB_BATCH, STORE_JOB_SWEEP, STORE_JOB_VERSION,
	STORE_JOB_MAINTAIN, STORE_JOB_HANDOVER
};

struct store_result {
	enum store_job job;
	int ok;			/* committed */
	int data_error;		/* the server refused the data (not retryable) */
	size_t events;		/* batch: how many queue events it covered */
	long rows;		/* rows the statement changed */
	char **addrs;		/* sweep: the addresses it expired */
	size_t naddrs;
	struct pg_result *tuples;	/* other jobs: the rows (retention.c) */
	char error[256];
};

struct store;

/*
 * A store for conninfo; it connects in the background. Its sessions are
 * named appname (application_name, in place of one conninfo gives):
 * handover.h says why.
 */
struct store *store_new(const char *conninfo, const char *appname);
void store_free(struct store *st);

enum store_state store_state(const struct store *st);

/* Descriptor and poll events to wait for, or -1 when none. */
int store_poll_fd(const struct store *st, short *events_r);

/* Milliseconds until store_tick wants to run again (-1: no timer). */
int64_t store_next_ms(const struct store *st, int64_t now_ms);

/* Drive connecting, reconnect back-off and the query deadline. */
void store_tick(struct store *st, int64_t now_ms);

/*
 * Send the n oldest events of q as one statement (one transaction):
 * audit rows for all, relay upserts for the granted ones. expire_ms is
 * the relay lifetime. Returns 0 when sent (state BUSY), -1 otherwise.
 */
int store_send_batch(struct store *st, struct queue *q, size_t n,
    int64_t now_ms, int64_t expire_ms);

/* Delete one bounded batch of expired relays. */
int store_send_sweep(struct store *st, int64_t now_ms);

/*
 * How many other sessions named in names (a text[] literal) are inside
 * a statement or a transaction: one row (handover.c).
 */
int store_send_handover(struct store *st, const char *names, int64_t now_ms);

/* Ask which schema version is in place: one row (SCHEMA_VERSION_SQL). */
int store_send_version(struct store *st, int64_t now_ms);

/*
 * login_event's partition upkeep (STORE_MAINTAIN_SQL): keep_ms 0 keeps
 * every row; ahead_days of partitions are created ahead. Rows: action,
 * partition, row count.
 */
int store_send_maintain(struct store *st, int64_t keep_ms, int ahead_days,
    int64_t now_ms);

/* The current connection's number, unique in the process: a new value
 * means a new session (perhaps to another database). */
unsigned store_session(const struct store *st);

/* Read what the server sent; 1 when a job finished (*res filled). */
int store_handle_io(struct store *st, int64_t now_ms, struct store_result *res);

/* Release what a result holds (store_handle_io filled it). */
void store_result_free(struct store_result *res);

/* The database name of the connection, for messages. */
const char *store_dbname(const struct store *st);
/* Sessions established since store_new (the first one included). */
uint64_t store_connects(const struct store *st);

/* Rows one sweep statement deletes at most. */
#define STORE_SWEEP_BATCH 10000

/*
 * Delete at most STORE_SWEEP_BATCH expired relays, batched by ctid (no
 * rescan of the table per batch), returning their addresses; the
 * tombstones of revoked relays once those would have expired; and beat
 * the heartbeat that standby readers measure their lag by.
 */
#define STORE_SWEEP_SQL \
"WITH beat AS (UPDATE authrelay_instance SET heartbeat = now()), " \
"gone AS (DELETE FROM relay_tombstone WHERE purge_at <= now()) " \
"DELETE FROM relay WHERE ctid = ANY (ARRAY(" \
"  SELECT ctid FROM relay WHERE expires_at <= now() LIMIT 10000))" \
"  AND expires_at <= now() RETURNING host(ip)"

/* Partition upkeep, as the owner's SECURITY DEFINER function. */
#define STORE_MAINTAIN_SQL \
"SELECT action, part, n FROM authrelay_audit_maintain(" \
"  $1::bigint * interval '1 millisecond', $2::integer)"

#endif
