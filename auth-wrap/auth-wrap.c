/* auth-wrap.c - set RELAYCLIENT for clients with an active relay, exec PROGRAM. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>	/* types only: libpq is dlopen()ed for lookup = db */

#include "config.h"
#include "ipaddr.h"
#include "relaycdb.h"

#define PROG "auth-wrap"
#define WHY_MAX 512		/* one backend's failure text */
#define LIBPQ_SONAME "libpq.so.5"

extern char **environ;

/* What one lookup found. */
enum found { FOUND_ERROR = -1, FOUND_NONE = 0, FOUND_RELAY = 1 };

static struct timespec deadline;	/* CLOCK_MONOTONIC */

static void
usage(void)
{
	fputs(PROG ": usage: auth-wrap program [arg ...]\n", stderr);
	exit(100);
}

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

/*
 * Our own settings and libpq's must not reach PROGRAM: it runs as the
 * same user and could otherwise learn where the database and its
 * password are.
 */
static void
scrub_environment(void)
{
	for (size_t i = 0; environ != NULL && environ[i] != NULL;) {
		const char *e = environ[i];
		const char *eq = strchr(e, '=');
		char *name;

		if (eq != NULL && (strncmp(e, "AUTHRELAY_", 10) == 0 ||
		    strncmp(e, "PG", 2) == 0) &&
		    (name = strndup(e, (size_t)(eq - e))) != NULL) {
			unsetenv(name);
			free(name);
			if (environ[i] != e)
				continue;	/* shifted down: look at i again */
		}
		i++;
	}
}

/* $TCPREMOTEIP, or $TCP6REMOTEIP (fefe/ucspi-tcp6); both must agree. */
static int
remote_ip(struct ipaddr *addr_r, char text_r[IPADDR_TEXT_MAX],
    const char **why_r)
{
	static const char *const names[] = { "TCPREMOTEIP", "TCP6REMOTEIP" };
	int have = 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = getenv(names[i]);
		struct ipaddr a;
		char t[IPADDR_TEXT_MAX];

		if (v == NULL)
			continue;
		if (ipaddr_parse(v, strlen(v), &a, why_r) < 0) {
			*why_r = i == 0 ? "bad TCPREMOTEIP" : "bad TCP6REMOTEIP";
			return -1;
		}
		ipaddr_format(&a, t);
		if (have && strcmp(t, text_r) != 0) {
			*why_r = "TCPREMOTEIP and TCP6REMOTEIP disagree";
			return -1;
		}
		*addr_r = a;
		memcpy(text_r, t, sizeof(t));
		have = 1;
	}
	if (!have)
		*why_r = "TCPREMOTEIP not set";
	return have ? 0 : -1;
}

/* Longest a grant may still run: guards against clock jumps, forgery. */
static int64_t
ttl_max_s(const struct config *cfg)
{
	return relaycdb_ttl_max(cfg->expire_ms, cfg->max_clock_skew_ms);
}

static enum found
lookup_cdb(const struct config *cfg, const char *ip,
    struct relaycdb_entry *e_r, char *why, size_t whylen)
{
	struct relaycdb_meta meta;
	struct stat st;
	const char *err = NULL;
	int64_t now = (int64_t)time(NULL);
	enum found res = FOUND_ERROR;
	int fd;

	if (cfg->cdb_file[0] == '\0') {
		snprintf(why, whylen, "cdb: cdb_file not configured");
		return FOUND_ERROR;
	}
	fd = open(cfg->cdb_file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(why, whylen, "cdb: open(%s): %s", cfg->cdb_file,
		    strerror(errno));
		return FOUND_ERROR;
	}
	/* Whoever can write the snapshot can open the relay. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		err = "not a regular file, or writable by group or others";
	else if (relaycdb_read_meta(fd, &meta, &err) < 0)
		;
	else if ((now - meta.built) * 1000 > cfg->cdb_max_age_ms)
		err = "snapshot older than cdb_max_age";
	else if ((meta.built - now) * 1000 > cfg->max_clock_skew_ms)
		err = "snapshot built in the future";
	else
		res = (enum found)relaycdb_lookup(fd, ip, e_r, &err);
	close(fd);
	if (res == FOUND_RELAY && !relaycdb_active(e_r, now, ttl_max_s(cfg),
	    &err))
		res = FOUND_NONE;	/* expired: exact, whatever the age */
	if (res == FOUND_ERROR)
		snprintf(why, whylen, "cdb: %s: %s", cfg->cdb_file, err);
	return res;
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
	const char *values[] = { PROG, "disable", cfg->lookup_database, NULL };
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

static enum found
lookup_db(const struct config *cfg, const char *ip,
    struct relaycdb_entry *e_r, char *why, size_t whylen)
{
	const char *err = NULL;
	char val[RELAYCDB_VALUE_MAX];
	enum found found = FOUND_ERROR;
	PGresult *res;
	PGconn *conn;
	int64_t expires;
	char *end;

