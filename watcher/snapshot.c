/* snapshot.c - keep this host's relay snapshot current: the one loop authrelayd and --sync share. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "clock.h"
#include "deltamap.h"
#include "log.h"
#include "metrics.h"
#include "pgcopy.h"
#include "pgsnap.h"
#include "snapshot.h"
#include "snapwrite.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 30000
#define REFRESH_MAX_MS 60000
#define REBASE_MIN_ROWS 4096	/* a delta this small never asks for a rebase */
#define REBASE_FRACTION 16	/* ... nor one under base / 16 rows */
#define REBASE_MAX_AGE_MS (3600 * 1000)
#define REBASE_RETRY_MS 5000
#define WRITE_DUTY 4		/* writing the delta: at most 1/4 of the CPU */
#define JOB_NICE 10		/* rebase and tcp_cdb rebuilds yield the CPU */
#define ERR_MAX 512
/* a delta naming this base matches no base: auth-wrap refuses */
#define NO_BASE_ID "0000000000000000"
#define EVERYTHING_REVOKED "0.0.0.0"	/* the TRUNCATE tombstone */

/*
 * The tombstones and rows the snapshot $1/$2 did not see (tombstones
 * first: in one transaction a revoke then a grant leaves the grant),
 * then this read's own snapshot and time.
 */
static const char fetch_sql[] =
"SELECT 0 AS k, host(ip), 0::bigint, '-', txid::text, NULL::text, NULL::bigint"
"  FROM relay_tombstone WHERE txid >= $1::xid8 OR txid = ANY ($2::xid8[])"
" UNION ALL "
"SELECT 1, host(ip), floor(extract(epoch FROM expires_at))::bigint, username,"
"       txid::text, NULL, NULL"
"  FROM relay WHERE txid >= $1::xid8 OR txid = ANY ($2::xid8[])"
" UNION ALL "
"SELECT 2, NULL, NULL, NULL, NULL, " PGSNAP_CURRENT_SQL ","
"       floor(extract(epoch FROM " PGSNAP_CURRENT_AS_OF_SQL "))::bigint"
" ORDER BY 1";

/* A child building a base or tcp_cdb; it reports one line on a pipe. */
struct job {
	const char *name;
	pid_t pid;		/* -1: none running */
	int fd;
	char line[ATOMICFILE_PATH_MAX + 600];
	size_t len;
	int64_t started_ms;
};

struct snap {
	const struct config *cfg;
	PGconn *conn;
	int64_t next_connect_ms, backoff_ms;
	int standby;		/* no NOTIFY on a standby: poll instead */
	int need_fetch;
	int64_t next_fetch_ms;
	int64_t refresh_ms;
	/* the base on disk */
	int have_base;
	char base_id[RELAYCDB_ID_LEN + 1];
	char base_instance[PGCOPY_INSTANCE_MAX];	/* the database it is of */
	char db_instance[PGCOPY_INSTANCE_MAX];	/* the one we are connected to */
	int64_t base_count;
	dev_t base_dev;
	ino_t base_ino;
	int64_t last_rebase_ms, next_rebase_ms;
	int64_t last_db_rebase_ms;	/* the last base read from the database */
	int rebase_from_db;	/* the running rebase reads the database */
	char rebase_over[RELAYCDB_ID_LEN + 1];	/* the base it started on */
	/* the delta: every change the base did not see, up to "seen" */
	struct deltamap delta;
	struct pgsnap seen;
	int have_seen;
	int64_t built;		/* database time of the last fetch, unix s */
	int delta_dirty;
	int64_t last_write_ms, next_write_ms;
	int64_t written_built;	/* s->built of the delta on disk */
	struct job rebase, tcp;
	int tcp_dirty;
	int64_t next_tcp_ms, last_tcp_ms;
	uint64_t fetches, rows_read, delta_writes, rebases;
	int64_t last_write_took_ms, last_rebase_took_ms;
	int64_t next_metrics_ms;
};

#define METRICS_EVERY_MS 5000

