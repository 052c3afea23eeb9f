/* snapverify.c - compare the snapshot files with the relay table: what auth-wrap would decide. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cdb.h>

#include "pgcopy.h"
#include "relaycdb.h"
#include "snapverify.h"
#include "snapwrite.h"
#include "tcprules.h"

#define VERIFY_TCPVAL_MAX (2 * TCPRULES_LINE_MAX)

/* A cdb open for reading (mmap'ed by tinycdb). */
struct incdb {
	struct cdb c;
	int fd;
};

/* The active relays, as an in-memory cdb for lookups. */
struct verify_ctx {
	const struct config *cfg;
	struct cdb_make cm;
};

static int
verify_row(void *vctx, const struct ipaddr *addr, const char *ip,
    int64_t expires, const char *user)
{
	struct verify_ctx *v = vctx;
	char val[RELAYCDB_VALUE_MAX];
	const char *why;
	int n;

	if (config_never_relay(v->cfg, addr, &why))
		return 0;	/* the export leaves these out too */
	n = relaycdb_format(expires, user, val, sizeof(val));
	return n < 0 || cdb_make_add(&v->cm, ip, (unsigned)strlen(ip), val,
	    (unsigned)n) < 0 ? -1 : 0;
}

/* Open a cdb for reading; -1 with the reason printed to report. */
static int
in_open(const char *path, struct incdb *in, FILE *report)
{
	in->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in->fd < 0 || cdb_init(&in->c, in->fd) < 0) {
		fprintf(report, "error: %s: %s\n", path, in->fd < 0 ?
		    strerror(errno) : "not a cdb");
		if (in->fd >= 0)
			close(in->fd);
		in->fd = -1;
		return -1;
	}
	return 0;
}

static void
in_close(struct incdb *in)
{
	if (in->fd < 0)
		return;
	cdb_free(&in->c);
	close(in->fd);
	in->fd = -1;
}

/* The record of key in c: 1 found, 0 absent, -1 corrupt. */
static int
in_entry(struct cdb *c, const char *key, struct relaycdb_entry *e)
{
	char val[RELAYCDB_VALUE_MAX];
	const char *why;
	int len;

	if (cdb_find(c, key, (unsigned)strlen(key)) <= 0)
		return 0;
	if ((len = relaycdb_record_value(c, val, sizeof(val))) < 0 ||
	    relaycdb_parse(val, (size_t)len, e, &why) < 0)
		return -1;
	return 1;
}

/* What auth-wrap decides for key from the pair: the delta first. */
static int
pair_entry(struct incdb *base, struct incdb *delta, const char *key,
    struct relaycdb_entry *e)
{
	int r = delta->fd >= 0 ? in_entry(&delta->c, key, e) : 0;

	return r != 0 ? r : in_entry(&base->c, key, e);
}

/* Is key a relay key (not a metadata record)? */
static int
is_meta(const char *key)
{
	return key[0] == '!';
}

/* Keys of one file granted by the pair but not active in db. */
static int
extras_in(struct cdb *file, struct incdb *base, struct incdb *delta,
    struct cdb *db, int64_t now, const char *path, FILE *report)
{
	struct relaycdb_entry e;
	char key[RELAYCDB_VALUE_MAX];
	unsigned pos;
	int diffs = 0;

	cdb_seqinit(&pos, file);
	while (cdb_seqnext(&pos, file) > 0) {
		if (relaycdb_record_key(file, key, sizeof(key)) < 0 || is_meta(key) ||
		    pair_entry(base, delta, key, &e) != 1 || e.expires <= now)
			continue;	/* refused by auth-wrap anyway */
		if (cdb_find(db, key, (unsigned)strlen(key)) <= 0) {
			fprintf(report, "extra %s in %s (expired or revoked)\n",
			    key, path);
			diffs++;
		}
	}
	return diffs;
}

