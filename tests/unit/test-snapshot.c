/* test-snapshot.c - base + delta files as auth-wrap reads them: grant, extend, revoke, expire, re-base, crash, mismatch. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cdb.h>

#include "atomicfile.h"
#include "config.h"
#include "harness.h"
#include "relaylookup.h"
#include "../../watcher/deltamap.h"
#include "../../watcher/pgsnap.h"
#include "../../watcher/snapwrite.h"

#define ID_A "aaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbb"

static char dir[64];
static struct config cfg;
static int64_t now;

/* A base as the rebase child writes it: relays "ip expires user"... */
static void
write_base(const char *path, const char *id, const char *const *rows)
{
	struct atomicfile af;
	struct cdb_make cm;
	char val[RELAYCDB_VALUE_MAX], err[256];
	const char *ids[1] = { id };
	int count = 0, n;

	CHECK(atomicfile_open(&af, path, 0644, err, sizeof(err)) == 0);
	CHECK(cdb_make_start(&cm, af.fd) == 0);
	for (; rows != NULL && rows[0] != NULL; rows += 3, count++) {
		n = relaycdb_format(strtoll(rows[1], NULL, 10), rows[2], val,
		    sizeof(val));
		cdb_make_add(&cm, rows[0], (unsigned)strlen(rows[0]), val,
		    (unsigned)n);
	}
	n = relaycdb_format_meta(now, count, ids, 1, val, sizeof(val));
	cdb_make_add(&cm, RELAYCDB_META_KEY, strlen(RELAYCDB_META_KEY), val,
	    (unsigned)n);
	cdb_make_add(&cm, SNAPWRITE_PGSNAP_KEY, strlen(SNAPWRITE_PGSNAP_KEY),
	    "100:105:101,103", 15);
	CHECK(cdb_make_finish(&cm) == 0);
	CHECK(atomicfile_commit(&af, err, sizeof(err)) == 0);
}

static void
write_delta(const struct deltamap *m, const char *id1, const char *id2)
{
	const char *ids[2] = { id1, id2 };
	char err[256];

	CHECK(snapwrite_delta(&cfg, m, now, ids, id2 != NULL ? 2 : 1, err,
	    sizeof(err)) == 0);
}

/* "relay USER", "none" or "error" for ip. */
static const char *
decide(const char *ip)
{
	static char out[RELAYCDB_USER_MAX + 16];
	char why[RELAYLOOKUP_WHY_MAX];
	struct relaycdb_entry e;
	struct ipaddr addr;
	const char *err;

	CHECK(ipaddr_parse(ip, strlen(ip), &addr, &err) == 0);
	switch (relaylookup(&cfg, &addr, ip, &e, why)) {
	case RELAYLOOKUP_RELAY:
		snprintf(out, sizeof(out), "relay %s", e.user);
		return out;
	case RELAYLOOKUP_NONE:
		return "none";
	default:
		return "error";
	}
}

#define DECIDES(ip, want) do { \
	const char *got_ = decide(ip); \
	CHECK(strcmp(got_, want) == 0); \
	if (strcmp(got_, want) != 0) \
		fprintf(stderr, "  %s: want [%s], got [%s]\n", ip, want, got_); \
} while (0)

static char *
num(int64_t v)
{
	static char bufs[8][24];
	static int i;

	i = (i + 1) % 8;
	snprintf(bufs[i], sizeof(bufs[i]), "%lld", (long long)v);
	return bufs[i];
}

static void
test_grant_extend_revoke_expire(void)
{
	const char *base[] = { "192.0.2.1", num(now + 600), "anne",
	    "192.0.2.2", num(now + 600), "bert", NULL };
	struct deltamap m;

	deltamap_init(&m);
	write_base(cfg.cdb_file, ID_A, base);
	write_delta(&m, ID_A, NULL);
	DECIDES("192.0.2.1", "relay anne");
	DECIDES("192.0.2.9", "none");

	/* grant: a new login reaches the delta */
	CHECK(deltamap_set(&m, "192.0.2.9", now + 600, "carl", 106) == 1);
	write_delta(&m, ID_A, NULL);
	DECIDES("192.0.2.9", "relay carl");

	/* extend: the later login's user and expiry */
	CHECK(deltamap_set(&m, "192.0.2.1", now + 1200, "anna", 107) == 1);
	write_delta(&m, ID_A, NULL);
	DECIDES("192.0.2.1", "relay anna");
	/* an older version of a row read late changes nothing */
	CHECK(deltamap_set(&m, "192.0.2.1", now + 300, "old", 104) == 0);

	/* revoke: a tombstone hides the base's record */
	CHECK(deltamap_set(&m, "192.0.2.2", 0, "-", 108) == 1);
	write_delta(&m, ID_A, NULL);
	DECIDES("192.0.2.2", "none");
	DECIDES("192.0.2.1", "relay anna");

	/* expire: exact at lookup time, whatever the files' age */
	CHECK(deltamap_set(&m, "192.0.2.9", now - 1, "carl", 109) == 1);
	write_delta(&m, ID_A, NULL);
	DECIDES("192.0.2.9", "none");
	deltamap_free(&m);
}