/* The snapshot's figures beside metrics_file, every few seconds. */
static void
write_metrics(struct snap *s, int64_t now)
{
	struct snapshot_metrics sm;
	char err[METRICS_ERROR_MAX];

	if (s->cfg->metrics_file[0] == '\0' || now < s->next_metrics_ms)
		return;
	s->next_metrics_ms = now + METRICS_EVERY_MS;
	memset(&sm, 0, sizeof(sm));
	sm.age_seconds = s->written_built > 0 ?
	    (double)((int64_t)time(NULL) - s->written_built) : -1;
	sm.base_relays = s->have_base ? (uint64_t)s->base_count : 0;
	sm.delta_rows = s->delta.count;
	sm.delta_write_ms = s->last_write_took_ms;
	sm.rebase_ms = s->last_rebase_took_ms;
	sm.fetch_rows = s->rows_read;
	sm.fetches = s->fetches;
	sm.delta_writes = s->delta_writes;
	sm.rebases = s->rebases;
	if (metrics_write_snapshot(s->cfg->metrics_file, &sm, err) < 0)
		log_warn("event=metrics_failed error=\"%s\"", err);
}

static void
drop_connection(struct snap *s, const char *why)
{
	log_warn("event=sync_disconnected error=\"%.*s\" retry_ms=%lld",
	    (int)strcspn(why, "\n"), why, (long long)s->backoff_ms);
	PQfinish(s->conn);
	s->conn = NULL;
	s->next_connect_ms = clock_ms() + s->backoff_ms +
	    (s->backoff_ms / 4 > 0 ? random() % (s->backoff_ms / 4 + 1) : 0);
	s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
	    s->backoff_ms * 2;
}

/*
 * A connection of our own; statements bounded so a hung server is
 * noticed, and over TCP keepalives and a send timeout so a network that
 * drops everything is noticed within half a minute, not the kernel's
 * hours. The conninfo in database overrides any of these.
 */
static PGconn *
connect_db(const struct config *cfg, const char *appname)
{
	static const char *const keys[] = { "connect_timeout",
	    "application_name", "options", "keepalives_idle",
	    "keepalives_interval", "keepalives_count", "tcp_user_timeout",
	    "dbname", NULL };
	const char *values[] = { "5", appname,
	    "-c statement_timeout=60000 -c jit=off", "10", "5", "3", "20000",
	    cfg->database, NULL };

	return PQconnectdbParams(keys, values, 1);
}

static void reset(struct snap *s, const char *why);
static void job_stop(struct job *j);
static void clean_stale_temps(const char *path);

static int
query_bool(PGconn *conn, const char *sql, int *v_r)
{
	PGresult *res = PQexec(conn, sql);
	int ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;

	if (ok)
		*v_r = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return ok ? 0 : -1;
}

static void
try_connect(struct snap *s)
{
	PGresult *res;

	s->conn = connect_db(s->cfg, "authrelayd-snapshot");
	if (PQstatus(s->conn) != CONNECTION_OK) {
		drop_connection(s, PQerrorMessage(s->conn));
		return;
	}
	if (query_bool(s->conn, "SELECT pg_is_in_recovery()", &s->standby) < 0) {
		drop_connection(s, PQerrorMessage(s->conn));
		return;
	}
	res = PQexec(s->conn, "SELECT id FROM authrelay_instance LIMIT 1");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		PQclear(res);
		drop_connection(s, "no authrelay_instance row (run sql/schema.sql)");
		return;
	}
	snprintf(s->db_instance, sizeof(s->db_instance), "%s",
	    PQgetvalue(res, 0, 0));
	PQclear(res);
	if (s->have_base && strcmp(s->db_instance, s->base_instance) != 0)
		reset(s, "the base is of another database");
	if (!s->standby) {
		res = PQexec(s->conn, "LISTEN authrelay_relay");
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			PQclear(res);
			drop_connection(s, PQerrorMessage(s->conn));
			return;
		}
		PQclear(res);
	}
	log_info("event=sync_connected standby=%s", s->standby ? "yes" : "no");
	s->backoff_ms = BACKOFF_MIN_MS;
	s->need_fetch = 1;	/* whatever changed while we were away */
}

/* One row of a fetch into the delta; malformed rows are logged, skipped. */
static int
merge_row(struct snap *s, PGresult *res, int i)
{
	const char *ip = PQgetvalue(res, i, 1), *why;
	struct ipaddr addr;
	char canon[IPADDR_TEXT_MAX];
	char *end;
	int64_t expires;
	uint64_t txid;

	errno = 0;
	expires = strtoll(PQgetvalue(res, i, 2), &end, 10);
	txid = strtoull(PQgetvalue(res, i, 4), NULL, 10);
	if (ipaddr_parse(ip, strlen(ip), &addr, &why) < 0 || errno != 0 ||
	    *end != '\0') {
		log_warn("event=sync_bad_row ip=\"%.64s\"", ip);
		return 0;
	}
	ipaddr_format(&addr, canon);
	if (strcmp(canon, EVERYTHING_REVOKED) == 0)
		return 2;
	return deltamap_set(&s->delta, canon, expires, PQgetvalue(res, i, 3),
	    txid);
}