/* Active relays the pair misses or refuses; addresses it grants wrongly. */
static int
verify_pair(struct cdb *db, const struct config *cfg, int64_t now,
    FILE *report)
{
	struct incdb base = { .fd = -1 }, delta = { .fd = -1 };
	struct relaycdb_meta bm, dm;
	struct relaycdb_entry e;
	char dpath[ATOMICFILE_PATH_MAX], key[RELAYCDB_VALUE_MAX];
	const char *why;
	unsigned pos;
	int diffs = 0, r;

	if (in_open(cfg->cdb_file, &base, report) < 0)
		return -1;
	if (snapwrite_delta_path(cfg, dpath, sizeof(dpath)) == 0 &&
	    access(dpath, F_OK) == 0 && in_open(dpath, &delta, report) < 0) {
		in_close(&base);
		return -1;
	}
	if (relaycdb_read_meta(base.fd, RELAYCDB_META_KEY, &bm, &why) < 0) {
		fprintf(report, "corrupt %s: %s\n", cfg->cdb_file, why);
		diffs++;
	} else if (delta.fd >= 0 && (relaycdb_read_meta(delta.fd,
	    RELAYCDB_DELTA_KEY, &dm, &why) < 0 || bm.ids != 1 ||
	    !relaycdb_meta_has_id(&dm, bm.id[0]))) {
		fprintf(report, "corrupt %s: delta does not belong to the base\n",
		    dpath);
		diffs++;
	}
	cdb_seqinit(&pos, db);
	while (cdb_seqnext(&pos, db) > 0) {
		if (relaycdb_record_key(db, key, sizeof(key)) < 0)
			continue;
		if ((r = pair_entry(&base, &delta, key, &e)) == 0) {
			fprintf(report, "missing %s in %s\n", key, cfg->cdb_file);
			diffs++;
		} else if (r < 0) {
			fprintf(report, "corrupt %s in %s\n", key, cfg->cdb_file);
			diffs++;
		} else if (e.expires <= now) {
			fprintf(report, "expired %s in %s (still active)\n",
			    key, cfg->cdb_file);
			diffs++;
		}
	}
	diffs += extras_in(&base.c, &base, &delta, db, now, cfg->cdb_file,
	    report);
	if (delta.fd >= 0)
		diffs += extras_in(&delta.c, &base, &delta, db, now, dpath,
		    report);
	in_close(&delta);
	in_close(&base);
	return diffs;
}

/* Every relay's rule as the export would write it, and no others. */
static int
verify_tcp(struct cdb *db, const struct config *cfg,
    const struct tcprules_table *rs, FILE *report)
{
	const char *path = cfg->tcp_cdb;
	char key[TCPRULES_LINE_MAX], want[VERIFY_TCPVAL_MAX];
	char got[VERIFY_TCPVAL_MAX];
	struct incdb t;
	size_t wlen;
	unsigned pos;
	int diffs = 0;

	if (in_open(path, &t, report) < 0)
		return -1;
	cdb_seqinit(&pos, db);
	while (cdb_seqnext(&pos, db) > 0) {
		if (relaycdb_record_key(db, key, sizeof(key)) < 0 ||
		    tcprules_relay_record(rs, key, cfg->relayclient, want,
		    sizeof(want), &wlen) != 1)
			continue;	/* a static rule decides */
		if (cdb_find(&t.c, key, (unsigned)strlen(key)) <= 0) {
			fprintf(report, "missing %s in %s\n", key, path);
			diffs++;
		} else if (cdb_datalen(&t.c) != wlen ||
		    cdb_read(&t.c, got, wlen, cdb_datapos(&t.c)) < 0 ||
		    memcmp(got, want, wlen) != 0) {
			fprintf(report, "differs %s in %s\n", key, path);
			diffs++;
		}
	}
	cdb_seqinit(&pos, &t.c);
	while (cdb_seqnext(&pos, &t.c) > 0) {
		if (relaycdb_record_key(&t.c, key, sizeof(key)) < 0 ||
		    tcprules_find(rs, key, strlen(key)) != NULL)
			continue;
		if (cdb_find(db, key, (unsigned)strlen(key)) <= 0) {
			fprintf(report, "extra %s in %s (expired or revoked)\n",
			    key, path);
			diffs++;
		}
	}
	in_close(&t);
	return diffs;
}

int
snapverify_run(PGconn *conn, const struct config *cfg, FILE *report)
{
	struct verify_ctx v = { .cfg = cfg };
	struct tcprules_table rules = { 0 };
	struct cdb db;
	char err[512];
	int64_t now = 0, bad = 0;
	int fd, d, diffs = -1;

	fd = memfd_create("authrelay-verify", MFD_CLOEXEC);
	if (fd < 0 || cdb_make_start(&v.cm, fd) < 0) {
		fprintf(report, "error: memfd: %s\n", strerror(errno));
		goto out;
	}
	if (pgcopy_active(conn, verify_row, &v, &now, NULL, NULL, &bad, err,
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
	if (cfg->cdb_file[0] != '\0')
		diffs = verify_pair(&db, cfg, now, report);
	if (diffs >= 0 && cfg->tcp_cdb[0] != '\0') {
		if (cfg->tcp_rules[0] != '\0' && tcprules_load(cfg->tcp_rules,
		    &rules, NULL, NULL, err, sizeof(err)) < 0) {
			fprintf(report, "error: %s\n", err);
			diffs = -1;
		} else if ((d = verify_tcp(&db, cfg, &rules, report)) < 0)
			diffs = -1;
		else
			diffs += d;
	}
	cdb_free(&db);
out:
	tcprules_free(&rules);
	if (fd >= 0)
		close(fd);
	return diffs;
}
