/* store.c - the watcher's PostgreSQL connection: never blocks the main loop. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "log.h"
#include "schema.h"
#include "store.h"
#include "strbuf.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 10000
#define CONNECT_DEADLINE_MS 10000
#define QUERY_DEADLINE_MS 30000

/*
 * One statement, one transaction: an audit row per event, and one relay
 * upsert per granted address (the latest login wins the user fields, the
 * later expiry wins, logins add up). Times come from the database clock
 * less the time each event waited in our queue ($6, seconds). A line
 * counts as re-delivered if the same line was recorded within the last
 * day (or expire, if longer), an hour of clock difference between this
 * host and the database allowed for, or if it is twice in one batch
 * (omprog re-deliveries). The bounds come from this host's clock ($10,
 * Unix seconds) through to_timestamp(), which is immutable: PostgreSQL
 * then picks the one or two day partitions of login_event while
 * planning, instead of planning every day kept and pruning later. The
 * check is a LATERAL ... LIMIT 1, one line_hash index probe per event:
 * as an EXISTS the planner may hash the whole day's partition instead
 * (it did, on a partition not yet analysed), a cost that grows with the
 * audit trail rather than with the batch.
 * A login older than a revocation of its address (a tombstone, from any
 * host) is recorded as ignored, reason "revoked": a slow host never
 * undoes a revoke.
 */
/* handover.h: other sessions of ours still writing (NULL state: not ours to see). */
#define STORE_HANDOVER_SQL \
"SELECT count(*) FROM pg_stat_activity WHERE application_name = ANY ($1::text[])" \
" AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction'," \
" 'idle in transaction (aborted)', 'fastpath function call')"

static const char batch_sql[] =
"WITH ev AS ("
"  SELECT e.ip, e.username, e.parser, e.service, e.h,"
"         e.redelivered OR seen.h IS NOT NULL"
"           OR row_number() OVER (PARTITION BY e.h ORDER BY e.n) > 1"
"           AS redelivered,"
"         now() - e.age * interval '1 second' AS at,"
"         CASE WHEN e.reason <> '' THEN e.reason"
"              WHEN EXISTS (SELECT 1 FROM relay_tombstone t WHERE t.ip = e.ip"
"                           AND t.revoked_at >= now() - e.age * interval '1 second')"
"              THEN 'revoked' ELSE '' END AS reason"
"  FROM unnest($1::inet[], $2::text[], $3::text[], $4::text[], $5::text[],"
"              $6::float8[], $7::boolean[], $9::bigint[]) WITH ORDINALITY"
"       AS e(ip, username, parser, service, reason, age, redelivered, h, n)"
"  LEFT JOIN LATERAL (SELECT le.line_hash AS h FROM login_event le"
"    WHERE le.line_hash = e.h"
"      AND le.at > to_timestamp($10::float8 - 3600 -"
"                               greatest($8::float8, 86400000) / 1000)"
"      AND le.at < to_timestamp($10::float8 + 3600)"
"    LIMIT 1) seen ON true"
"), audit AS ("
"  INSERT INTO login_event (at, ip, username, parser, service, outcome,"
"                           reason, expires_at, redelivered, line_hash)"
"  SELECT at, ip, username, parser, service,"
"         CASE WHEN reason = '' THEN 'granted' ELSE 'ignored' END,"
"         NULLIF(reason, ''),"
"         CASE WHEN reason = '' THEN at + $8::float8 * interval '1 millisecond' END,"
"         redelivered, h"
"  FROM ev"
"), grants AS ("
"  SELECT DISTINCT ON (ip) ip, username, parser, service, at,"
"         count(*) FILTER (WHERE NOT redelivered) OVER (PARTITION BY ip) AS n"
"  FROM ev WHERE reason = '' ORDER BY ip, at DESC"
")"
"INSERT INTO relay AS r (ip, username, parser, service, first_seen,"
"                        last_seen, expires_at, logins)"
"SELECT ip, username, parser, service, at, at,"
"       at + $8::float8 * interval '1 millisecond', n FROM grants "
"ON CONFLICT (ip) DO UPDATE SET"
"  username = CASE WHEN EXCLUDED.last_seen >= r.last_seen"
"                  THEN EXCLUDED.username ELSE r.username END,"
"  parser = CASE WHEN EXCLUDED.last_seen >= r.last_seen"
"                THEN EXCLUDED.parser ELSE r.parser END,"
"  service = CASE WHEN EXCLUDED.last_seen >= r.last_seen"
"                 THEN EXCLUDED.service ELSE r.service END,"
"  last_seen = GREATEST(r.last_seen, EXCLUDED.last_seen),"
"  expires_at = GREATEST(r.expires_at, EXCLUDED.expires_at),"
"  logins = r.logins + EXCLUDED.logins";

