/* cdbexport.c - write the relay snapshot and tcp.smtp.cdb from PostgreSQL. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cdb.h>

#include "clock.h"
#include "atomicfile.h"
#include "cdbexport.h"
#include "ipaddr.h"
#include "log.h"
#include "relaycdb.h"

#define CDBEXPORT_MODE 0644	/* auth-wrap (qmaild) must read it */
/* Room for inherited static variables plus our RELAYCLIENT record. */
#define CDBEXPORT_TCPVAL_MAX (2 * RELAYCDB_RULE_MAX)

/* One key of the static tcp rules, kept for the merge decisions. */
struct static_key {
	char *key;
	size_t klen;
	char *data;
	size_t dlen;
	size_t order;		/* position in the file: first one wins */
};

struct static_rules {
	struct static_key *items;
	size_t count, cap;
};

/* A cdb being written through an atomic temp file. */
struct outcdb {
	struct atomicfile af;
	struct cdb_make cm;
	int open;
};

struct export_ctx {
	const struct config *cfg;
	struct outcdb snap, tcp;
	struct static_rules rules;
	struct cdbexport_stats st;
	char *err;
	size_t errlen;
};

/* Called per active relay row; nonzero stops the fetch. */
typedef int row_fn(void *ctx, const struct ipaddr *addr, const char *ip,
    int64_t expires, const char *user);

static void
db_error(PGconn *conn, char *err, size_t errlen)
{
	const char *msg = PQerrorMessage(conn);

	snprintf(err, errlen, "database: %.*s", (int)strcspn(msg, "\n"), msg);
}

/* Run one parameterless command; -1 with err on failure. */
static int
exec_cmd(PGconn *conn, const char *sql, char *err, size_t errlen)
{
	PGresult *res = PQexecParams(conn, sql, 0, NULL, NULL, NULL, NULL, 0);
	ExecStatusType s = PQresultStatus(res);
	int ok = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;

	if (!ok)
		db_error(conn, err, errlen);
	PQclear(res);
	return ok ? 0 : -1;
}

/*
 * Decode one COPY text field (backslash escapes) into out, cut to
 * outlen - 1 bytes. Control bytes survive here; relaycdb_format turns
 * them into '?'.
 */
static void
copy_unescape(const char *s, size_t len, char *out, size_t outlen)
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
static int
copy_row(const char *line, size_t len, struct ipaddr *addr_r,
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
	copy_unescape(t2 + 1, len - (size_t)(t2 + 1 - line), user, userlen);
	return 1;
}

