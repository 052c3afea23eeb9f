/* relaylookup.c - may this client relay now? The one answer auth-wrap and authrelay-policy share. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>	/* types only: libpq is dlopen()ed for lookup = db */

#include "pgpass.h"
#include "relaylookup.h"

#define LIBPQ_SONAME "libpq.so.5"
#define ONE_WHY_MAX 480		/* one backend's failure text */

/* The whole lookup's deadline, CLOCK_MONOTONIC. */
static struct timespec deadline;

/* Milliseconds left before the deadline (0 when past it). */
static int
ms_left(void)
{
	struct timespec now;
	int64_t ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (int64_t)(deadline.tv_sec - now.tv_sec) * 1000 +
	    (deadline.tv_nsec - now.tv_nsec) / 1000000;
	return ms <= 0 ? 0 : ms > INT32_MAX ? INT32_MAX : (int)ms;
}

static void
set_deadline(int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
}

/* Longest a grant may still run: guards against clock jumps, forgery. */
static int64_t
ttl_max_s(const struct config *cfg)
{
	return relaycdb_ttl_max(cfg->expire_ms, cfg->max_clock_skew_ms);
}

/*
 * Is uid root or the watcher's user (cfg->user)? The name is looked up
 * once per process: both files have the same owner.
 */
static int
trusted_owner(uid_t uid, const struct config *cfg)
{
	static char looked_up[64];
	static uid_t watcher_uid;
	static int known;
	struct passwd pw, *found = NULL;
	char buf[1024];

	if (uid == 0)
		return 1;
	if (cfg->user == NULL || cfg->user[0] == '\0')
		return 0;
	if (!known || strcmp(looked_up, cfg->user) != 0) {
		known = 0;
		if (strlen(cfg->user) >= sizeof(looked_up) ||
		    getpwnam_r(cfg->user, &pw, buf, sizeof(buf), &found) != 0 ||
		    found == NULL)
			return 0;
		snprintf(looked_up, sizeof(looked_up), "%s", cfg->user);
		watcher_uid = pw.pw_uid;
		known = 1;
	}
	return watcher_uid == uid;
}

/* Whoever can write the snapshot can open the relay. */
int
relaylookup_check_file(int fd, const struct config *cfg, const char **why_r)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		*why_r = "fstat failed";
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*why_r = "not a regular file";
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		*why_r = "writable by group or others";
		return -1;
	}
	if (!trusted_owner(st.st_uid, cfg)) {
		*why_r = "owned by neither root nor the watcher's user";
		return -1;
	}
	return 0;
}

/*
 * Open a snapshot file without ever blocking (a FIFO planted there opens
 * at once and is then refused as not regular). -1 with errno kept for
 * ENOENT, or with *why_r.
 */
static int
open_checked(const char *path, const struct config *cfg,
    struct relaycdb_meta *meta_r, const char *meta_key, const char **why_r)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY);

	if (fd < 0) {
		*why_r = strerror(errno);
		return -1;
	}
	if (relaylookup_check_file(fd, cfg, why_r) < 0 ||
	    relaycdb_read_meta(fd, meta_key, meta_r, why_r) < 0) {
		close(fd);
		errno = 0;
		return -1;
	}
	return fd;
}

/* Is a snapshot built at built (unix s) fresh enough at now? */
static const char *
age_problem(const struct config *cfg, int64_t built, int64_t now)
{
	if ((now - built) * 1000 > cfg->cdb_max_age_ms)
		return "snapshot older than cdb_max_age";
	if ((built - now) * 1000 > cfg->max_clock_skew_ms)
		return "snapshot built in the future";
	return NULL;
}

/*
 * One attempt at reading the pair. The delta is opened first: it names
 * the base(s) it belongs to, and the writer replaces the base only while
 * the delta on disk names both the old and the new one. A delta is
 * trusted only with a base it names: its records may be older than
 * another base's. 1/0/-1 as relaycdb_lookup; -2 when the files did not
 * belong together (read again).
 */