struct store {
	char *conninfo;
	char *appname;
	PGconn *conn;
	enum store_state state;
	PostgresPollingStatusType polling;
	int64_t deadline_ms;	/* connect or query deadline */
	int64_t retry_ms;	/* when DOWN: next attempt */
	int64_t backoff_ms;
	enum store_job job;
	size_t job_events;
	struct strbuf arrays[8];
	unsigned session;	/* this connection's number */
	char last_error[256];
	uint64_t connects;	/* sessions established (metrics) */
	unsigned first_host;	/* multi-host conninfo: where attempts start */
};

struct store *
store_new(const char *conninfo, const char *appname)
{
	struct store *st = calloc(1, sizeof(*st));

	if (st == NULL || (st->conninfo = strdup(conninfo)) == NULL ||
	    (st->appname = strdup(appname)) == NULL) {
		if (st != NULL)
			free(st->conninfo);
		free(st);
		return NULL;
	}
	st->state = STORE_DOWN;
	st->backoff_ms = BACKOFF_MIN_MS;
	return st;
}

void
store_free(struct store *st)
{
	if (st == NULL)
		return;
	if (st->conn != NULL)
		PQfinish(st->conn);
	for (size_t i = 0; i < sizeof(st->arrays) / sizeof(st->arrays[0]); i++)
		strbuf_free(&st->arrays[i]);
	free(st->conninfo);
	free(st->appname);
	free(st);
}

enum store_state
store_state(const struct store *st)
{
	return st->state;
}

/* One line, no newline, for logs. */
static const char *
pg_error(PGconn *conn)
{
	static char text[256];
	const char *msg = conn != NULL ? PQerrorMessage(conn) : "out of memory";
	size_t n = strcspn(msg, "\n");

	snprintf(text, sizeof(text), "%.*s", (int)n, msg);
	return text;
}

static void
store_reset(struct store *st, int64_t now_ms, const char *why)
{
	if (st->state != STORE_DOWN || st->conn != NULL)
		log_err("event=db_down error=\"%s\" retry_ms=%lld", why,
		    (long long)st->backoff_ms);
	if (st->conn != NULL)
		PQfinish(st->conn);
	st->conn = NULL;
	st->state = STORE_DOWN;
	st->job = STORE_JOB_NONE;
	/* Exponential back-off with jitter, capped. */
	st->retry_ms = now_ms + st->backoff_ms / 2 +
	    (int64_t)(random() % (st->backoff_ms / 2 + 1));
	st->backoff_ms *= 2;
	if (st->backoff_ms > BACKOFF_MAX_MS)
		st->backoff_ms = BACKOFF_MAX_MS;
}

static unsigned sessions;	/* connections made by every store */

/* The comma-separated list s with its first k elements moved to the end. */
static char *
rotate_list(const char *s, unsigned k)
{
	size_t len = strlen(s), at = 0;
	char *out = malloc(len + 2);

	if (out == NULL)
		return NULL;
	for (unsigned i = 0; i < k; i++)
		at += strcspn(s + at, ",") + 1;
	snprintf(out, len + 2, "%s,%.*s", s + at, (int)(at - 1), s);
	return out;
}

static unsigned
list_count(const char *s)
{
	unsigned n = 1;

	for (; *s != '\0'; s++)
		n += *s == ',';
	return n;
}

/*
 * Start connecting. libpq ignores connect_timeout for non-blocking
 * connections, so a host of a multi-host conninfo that hangs (packets
 * dropped, or a frozen server) would eat every attempt before the next
 * host is tried: after a timed-out attempt the next one starts at the
 * next host (host, hostaddr and port lists rotated alike).
 *
 * Unless the conninfo sets options of its own, JIT compilation is off
 * for this session: the planner's cost of the batch statement crosses
 * jit_above_cost, and compiling it took 1.4 s of a 1.7 s batch (issue 11).
 */
#define STORE_SESSION_OPTIONS "-c jit=off"