/* Stream the COPY rows to fn while the server keeps producing them. */
static int
copy_rows(PGconn *conn, row_fn *fn, void *ctx, int64_t *bad_r, char *err,
    size_t errlen)
{
	char ip[IPADDR_TEXT_MAX], user[RELAYCDB_USER_MAX * 4 + 1];
	struct ipaddr addr;
	PGresult *res;
	int64_t expires;
	char *buf;
	int n, rc = 0;

	while ((n = PQgetCopyData(conn, &buf, 0)) > 0) {
		if (rc == 0) {
			if (copy_row(buf, (size_t)n, &addr, ip, &expires, user,
			    sizeof(user)) == 0)
				(*bad_r)++;
			else if (fn(ctx, &addr, ip, expires, user) != 0)
				rc = -1;	/* keep reading: COPY must end */
		}
		PQfreemem(buf);
	}
	if (n == -2) {
		db_error(conn, err, errlen);
		return -1;
	}
	while ((res = PQgetResult(conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0) {
			db_error(conn, err, errlen);
			rc = -1;
		}
		PQclear(res);
	}
	return rc;
}

/*
 * Walk the active relays in one consistent snapshot; *now_r gets the
 * transaction time (unix seconds), the snapshot's build time.
 */
static int
fetch_active(PGconn *conn, row_fn *fn, void *ctx, int64_t *now_r,
    int64_t *bad_r, char *err, size_t errlen)
{
	PGresult *res;

	if (exec_cmd(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	    err, errlen) < 0)
		return -1;
	res = PQexecParams(conn,
	    "SELECT floor(extract(epoch FROM now()))::bigint",
	    0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		db_error(conn, err, errlen);
		PQclear(res);
		goto fail;
	}
	*now_r = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	/* COPY, not a cursor: the server streams while we build the cdb */
	res = PQexecParams(conn, "COPY (SELECT host(ip),"
	    " floor(extract(epoch FROM expires_at))::bigint, username"
	    " FROM relay WHERE expires_at > now()) TO STDOUT",
	    0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		db_error(conn, err, errlen);
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	if (copy_rows(conn, fn, ctx, bad_r, err, errlen) < 0)
		goto fail;
	return exec_cmd(conn, "COMMIT", err, errlen);
fail:
	if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
		res = PQexecParams(conn, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0);
		PQclear(res);
	}
	return -1;
}

static void
rules_free(struct static_rules *rs)
{
	for (size_t i = 0; i < rs->count; i++) {
		free(rs->items[i].key);
		free(rs->items[i].data);
	}
	free(rs->items);
	memset(rs, 0, sizeof(*rs));
}

static int
key_cmp(const void *a, const void *b)
{
	const struct static_key *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);

	if (c != 0)
		return c;
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* First static record for key, as tcpserver's cdb_find would see it. */
static const struct static_key *
rules_find(const struct static_rules *rs, const char *key, size_t klen)
{
	size_t lo = 0, hi = rs->count;

	while (lo < hi) {	/* lower bound: the lowest order wins */
		size_t mid = lo + (hi - lo) / 2;
		const struct static_key *k = &rs->items[mid];
		size_t n = k->klen < klen ? k->klen : klen;
		int c = memcmp(k->key, key, n);

		if (c < 0 || (c == 0 && k->klen < klen))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < rs->count && rs->items[lo].klen == klen &&
	    memcmp(rs->items[lo].key, key, klen) == 0)
		return &rs->items[lo];
	return NULL;
}

/* relaycdb_key_fn: write a static key and remember it. */
static int
static_key_add(void *vctx, const char *key, size_t klen, const char *data,
    size_t dlen)
{
	struct export_ctx *x = vctx;
	struct static_rules *rs = &x->rules;
	struct static_key *k;

	if (x->tcp.open && cdb_make_add(&x->tcp.cm, key, (unsigned)klen, data,
	    (unsigned)dlen) < 0) {
		snprintf(x->err, x->errlen, "write(%s): %s", x->tcp.af.tmp,
		    strerror(errno));
		return -1;
	}
	if (rs->count == rs->cap) {
		size_t cap = rs->cap ? 2 * rs->cap : 64;
		struct static_key *grown = realloc(rs->items,
		    cap * sizeof(*grown));

		if (grown == NULL)
			goto nomem;
		rs->items = grown;
		rs->cap = cap;
	}
	k = &rs->items[rs->count];
	k->key = malloc(klen + 1);
	k->data = malloc(dlen + 1);
	if (k->key == NULL || k->data == NULL) {
		free(k->key);
		free(k->data);
		goto nomem;
	}
	memcpy(k->key, key, klen);
	memcpy(k->data, data, dlen);
	k->klen = klen;
	k->dlen = dlen;
	k->order = rs->count++;
	x->st.static_keys++;
	return 0;
nomem:
	snprintf(x->err, x->errlen, "static rules: out of memory");
	return -1;
}

/* Read cfg->tcp_rules (tcprules syntax) into the table and tcp cdb. */
static int
load_static_rules(struct export_ctx *x)
{
	const char *path = x->cfg->tcp_rules;
	struct relaycdb_rule *r;
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	const char *why = NULL;
	int rc = 0;
	FILE *f;

	if (path == NULL || path[0] == '\0')
		return 0;
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(x->err, x->errlen, "open(%s): %s", path,
		    strerror(errno));
		return -1;
	}
	if ((r = malloc(sizeof(*r))) == NULL) {
		fclose(f);
		snprintf(x->err, x->errlen, "static rules: out of memory");
		return -1;
	}
	while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		switch (relaycdb_rule_parse(line, (size_t)len, r, &why)) {
		case 1:
			if ((rc = relaycdb_rule_keys(r, static_key_add, x,
			    &why)) < 0 && why != NULL)
				goto bad;
			break;
		case 0:
			break;
		default:
			goto bad;
		}
		why = NULL;
	}
	if (rc == 0 && ferror(f)) {
		snprintf(x->err, x->errlen, "read(%s): %s", path,
		    strerror(errno));
		rc = -1;
	}
	goto done;
bad:
	snprintf(x->err, x->errlen, "%s:%zu: %s", path, lineno, why);
	rc = -1;
done:
	free(line);
	free(r);
	fclose(f);
	if (rc == 0)
		qsort(x->rules.items, x->rules.count, sizeof(struct static_key),
		    key_cmp);
	return rc;
}

/*
 * What tcp_cdb gets for a relay: 1 with the value in out, or 0 when a
 * static rule decides (the same key, a prefix that denies, or a prefix
 * that already relays). A matching allow prefix's variables are kept.
 */