/* Read the rows our last read did not see; cost grows with the change. */
static int
fetch_changes(struct snap *s)
{
	char xmax[24];
	char *xip = pgsnap_unseen_params(&s->seen, xmax);
	const char *params[2] = { xmax, xip };
	struct pgsnap now_seen;
	PGresult *res;
	int n, last, changed = 0;

	if (xip == NULL)
		return -1;
	res = PQexecParams(s->conn, fetch_sql, 2, NULL, params, NULL, NULL, 0);
	free(xip);
	if (PQresultStatus(res) != PGRES_TUPLES_OK ||
	    (n = PQntuples(res)) < 1 || !PQgetisnull(res, (last = n - 1), 1) ||
	    pgsnap_parse(PQgetvalue(res, last, 5), &now_seen) < 0) {
		log_err("event=sync_fetch_failed error=\"%.*s\"",
		    (int)strcspn(PQerrorMessage(s->conn), "\n"),
		    PQerrorMessage(s->conn));
		PQclear(res);
		return -1;
	}
	for (int i = 0; i < last; i++) {
		int r = merge_row(s, res, i);

		if (r == 2) {
			pgsnap_free(&now_seen);
			PQclear(res);
			reset(s, "the relay table was truncated");
			return 0;
		}
		if (r < 0) {
			log_err("event=sync_fetch_failed error=\"out of memory\"");
			pgsnap_free(&now_seen);
			PQclear(res);
			return -1;
		}
		changed |= r;
	}
	s->built = strtoll(PQgetvalue(res, last, 6), NULL, 10);
	PQclear(res);
	pgsnap_free(&s->seen);
	s->seen = now_seen;
	s->fetches++;
	s->rows_read += (uint64_t)last;
	if (changed) {
		s->delta_dirty = 1;
		s->tcp_dirty = 1;
	}
	s->need_fetch = 0;
	s->next_fetch_ms = clock_ms() + (s->standby ? s->cfg->cdb_interval_ms :
	    s->refresh_ms);
	log_debug("event=sync_fetch rows=%d changed=%d delta=%zu", last,
	    changed, s->delta.count);
	return 0;
}

/* CPU time this process has used, ms: what a large delta costs. */
static int64_t
cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
write_delta(struct snap *s, const char *const *ids, size_t nids)
{
	char err[ERR_MAX];
	int64_t start = clock_ms(), cpu_start = cpu_ms(), took;

	if (snapwrite_delta(s->cfg, &s->delta, s->built, ids, nids, err,
	    sizeof(err)) < 0) {
		log_err("event=delta_write_failed error=\"%s\"", err);
		s->next_write_ms = clock_ms() + REBASE_RETRY_MS / 5;
		return -1;
	}
	took = clock_ms() - start;
	s->last_write_took_ms = took;
	s->delta_writes++;
	s->delta_dirty = 0;
	s->written_built = s->built;
	s->last_write_ms = clock_ms();
	/*
	 * Space writes by the CPU they cost, not by the time fsync waited:
	 * a slow disk must not delay the next grant further.
	 */
	s->next_write_ms = s->last_write_ms + (WRITE_DUTY - 1) *
	    (cpu_ms() - cpu_start);
	log_debug("event=delta_written rows=%zu ms=%lld", s->delta.count,
	    (long long)took);
	return 0;
}

/* Remember which file is our base, to notice one put there by others. */
static void
note_base_file(struct snap *s)
{
	struct stat st;

	if (stat(s->cfg->cdb_file, &st) == 0) {
		s->base_dev = st.st_dev;
		s->base_ino = st.st_ino;
	}
}

/*
 * Take the base at path as ours (at start, or after "authrelayctl
 * export-cdb" replaced it): the delta starts afresh from its snapshot.
 */
static int
adopt_base(struct snap *s, const char *path)
{
	struct pgsnap snap;
	const char *why;

	if (snapwrite_read_base(path, s->cfg, s->base_id, &s->base_count,
	    &snap, s->base_instance, &why) < 0) {
		log_info("event=base_unusable file=%s reason=\"%s\"", path, why);
		s->have_base = 0;
		return -1;
	}
	deltamap_free(&s->delta);
	pgsnap_free(&s->seen);
	s->seen = snap;
	s->have_seen = 1;
	s->have_base = 1;
	s->need_fetch = 1;
	s->last_rebase_ms = clock_ms();	/* its age on disk is not known: from now */
	s->last_db_rebase_ms = s->last_rebase_ms;
	note_base_file(s);
	log_info("event=base_adopted id=%s relays=%lld", s->base_id,
	    (long long)s->base_count);
	return 0;
}