static PGconn *
connect_start(const char *conninfo, const char *appname, unsigned first)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL), *o;
	const char **keys = NULL, **vals = NULL;
	char *rotated[3] = { NULL, NULL, NULL };
	unsigned n = 1, nr = 0;
	size_t i = 0;
	int have_options = 0;
	PGconn *conn = NULL;

	for (o = opts; o != NULL && o->keyword != NULL; o++)
		if (o->val != NULL && (strcmp(o->keyword, "host") == 0 ||
		    (n == 1 && strcmp(o->keyword, "hostaddr") == 0)))
			n = list_count(o->val);
	if (opts == NULL ||
	    (keys = calloc((size_t)(o - opts) + 3, sizeof(*keys))) == NULL ||
	    (vals = calloc((size_t)(o - opts) + 3, sizeof(*vals))) == NULL)
		goto plain;
	for (o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL || strcmp(o->keyword, "application_name") == 0)
			continue;
		keys[i] = o->keyword;
		vals[i] = o->val;
		have_options |= strcmp(o->keyword, "options") == 0;
		if (n > 1 && first % n != 0 &&
		    (strcmp(o->keyword, "host") == 0 ||
		    strcmp(o->keyword, "hostaddr") == 0 ||
		    strcmp(o->keyword, "port") == 0) && list_count(o->val) == n) {
			if ((rotated[nr] = rotate_list(o->val, first % n)) == NULL)
				goto plain;
			vals[i] = rotated[nr++];
		}
		i++;
	}
	if (!have_options) {
		keys[i] = "options";
		vals[i++] = STORE_SESSION_OPTIONS;
	}
	keys[i] = "application_name";
	vals[i] = appname;
	conn = PQconnectStartParams(keys, vals, 0);
plain:
	if (conn == NULL)
		conn = PQconnectStart(conninfo);
	for (unsigned j = 0; j < nr; j++)
		free(rotated[j]);
	free(keys);
	free(vals);
	PQconninfoFree(opts);
	return conn;
}

static void
store_start_connect(struct store *st, int64_t now_ms)
{
	st->conn = connect_start(st->conninfo, st->appname, st->first_host);
	if (st->conn == NULL || PQstatus(st->conn) == CONNECTION_BAD) {
		store_reset(st, now_ms, pg_error(st->conn));
		return;
	}
	st->state = STORE_CONNECTING;
	st->polling = PGRES_POLLING_WRITING;
	st->deadline_ms = now_ms + CONNECT_DEADLINE_MS;
}

/*
 * User names are UTF-8 text: a database in another encoding would refuse
 * them or store other characters. Not retryable, so the daemon stops.
 */
static void
check_encoding(PGconn *conn)
{
	const char *server = PQparameterStatus(conn, "server_encoding");
	const char *client = PQparameterStatus(conn, "client_encoding");

	if (server != NULL && strcmp(server, "UTF8") == 0 && client != NULL &&
	    strcmp(client, "UTF8") == 0)
		return;
	log_err("event=fatal error=\"database encoding is %s (client %s), "
	    "authrelay needs UTF8: create the database with ENCODING 'UTF8'\"",
	    server != NULL ? server : "unknown",
	    client != NULL ? client : "unknown");
	exit(1);
}

static void
store_continue_connect(struct store *st, int64_t now_ms)
{
	st->polling = PQconnectPoll(st->conn);
	if (st->polling == PGRES_POLLING_FAILED) {
		store_reset(st, now_ms, pg_error(st->conn));
	} else if (st->polling == PGRES_POLLING_OK) {
		check_encoding(st->conn);
		PQsetnonblocking(st->conn, 1);
		st->state = STORE_IDLE;
		st->backoff_ms = BACKOFF_MIN_MS;
		/* Unique across stores: a reload may replace the store. */
		st->session = ++sessions;
		st->connects++;
		log_info("event=db_connected");
	}
}

int
store_poll_fd(const struct store *st, short *events_r)
{
	if (st->state == STORE_CONNECTING) {
		*events_r = st->polling == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		return PQsocket(st->conn);
	}
	if (st->state == STORE_BUSY || st->state == STORE_IDLE) {
		/* IDLE: notice a server that closes the connection. */
		*events_r = POLLIN;
		if (st->state == STORE_BUSY && PQflush(st->conn) == 1)
			*events_r |= POLLOUT;
		return PQsocket(st->conn);
	}
	return -1;
}

