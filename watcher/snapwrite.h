/* snapwrite.h - write the relay snapshot's files: base, delta, and the merged tcp.smtp.cdb. */
#ifndef AUTHRELAY_SNAPWRITE_H
#define AUTHRELAY_SNAPWRITE_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "atomicfile.h"
#include "pgcopy.h"
#include "config.h"
#include "deltamap.h"
#include "pgsnap.h"
#include "relaycdb.h"

/*
 * Besides its relays and RELAYCDB_META_KEY, a base records the
 * PostgreSQL snapshot it was read in, so that a restarted watcher can
 * continue the delta from it.
 */
#define SNAPWRITE_PGSNAP_KEY "!authrelay-pgsnap"
#define SNAPWRITE_INSTANCE_KEY "!authrelay-db"	/* authrelay_instance.id */

/* A base built under a temp name, not yet in place. */
struct snapbase {
	char tmp[ATOMICFILE_PATH_MAX];
	char id[RELAYCDB_ID_LEN + 1];
	int64_t built;		/* database time of the read, unix s */
	int64_t count;		/* relays written */
	int64_t skipped;	/* never_relay or malformed rows */
	struct pgsnap snap;	/* what the read saw */
	char instance[PGCOPY_INSTANCE_MAX];	/* of which database */
};

/*
 * Read every active relay (one REPEATABLE READ COPY) into a new base
 * for cfg->cdb_file with a fresh random id: written and fsynced under
 * b_r->tmp; atomicfile_install() puts it in place. 0, or -1 with err
 * (nothing left behind).
 */
int snapwrite_base(PGconn *conn, const struct config *cfg,
    struct snapbase *b_r, char *err, size_t errlen);

/*
 * A new base without reading the database, as snapwrite_base writes one
 * (under b_r->tmp, not installed): the records of cfg->cdb_file, which
 * must be ours and the base named base_id, overlaid with m, the delta
 * that holds every change since that base's snapshot up to the read
 * seen (current as of built, of database instance). What is revoked,
 * expired by now or never_relay is left out; its snapshot is seen.
 */
int snapwrite_merge_base(const struct config *cfg, const char *base_id,
    const struct deltamap *m, const struct pgsnap *seen, int64_t built,
    const char *instance, int64_t now, struct snapbase *b_r, char *err,
    size_t errlen);

/* cfg->cdb_file with RELAYCDB_DELTA_SUFFIX; -1 if too long. */
int snapwrite_delta_path(const struct config *cfg, char *out, size_t outlen);

/*
 * Atomically replace the delta with m's entries (never_relay addresses
 * left out), valid on top of the nids bases named, current as of built.
 */
int snapwrite_delta(const struct config *cfg, const struct deltamap *m,
    int64_t built, const char *const *ids, size_t nids, char *err,
    size_t errlen);

/*
 * Read the records of the base at path that a writer needs to continue
 * from it: its id, count and the snapshot it was read in. 0, or -1
 * with *why_r.
 */
int snapwrite_read_base(const char *path, const struct config *cfg,
    char id_r[RELAYCDB_ID_LEN + 1], int64_t *count_r, struct pgsnap *snap_r,
    char instance_r[PGCOPY_INSTANCE_MAX], const char **why_r);

struct snapwrite_tcp_stats {
	int64_t static_keys;	/* keys taken from tcp_rules */
	int64_t relays;		/* relay keys added */
};

/*
 * Atomically replace cfg->tcp_cdb: the rules of cfg->tcp_rules first,
 * then an allow record for every active relay that no static rule
 * decides. A full read of the table, by nature.
 */
int snapwrite_tcp(PGconn *conn, const struct config *cfg,
    struct snapwrite_tcp_stats *st_r, char *err, size_t errlen);

/*
 * Atomically replace cfg->postfix_map (lib/postfixmap.h) with the active
 * relays; *count_r gets the records written. A full read of the table.
 */
int snapwrite_postfix_map(PGconn *conn, const struct config *cfg,
    long *count_r, char *err, size_t errlen);

/*
 * authrelayctl export-cdb: a new base put in place, an empty delta for
 * it, and tcp_cdb and postfix_map if configured.
 */
int snapwrite_all(PGconn *conn, const struct config *cfg,
    struct snapbase *b_r, struct snapwrite_tcp_stats *tcp_r, char *err,
    size_t errlen);

#endif
