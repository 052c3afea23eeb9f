/* pgcopy.h - read relay rows from PostgreSQL with COPY, re-validated at this boundary. */
#ifndef AUTHRELAY_PGCOPY_H
#define AUTHRELAY_PGCOPY_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "ipaddr.h"
#include "pgsnap.h"
#include "relaycdb.h"

/* Room for the database's authrelay_instance id. */
#define PGCOPY_INSTANCE_MAX 64

/* Room for a user as COPY may spell it (escapes), decoded. */
#define PGCOPY_USER_MAX (RELAYCDB_USER_MAX * 4 + 1)

/* Called per relay row; nonzero stops the fetch. */
typedef int pgcopy_row_fn(void *ctx, const struct ipaddr *addr,
    const char *ip, int64_t expires, const char *user);

/* "database: <libpq's first line>" into err. */
void pgcopy_db_error(PGconn *conn, char *err, size_t errlen);

/* Run one parameterless command; -1 with err on failure. */
int pgcopy_exec(PGconn *conn, const char *sql, char *err, size_t errlen);

/*
 * Decode one COPY text field (backslash escapes) into out, cut to
 * outlen - 1 bytes. Control bytes survive here; relaycdb_format turns
 * them into '?'.
 */
void pgcopy_unescape(const char *s, size_t len, char *out, size_t outlen);

/*
 * One COPY line "ip TAB expires TAB user": the address re-validated
 * (the schema keeps rows canonical; we do not rely on it). 1 = a row,
 * 0 = malformed.
 */
int pgcopy_parse_row(const char *line, size_t len, struct ipaddr *addr_r,
    char ip_r[IPADDR_TEXT_MAX], int64_t *expires_r, char *user,
    size_t userlen);

/* Stream the rows of a COPY in progress to fn; malformed ones in *bad_r. */
int pgcopy_rows(PGconn *conn, pgcopy_row_fn *fn, void *ctx, int64_t *bad_r,
    char *err, size_t errlen);

/*
 * Walk the active relays (expires_at > now()) in one REPEATABLE READ
 * snapshot: *now_r gets the time the data is current as of (unix seconds;
 * on a hot standby the last heartbeat replayed) and, when
 * snap_r is not NULL, the snapshot the rows were read in and the
 * database's instance id (PGCOPY_INSTANCE_MAX bytes at instance_r).
 * conn must be idle. 0, or -1 with "what: why" in err.
 */
int pgcopy_active(PGconn *conn, pgcopy_row_fn *fn, void *ctx, int64_t *now_r,
    struct pgsnap *snap_r, char *instance_r, int64_t *bad_r, char *err,
    size_t errlen);

#endif