int64_t
store_next_ms(const struct store *st, int64_t now_ms)
{
	int64_t at;

	switch (st->state) {
	case STORE_DOWN:
		at = st->retry_ms;
		break;
	case STORE_CONNECTING:
	case STORE_BUSY:
		at = st->deadline_ms;
		break;
	default:
		return -1;
	}
	return at > now_ms ? at - now_ms : 0;
}

void
store_tick(struct store *st, int64_t now_ms)
{
	if (st->state == STORE_DOWN && now_ms >= st->retry_ms)
		store_start_connect(st, now_ms);
	else if (st->state == STORE_CONNECTING && now_ms >= st->deadline_ms) {
		st->first_host++;	/* the next attempt starts elsewhere */
		store_reset(st, now_ms, "connect timed out");
	}
	else if (st->state == STORE_BUSY && now_ms >= st->deadline_ms)
		store_reset(st, now_ms, "query timed out");
}

/* Append s as one quoted element of a PostgreSQL array literal. */
static void
array_add_text(struct strbuf *sb, const char *s)
{
	strbuf_add(sb, sb->len == 0 ? "{\"" : ",\"", 2);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			strbuf_add(sb, "\\", 1);
		strbuf_add(sb, s, 1);
	}
	strbuf_add(sb, "\"", 1);
}

static void
array_add_raw(struct strbuf *sb, const char *s)
{
	strbuf_add(sb, sb->len == 0 ? "{" : ",", 1);
	strbuf_adds(sb, s);
}

static int
store_send(struct store *st, const char *sql, int nparams,
    const char *const *params, enum store_job job, size_t events,
    int64_t now_ms)
{
	if (st->state != STORE_IDLE)
		return -1;
	if (!PQsendQueryParams(st->conn, sql, nparams, NULL, params, NULL,
	    NULL, 0)) {
		store_reset(st, now_ms, pg_error(st->conn));
		return -1;
	}
	st->state = STORE_BUSY;
	st->job = job;
	st->job_events = events;
	st->deadline_ms = now_ms + QUERY_DEADLINE_MS;
	return 0;
}

int
store_send_batch(struct store *st, struct queue *q, size_t n, int64_t now_ms,
    int64_t expire_ms)
{
	struct strbuf *a = st->arrays;
	const char *params[10];
	char num[32], expire[32], wall[32];
	struct timespec ts;

	if (st->state != STORE_IDLE || n == 0)
		return -1;
	for (int i = 0; i < 8; i++)
		strbuf_reset(&a[i]);
	for (size_t i = 0; i < n; i++) {
		const struct event *ev = queue_at(q, i);

		array_add_text(&a[0], ev->ip);
		array_add_text(&a[1], ev->user);
		array_add_text(&a[2], ev->parser);
		array_add_text(&a[3], ev->service);
		array_add_text(&a[4], ev->reason);
		snprintf(num, sizeof(num), "%.3f",
		    (double)(now_ms - ev->received_ms) / 1000.0);
		array_add_raw(&a[5], num);
		array_add_raw(&a[6], ev->redelivered ? "t" : "f");
		/* bigint is signed: the same 64 bits, read as int64. */
		snprintf(num, sizeof(num), "%lld", (long long)(int64_t)ev->line_hash);
		array_add_raw(&a[7], num);
	}
	for (int i = 0; i < 8; i++) {
		strbuf_add(&a[i], "}", 1);
		if (a[i].failed)
			return -1;
	}
	for (int i = 0; i < 7; i++)
		params[i] = a[i].data;
	snprintf(expire, sizeof(expire), "%lld", (long long)expire_ms);
	params[7] = expire;
	params[8] = a[7].data;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(wall, sizeof(wall), "%lld", (long long)ts.tv_sec);
	params[9] = wall;
	return store_send(st, batch_sql, 10, params, STORE_JOB_BATCH, n, now_ms);
}

int
store_send_sweep(struct store *st, int64_t now_ms)
{
	return store_send(st, STORE_SWEEP_SQL, 0, NULL, STORE_JOB_SWEEP, 0, now_ms);
}

int
store_send_handover(struct store *st, const char *names, int64_t now_ms)
{
	const char *params[1] = { names };

	return store_send(st, STORE_HANDOVER_SQL, 1, params, STORE_JOB_HANDOVER,
	    0, now_ms);
}

int
store_send_version(struct store *st, int64_t now_ms)
{
	return store_send(st, SCHEMA_VERSION_SQL, 0, NULL, STORE_JOB_VERSION, 0,
	    now_ms);
}