static void
test_rebase(void)
{
	const char *base_a[] = { "192.0.2.1", num(now + 600), "anne",
	    "192.0.2.2", num(now + 600), "bert", NULL };
	/* B saw the revoke of .2 (txid 108) and the grant of .3 (106) */
	const char *base_b[] = { "192.0.2.1", num(now + 600), "anne",
	    "192.0.2.3", num(now + 600), "cleo", NULL };
	char tmp[ATOMICFILE_PATH_MAX], err[256];
	struct pgsnap seen_by_b;
	struct deltamap m;

	deltamap_init(&m);
	write_base(cfg.cdb_file, ID_A, base_a);
	CHECK(deltamap_set(&m, "192.0.2.2", 0, "-", 108) == 1);
	CHECK(deltamap_set(&m, "192.0.2.3", now + 600, "cleo", 106) == 1);
	/* a grant B did not see: it arrived while B was being read */
	CHECK(deltamap_set(&m, "192.0.2.4", now + 600, "dora", 112) == 1);
	write_delta(&m, ID_A, NULL);

	/* B is written under a temp name; the delta names both bases */
	snprintf(tmp, sizeof(tmp), "%s/.relay.cdb.tmp.b", dir);
	write_base(tmp, ID_B, base_b);
	write_delta(&m, ID_A, ID_B);
	DECIDES("192.0.2.2", "none");		/* A + superset */
	DECIDES("192.0.2.4", "relay dora");
	CHECK(atomicfile_install(tmp, cfg.cdb_file, err, sizeof(err)) == 0);
	DECIDES("192.0.2.2", "none");		/* B + superset */
	DECIDES("192.0.2.3", "relay cleo");
	DECIDES("192.0.2.4", "relay dora");

	/* then the changes B saw leave the delta; the rest stays */
	CHECK(pgsnap_parse("110:112:111", &seen_by_b) == 0);
	CHECK(deltamap_prune(&m, &seen_by_b) == 2);
	CHECK(m.count == 1);
	write_delta(&m, ID_B, NULL);
	DECIDES("192.0.2.2", "none");
	DECIDES("192.0.2.3", "relay cleo");
	DECIDES("192.0.2.4", "relay dora");
	pgsnap_free(&seen_by_b);
	deltamap_free(&m);
}