/*
 * The delta can no longer say what changed (the table was truncated, the
 * base is of another database): refuse everything until a new base is
 * in place, by a delta that belongs to no base, and build one now.
 */
static void
reset(struct snap *s, const char *why)
{
	const char *ids[1] = { NO_BASE_ID };
	char err[ERR_MAX];

	log_warn("event=snapshot_reset reason=\"%s\"", why);
	deltamap_free(&s->delta);
	deltamap_init(&s->delta);
	pgsnap_free(&s->seen);
	s->have_seen = 0;
	if (s->have_base && snapwrite_delta(s->cfg, &s->delta, s->built, ids, 1,
	    err, sizeof(err)) < 0)
		log_err("event=delta_write_failed error=\"%s\"", err);
	s->have_base = 0;
	s->delta_dirty = 0;
	s->next_rebase_ms = 0;
	if (s->rebase.pid > 0) {	/* it may have read before the change */
		job_stop(&s->rebase);
		clean_stale_temps(s->cfg->cdb_file);
	}
}

static void
check_base_file(struct snap *s)
{
	struct stat st;

	if (!s->have_base || (stat(s->cfg->cdb_file, &st) == 0 &&
	    st.st_dev == s->base_dev && st.st_ino == s->base_ino))
		return;
	log_warn("event=base_replaced file=%s note=\"not by this watcher\"",
	    s->cfg->cdb_file);
	adopt_base(s, s->cfg->cdb_file);
}

/*
 * Time to show auth-wrap that the snapshot is still current? A read
 * happens every refresh_ms; its time goes out with the next write.
 */
static int
heartbeat_due(const struct snap *s)
{
	int64_t refresh_s = s->refresh_ms / 1000 > 0 ? s->refresh_ms / 1000 : 1;

	return s->built - s->written_built >= refresh_s;
}

static void
write_if_due(struct snap *s, int64_t now)
{
	const char *ids[1] = { s->base_id };

	if (!s->have_base || !s->have_seen || now < s->next_write_ms)
		return;
	if (!s->delta_dirty && !heartbeat_due(s))
		return;
	check_base_file(s);
	if (s->have_base)
		write_delta(s, ids, 1);
}

/* The id of the base in place, or "" before there is one. */
static const char *
base_id_or_none(const struct snap *s)
{
	return s->have_base ? s->base_id : "";
}

/* A job's work in the child; it reports one line on out. */
typedef void job_fn(const struct snap *s, PGconn *conn, int out);

/*
 * Fork a job: fn runs in the child on its copy of s, with a connection
 * of its own if want_db (else conn is NULL).
 */
static void
job_start(struct job *j, const struct snap *s, job_fn *fn, int want_db)
{
	int p[2];
	pid_t pid, parent = getpid();

	if (pipe2(p, O_CLOEXEC) < 0) {
		log_sys(LOG_ERR, "event=job_failed job=%s what=pipe", j->name);
		return;
	}
	if ((pid = fork()) < 0) {
		log_sys(LOG_ERR, "event=job_failed job=%s what=fork", j->name);
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		PGconn *conn;
		sigset_t none;

		close(p[0]);
		/*
		 * The loop blocks SIGTERM for its signalfd; the job must die of
		 * it (job_stop), even inside a libpq call on a dead network,
		 * and with its parent.
		 */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(1);
		/*
		 * A full rebuild is background work: on a small machine it
		 * must not take the CPU from the watcher's loop or from the
		 * delta writes that grants wait for. Best effort.
		 */
		(void)setpriority(PRIO_PROCESS, 0, JOB_NICE);
		if (!want_db) {
			fn(s, NULL, p[1]);
			_exit(0);
		}
		conn = connect_db(s->cfg, "authrelayd-export");
		if (PQstatus(conn) != CONNECTION_OK)
			dprintf(p[1], "err %.*s\n",
			    (int)strcspn(PQerrorMessage(conn), "\n"),
			    PQerrorMessage(conn));
		else
			fn(s, conn, p[1]);
		/* _exit: the parent's connection must not be closed from here */
		_exit(0);
	}
	close(p[1]);
	j->pid = pid;
	j->fd = p[0];
	j->len = 0;
	j->started_ms = clock_ms();
}