int
store_send_maintain(struct store *st, int64_t keep_ms, int ahead_days,
    int64_t now_ms)
{
	char keep[32], ahead[16];
	const char *params[2] = { keep, ahead };

	snprintf(keep, sizeof(keep), "%lld", (long long)keep_ms);
	snprintf(ahead, sizeof(ahead), "%d", ahead_days);
	return store_send(st, STORE_MAINTAIN_SQL, 2, params, STORE_JOB_MAINTAIN,
	    0, now_ms);
}

unsigned
store_session(const struct store *st)
{
	return st->session;
}

/*
 * Connection trouble (class 08, 57P, or a dead socket) means retry later;
 * so does a read-only server (25006: a standby, or a primary fenced by
 * its failover manager): reconnecting finds the writable host of a
 * multi-host conninfo, where dropping the events as refused would lose them.
 */
static int
is_connection_error(PGconn *conn, const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	if (PQstatus(conn) == CONNECTION_BAD || state == NULL)
		return 1;
	return strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 ||
	    strcmp(state, "25006") == 0 ||
	    strncmp(state, "40", 2) == 0 || strncmp(state, "53", 2) == 0;
}

/* The first column of the rows a statement returned (addresses). */
static void
take_addresses(struct store_result *res, PGresult *r)
{
	int n = PQntuples(r);

	if (n <= 0 || (res->addrs = calloc((size_t)n, sizeof(char *))) == NULL)
		return;
	for (int i = 0; i < n; i++)
		if ((res->addrs[res->naddrs] = strdup(PQgetvalue(r, i, 0))) != NULL)
			res->naddrs++;
}

void
store_result_free(struct store_result *res)
{
	for (size_t i = 0; i < res->naddrs; i++)
		free(res->addrs[i]);
	free(res->addrs);
	res->addrs = NULL;
	res->naddrs = 0;
	PQclear(res->tuples);
	res->tuples = NULL;
}

const char *
store_dbname(const struct store *st)
{
	return st->conn != NULL ? PQdb(st->conn) : "?";
}

/* Collect every result of the finished job; then the job is over. */
static int
store_finish_job(struct store *st, int64_t now_ms, struct store_result *res)
{
	PGresult *r;
	int connection_error = 0;

	memset(res, 0, sizeof(*res));
	res->job = st->job;
	res->events = st->job_events;
	res->ok = 1;
	while ((r = PQgetResult(st->conn)) != NULL) {
		if (PQresultStatus(r) == PGRES_TUPLES_OK && res->addrs == NULL &&
		    res->tuples == NULL) {
			res->rows = atol(PQcmdTuples(r));
			if (res->job != STORE_JOB_SWEEP) {
				res->tuples = r;	/* the caller's module reads them */
				continue;
			}
			take_addresses(res, r);
		} else if (PQresultStatus(r) == PGRES_COMMAND_OK ||
		    PQresultStatus(r) == PGRES_TUPLES_OK) {
			res->rows = atol(PQcmdTuples(r));
		} else {
			res->ok = 0;
			connection_error |= is_connection_error(st->conn, r);
			snprintf(res->error, sizeof(res->error), "%.*s",
			    (int)strcspn(PQresultErrorMessage(r), "\n"),
			    PQresultErrorMessage(r));
		}
		PQclear(r);
	}
	st->job = STORE_JOB_NONE;
	st->state = STORE_IDLE;
	if (!res->ok && connection_error)
		store_reset(st, now_ms, res->error);
	else
		res->data_error = !res->ok;
	return 1;
}

int
store_handle_io(struct store *st, int64_t now_ms, struct store_result *res)
{
	if (st->state == STORE_CONNECTING) {
		store_continue_connect(st, now_ms);
		return 0;
	}
	if (st->state != STORE_BUSY && st->state != STORE_IDLE)
		return 0;
	if (!PQconsumeInput(st->conn) || PQflush(st->conn) < 0) {
		enum store_job job = st->job;
		size_t events = st->job_events;

		store_reset(st, now_ms, pg_error(st->conn));
		if (job == STORE_JOB_NONE)
			return 0;
		memset(res, 0, sizeof(*res));
		res->job = job;
		res->events = events;
		snprintf(res->error, sizeof(res->error), "connection lost");
		return 1;
	}
	if (st->state == STORE_IDLE)
		return 0;
	if (PQisBusy(st->conn))
		return 0;
	return store_finish_job(st, now_ms, res);
}

uint64_t
store_connects(const struct store *st)
{
	return st->connects;
}
