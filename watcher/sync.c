/* sync.c - authrelayd --sync: keep this host's cdb files current from PostgreSQL. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "clock.h"
#include "cdbexport.h"
#include "log.h"
#include "sync.h"

#define SYNC_CHANNEL_LISTEN "LISTEN authrelay_relay"
#define SYNC_BACKOFF_MIN_MS 100
#define SYNC_BACKOFF_MAX_MS 30000
#define SYNC_REFRESH_MAX_MS 60000
#define SYNC_ERROR_MAX 512

static volatile sig_atomic_t sync_stop;

static void
on_stop(int sig)
{
	(void)sig;
	sync_stop = 1;
}

struct sync_state {
	const struct config *cfg;
	PGconn *conn;
	int64_t backoff_ms;
	int64_t next_connect;	/* monotonic ms */
	int64_t last_export;	/* monotonic ms, or INT64_MIN / 2 */
	int dirty;		/* a notification asks for an export */
};

/* Next reconnect: exponential, capped, with jitter so hosts spread. */
static void
schedule_reconnect(struct sync_state *s)
{
	int64_t jitter = s->backoff_ms / 4 > 0 ?
	    random() % (s->backoff_ms / 4 + 1) : 0;

	s->next_connect = clock_ms() + s->backoff_ms + jitter;
	s->backoff_ms *= 2;
	if (s->backoff_ms > SYNC_BACKOFF_MAX_MS)
		s->backoff_ms = SYNC_BACKOFF_MAX_MS;
}

static void
drop_connection(struct sync_state *s, const char *why)
{
	log_warn("event=sync_disconnected error=\"%.*s\"",
	    (int)strcspn(why, "\n"), why);
	PQfinish(s->conn);
	s->conn = NULL;
	schedule_reconnect(s);
}

static void
try_connect(struct sync_state *s)
{
	static const char *const keys[] = { "connect_timeout",
	    "application_name", "dbname", NULL };
	const char *values[] = { "5", "authrelayd-sync",
	    s->cfg->database, NULL };
	PGresult *res;

	s->conn = PQconnectdbParams(keys, values, 1);
	if (PQstatus(s->conn) != CONNECTION_OK) {
		drop_connection(s, PQerrorMessage(s->conn));
		return;
	}
	res = PQexecParams(s->conn, SYNC_CHANNEL_LISTEN, 0, NULL, NULL, NULL,
	    NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		PQclear(res);
		drop_connection(s, PQerrorMessage(s->conn));
		return;
	}
	PQclear(res);
	log_info("event=sync_connected");
	s->backoff_ms = SYNC_BACKOFF_MIN_MS;
	s->dirty = 1;	/* whatever changed while we were away */
}

/* Collect notifications that libpq has already read. */
static void
drain_notifies(struct sync_state *s)
{
	PGnotify *n;

	while ((n = PQnotifies(s->conn)) != NULL) {
		s->dirty = 1;
		PQfreemem(n);
	}
}

static void
do_export(struct sync_state *s)
{
	struct cdbexport_stats st;
	char err[SYNC_ERROR_MAX];

	s->dirty = 0;
	s->last_export = clock_ms();
	if (cdbexport_run(s->conn, s->cfg, &st, err, sizeof(err)) < 0) {
		log_err("event=cdb_export_failed error=\"%s\"", err);
		if (PQstatus(s->conn) != CONNECTION_OK)
			drop_connection(s, "connection lost during export");
		else
			s->dirty = 1;	/* retry after cdb_interval */
		return;
	}
	log_info("event=cdb_export relays=%lld skipped=%lld tcp_relays=%lld "
	    "ms=%lld", (long long)st.relays, (long long)st.skipped,
	    (long long)st.tcp_relays, (long long)st.elapsed_ms);
}

/* Milliseconds until the next thing to do (-1: wait for input). */
static int64_t
next_timeout(const struct sync_state *s, int64_t refresh_ms)
{
	int64_t now = clock_ms(), due;

	if (s->conn == NULL)
		due = s->next_connect;
	else if (s->dirty)
		due = s->last_export + s->cfg->cdb_interval_ms;
	else
		due = s->last_export + refresh_ms;
	return due <= now ? 0 : due - now;
}

/*
 * Block the stop signals except while waiting, so none is missed;
 * *oldmask_r is what to restore on return.
 */
static void
setup_signals(sigset_t *waitmask_r, sigset_t *oldmask_r)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, oldmask_r);
	*waitmask_r = *oldmask_r;
	sigdelset(waitmask_r, SIGTERM);
	sigdelset(waitmask_r, SIGINT);
}

static void
wait_input(struct sync_state *s, int64_t timeout_ms, const sigset_t *mask)
{
	struct pollfd p = { .fd = s->conn != NULL ? PQsocket(s->conn) : -1,
	    .events = POLLIN };
	struct timespec ts = { .tv_sec = timeout_ms / 1000,
	    .tv_nsec = (timeout_ms % 1000) * 1000000 };

	if (ppoll(&p, 1, &ts, mask) > 0 && s->conn != NULL) {
		if (!PQconsumeInput(s->conn))
			drop_connection(s, PQerrorMessage(s->conn));
		else
			drain_notifies(s);
	}
}

int
sync_run(const struct config *cfg)
{
	struct sync_state s = { .cfg = cfg, .backoff_ms = SYNC_BACKOFF_MIN_MS,
	    .last_export = INT64_MIN / 2 };
	int64_t refresh_ms = cfg->cdb_max_age_ms / 2;
	sigset_t waitmask, oldmask;

	if (cfg->database[0] == '\0' ||
	    (cfg->cdb_file[0] == '\0' && cfg->tcp_cdb[0] == '\0')) {
		log_err("event=sync_config error=\"sync needs database and "
		    "cdb_file or tcp_cdb\"");
		return 1;
	}
	if (refresh_ms > SYNC_REFRESH_MAX_MS)
		refresh_ms = SYNC_REFRESH_MAX_MS;
	if (refresh_ms < cfg->cdb_interval_ms)
		refresh_ms = cfg->cdb_interval_ms;
	srandom((unsigned)getpid() ^ (unsigned)clock_ms());
	setup_signals(&waitmask, &oldmask);
	s.next_connect = clock_ms();
	while (!sync_stop) {
		if (s.conn == NULL && clock_ms() >= s.next_connect)
			try_connect(&s);
		if (s.conn != NULL && next_timeout(&s, refresh_ms) == 0)
			do_export(&s);
		if (!sync_stop)
			wait_input(&s, next_timeout(&s, refresh_ms), &waitmask);
	}
	if (s.conn != NULL)
		PQfinish(s.conn);
	log_info("event=sync_stopped");
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	return 0;
}