static void
report_base(int out, int rc, const struct snapbase *b, const char *err)
{
	if (rc < 0)
		dprintf(out, "err %s\n", err);
	else
		dprintf(out, "ok %lld %lld %s\n", (long long)b->count,
		    (long long)b->skipped, b->tmp);
}

/* A base read from the database: every active relay. */
static void
rebase_child(const struct snap *s, PGconn *conn, int out)
{
	struct snapbase b;
	char err[ERR_MAX];

	report_base(out, snapwrite_base(conn, s->cfg, &b, err, sizeof(err)), &b,
	    err);
}

/*
 * A base made of the one on disk and the delta, which holds every change
 * since that base's snapshot: no read of the database at all, so a
 * burst of logins that outgrows the delta costs the database nothing.
 */
static void
merge_child(const struct snap *s, PGconn *conn, int out)
{
	struct snapbase b;
	char err[ERR_MAX];

	(void)conn;
	report_base(out, snapwrite_merge_base(s->cfg, s->base_id, &s->delta,
	    &s->seen, s->built, s->base_instance, (int64_t)time(NULL), &b, err,
	    sizeof(err)), &b, err);
}

/* The full tables: tcp_cdb and postfix_map, whichever are set. */
static void
tcp_child(const struct snap *s, PGconn *conn, int out)
{
	const struct config *cfg = s->cfg;
	struct snapwrite_tcp_stats st = { 0 };
	char err[ERR_MAX];
	long map = 0;

	if (cfg->tcp_cdb[0] != '\0' &&
	    snapwrite_tcp(conn, cfg, &st, err, sizeof(err)) < 0)
		dprintf(out, "err %s\n", err);
	else if (cfg->postfix_map[0] != '\0' &&
	    snapwrite_postfix_map(conn, cfg, &map, err, sizeof(err)) < 0)
		dprintf(out, "err %s\n", err);
	else
		dprintf(out, "ok tcp=%lld static=%lld map=%ld\n",
		    (long long)st.relays, (long long)st.static_keys, map);
}

/* tcp_cdb and postfix_map: rewritten whole by a child. */
static int
has_full_tables(const struct config *cfg)
{
	return cfg->tcp_cdb[0] != '\0' || cfg->postfix_map[0] != '\0';
}

/* An hour since the last base read from the database. */
static int
db_read_due(const struct snap *s, int64_t now)
{
	return now - s->last_db_rebase_ms >= REBASE_MAX_AGE_MS;
}

static int
rebase_due(const struct snap *s, int64_t now)
{
	if (s->rebase.pid > 0 || s->conn == NULL || s->cfg->cdb_file[0] == '\0' ||
	    now < s->next_rebase_ms)
		return 0;
	if (!s->have_base)
		return 1;
	if (s->delta.count > REBASE_MIN_ROWS &&
	    s->delta.count > (size_t)s->base_count / REBASE_FRACTION)
		return 1;
	return s->delta.count > 0 && db_read_due(s, now);
}

/*
 * From the database at first, after a reset, and at least every
 * REBASE_MAX_AGE_MS (so nothing a merge could miss outlives that);
 * otherwise the base on disk and the delta are merged.
 */
static int
rebase_reads_db(const struct snap *s, int64_t now)
{
	return !s->have_base || !s->have_seen || db_read_due(s, now);
}

/*
 * A new base B is ready under tmp. Every pair on disk must agree: the
 * delta is first written for both the old base A and B (it holds every
 * change since A's snapshot, read after B's), then B replaces A, then
 * the changes B saw leave the delta.
 */