static void
test_crash_and_mismatch(void)
{
	const char *base_a[] = { "192.0.2.1", num(now + 600), "anne", NULL };
	const char *base_b[] = { "192.0.2.5", num(now + 600), "eddy", NULL };
	char tmp[ATOMICFILE_PATH_MAX], path[ATOMICFILE_PATH_MAX];
	struct deltamap m;
	int fd;

	deltamap_init(&m);
	CHECK(deltamap_set(&m, "192.0.2.1", 0, "-", 120) == 1);
	write_base(cfg.cdb_file, ID_A, base_a);
	write_delta(&m, ID_A, NULL);

	/* a writer killed between write and rename: a temp file, no change */
	snprintf(tmp, sizeof(tmp), "%s/.relay.cdb.delta.tmp.dead", dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
	CHECK(fd >= 0 && write(fd, "junk", 4) == 4);
	close(fd);
	DECIDES("192.0.2.1", "none");

	/* a delta that outlives its base: never trusted with another base */
	write_base(cfg.cdb_file, ID_B, base_b);
	DECIDES("192.0.2.1", "error");	/* the delta's tombstone: not used */
	DECIDES("192.0.2.5", "error");	/* the base's grant: not alone */

	/* a base alone is the snapshot (authrelayctl export-cdb) */
	CHECK(snapwrite_delta_path(&cfg, path, sizeof(path)) == 0);
	CHECK(unlink(path) == 0);
	DECIDES("192.0.2.5", "relay eddy");
	deltamap_free(&m);
}

static void
test_file_checks(void)
{
	const char *base_a[] = { "192.0.2.1", num(now + 600), "anne", NULL };
	char path[ATOMICFILE_PATH_MAX];
	struct deltamap m;

	deltamap_init(&m);
	write_base(cfg.cdb_file, ID_A, base_a);
	write_delta(&m, ID_A, NULL);
	CHECK(snapwrite_delta_path(&cfg, path, sizeof(path)) == 0);
	DECIDES("192.0.2.1", "relay anne");

	/* writable by group: whoever is in it could grant */
	CHECK(chmod(path, 0664) == 0);
	DECIDES("192.0.2.1", "error");
	CHECK(chmod(path, 0644) == 0);
	CHECK(chmod(cfg.cdb_file, 0646) == 0);
	DECIDES("192.0.2.1", "error");
	CHECK(chmod(cfg.cdb_file, 0644) == 0);

	/* a FIFO in the delta's place: refused at once, never waited on */
	CHECK(unlink(path) == 0 && mkfifo(path, 0644) == 0);
	DECIDES("192.0.2.1", "error");
	CHECK(unlink(path) == 0);

	/* owned by someone else (as root we can make such a file) */
	write_delta(&m, ID_A, NULL);
	if (geteuid() == 0) {
		CHECK(chown(path, 65534, 65534) == 0);
		DECIDES("192.0.2.1", "error");
	}
	/* stale: the delta's time is older than cdb_max_age */
	now -= cfg.cdb_max_age_ms / 1000 + 5;
	write_delta(&m, ID_A, NULL);
	now += cfg.cdb_max_age_ms / 1000 + 5;
	DECIDES("192.0.2.1", "error");
	deltamap_free(&m);
}

static void
test_pgsnap(void)
{
	struct pgsnap s, c = { 0 };
	char xmax[24], *arr;

	CHECK(pgsnap_parse("100:105:101,103", &s) == 0);
	CHECK(s.xmin == 100 && s.xmax == 105 && s.nxip == 2);
	CHECK(pgsnap_saw(&s, 99) && pgsnap_saw(&s, 100) && pgsnap_saw(&s, 102));
	CHECK(!pgsnap_saw(&s, 101) && !pgsnap_saw(&s, 103));
	CHECK(!pgsnap_saw(&s, 105) && !pgsnap_saw(&s, 200));
	arr = pgsnap_unseen_params(&s, xmax);
	CHECK(arr != NULL && strcmp(arr, "{101,103}") == 0 &&
	    strcmp(xmax, "105") == 0);
	free(arr);
	CHECK(pgsnap_copy(&c, &s) == 0 && c.nxip == 2 && c.xip != s.xip);
	pgsnap_free(&c);
	pgsnap_free(&s);
	CHECK(pgsnap_parse("7:7:", &s) == 0 && s.nxip == 0);
	arr = pgsnap_unseen_params(&s, xmax);
	CHECK(arr != NULL && strcmp(arr, "{}") == 0);
	free(arr);
	pgsnap_free(&s);
	CHECK(pgsnap_parse("9:7:", &s) == -1);		/* xmin > xmax */
	CHECK(pgsnap_parse("5:9:4", &s) == -1);		/* xip below xmin */
	CHECK(pgsnap_parse("5:9:9", &s) == -1);		/* xip at xmax */
	CHECK(pgsnap_parse("5:9:6,", &s) == -1);
	CHECK(pgsnap_parse("5:9", &s) == -1);
	CHECK(pgsnap_parse("x:9:", &s) == -1);
	CHECK(pgsnap_parse("99999999999999999999:9:", &s) == -1);
}

/*
 * A base merged from the one on disk and the delta: untouched relays
 * stay, the delta's state wins (a grant, a new user, a revoke), what
 * has expired or may never relay is left out, and only the base the
 * delta belongs to is merged.
 */
static void
test_merge(void)
{
	const char *base[] = { "192.0.2.1", num(now + 600), "anne",
	    "192.0.2.2", num(now + 600), "bert",
	    "192.0.2.3", num(now - 5), "cleo",
	    "192.0.2.4", num(now + 600), "dora",
	    "127.0.0.1", num(now + 600), "loop", NULL };
	char err[256], id[RELAYCDB_ID_LEN + 1], inst[PGCOPY_INSTANCE_MAX];
	char delta[160];
	struct deltamap m;
	struct pgsnap seen, bs;
	struct snapbase b;
	const char *why;
	int64_t count;

	snprintf(delta, sizeof(delta), "%s%s", cfg.cdb_file,
	    RELAYCDB_DELTA_SUFFIX);
	unlink(delta);
	write_base(cfg.cdb_file, ID_A, base);
	deltamap_init(&m);
	CHECK(deltamap_set(&m, "192.0.2.2", 0, "-", 200) == 1);
	CHECK(deltamap_set(&m, "192.0.2.4", now + 900, "dora2", 201) == 1);
	CHECK(deltamap_set(&m, "192.0.2.5", now + 900, "emil", 202) == 1);
	CHECK(deltamap_set(&m, "192.0.2.6", now - 1, "finn", 203) == 1);
	CHECK(pgsnap_parse("204:206:205", &seen) == 0);
	CHECK(snapwrite_merge_base(&cfg, ID_B, &m, &seen, now, "db1", now, &b,
	    err, sizeof(err)) < 0);	/* the delta is not of this base */
	CHECK(strstr(err, "not the base") != NULL);
	CHECK(snapwrite_merge_base(&cfg, ID_A, &m, &seen, now, "db1", now, &b,
	    err, sizeof(err)) == 0);
	CHECK(b.count == 3);	/* anne, dora2, emil */
	CHECK(snapwrite_read_base(b.tmp, &cfg, id, &count, &bs, inst,
	    &why) == 0);
	CHECK(count == 3 && strcmp(id, b.id) == 0 && strcmp(inst, "db1") == 0);
	CHECK(bs.xmin == 204 && bs.xmax == 206 && bs.nxip == 1 &&
	    bs.xip[0] == 205);
	CHECK(rename(b.tmp, cfg.cdb_file) == 0);
	DECIDES("192.0.2.1", "relay anne");
	DECIDES("192.0.2.2", "none");
	DECIDES("192.0.2.3", "none");
	DECIDES("192.0.2.4", "relay dora2");
	DECIDES("192.0.2.5", "relay emil");
	DECIDES("192.0.2.6", "none");
	pgsnap_free(&bs);
	pgsnap_free(&b.snap);
	pgsnap_free(&seen);
	deltamap_free(&m);
}

static void
test_deltamap_growth(void)
{
	struct deltamap m;
	struct pgsnap all;
	char ip[32];

	deltamap_init(&m);
	for (int i = 0; i < 5000; i++) {
		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 256, i % 256);
		CHECK(deltamap_set(&m, ip, now + i, "u", (uint64_t)(1000 + i)) == 1);
	}
	CHECK(m.count == 5000);
	CHECK(deltamap_set(&m, "10.0.19.135", now + 1, "u", 999) == 0);
	CHECK(pgsnap_parse("3500:3500:", &all) == 0);
	CHECK(deltamap_prune(&m, &all) == 2500);	/* txids 1000..3499 */
	CHECK(m.count == 2500);
	pgsnap_free(&all);
	deltamap_free(&m);
}

int
main(void)
{
	struct passwd *pw = getpwuid(geteuid());
	char path[128];

	snprintf(dir, sizeof(dir), "/tmp/test-snapshot.XXXXXX");
	if (mkdtemp(dir) == NULL || pw == NULL) {
		perror("mkdtemp");
		return 1;
	}
	now = (int64_t)time(NULL);
	config_defaults(&cfg);
	snprintf(path, sizeof(path), "%s/relay.cdb", dir);
	free(cfg.cdb_file);
	cfg.cdb_file = strdup(path);
	free(cfg.user);
	cfg.user = strdup(pw->pw_name);	/* the snapshot's owner */

	test_pgsnap();
	test_deltamap_growth();
	test_grant_extend_revoke_expire();
	test_rebase();
	test_crash_and_mismatch();
	test_file_checks();
	test_merge();

	config_free(&cfg);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	if (system(path) != 0)
		perror(path);
	return harness_done();
}
