/* pgcopy.c - read relay rows from PostgreSQL with COPY, re-validated at this boundary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ipaddr.h"
#include "pgcopy.h"

void
pgcopy_db_error(PGconn *conn, char *err, size_t errlen)
{
	const char *msg = PQerrorMessage(conn);

	snprintf(err, errlen, "database: %.*s", (int)strcspn(msg, "\n"), msg);
}

int
pgcopy_exec(PGconn *conn, const char *sql, char *err, size_t errlen)
{
	PGresult *res = PQexecParams(conn, sql, 0, NULL, NULL, NULL, NULL, 0);
	ExecStatusType s = PQresultStatus(res);
	int ok = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;

	if (!ok)
		pgcopy_db_error(conn, err, errlen);
	PQclear(res);
	return ok ? 0 : -1;
}

/*
 * Decode one COPY text field (backslash escapes) into out, cut to
 * outlen - 1 bytes. Control bytes survive here; relaycdb_format turns
 * them into '?'.
 */
void
pgcopy_unescape(const char *s, size_t len, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < outlen; i++) {
		char c = s[i];

		if (c == '\\' && i + 1 < len) {
			c = s[++i];
			switch (c) {
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'v': c = '\v'; break;
			default:
				if (c >= '0' && c <= '7') {
					int v = 0, n = 0;

					for (; n < 3 && i < len && s[i] >= '0' &&
					    s[i] <= '7'; n++, i++)
						v = v * 8 + (s[i] - '0');
					i--;
					c = (char)v;
				} else if (c == 'x')
					c = '?';	/* never produced for text */
				break;
			}
		}
		out[o++] = c;
	}
	out[o] = '\0';
}

/*
 * One COPY line "ip TAB expires TAB user": re-validate the address at
 * this boundary (the schema keeps rows canonical, we do not rely on it).
 * 1 = a row for fn, 0 = malformed (counted in *bad_r).
 */
int
pgcopy_parse_row(const char *line, size_t len, struct ipaddr *addr_r,
    char ip_r[IPADDR_TEXT_MAX], int64_t *expires_r, char *user,
    size_t userlen)
{
	const char *t1 = memchr(line, '\t', len), *t2;
	const char *why;
	int64_t v = 0;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (t1 == NULL || (t2 = memchr(t1 + 1, '\t', len - (size_t)(t1 + 1 -
	    line))) == NULL || t2 == t1 + 1 || t2 - t1 > 19 ||
	    ipaddr_parse(line, (size_t)(t1 - line), addr_r, &why) < 0)
		return 0;
	for (const char *p = t1 + 1; p < t2; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		v = v * 10 + (*p - '0');
	}
	/* inet_pton only accepts canonical dotted quads; IPv6 is re-spelt */
	if (addr_r->family == AF_INET && memchr(line, ':', (size_t)(t1 -
	    line)) == NULL) {
		memcpy(ip_r, line, (size_t)(t1 - line));
		ip_r[t1 - line] = '\0';
	} else
		ipaddr_format(addr_r, ip_r);
	*expires_r = v;
	pgcopy_unescape(t2 + 1, len - (size_t)(t2 + 1 - line), user, userlen);
	return 1;
}

/* Stream the COPY rows to fn while the server keeps producing them. */
int
pgcopy_rows(PGconn *conn, pgcopy_row_fn *fn, void *ctx, int64_t *bad_r,
    char *err, size_t errlen)
{
	char ip[IPADDR_TEXT_MAX], user[PGCOPY_USER_MAX];
	struct ipaddr addr;
	PGresult *res;
	int64_t expires;
	char *buf;
	int n, rc = 0;

	while ((n = PQgetCopyData(conn, &buf, 0)) > 0) {
		if (rc == 0) {
			if (pgcopy_parse_row(buf, (size_t)n, &addr, ip,
			    &expires, user, sizeof(user)) == 0)
				(*bad_r)++;
			else if (fn(ctx, &addr, ip, expires, user) != 0)
				rc = -1;	/* keep reading: COPY must end */
		}
		PQfreemem(buf);
	}
	if (n == -2) {
		pgcopy_db_error(conn, err, errlen);
		return -1;
	}
	while ((res = PQgetResult(conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0) {
			pgcopy_db_error(conn, err, errlen);
			rc = -1;
		}
		PQclear(res);
	}
	return rc;
}

/*
 * Walk the active relays in one consistent snapshot; *now_r gets the
 * time the data is current as of (unix seconds; on a hot standby the
 * last heartbeat replayed), the snapshot's build time.
 */
int
pgcopy_active(PGconn *conn, pgcopy_row_fn *fn, void *ctx, int64_t *now_r,
    struct pgsnap *snap_r, char *instance_r, int64_t *bad_r, char *err,
    size_t errlen)
{
	PGresult *res;

	if (snap_r != NULL)
		memset(snap_r, 0, sizeof(*snap_r));
	if (pgcopy_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	    err, errlen) < 0)
		return -1;
	/* in REPEATABLE READ, pg_current_snapshot() is the COPY's snapshot */
	res = PQexecParams(conn,
	    "SELECT floor(extract(epoch FROM " PGSNAP_CURRENT_AS_OF_SQL
	    "))::bigint, " PGSNAP_CURRENT_SQL ","
	    " (SELECT id FROM authrelay_instance LIMIT 1)",
	    0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		pgcopy_db_error(conn, err, errlen);
		PQclear(res);
		goto fail;
	}
	*now_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	if (snap_r != NULL && pgsnap_parse(PQgetvalue(res, 0, 1), snap_r) < 0) {
		snprintf(err, errlen, "database: bad snapshot '%s'",
		    PQgetvalue(res, 0, 1));
		PQclear(res);
		goto fail;
	}
	if (instance_r != NULL)
		snprintf(instance_r, PGCOPY_INSTANCE_MAX, "%s",
		    PQgetvalue(res, 0, 2));
	PQclear(res);
	/* COPY, not a cursor: the server streams while we build the cdb */
	res = PQexecParams(conn, "COPY (SELECT host(ip),"
	    " floor(extract(epoch FROM expires_at))::bigint, username"
	    " FROM relay WHERE expires_at > now()) TO STDOUT",
	    0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		pgcopy_db_error(conn, err, errlen);
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	if (pgcopy_rows(conn, fn, ctx, bad_r, err, errlen) < 0)
		goto fail;
	if (pgcopy_exec(conn, "COMMIT", err, errlen) == 0)
		return 0;
	if (snap_r != NULL)
		pgsnap_free(snap_r);
	return -1;
fail:
	if (snap_r != NULL)
		pgsnap_free(snap_r);
	if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
		res = PQexecParams(conn, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0);
		PQclear(res);
	}
	return -1;
}