	if (cfg->lookup_database[0] == '\0') {
		snprintf(why, whylen, "db: lookup_database not configured");
		return FOUND_ERROR;
	}
	if (pq_load(&err) < 0) {
		snprintf(why, whylen, "db: %s: %s", err, dlerror());
		return FOUND_ERROR;
	}
	if ((conn = db_connect(cfg, why, whylen)) == NULL)
		return FOUND_ERROR;
	if ((res = db_query(conn, ip, why, whylen)) != NULL) {
		found = FOUND_NONE;
		if (pq.PQntuples(res) == 1) {
			/* same record format and checks as the cdb path */
			errno = 0;
			expires = strtoll(pq.PQgetvalue(res, 0, 0), &end, 10);
			if (errno != 0 || *end != '\0' ||
			    relaycdb_format(expires, pq.PQgetvalue(res, 0, 1),
			    val, sizeof(val)) < 0 ||
			    relaycdb_parse(val, strlen(val), e_r, &err) < 0) {
				snprintf(why, whylen, "db: bad row for %s", ip);
				found = FOUND_ERROR;
			} else if (relaycdb_active(e_r, (int64_t)time(NULL),
			    ttl_max_s(cfg), &err))
				found = FOUND_RELAY;
		}
		pq.PQclear(res);
	}
	pq.PQfinish(conn);	/* closes the socket before exec */
	return found;
}

/* Try each configured backend in turn until one answers. */
static enum found
lookup(const struct config *cfg, const char *ip,
    struct relaycdb_entry *e_r, char *why, size_t whylen)
{
	char one[WHY_MAX];
	size_t used = 0;

	why[0] = '\0';
	for (size_t i = 0; i < cfg->lookup.count; i++) {
		const char *b = cfg->lookup.items[i];
		enum found f;

		if (strcmp(b, "cdb") == 0)
			f = lookup_cdb(cfg, ip, e_r, one, sizeof(one));
		else if (strcmp(b, "db") == 0)
			f = lookup_db(cfg, ip, e_r, one, sizeof(one));
		else {
			snprintf(one, sizeof(one), "unknown lookup '%s'", b);
			f = FOUND_ERROR;
		}
		if (f != FOUND_ERROR)
			return f;
		if (used < whylen) {
			int n = snprintf(why + used, whylen - used, "%s%s",
			    used > 0 ? "; " : "", one);
			used += n > 0 ? (size_t)n : 0;
		}
	}
	if (cfg->lookup.count == 0)
		snprintf(why, whylen, "lookup is empty");
	return FOUND_ERROR;
}

/* Look the client up and set RELAYCLIENT/RELAYUSER; warn on failure. */
static void
decide(void)
{
	struct config cfg;
	struct relaycdb_entry entry;
	struct ipaddr addr;
	char ip[IPADDR_TEXT_MAX];
	char cerr[CONFIG_ERROR_MAX];
	char why[2 * WHY_MAX];
	const char *err;

	if (config_load(config_path(NULL), 0, &cfg, cerr) < 0) {
		fprintf(stderr, PROG ": warning: no relay check: %s\n", cerr);
		return;
	}
	set_deadline(cfg.lookup_deadline_ms);
	if (remote_ip(&addr, ip, &err) < 0) {
		fprintf(stderr, PROG ": warning: no relay check: %s\n", err);
	} else if (config_never_relay(&cfg, &addr, &err)) {
		;	/* never relays, whatever any table says */
	} else {
		switch (lookup(&cfg, ip, &entry, why, sizeof(why))) {
		case FOUND_RELAY:
			if (setenv("RELAYCLIENT", cfg.relayclient, 1) < 0 ||
			    (cfg.relayuser &&
			    setenv("RELAYUSER", entry.user, 1) < 0)) {
				unsetenv("RELAYCLIENT");
				fprintf(stderr, PROG ": warning: no relay for "
				    "%s: out of memory\n", ip);
			}
			break;
		case FOUND_NONE:
			break;
		case FOUND_ERROR:
			fprintf(stderr, PROG ": warning: no relay check for "
			    "%s: %s\n", ip, why);
			break;
		}
	}
	if (cfg.lookup_database != NULL)
		explicit_bzero(cfg.lookup_database,
		    strlen(cfg.lookup_database));
	if (cfg.database != NULL)
		explicit_bzero(cfg.database, strlen(cfg.database));
	config_free(&cfg);
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	/* tcprules already allowed it: the administrator decided. */
	if (getenv("RELAYCLIENT") == NULL)
		decide();
	scrub_environment();
	execvp(argv[1], argv + 1);
	fprintf(stderr, PROG ": fatal: unable to run %s: %s\n", argv[1],
	    strerror(errno));
	return 111;
}
