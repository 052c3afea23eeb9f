/* pgsnap.h - PostgreSQL snapshots (pg_current_snapshot()): which transactions a read saw. */
#ifndef AUTHRELAY_PGSNAP_H
#define AUTHRELAY_PGSNAP_H

#include <stddef.h>
#include <stdint.h>

/*
 * "xmin:xmax:xip,xip,..." as pg_current_snapshot()::text prints it: every
 * transaction below xmin had ended, none from xmax on had, and those in
 * xip were still running. A relay row whose txid (set by the schema's
 * trigger to pg_current_xact_id()) the snapshot saw is in what that read
 * returned; the next read need only fetch the rows it did not see.
 */
struct pgsnap {
	uint64_t xmin, xmax;
	uint64_t *xip;
	size_t nxip;
};

/*
 * pg_current_snapshot() as text, and safe on a hot standby. A snapshot
 * taken in recovery keeps every running xid out of the list that
 * pg_current_snapshot() prints (they all sit in its subxip, which that
 * function ignores), so a later read would skip a transaction that was
 * running then and committed since. There only xmin is true: "xmin:xmin:"
 * says that any transaction from xmin on may be unseen. The next read
 * fetches a few rows again; it never misses one.
 */
#define PGSNAP_CURRENT_SQL \
"(CASE WHEN pg_is_in_recovery() THEN" \
" pg_snapshot_xmin(pg_current_snapshot())::text || ':' ||" \
" pg_snapshot_xmin(pg_current_snapshot())::text || ':'" \
" ELSE pg_current_snapshot()::text END)"

/*
 * As of when the data read is current: now on a primary; on a hot
 * standby the primary's last heartbeat it has replayed (the writers'
 * sweeper beats every sweep_interval), so replication lag counts in the
 * snapshot's age and cdb_max_age fails closed when a standby falls
 * behind or loses its primary. No heartbeat yet: the epoch (stale).
 */
#define PGSNAP_CURRENT_AS_OF_SQL \
"CASE WHEN NOT pg_is_in_recovery() THEN now() ELSE coalesce((SELECT" \
" least(now(), max(heartbeat)) FROM authrelay_instance), 'epoch') END"

#define PGSNAP_XIP_MAX 65536	/* more than max_connections ever allows */

/* Parse text into *s (xip allocated); 0, or -1 if malformed. */
int pgsnap_parse(const char *text, struct pgsnap *s);
void pgsnap_free(struct pgsnap *s);
/* Copy src into *dst (which is freed first); 0, or -1 out of memory. */
int pgsnap_copy(struct pgsnap *dst, const struct pgsnap *src);

/* Did the snapshot see transaction txid (committed before it)? */
int pgsnap_saw(const struct pgsnap *s, uint64_t txid);

/*
 * The parameters of "txid >= $1 OR txid = ANY($2)", the rows s did not
 * see: xmax as decimal text, xip as an array literal "{1,2}". Returns
 * a malloc()ed array text, or NULL out of memory.
 */
char *pgsnap_unseen_params(const struct pgsnap *s, char xmax_r[24]);

#endif