static int
tcp_value_for(const struct static_rules *rs, const char *ip,
    const char *relayclient, char *out, size_t outlen, size_t *len_r)
{
	size_t iplen = strlen(ip);
	char sep = strchr(ip, ':') != NULL ? ':' : '.';
	const struct static_key *k = NULL;
	int n;

	if (rules_find(rs, ip, iplen) != NULL)
		return 0;
	/* tcpserver's order: 1.2.3.4, then 1.2.3., 1.2., 1. */
	for (size_t j = iplen; j-- > 1 && k == NULL;)
		if (ip[j - 1] == sep)
			k = rules_find(rs, ip, j);
	*len_r = 0;
	if (k != NULL) {
		if (relaycdb_data_is_deny(k->data, k->dlen) ||
		    relaycdb_data_has_var(k->data, k->dlen, "RELAYCLIENT"))
			return 0;
		if (k->dlen > outlen)
			return -1;
		memcpy(out, k->data, k->dlen);
		*len_r = k->dlen;
	}
	n = relaycdb_tcp_value(relayclient, out + *len_r, outlen - *len_r);
	if (n < 0)
		return -1;
	*len_r += (size_t)n;
	return 1;
}

/* row_fn for the export: one record in each file. */
static int
export_row(void *vctx, const struct ipaddr *addr, const char *ip,
    int64_t expires, const char *user)
{
	struct export_ctx *x = vctx;
	char val[CDBEXPORT_TCPVAL_MAX];
	const char *why;
	size_t vlen;
	int n;

	/* A row the watcher should never have written: never export it. */
	if (config_never_relay(x->cfg, addr, &why)) {
		x->st.skipped++;
		return 0;
	}
	if ((n = relaycdb_format(expires, user, val, sizeof(val))) < 0 ||
	    (x->snap.open && cdb_make_add(&x->snap.cm, ip,
	    (unsigned)strlen(ip), val, (unsigned)n) < 0))
		goto fail;
	x->st.relays++;
	if (!x->tcp.open)
		return 0;
	n = tcp_value_for(&x->rules, ip, x->cfg->relayclient, val,
	    sizeof(val), &vlen);
	if (n < 0) {
		snprintf(x->err, x->errlen, "tcp rule for %s too long", ip);
		return -1;
	}
	if (n == 1) {
		if (cdb_make_add(&x->tcp.cm, ip, (unsigned)strlen(ip), val,
		    (unsigned)vlen) < 0)
			goto fail;
		x->st.tcp_relays++;
	}
	return 0;
fail:
	snprintf(x->err, x->errlen, "write: %s", strerror(errno));
	return -1;
}

static int
out_open(struct outcdb *o, const char *path, char *err, size_t errlen)
{
	if (atomicfile_open(&o->af, path, CDBEXPORT_MODE, err, errlen) < 0)
		return -1;
	if (cdb_make_start(&o->cm, o->af.fd) < 0) {
		snprintf(err, errlen, "cdb_make_start(%s): %s", o->af.tmp,
		    strerror(errno));
		atomicfile_abort(&o->af);
		return -1;
	}
	o->open = 1;
	return 0;
}

/* Finish the cdb and put it in place; -1 leaves the old file. */
static int
out_commit(struct outcdb *o, char *err, size_t errlen)
{
	o->open = 0;
	if (cdb_make_finish(&o->cm) < 0) {
		snprintf(err, errlen, "write(%s): %s", o->af.tmp,
		    strerror(errno));
		atomicfile_abort(&o->af);
		return -1;
	}
	return atomicfile_commit(&o->af, err, errlen);
}

static void
out_abort(struct outcdb *o)
{
	if (!o->open)
		return;
	o->open = 0;
	cdb_make_finish(&o->cm);	/* frees its tables; file is dropped */
	atomicfile_abort(&o->af);
}