static void
install_base(struct snap *s, const char *tmp, int64_t took_ms)
{
	char id[RELAYCDB_ID_LEN + 1], err[ERR_MAX];
	char instance[PGCOPY_INSTANCE_MAX];
	const char *ids[2] = { s->base_id, id }, *why;
	struct pgsnap bsnap;
	int64_t count;

	if (snapwrite_read_base(tmp, s->cfg, id, &count, &bsnap, instance,
	    &why) < 0) {
		log_err("event=rebase_failed error=\"%s: %s\"", tmp, why);
		unlink(tmp);
		return;
	}
	if (!s->have_seen) {
		s->seen = bsnap;	/* the first base: the delta starts here */
		s->have_seen = 1;
		memset(&bsnap, 0, sizeof(bsnap));
		pgsnap_copy(&bsnap, &s->seen);
	}
	if (s->conn == NULL || fetch_changes(s) < 0) {
		log_err("event=rebase_failed error=\"no fresh read to install %s\"",
		    tmp);
		goto fail;
	}
	/*
	 * A delta for both bases: never a moment without a matching pair.
	 * Where it cannot be written (a full disk), the delta for B alone
	 * goes first: until B is in place auth-wrap refuses (a mismatch),
	 * it never grants wrongly.
	 */
	if (s->have_base && write_delta(s, ids, 2) == 0) {
		if (atomicfile_install(tmp, s->cfg->cdb_file, err,
		    sizeof(err)) < 0) {
			log_err("event=rebase_failed error=\"%s\"", err);
			goto fail;
		}
		deltamap_prune(&s->delta, &bsnap);
	} else {
		deltamap_prune(&s->delta, &bsnap);
		if (write_delta(s, ids + 1, 1) < 0 || atomicfile_install(tmp,
		    s->cfg->cdb_file, err, sizeof(err)) < 0) {
			log_err("event=rebase_failed error=\"cannot install %s\"",
			    tmp);
			/* the pruned delta fits B only: start again from A */
			if (s->have_base)
				adopt_base(s, s->cfg->cdb_file);
			goto fail;
		}
	}
	memcpy(s->base_id, id, sizeof(id));
	memcpy(s->base_instance, instance, sizeof(instance));
	s->base_count = count;
	s->have_base = 1;
	note_base_file(s);
	pgsnap_free(&bsnap);
	ids[0] = s->base_id;
	s->delta_dirty = 1;	/* the delta for B alone, when next due */
	write_if_due(s, clock_ms());
	s->rebases++;
	s->last_rebase_took_ms = took_ms;
	s->last_rebase_ms = clock_ms();
	if (s->rebase_from_db)
		s->last_db_rebase_ms = s->last_rebase_ms;
	log_info("event=rebase relays=%lld delta=%zu ms=%lld from=%s",
	    (long long)count, s->delta.count, (long long)took_ms,
	    s->rebase_from_db ? "database" : "delta");
	return;
fail:
	unlink(tmp);
	pgsnap_free(&bsnap);
	s->next_rebase_ms = clock_ms() + REBASE_RETRY_MS;
}

/* Read what a job reported; at EOF reap it and act on its line. */
static void
job_read(struct snap *s, struct job *j)
{
	ssize_t n = read(j->fd, j->line + j->len, sizeof(j->line) - 1 - j->len);
	int64_t took = clock_ms() - j->started_ms;
	int status;

	if (n > 0) {
		j->len += (size_t)n;
		if (j->len < sizeof(j->line) - 1)
			return;
	} else if (n < 0 && errno == EINTR)
		return;
	j->line[j->len] = '\0';
	j->line[strcspn(j->line, "\n")] = '\0';
	close(j->fd);
	waitpid(j->pid, &status, 0);
	j->pid = -1;
	if (strncmp(j->line, "ok ", 3) != 0) {
		log_err("event=%s_failed error=\"%s\"", j->name,
		    j->len > 4 ? j->line + 4 : "no report from the child");
		if (j == &s->rebase) {
			s->next_rebase_ms = clock_ms() + REBASE_RETRY_MS;
			/* a merge that failed is not tried again: read the table */
			if (!s->rebase_from_db)
				s->last_db_rebase_ms = clock_ms() - REBASE_MAX_AGE_MS;
		} else
			s->tcp_dirty = 1;
		return;
	}
	if (j == &s->rebase) {
		long long count, skipped;
		int at = -1;

		if (sscanf(j->line, "ok %lld %lld %n", &count, &skipped,
		    &at) != 2 || at <= 0)
			log_err("event=rebase_failed error=\"bad report\"");
		else if (strcmp(s->rebase_over, base_id_or_none(s)) != 0) {
			/*
			 * Another base was adopted meanwhile (export-cdb): it
			 * may hold changes that neither this one nor the delta
			 * has. Start again from it.
			 */
			log_err("event=rebase_failed error=\"the base was replaced"
			    " while it was built\"");
			unlink(j->line + at);
			s->next_rebase_ms = 0;
		} else
			install_base(s, j->line + at, took);
	} else
		log_debug("event=tcp_cdb_written report=\"%s\" ms=%lld",
		    j->line + 3, (long long)took);
}

static void
job_stop(struct job *j)
{
	if (j->pid <= 0)
		return;
	kill(j->pid, SIGTERM);
	waitpid(j->pid, NULL, 0);
	close(j->fd);
	j->pid = -1;
}

