/* cdbexport.h - write the relay snapshot and tcp.smtp.cdb from PostgreSQL. */
#ifndef AUTHRELAY_CDBEXPORT_H
#define AUTHRELAY_CDBEXPORT_H

#include <stdint.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "config.h"

struct cdbexport_stats {
	int64_t relays;		/* active relays written to cdb_file */
	int64_t skipped;	/* rows refused: never_relay or bad address */
	int64_t static_keys;	/* keys taken from tcp_rules */
	int64_t tcp_relays;	/* relay keys added to tcp_cdb */
	int64_t elapsed_ms;	/* whole export, wall time */
};

/*
 * Read the active relays (expires_at > now(), one REPEATABLE READ
 * snapshot) and atomically replace cfg->cdb_file and, if set,
 * cfg->tcp_cdb (cfg->tcp_rules first, then one allow rule per relay).
 * conn must be idle (no transaction open). On error neither file
 * changes; returns -1 with "what: why" in err. 0 on success.
 */
int cdbexport_run(PGconn *conn, const struct config *cfg,
    struct cdbexport_stats *st_r, char *err, size_t errlen);

/*
 * Compare the cdb files with the active relays now: every active relay
 * must be present (unless a static tcp rule decides for it), and no
 * relay key may be present for an expired or revoked address. Prints
 * one line per difference to report; returns their number, or -1 when
 * a file or the database cannot be read (reason printed to report).
 */
int cdbexport_verify(PGconn *conn, const struct config *cfg, FILE *report);

#endif