/* Write the snapshot's metadata record once the count is known. */
static int
add_meta(struct export_ctx *x, int64_t built)
{
	char val[RELAYCDB_VALUE_MAX];
	int n = relaycdb_format_meta(built, x->st.relays, NULL, 0, val,
	    sizeof(val));

	if (!x->snap.open)
		return 0;
	if (n < 0 || cdb_make_add(&x->snap.cm, RELAYCDB_META_KEY,
	    sizeof(RELAYCDB_META_KEY) - 1, val, (unsigned)n) < 0) {
		snprintf(x->err, x->errlen, "write(%s): %s", x->snap.af.tmp,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
cdbexport_run(PGconn *conn, const struct config *cfg,
    struct cdbexport_stats *st_r, char *err, size_t errlen)
{
	struct export_ctx x;
	int64_t start = clock_ms(), built = 0;
	int rc = -1;

	memset(&x, 0, sizeof(x));
	x.cfg = cfg;
	x.err = err;
	x.errlen = errlen;
	if (cfg->cdb_file[0] == '\0' && cfg->tcp_cdb[0] == '\0') {
		snprintf(err, errlen, "neither cdb_file nor tcp_cdb is set");
		return -1;
	}
	if (cfg->cdb_file[0] != '\0' &&
	    out_open(&x.snap, cfg->cdb_file, err, errlen) < 0)
		return -1;
	if (cfg->tcp_cdb[0] != '\0' &&
	    out_open(&x.tcp, cfg->tcp_cdb, err, errlen) < 0)
		goto out;
	if (load_static_rules(&x) < 0 ||
	    fetch_active(conn, export_row, &x, &built, &x.st.skipped, err,
	    errlen) < 0 || add_meta(&x, built) < 0)
		goto out;
	if (x.snap.open && out_commit(&x.snap, err, errlen) < 0)
		goto out;
	if (x.tcp.open && out_commit(&x.tcp, err, errlen) < 0)
		goto out;
	rc = 0;
out:
	out_abort(&x.snap);
	out_abort(&x.tcp);
	rules_free(&x.rules);
	x.st.elapsed_ms = clock_ms() - start;
	if (st_r != NULL)
		*st_r = x.st;
	return rc;
}

/* Verification: the active relays, as an in-memory cdb for lookups. */
struct verify_ctx {
	const struct config *cfg;
	struct cdb_make cm;
	int64_t skipped;
};

static int
verify_row(void *vctx, const struct ipaddr *addr, const char *ip,
    int64_t expires, const char *user)
{
	struct verify_ctx *v = vctx;
	char val[RELAYCDB_VALUE_MAX];
	const char *why;
	int n;

	if (config_never_relay(v->cfg, addr, &why)) {
		v->skipped++;	/* the export leaves these out too */
		return 0;
	}
	n = relaycdb_format(expires, user, val, sizeof(val));
	return n < 0 || cdb_make_add(&v->cm, ip, (unsigned)strlen(ip), val,
	    (unsigned)n) < 0 ? -1 : 0;
}

/* Open a cdb for reading; -1 with the reason printed to report. */
static int
open_cdb(const char *path, struct cdb *c, FILE *report)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0 || cdb_init(c, fd) < 0) {
		fprintf(report, "error: %s: %s\n", path, fd < 0 ?
		    strerror(errno) : "not a cdb");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Copy the current record's key as a C string (IPs are short). */
static int
record_key(struct cdb *c, char *out, size_t outlen)
{
	unsigned klen = cdb_keylen(c);

	if (klen >= outlen || cdb_read(c, out, klen, cdb_keypos(c)) < 0)
		return -1;
	out[klen] = '\0';
	return 0;
}

/* Active relays missing from, or expired in, the snapshot; and extras. */
static int
verify_snapshot(struct cdb *db, const char *path, int64_t now, FILE *report)
{
	struct relaycdb_entry e;
	struct cdb f;
	char key[RELAYCDB_VALUE_MAX], val[RELAYCDB_VALUE_MAX];
	const char *why;
	unsigned pos;
	int fd, diffs = 0;

	if ((fd = open_cdb(path, &f, report)) < 0)
		return -1;
	if (cdb_find(&f, RELAYCDB_META_KEY, sizeof(RELAYCDB_META_KEY) - 1) <= 0) {
		fprintf(report, "corrupt %s: no snapshot record\n", path);
		diffs++;
	}
	cdb_seqinit(&pos, db);
	while (cdb_seqnext(&pos, db) > 0) {
		if (record_key(db, key, sizeof(key)) < 0)
			continue;
		if (cdb_find(&f, key, (unsigned)strlen(key)) <= 0) {
			fprintf(report, "missing %s in %s\n", key, path);
			diffs++;
		} else if (cdb_datalen(&f) >= sizeof(val) ||
		    cdb_read(&f, val, cdb_datalen(&f), cdb_datapos(&f)) < 0 ||
		    relaycdb_parse(val, cdb_datalen(&f), &e, &why) < 0) {
			fprintf(report, "corrupt %s in %s\n", key, path);
			diffs++;
		} else if (e.expires <= now) {
			fprintf(report, "expired %s in %s (still active)\n",
			    key, path);
			diffs++;
		}
	}
	cdb_seqinit(&pos, &f);
	while (cdb_seqnext(&pos, &f) > 0) {
		if (record_key(&f, key, sizeof(key)) < 0 ||
		    strcmp(key, RELAYCDB_META_KEY) == 0)
			continue;
		if (cdb_datalen(&f) >= sizeof(val) ||
		    cdb_read(&f, val, cdb_datalen(&f), cdb_datapos(&f)) < 0 ||
		    relaycdb_parse(val, cdb_datalen(&f), &e, &why) < 0 ||
		    e.expires <= now)
			continue;	/* ignored by auth-wrap anyway */
		if (cdb_find(db, key, (unsigned)strlen(key)) <= 0) {
			fprintf(report, "extra %s in %s (expired or revoked)\n",
			    key, path);
			diffs++;
		}
	}
	cdb_free(&f);
	close(fd);
	return diffs;
}

/* Every relay's rule as the export would write it, and no others. */
static int
verify_tcp(struct cdb *db, const struct config *cfg,
    const struct static_rules *rs, FILE *report)
{
	const char *path = cfg->tcp_cdb;
	char key[RELAYCDB_RULE_MAX], want[CDBEXPORT_TCPVAL_MAX];
	char got[CDBEXPORT_TCPVAL_MAX];
	struct cdb t;
	size_t wlen;
	unsigned pos;
	int fd, diffs = 0;

	if ((fd = open_cdb(path, &t, report)) < 0)
		return -1;
	cdb_seqinit(&pos, db);
	while (cdb_seqnext(&pos, db) > 0) {
		if (record_key(db, key, sizeof(key)) < 0 ||
		    tcp_value_for(rs, key, cfg->relayclient, want, sizeof(want),
		    &wlen) != 1)
			continue;	/* a static rule decides */
		if (cdb_find(&t, key, (unsigned)strlen(key)) <= 0) {
			fprintf(report, "missing %s in %s\n", key, path);
			diffs++;
		} else if (cdb_datalen(&t) != wlen ||
		    cdb_read(&t, got, wlen, cdb_datapos(&t)) < 0 ||
		    memcmp(got, want, wlen) != 0) {
			fprintf(report, "differs %s in %s\n", key, path);
			diffs++;
		}
	}
	cdb_seqinit(&pos, &t);
	while (cdb_seqnext(&pos, &t) > 0) {
		if (record_key(&t, key, sizeof(key)) < 0 ||
		    rules_find(rs, key, strlen(key)) != NULL)
			continue;
		if (cdb_find(db, key, (unsigned)strlen(key)) <= 0) {
			fprintf(report, "extra %s in %s (expired or revoked)\n",
			    key, path);
			diffs++;
		}
	}
	cdb_free(&t);
	close(fd);
	return diffs;
}

int
cdbexport_verify(PGconn *conn, const struct config *cfg, FILE *report)
{
	struct verify_ctx v = { .cfg = cfg };
	struct export_ctx x;
	struct cdb db;
	char err[512];
	int64_t now = 0, bad = 0;
	int fd, d, diffs = -1;

	memset(&x, 0, sizeof(x));
	x.cfg = cfg;
	x.err = err;
	x.errlen = sizeof(err);
	fd = memfd_create("authrelay-verify", MFD_CLOEXEC);
	if (fd < 0 || cdb_make_start(&v.cm, fd) < 0) {
		fprintf(report, "error: memfd: %s\n", strerror(errno));
		goto out;
	}
	if (fetch_active(conn, verify_row, &v, &now, &bad, err,
	    sizeof(err)) < 0) {
		cdb_make_finish(&v.cm);
		fprintf(report, "error: %s\n", err);
		goto out;
	}
	if (cdb_make_finish(&v.cm) < 0 || cdb_init(&db, fd) < 0) {
		fprintf(report, "error: memfd: %s\n", strerror(errno));
		goto out;
	}
	diffs = 0;
	if (cfg->cdb_file[0] != '\0') {
		if ((d = verify_snapshot(&db, cfg->cdb_file, now, report)) < 0)
			diffs = -1;
		else
			diffs += d;
	}
	if (diffs >= 0 && cfg->tcp_cdb[0] != '\0') {
		if (load_static_rules(&x) < 0) {
			fprintf(report, "error: %s\n", err);
			diffs = -1;
		} else if ((d = verify_tcp(&db, cfg, &x.rules, report)) < 0)
			diffs = -1;
		else
			diffs += d;
	}
	cdb_free(&db);
out:
	rules_free(&x.rules);
	if (fd >= 0)
		close(fd);
	return diffs;
}