static void
start_jobs(struct snap *s, int64_t now)
{
	if (rebase_due(s, now)) {
		s->rebase_from_db = rebase_reads_db(s, now);
		snprintf(s->rebase_over, sizeof(s->rebase_over), "%s",
		    base_id_or_none(s));
		log_info("event=rebase_started delta=%zu base=%lld from=%s",
		    s->delta.count, (long long)s->base_count,
		    s->rebase_from_db ? "database" : "delta");
		job_start(&s->rebase, s, s->rebase_from_db ? rebase_child :
		    merge_child, s->rebase_from_db);
		if (s->rebase.pid < 0)
			s->next_rebase_ms = now + REBASE_RETRY_MS;
	}
	if (has_full_tables(s->cfg) && s->tcp.pid < 0 && s->conn != NULL &&
	    (s->tcp_dirty || s->last_tcp_ms == 0 ||
	    now - s->last_tcp_ms >= s->refresh_ms) && now >= s->next_tcp_ms) {
		s->tcp_dirty = 0;
		s->last_tcp_ms = now;
		s->next_tcp_ms = now + s->cfg->cdb_interval_ms;
		job_start(&s->tcp, s, tcp_child, 1);
	}
}

static int64_t
until(int64_t at, int64_t now)
{
	return at <= now ? 0 : at - now;
}

/*
 * How long poll may sleep: the nearest thing snap_step would do. Only
 * what can happen counts (nothing waits on a connection that is down).
 */
static int
poll_timeout(const struct snap *s, int64_t now)
{
	int64_t t = REFRESH_MAX_MS;

	if (s->conn == NULL)
		t = until(s->next_connect_ms, now);
	else if (s->have_seen)
		t = s->need_fetch ? 0 : until(s->next_fetch_ms, now);
	if (s->delta_dirty && s->have_base && s->have_seen &&
	    until(s->next_write_ms, now) < t)
		t = until(s->next_write_ms, now);
	/* with a base, size and age are looked at after each read */
	if (s->conn != NULL && s->rebase.pid < 0 && !s->have_base &&
	    s->cfg->cdb_file[0] != '\0' && until(s->next_rebase_ms, now) < t)
		t = until(s->next_rebase_ms, now);
	/* tcp_dirty is set by every change, also with no full table to build */
	if (has_full_tables(s->cfg) && s->conn != NULL && s->tcp_dirty &&
	    s->tcp.pid < 0 && until(s->next_tcp_ms, now) < t)
		t = until(s->next_tcp_ms, now);
	return (int)(t > REFRESH_MAX_MS ? REFRESH_MAX_MS : t);
}

/*
 * Notifications libpq already holds: those that arrived during one of our
 * own queries never make the socket readable again.
 */
static void
take_notifications(struct snap *s)
{
	PGnotify *n;

	while (s->conn != NULL && (n = PQnotifies(s->conn)) != NULL) {
		s->need_fetch = 1;
		s->tcp_dirty = 1;	/* also without cdb_file (no fetches) */
		PQfreemem(n);
	}
}

static void
read_notifications(struct snap *s)
{
	if (!PQconsumeInput(s->conn)) {
		drop_connection(s, PQerrorMessage(s->conn));
		return;
	}
	take_notifications(s);
}

static int
open_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/*
 * Temp files of ours that a killed writer left behind (".relay.cdb.tmp.*",
 * ".relay.cdb.delta.tmp.*" next to cdb_file): only this process writes
 * the snapshot, so none is in use now.
 */
