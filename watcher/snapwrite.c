/* snapwrite.c - write the relay snapshot's files: base, delta, and the merged tcp.smtp.cdb. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <unistd.h>

#include <cdb.h>

#include "pgcopy.h"
#include "postfixmap.h"
#include "relaylookup.h"
#include "snapwrite.h"
#include "tcprules.h"

#define SNAPWRITE_MODE 0644	/* auth-wrap (qmaild) must read it */
/* Room for inherited static variables plus our RELAYCLIENT record. */
#define SNAPWRITE_TCPVAL_MAX (2 * TCPRULES_LINE_MAX)
#define SNAPWRITE_PGSNAP_MAX 65536

/* A cdb being written through an atomic temp file. */
struct outcdb {
	struct atomicfile af;
	struct cdb_make cm;
	int open;
};

static int
out_open(struct outcdb *o, const char *path, char *err, size_t errlen)
{
	if (atomicfile_open(&o->af, path, SNAPWRITE_MODE, err, errlen) < 0)
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

static int
out_add(struct outcdb *o, const char *key, size_t klen, const char *val,
    size_t vlen, char *err, size_t errlen)
{
	if (cdb_make_add(&o->cm, key, (unsigned)klen, val, (unsigned)vlen) < 0) {
		snprintf(err, errlen, "write(%s): %s", o->af.tmp,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Finish the cdb and make it durable; install: also put it in place. */
static int
out_finish(struct outcdb *o, int install, char *err, size_t errlen)
{
	o->open = 0;
	if (cdb_make_finish(&o->cm) < 0) {
		snprintf(err, errlen, "write(%s): %s", o->af.tmp,
		    strerror(errno));
		atomicfile_abort(&o->af);
		return -1;
	}
	return install ? atomicfile_commit(&o->af, err, errlen) :
	    atomicfile_prepare(&o->af, err, errlen);
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

/* A fresh base id: RELAYCDB_ID_LEN random lowercase hex digits. */
static int
new_id(char id[RELAYCDB_ID_LEN + 1])
{
	uint64_t r;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -1;
	snprintf(id, RELAYCDB_ID_LEN + 1, "%016" PRIx64, r);
	return 0;
}

struct base_ctx {
	const struct config *cfg;
	struct outcdb *out;
	int64_t now;		/* merging: what expired by now is left out */
	int64_t count, skipped;
	char *err;
	size_t errlen;
};

/* pgcopy_row_fn: one record of the base. */
static int
base_row(void *vctx, const struct ipaddr *addr, const char *ip,
    int64_t expires, const char *user)
{
	struct base_ctx *x = vctx;
	char val[RELAYCDB_VALUE_MAX];
	const char *why;
	int n;

	/* A row the watcher should never have written: never export it. */
	if (config_never_relay(x->cfg, addr, &why)) {
		x->skipped++;
		return 0;
	}
	if ((n = relaycdb_format(expires, user, val, sizeof(val))) < 0) {
		x->skipped++;
		return 0;
	}
	if (out_add(x->out, ip, strlen(ip), val, (size_t)n, x->err,
	    x->errlen) < 0)
		return -1;
	x->count++;
	return 0;
}

/* The metadata records of a base, once its count and snapshot are known. */
static int
base_meta(struct outcdb *o, const struct snapbase *b, char *err,
    size_t errlen)
{
	const char *ids[1] = { b->id };
	char val[RELAYCDB_VALUE_MAX], xmax[24];
	char *xip = pgsnap_unseen_params(&b->snap, xmax), *text;
	int n = relaycdb_format_meta(b->built, b->count, ids, 1, val,
	    sizeof(val)), rc;

	if (xip == NULL || n < 0) {
		free(xip);
		snprintf(err, errlen, "snapshot record: out of memory");
		return -1;
	}
	/* the snapshot as pg_current_snapshot() prints it */
	if ((text = malloc(strlen(xip) + 64)) == NULL) {
		free(xip);
		snprintf(err, errlen, "snapshot record: out of memory");
		return -1;
	}
	xip[strlen(xip) - 1] = '\0';
	sprintf(text, "%" PRIu64 ":%s:%s", b->snap.xmin, xmax, xip + 1);
	free(xip);
	rc = out_add(o, RELAYCDB_META_KEY, strlen(RELAYCDB_META_KEY), val,
	    (size_t)n, err, errlen) < 0 ||
	    out_add(o, SNAPWRITE_PGSNAP_KEY, strlen(SNAPWRITE_PGSNAP_KEY), text,
	    strlen(text), err, errlen) < 0 ||
	    out_add(o, SNAPWRITE_INSTANCE_KEY, strlen(SNAPWRITE_INSTANCE_KEY),
	    b->instance, strlen(b->instance), err, errlen) < 0 ? -1 : 0;
	free(text);
	return rc;
}

/* A base that will not be: its temp file and snapshot go. */
static void
drop_base(struct outcdb *out, struct snapbase *b)
{
	out_abort(out);
	pgsnap_free(&b->snap);
	b->tmp[0] = '\0';
}

/* The records are written: the count, the metadata, a durable file. */
static int
finish_base(struct outcdb *out, struct snapbase *b, int64_t count,
    int64_t skipped, int install, char *err, size_t errlen)
{
	b->count = count;
	b->skipped = skipped;
	snprintf(b->tmp, sizeof(b->tmp), "%s", out->af.tmp);
	if (base_meta(out, b, err, errlen) == 0 &&
	    out_finish(out, install, err, errlen) == 0)
		return 0;
	drop_base(out, b);
	return -1;
}

static int
build_base(PGconn *conn, const struct config *cfg, struct snapbase *b,
    int install, char *err, size_t errlen)
{
	struct outcdb out = { .open = 0 };
	struct base_ctx x = { .cfg = cfg, .out = &out, .err = err,
	    .errlen = errlen };
	int64_t bad = 0;

	memset(b, 0, sizeof(*b));
	if (cfg->cdb_file[0] == '\0') {
		snprintf(err, errlen, "cdb_file is not set");
		return -1;
	}
	if (new_id(b->id) < 0) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return -1;
	}
	if (out_open(&out, cfg->cdb_file, err, errlen) < 0)
		return -1;
	if (pgcopy_active(conn, base_row, &x, &b->built, &b->snap, b->instance,
	    &bad, err, errlen) < 0) {
		drop_base(&out, b);
		return -1;
	}
	return finish_base(&out, b, x.count, x.skipped + bad, install, err,
	    errlen);
}

int
snapwrite_base(PGconn *conn, const struct config *cfg, struct snapbase *b_r,
    char *err, size_t errlen)
{
	return build_base(conn, cfg, b_r, 0, err, errlen);
}

/* deltamap_fn: a delta entry still granting goes into the merged base. */
static int
merge_delta_row(void *vctx, const struct delta_entry *e)
{
	struct base_ctx *x = vctx;
	struct ipaddr addr;
	const char *why;

	if (e->expires <= x->now)
		return 0;	/* revoked (a tombstone) or expired */
	if (ipaddr_parse(e->ip, strlen(e->ip), &addr, &why) < 0) {
		x->skipped++;
		return 0;
	}
	return base_row(x, &addr, e->ip, e->expires, e->user);
}

/* The old base's relays that the delta does not override, still active. */
static int
merge_old_records(struct cdb *c, const struct deltamap *m,
    struct base_ctx *x)
{
	char key[RELAYCDB_VALUE_MAX], val[RELAYCDB_VALUE_MAX];
	struct relaycdb_entry e;
	struct ipaddr addr;
	const char *why;
	unsigned pos;
	int r, klen, vlen;

	cdb_seqinit(&pos, c);
	while ((r = cdb_seqnext(&pos, c)) > 0) {
		if ((klen = relaycdb_record_key(c, key, sizeof(key))) <= 0 ||
		    (vlen = relaycdb_record_value(c, val, sizeof(val))) < 0)
			break;
		if (key[0] == '!' || deltamap_get(m, key) != NULL)
			continue;	/* its own records; the delta's state wins */
		if (relaycdb_parse(val, (size_t)vlen, &e, &why) < 0 ||
		    ipaddr_parse(key, (size_t)klen, &addr, &why) < 0) {
			x->skipped++;
			continue;
		}
		if (e.expires > x->now && base_row(x, &addr, key, e.expires,
		    e.user) < 0)
			return -1;
	}
	if (r != 0) {
		snprintf(x->err, x->errlen, "%s: unreadable record",
		    x->cfg->cdb_file);
		return -1;
	}
	return 0;
}

/*
 * Open the base at path if it is ours (relaylookup_check_file) and has
 * the one id a base carries; its metadata into *meta_r. fd, or -1 with
 * *why_r.
 */
static int
open_base(const char *path, const struct config *cfg,
    struct relaycdb_meta *meta_r, const char **why_r)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		*why_r = strerror(errno);
		return -1;
	}
	if (relaylookup_check_file(fd, cfg, why_r) < 0 ||
	    relaycdb_read_meta(fd, RELAYCDB_META_KEY, meta_r, why_r) < 0) {
		close(fd);
		return -1;
	}
	if (meta_r->ids != 1) {
		*why_r = "no base id (written by an older version)";
		close(fd);
		return -1;
	}
	return fd;
}

/* Open cfg->cdb_file as a cdb if it is the base named base_id. */
static int
open_own_base(const struct config *cfg, const char *base_id, struct cdb *c,
    char *err, size_t errlen)
{
	struct relaycdb_meta meta;
	const char *why;
	int fd = open_base(cfg->cdb_file, cfg, &meta, &why);

	if (fd < 0)
		;	/* why says it */
	else if (strcmp(meta.id[0], base_id) != 0)
		why = "not the base the delta belongs to";
	else if (cdb_init(c, fd) < 0)
		why = "not a cdb";
	else
		return fd;
	snprintf(err, errlen, "%s: %s", cfg->cdb_file, why);
	if (fd >= 0)
		close(fd);
	return -1;
}

int
snapwrite_merge_base(const struct config *cfg, const char *base_id,
    const struct deltamap *m, const struct pgsnap *seen, int64_t built,
    const char *instance, int64_t now, struct snapbase *b, char *err,
    size_t errlen)
{
	struct outcdb out = { .open = 0 };
	struct base_ctx x = { .cfg = cfg, .out = &out, .now = now,
	    .err = err, .errlen = errlen };
	struct cdb old;
	int fd, rc;

	memset(b, 0, sizeof(*b));
	if (new_id(b->id) < 0) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return -1;
	}
	if ((fd = open_own_base(cfg, base_id, &old, err, errlen)) < 0)
		return -1;
	if (out_open(&out, cfg->cdb_file, err, errlen) < 0) {
		cdb_free(&old);
		close(fd);
		return -1;
	}
	rc = merge_old_records(&old, m, &x);
	cdb_free(&old);
	close(fd);
	if (rc == 0 && deltamap_each(m, merge_delta_row, &x) != 0)
		rc = -1;
	if (rc == 0 && pgsnap_copy(&b->snap, seen) < 0) {
		snprintf(err, errlen, "snapshot record: out of memory");
		rc = -1;
	}
	if (rc < 0) {
		drop_base(&out, b);
		return -1;
	}
	b->built = built;
	snprintf(b->instance, sizeof(b->instance), "%s", instance);
	return finish_base(&out, b, x.count, x.skipped, 0, err, errlen);
}

int
snapwrite_delta_path(const struct config *cfg, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s%s", cfg->cdb_file,
	    RELAYCDB_DELTA_SUFFIX);

	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

struct delta_ctx {
	const struct config *cfg;
	struct outcdb *out;
	int64_t count;
	char *err;
	size_t errlen;
};

/* deltamap_fn: one record of the delta (a grant or a tombstone). */
static int
delta_row(void *vctx, const struct delta_entry *e)
{
	struct delta_ctx *x = vctx;
	char val[RELAYCDB_VALUE_MAX];
	struct ipaddr addr;
	const char *why;
	int n;

	if (ipaddr_parse(e->ip, strlen(e->ip), &addr, &why) < 0 ||
	    config_never_relay(x->cfg, &addr, &why))
		return 0;
	if ((n = relaycdb_format(e->expires < 0 ? 0 : e->expires, e->user,
	    val, sizeof(val))) < 0)
		return 0;
	if (out_add(x->out, e->ip, strlen(e->ip), val, (size_t)n, x->err,
	    x->errlen) < 0)
		return -1;
	x->count++;
	return 0;
}

int
snapwrite_delta(const struct config *cfg, const struct deltamap *m,
    int64_t built, const char *const *ids, size_t nids, char *err,
    size_t errlen)
{
	struct outcdb out = { .open = 0 };
	struct delta_ctx x = { .cfg = cfg, .out = &out, .err = err,
	    .errlen = errlen };
	char path[ATOMICFILE_PATH_MAX], val[RELAYCDB_VALUE_MAX];
	int n;

	if (snapwrite_delta_path(cfg, path, sizeof(path)) < 0) {
		snprintf(err, errlen, "cdb_file: path too long");
		return -1;
	}
	if (out_open(&out, path, err, errlen) < 0)
		return -1;
	if (deltamap_each(m, delta_row, &x) != 0)
		goto fail;
	n = relaycdb_format_meta(built, x.count, ids, nids, val, sizeof(val));
	if (n < 0) {
		snprintf(err, errlen, "delta record: bad base ids");
		goto fail;
	}
	if (out_add(&out, RELAYCDB_DELTA_KEY, strlen(RELAYCDB_DELTA_KEY), val,
	    (size_t)n, err, errlen) < 0 || out_finish(&out, 1, err, errlen) < 0)
		goto fail;
	return 0;
fail:
	out_abort(&out);
	return -1;
}

int
snapwrite_read_base(const char *path, const struct config *cfg,
    char id_r[RELAYCDB_ID_LEN + 1], int64_t *count_r, struct pgsnap *snap_r,
    char instance_r[PGCOPY_INSTANCE_MAX], const char **why_r)
{
	struct relaycdb_meta meta;
	char *text = NULL;
	unsigned len;
	int fd = open_base(path, cfg, &meta, why_r), rc = -1;

	if (fd < 0)
		return -1;
	if (cdb_seek(fd, SNAPWRITE_PGSNAP_KEY, strlen(SNAPWRITE_PGSNAP_KEY),
	    &len) <= 0 || len > SNAPWRITE_PGSNAP_MAX ||
	    (text = malloc(len + 1)) == NULL || read(fd, text, len) != (ssize_t)len) {
		*why_r = "no readable snapshot record";
		goto out;
	}
	text[len] = '\0';
	if (cdb_seek(fd, SNAPWRITE_INSTANCE_KEY, strlen(SNAPWRITE_INSTANCE_KEY),
	    &len) <= 0 || len >= PGCOPY_INSTANCE_MAX ||
	    read(fd, instance_r, len) != (ssize_t)len) {
		*why_r = "no database record";
		goto out;
	}
	instance_r[len] = '\0';
	if (pgsnap_parse(text, snap_r) < 0) {
		*why_r = "malformed snapshot record";
		goto out;
	}
	memcpy(id_r, meta.id[0], RELAYCDB_ID_LEN + 1);
	*count_r = meta.count;
	rc = 0;
out:
	free(text);
	close(fd);
	return rc;
}

struct tcp_ctx {
	const struct config *cfg;
	struct outcdb *out;
	struct tcprules_table rules;
	struct snapwrite_tcp_stats st;
	char *err;
	size_t errlen;
};

/* tcprules_key_fn: a static key goes into the file in source order. */
static int
tcp_static_key(void *vctx, const char *key, size_t klen, const char *data,
    size_t dlen)
{
	struct tcp_ctx *x = vctx;

	x->st.static_keys++;
	return out_add(x->out, key, klen, data, dlen, x->err, x->errlen);
}

/* pgcopy_row_fn: a relay's allow record, unless a static rule decides. */
static int
tcp_row(void *vctx, const struct ipaddr *addr, const char *ip,
    int64_t expires, const char *user)
{
	struct tcp_ctx *x = vctx;
	char val[SNAPWRITE_TCPVAL_MAX];
	const char *why;
	size_t vlen;
	int n;

	(void)expires;
	(void)user;
	if (config_never_relay(x->cfg, addr, &why))
		return 0;
	n = tcprules_relay_record(&x->rules, ip, x->cfg->relayclient, val,
	    sizeof(val), &vlen);
	if (n < 0) {
		snprintf(x->err, x->errlen, "tcp rule for %s too long", ip);
		return -1;
	}
	if (n == 0)
		return 0;
	x->st.relays++;
	return out_add(x->out, ip, strlen(ip), val, vlen, x->err, x->errlen);
}

int
snapwrite_tcp(PGconn *conn, const struct config *cfg,
    struct snapwrite_tcp_stats *st_r, char *err, size_t errlen)
{
	struct outcdb out = { .open = 0 };
	struct tcp_ctx x = { .cfg = cfg, .out = &out, .err = err,
	    .errlen = errlen };
	int64_t now, bad = 0;
	int rc = -1;

	if (cfg->tcp_cdb[0] == '\0') {
		snprintf(err, errlen, "tcp_cdb is not set");
		return -1;
	}
	if (out_open(&out, cfg->tcp_cdb, err, errlen) < 0)
		return -1;
	if (cfg->tcp_rules[0] != '\0' && tcprules_load(cfg->tcp_rules,
	    &x.rules, tcp_static_key, &x, err, errlen) < 0)
		goto out;
	if (pgcopy_active(conn, tcp_row, &x, &now, NULL, NULL, &bad, err,
	    errlen) < 0 || out_finish(&out, 1, err, errlen) < 0)
		goto out;
	rc = 0;
out:
	out_abort(&out);
	tcprules_free(&x.rules);
	if (st_r != NULL)
		*st_r = x.st;
	return rc;
}

struct map_ctx {
	const struct config *cfg;
	struct postfixmap_entry *e;
	size_t n, cap;
};

/* pgcopy_row_fn: collect an active relay for the map. */
static int
map_row(void *vctx, const struct ipaddr *addr, const char *ip,
    int64_t expires, const char *user)
{
	struct map_ctx *x = vctx;
	const char *why;
	char *copy;

	(void)user;
	if (config_never_relay(x->cfg, addr, &why))
		return 0;
	if (x->n == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 1024;
		struct postfixmap_entry *grown = realloc(x->e,
		    cap * sizeof(*grown));

		if (grown == NULL)
			return -1;
		x->e = grown;
		x->cap = cap;
	}
	if ((copy = strdup(ip)) == NULL)
		return -1;
	x->e[x->n++] = (struct postfixmap_entry){ copy, expires };
	return 0;
}

int
snapwrite_postfix_map(PGconn *conn, const struct config *cfg,
    long *count_r, char *err, size_t errlen)
{
	struct map_ctx x = { .cfg = cfg };
	int64_t as_of, wall, bad = 0;
	long n = -1;

	/*
	 * On a standby the read is as of the last heartbeat replayed: what
	 * expired since then must not be written either.
	 */
	if (pgcopy_active(conn, map_row, &x, &as_of, NULL, NULL, &bad, err,
	    errlen) == 0) {
		wall = (int64_t)time(NULL);
		n = postfixmap_write(cfg->postfix_map, x.e, x.n,
		    as_of > wall ? as_of : wall, err, errlen);
	}
	for (size_t i = 0; i < x.n; i++)
		free((char *)x.e[i].ip);
	free(x.e);
	*count_r = n;
	return n < 0 ? -1 : 0;
}

int
snapwrite_all(PGconn *conn, const struct config *cfg, struct snapbase *b_r,
    struct snapwrite_tcp_stats *tcp_r, char *err, size_t errlen)
{
	struct deltamap empty;
	int rc = 0;

	memset(b_r, 0, sizeof(*b_r));
	memset(tcp_r, 0, sizeof(*tcp_r));
	if (!config_writes_snapshot(cfg)) {
		snprintf(err, errlen, "none of cdb_file, tcp_cdb, postfix_map is set");
		return -1;
	}
	/* a broken static rule changes no file */
	if (cfg->tcp_cdb[0] != '\0' && cfg->tcp_rules[0] != '\0') {
		struct tcprules_table check = { 0 };

		rc = tcprules_load(cfg->tcp_rules, &check, NULL, NULL, err,
		    errlen);
		tcprules_free(&check);
		if (rc < 0)
			return -1;
	}
	if (cfg->cdb_file[0] != '\0') {
		const char *ids[1] = { b_r->id };

		deltamap_init(&empty);
		rc = build_base(conn, cfg, b_r, 1, err, errlen);
		/* the old delta belongs to the old base: start afresh */
		if (rc == 0)
			rc = snapwrite_delta(cfg, &empty, b_r->built, ids, 1, err,
			    errlen);
		pgsnap_free(&b_r->snap);
	}
	if (rc == 0 && cfg->tcp_cdb[0] != '\0')
		rc = snapwrite_tcp(conn, cfg, tcp_r, err, errlen);
	if (rc == 0 && cfg->postfix_map[0] != '\0') {
		long n;

		rc = snapwrite_postfix_map(conn, cfg, &n, err, errlen);
	}
	return rc;
}