static int
cdb_pair_lookup(const struct config *cfg, const char *delta_path,
    const char *ip, int64_t now, struct relaycdb_entry *e_r,
    const char **err_r, const char **which_r)
{
	struct relaycdb_meta dmeta, bmeta;
	int dfd, bfd, r;

	*which_r = delta_path;
	dfd = open_checked(delta_path, cfg, &dmeta, RELAYCDB_DELTA_KEY, err_r);
	if (dfd < 0 && errno != ENOENT)
		return -1;
	*which_r = cfg->cdb_file;
	bfd = open_checked(cfg->cdb_file, cfg, &bmeta, RELAYCDB_META_KEY, err_r);
	if (bfd < 0) {
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	if (dfd < 0) {
		/* a base alone (authrelayctl export-cdb): its age counts */
		r = (*err_r = age_problem(cfg, bmeta.built, now)) != NULL ? -1 :
		    relaycdb_lookup(bfd, ip, e_r, err_r);
		close(bfd);
		return r;
	}
	*which_r = delta_path;
	if (bmeta.ids != 1 || !relaycdb_meta_has_id(&dmeta, bmeta.id[0])) {
		*err_r = "delta does not belong to this base";
		r = -2;
	} else if ((*err_r = age_problem(cfg, dmeta.built, now)) != NULL)
		r = -1;
	else if ((r = relaycdb_lookup(dfd, ip, e_r, err_r)) == 0) {
		*which_r = cfg->cdb_file;	/* not in the delta: the base decides */
		r = relaycdb_lookup(bfd, ip, e_r, err_r);
	}
	close(bfd);
	close(dfd);
	return r;
}

static enum relaylookup_found
lookup_cdb(const struct config *cfg, const char *ip,
    struct relaycdb_entry *e_r, char *why, size_t whylen)
{
	char delta[4096];
	const char *err = NULL, *which = cfg->cdb_file;
	int64_t now = (int64_t)time(NULL);
	int r = -1;

	if (cfg->cdb_file[0] == '\0') {
		snprintf(why, whylen, "cdb: cdb_file not configured");
		return RELAYLOOKUP_ERROR;
	}
	if ((size_t)snprintf(delta, sizeof(delta), "%s%s", cfg->cdb_file,
	    RELAYCDB_DELTA_SUFFIX) >= sizeof(delta)) {
		snprintf(why, whylen, "cdb: cdb_file path too long");
		return RELAYLOOKUP_ERROR;
	}
	/* A base replaced between our two opens: read the pair again. */
	for (int attempt = 0; attempt < 3 && ms_left() > 0; attempt++)
		if ((r = cdb_pair_lookup(cfg, delta, ip, now, e_r, &err,
		    &which)) != -2)
			break;
	if (r == 1 && !relaycdb_active(e_r, now, ttl_max_s(cfg), &err))
		r = 0;	/* expired or revoked: exact, whatever the age */
	if (r < 0) {
		snprintf(why, whylen, "cdb: %.*s: %s", 300, which, err);
		return RELAYLOOKUP_ERROR;
	}
	return r == 1 ? RELAYLOOKUP_RELAY : RELAYLOOKUP_NONE;
}

/* The few libpq calls we make, resolved at run time. */
#define PQ_FN(name) __typeof__(name) *name
static struct pq_api {
	PQ_FN(PQconnectStartParams);
	PQ_FN(PQconnectPoll);
	PQ_FN(PQstatus);
	PQ_FN(PQsocket);
	PQ_FN(PQerrorMessage);
	PQ_FN(PQsetnonblocking);
	PQ_FN(PQsendQueryParams);
	PQ_FN(PQflush);
	PQ_FN(PQconsumeInput);
	PQ_FN(PQisBusy);
	PQ_FN(PQgetResult);
	PQ_FN(PQresultStatus);
	PQ_FN(PQresultErrorMessage);
	PQ_FN(PQntuples);
	PQ_FN(PQgetvalue);
	PQ_FN(PQclear);
	PQ_FN(PQfinish);
} pq;

#define PQ_SYM(name) { #name, offsetof(struct pq_api, name) }
static const struct { const char *name; size_t offset; } pq_syms[] = {
	PQ_SYM(PQconnectStartParams), PQ_SYM(PQconnectPoll),
	PQ_SYM(PQstatus), PQ_SYM(PQsocket), PQ_SYM(PQerrorMessage),
	PQ_SYM(PQsetnonblocking), PQ_SYM(PQsendQueryParams),
	PQ_SYM(PQflush), PQ_SYM(PQconsumeInput), PQ_SYM(PQisBusy),
	PQ_SYM(PQgetResult), PQ_SYM(PQresultStatus),
	PQ_SYM(PQresultErrorMessage), PQ_SYM(PQntuples), PQ_SYM(PQgetvalue),
	PQ_SYM(PQclear), PQ_SYM(PQfinish),
};

/* Load libpq only on the db path: linking it costs ~3.5 ms per exec. */
static int
pq_load(const char **why_r)
{
	static void *lib;

	if (lib != NULL)
		return 0;
	if ((lib = dlopen(LIBPQ_SONAME, RTLD_LAZY | RTLD_LOCAL)) == NULL) {
		*why_r = "cannot load " LIBPQ_SONAME;
		return -1;
	}
	for (size_t i = 0; i < sizeof(pq_syms) / sizeof(pq_syms[0]); i++) {
		void *sym = dlsym(lib, pq_syms[i].name);

		if (sym == NULL) {
			*why_r = "symbol missing from " LIBPQ_SONAME;
			return -1;
		}
		memcpy((char *)&pq + pq_syms[i].offset, &sym, sizeof(sym));
	}
	return 0;
}

/* Wait for events on fd until the deadline: 1 ready, 0 timed out. */
static int
wait_fd(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	do {
		r = poll(&p, 1, ms_left());
	} while (r < 0 && errno == EINTR);
	return r > 0;
}

/* Copy libpq's message without its trailing newline. */
static void
pq_why(char *why, size_t whylen, const char *what, const char *msg)
{
	size_t len = strcspn(msg, "\n");

	snprintf(why, whylen, "db: %s: %.*s", what, (int)len, msg);
}

/* Non-blocking connect under our own deadline (connect_timeout >= 2 s). */
static PGconn *
db_connect(const struct config *cfg, char *why, size_t whylen)
{
	/* defaults first: a conninfo in lookup_database overrides them */
	static const char *const keys[] = { "application_name", "gssencmode",
	    "dbname", NULL };
	const char *values[] = { "authrelay-lookup", "disable",
	    cfg->lookup_database, NULL };
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	PGconn *conn = pq.PQconnectStartParams(keys, values, 1);

	if (conn == NULL || pq.PQstatus(conn) == CONNECTION_BAD) {
		pq_why(why, whylen, "connect", conn != NULL ?
		    pq.PQerrorMessage(conn) : "out of memory");
		goto fail;
	}
	while (st != PGRES_POLLING_OK) {
		if (st == PGRES_POLLING_FAILED) {
			pq_why(why, whylen, "connect", pq.PQerrorMessage(conn));
			goto fail;
		}
		if (!wait_fd(pq.PQsocket(conn),
		    st == PGRES_POLLING_READING ? POLLIN : POLLOUT)) {
			snprintf(why, whylen, "db: connect: timed out after %lld ms",
			    (long long)cfg->lookup_deadline_ms);
			goto fail;
		}
		st = pq.PQconnectPoll(conn);
	}
	return conn;
fail:
	if (conn != NULL)
		pq.PQfinish(conn);
	return NULL;
}

/* Send the query and wait for the whole answer under the deadline. */
static PGresult *
db_query(PGconn *conn, const char *ip, char *why, size_t whylen)
{
	static const char query[] =
	    "SELECT floor(extract(epoch FROM expires_at))::bigint, username"
	    " FROM relay WHERE ip = $1::inet AND expires_at > now()";
	const char *params[1] = { ip };
	PGresult *res, *last = NULL;
	int r;

	if (pq.PQsetnonblocking(conn, 1) < 0 ||
	    !pq.PQsendQueryParams(conn, query, 1, NULL, params, NULL, NULL, 0)) {
		pq_why(why, whylen, "query", pq.PQerrorMessage(conn));
		return NULL;
	}
	while ((r = pq.PQflush(conn)) == 1 || pq.PQisBusy(conn)) {
		if (r < 0 || !wait_fd(pq.PQsocket(conn),
		    r == 1 ? POLLOUT | POLLIN : POLLIN)) {
			snprintf(why, whylen, "db: query: %s", r < 0 ?
			    "send failed" : "timed out");
			return NULL;
		}
		if (!pq.PQconsumeInput(conn)) {
			pq_why(why, whylen, "query", pq.PQerrorMessage(conn));
			return NULL;
		}
	}
	while ((res = pq.PQgetResult(conn)) != NULL) {
		if (last != NULL)
			pq.PQclear(last);
		last = res;
	}
	if (last == NULL || pq.PQresultStatus(last) != PGRES_TUPLES_OK) {
		pq_why(why, whylen, "query", last != NULL ?
		    pq.PQresultErrorMessage(last) : pq.PQerrorMessage(conn));
		if (last != NULL)
			pq.PQclear(last);
		return NULL;
	}
	return last;
}

/* A row of the query, through the same record format and checks as a cdb. */
static enum relaylookup_found
db_row(const struct config *cfg, PGresult *res, const char *ip,
    struct relaycdb_entry *e_r, char *why, size_t whylen)
{
	char val[RELAYCDB_VALUE_MAX];
	const char *err = NULL;
	int64_t expires;
	char *end;

	if (pq.PQntuples(res) != 1)
		return RELAYLOOKUP_NONE;
	errno = 0;
	expires = strtoll(pq.PQgetvalue(res, 0, 0), &end, 10);
	if (errno != 0 || *end != '\0' ||
	    relaycdb_format(expires, pq.PQgetvalue(res, 0, 1), val,
	    sizeof(val)) < 0 ||
	    relaycdb_parse(val, strlen(val), e_r, &err) < 0) {
		snprintf(why, whylen, "db: bad row for %s", ip);
		return RELAYLOOKUP_ERROR;
	}
	return relaycdb_active(e_r, (int64_t)time(NULL), ttl_max_s(cfg), &err) ?
	    RELAYLOOKUP_RELAY : RELAYLOOKUP_NONE;
}

static enum relaylookup_found
lookup_db(const struct config *cfg, const char *ip,
    struct relaycdb_entry *e_r, char *why, size_t whylen)
{
	enum relaylookup_found found = RELAYLOOKUP_ERROR;
	char pgwhy[PGPASS_WHY_MAX];
	const char *err = NULL;
	PGresult *res;
	PGconn *conn;

	if (cfg->lookup_database[0] == '\0') {
		snprintf(why, whylen, "db: lookup_database not configured");
		return RELAYLOOKUP_ERROR;
	}
	if (pgpass_check(cfg->lookup_database, pgwhy) < 0) {
		snprintf(why, whylen, "db: %.400s", pgwhy);
		return RELAYLOOKUP_ERROR;
	}
	if (pq_load(&err) < 0) {
		snprintf(why, whylen, "db: %s: %s", err, dlerror());
		return RELAYLOOKUP_ERROR;
	}
	if ((conn = db_connect(cfg, why, whylen)) == NULL)
		return RELAYLOOKUP_ERROR;
	if ((res = db_query(conn, ip, why, whylen)) != NULL) {
		found = db_row(cfg, res, ip, e_r, why, whylen);
		pq.PQclear(res);
	}
	pq.PQfinish(conn);	/* closes the socket before any exec */
	return found;
}

enum relaylookup_found
relaylookup(const struct config *cfg, const struct ipaddr *addr,
    const char *ip, struct relaycdb_entry *e_r, char why[RELAYLOOKUP_WHY_MAX])
{
	char one[ONE_WHY_MAX];
	const char *never;
	size_t used = 0;

	why[0] = '\0';
	set_deadline(cfg->lookup_deadline_ms);
	if (config_never_relay(cfg, addr, &never))
		return RELAYLOOKUP_NONE;	/* whatever any table says */
	for (size_t i = 0; i < cfg->lookup.count; i++) {
		const char *b = cfg->lookup.items[i];
		enum relaylookup_found f;

		if (strcmp(b, "cdb") == 0)
			f = lookup_cdb(cfg, ip, e_r, one, sizeof(one));
		else if (strcmp(b, "db") == 0)
			f = lookup_db(cfg, ip, e_r, one, sizeof(one));
		else {
			snprintf(one, sizeof(one), "unknown lookup '%s'", b);
			f = RELAYLOOKUP_ERROR;
		}
		if (f != RELAYLOOKUP_ERROR)
			return f;
		if (used < RELAYLOOKUP_WHY_MAX) {
			int n = snprintf(why + used, RELAYLOOKUP_WHY_MAX - used,
			    "%s%s", used > 0 ? "; " : "", one);
			used += n > 0 ? (size_t)n : 0;
		}
	}
	if (cfg->lookup.count == 0)
		snprintf(why, RELAYLOOKUP_WHY_MAX, "lookup is empty");
	return RELAYLOOKUP_ERROR;
}