static void
clean_stale_temps(const char *path)
{
	char dir[ATOMICFILE_PATH_MAX], prefix[ATOMICFILE_PATH_MAX];
	const char *slash = strrchr(path, '/');
	const char *name = slash != NULL ? slash + 1 : path;
	struct dirent *d;
	struct stat st;
	DIR *dp;
	int dfd;

	snprintf(dir, sizeof(dir), "%.*s", slash != NULL ?
	    (int)(slash - path) + 1 : 1, slash != NULL ? path : ".");
	snprintf(prefix, sizeof(prefix), ".%s", name);
	if ((dp = opendir(dir)) == NULL)
		return;
	dfd = dirfd(dp);
	while ((d = readdir(dp)) != NULL) {
		const char *rest = d->d_name + strlen(prefix);

		if (strncmp(d->d_name, prefix, strlen(prefix)) != 0 ||
		    (strncmp(rest, ".tmp.", 5) != 0 &&
		    strncmp(rest, RELAYCDB_DELTA_SUFFIX ".tmp.",
		    strlen(RELAYCDB_DELTA_SUFFIX) + 5) != 0))
			continue;
		if (fstatat(dfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
		    unlinkat(dfd, d->d_name, 0) == 0)
			log_info("event=stale_temp_removed file=%s%s", dir,
			    d->d_name);
	}
	closedir(dp);
}

static void
snap_init(struct snap *s, const struct config *cfg)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->backoff_ms = BACKOFF_MIN_MS;
	s->rebase = (struct job){ .name = "rebase", .pid = -1, .fd = -1 };
	s->tcp = (struct job){ .name = "tcp_cdb", .pid = -1, .fd = -1 };
	s->refresh_ms = cfg->cdb_max_age_ms / 2;
	if (s->refresh_ms > REFRESH_MAX_MS)
		s->refresh_ms = REFRESH_MAX_MS;
	if (s->refresh_ms < cfg->cdb_interval_ms)
		s->refresh_ms = cfg->cdb_interval_ms;
	deltamap_init(&s->delta);
	s->next_connect_ms = clock_ms();
	if (cfg->cdb_file[0] != '\0') {
		clean_stale_temps(cfg->cdb_file);
		adopt_base(s, cfg->cdb_file);
	}
	if (cfg->tcp_cdb[0] != '\0')
		clean_stale_temps(cfg->tcp_cdb);
	if (cfg->postfix_map[0] != '\0')
		clean_stale_temps(cfg->postfix_map);
}

/* One round: connect, fetch, write, start jobs as due. */
static void
snap_step(struct snap *s)
{
	int64_t now = clock_ms();

	if (s->conn == NULL && now >= s->next_connect_ms)
		try_connect(s);
	if (s->conn != NULL && s->have_seen && (s->need_fetch ||
	    now >= s->next_fetch_ms) && fetch_changes(s) < 0)
		drop_connection(s, "fetch failed");
	write_if_due(s, clock_ms());
	start_jobs(s, clock_ms());
	write_metrics(s, clock_ms());
}

int
snapshot_run(const struct config *cfg)
{
	struct snap s;
	int sigfd = open_signals(), stop = 0;

	if (cfg->database[0] == '\0' ||
	    !config_writes_snapshot(cfg)) {
		log_err("event=sync_config error=\"the snapshot needs database "
		    "and cdb_file, tcp_cdb or postfix_map\"");
		return 1;
	}
	srandom((unsigned)getpid() ^ (unsigned)clock_ms());
	snap_init(&s, cfg);
	while (!stop) {
		struct pollfd p[4];

		snap_step(&s);
		take_notifications(&s);
		p[0] = (struct pollfd){ sigfd, POLLIN, 0 };
		p[1] = (struct pollfd){ s.conn != NULL ? PQsocket(s.conn) : -1,
		    POLLIN, 0 };
		p[2] = (struct pollfd){ s.rebase.pid > 0 ? s.rebase.fd : -1,
		    POLLIN, 0 };
		p[3] = (struct pollfd){ s.tcp.pid > 0 ? s.tcp.fd : -1, POLLIN, 0 };
		if (poll(p, 4, poll_timeout(&s, clock_ms())) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			stop = 1;
		if (p[1].revents && s.conn != NULL)
			read_notifications(&s);
		if (p[2].revents && s.rebase.pid > 0)
			job_read(&s, &s.rebase);
		if (p[3].revents && s.tcp.pid > 0)
			job_read(&s, &s.tcp);
	}
	job_stop(&s.rebase);
	job_stop(&s.tcp);
	if (s.conn != NULL)
		PQfinish(s.conn);
	log_info("event=sync_stopped fetches=%" PRIu64 " rows_read=%" PRIu64
	    " delta_writes=%" PRIu64 " rebases=%" PRIu64, s.fetches,
	    s.rows_read, s.delta_writes, s.rebases);
	deltamap_free(&s.delta);
	pgsnap_free(&s.seen);
	if (sigfd >= 0)
		close(sigfd);
	return 0;
}

pid_t
snapshot_spawn(const struct config *cfg)
{
	pid_t parent = getpid(), pid = fork();
	int null;

	if (pid != 0)
		return pid;
	/* never outlive the watcher (SIGKILL, a crash): nobody would stop us */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(1);
	/* the FIFO, the omprog pipes, the parent's database connection */
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
	}
	close_range(3, ~0U, 0);
	_exit(snapshot_run(cfg));
}
