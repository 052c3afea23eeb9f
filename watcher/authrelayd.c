/* authrelayd.c - read syslog lines from a FIFO, record POP/IMAP logins in PostgreSQL. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "confirm.h"
#include "hook.h"
#include "event.h"
#include "fnv.h"
#include "handover.h"
#include "linebuf.h"
#include "log.h"
#include "metrics.h"
#include "pgpass.h"
#include "privdrop.h"
#include "retention.h"
#include "rules.h"
#include "secfile.h"
#include "selfaddr.h"
#include "snapshot.h"
#include "store.h"
#include "trusted.h"

#define INPUT_BUF_SIZE (256 * 1024)
#define INPUT_LINE_MAX 16384
#define PIPE_SIZE_WANTED (1024 * 1024)
#define STOP_FLUSH_MS 10000
#define DROP_LOG_EVERY_MS 10000
#define SNAPSHOT_RESPAWN_MIN_MS 500
#define SNAPSHOT_RESPAWN_MAX_MS 30000
#define METRICS_INTERVAL_MS 5000

struct counters {
	uint64_t lines, matched, granted, ignored, bad_field, too_long;
	uint64_t limit, committed, db_errors, swept, snapshot_restarts;
	uint64_t untrusted, stale;
	int64_t loop_busy_max_ms;	/* longest stretch between two polls */
	int64_t last_commit_ms;		/* clock_ms of the last commit; 0: none */
	uint64_t db_connects_before;	/* sessions of stores a reload replaced */
};

struct watcher {
	const char *conf_path;
	struct config cfg;
	struct rules *rules;
	struct trusted_policy policy;
	struct selfaddr self;	/* the host's own addresses never relay */
	struct store *store;
	struct queue queue;
	struct linebuf input;
	int input_fd;
	int signal_fd;
	int stopping;
	int64_t stop_deadline_ms;
	int64_t next_sweep_ms;
	int sweep_more;		/* the last sweep hit its batch limit */
	size_t isolate;		/* events to send one by one after a refusal */
	int64_t last_drop_log_ms;
	/* the snapshot process (watcher/snapshot.c), restarted if it dies */
	pid_t snap_pid;
	int64_t snap_respawn_ms;
	int64_t snap_backoff_ms;
	struct confirm confirm;	/* confirm = yes: answers to rsyslog omprog */
	int input_eof;		/* 1: standard input ended, 2: all of it taken */
	struct retention retention;	/* schema check, audit partitions */
	struct handover handover;	/* a new session waits for the last one */
	int fatal;		/* stop now, exit 1 (unknown schema) */
	uint64_t next_seq;	/* the next queued event's sequence number */
	uint64_t drops_logged;
	struct counters n;
	int64_t next_metrics_ms;	/* metrics_file: next rewrite */
	time_t started;
};

static void
usage(void)
{
	fprintf(stderr, "usage: authrelayd [-c CONF] [-f] [-n] [-v] [--sync]\n");
	exit(2);
}

/* Load parsers and check the config; on error a one-line message. */
static struct rules *
load_rules(const struct config *cfg)
{
	char error[RULES_ERROR_MAX];
	struct rules *rules = rules_load(cfg->parsers, &cfg->enable, 0, error);

	if (rules == NULL)
		log_err("event=config_error error=\"%s\"", error);
	return rules;
}

/*
 * What the parsers cannot check: the input format and the trust policy.
 * Plain syslog carries no sender credentials, so require_trusted needs
 * the trusted template.
 */
static int
check_config(const struct config *cfg, struct trusted_policy *policy)
{
	char error[256];

	if (strcmp(cfg->input_format, "syslog") != 0 &&
	    strcmp(cfg->input_format, "trusted") != 0) {
		log_err("event=config_error error=\"input_format: want syslog or trusted, got '%s'\"",
		    cfg->input_format);
		return -1;
	}
	if (cfg->require_trusted && strcmp(cfg->input_format, "trusted") != 0) {
		log_err("event=config_error error=\"require_trusted = yes needs input_format = trusted: "
		    "plain syslog lines carry no sender credentials\"");
		return -1;
	}
	if (cfg->batch_max < 1 || cfg->queue_max < 1) {
		log_err("event=config_error error=\"batch_max and queue_max must be at least 1\"");
		return -1;
	}
	if (cfg->confirm && strcmp(cfg->fifo, "-") != 0) {
		log_err("event=config_error error=\"confirm = yes needs fifo = - (rsyslog omprog)\"");
		return -1;
	}
	if (retention_check_config(cfg, error, sizeof(error)) < 0) {
		log_err("event=config_error error=\"%s\"", error);
		return -1;
	}
	if (trusted_policy_load(&cfg->trusted_uids, policy, error, sizeof(error)) < 0) {
		log_err("event=config_error error=\"%s\"", error);
		return -1;
	}
	if (cfg->require_trusted && policy->count == 0) {
		log_err("event=config_error error=\"require_trusted = yes but trusted_uids is empty: nothing could ever be granted\"");
		trusted_policy_free(policy);
		return -1;
	}
	return 0;
}

static int
check_only(const struct config *cfg)
{
	struct trusted_policy policy;
	struct rules *rules;
	size_t samples;
	int failures;

	if (check_config(cfg, &policy) < 0)
		return 1;
	trusted_policy_free(&policy);
	if ((rules = load_rules(cfg)) == NULL)
		return 1;
	failures = rules_run_samples(rules, stderr, &samples);
	printf("authrelayd: config ok: %zu parser families, %zu samples, %d failures\n",
	    rules_family_count(rules), samples, failures);
	rules_free(rules);
	return failures == 0 ? 0 : 1;
}

/*
 * The FIFO is opened O_RDWR so a writer closing never gives EOF (no
 * busy loop after a syslog restart), O_NOFOLLOW so a planted symlink is
 * refused, and checked on the descriptors (lib/secfile.c): its
 * directory, type, mode and owner. Standard input is taken as it is.
 */
static int
open_input(const char *path)
{
	char why[SECFILE_WHY_MAX];
	int fd;

	if (strcmp(path, "-") == 0) {
		if ((fd = dup(STDIN_FILENO)) < 0) {
			log_sys(LOG_ERR, "event=fatal what=dup(stdin)");
			return -1;
		}
	} else if ((fd = secfile_open_fifo(path, why)) < 0) {
		log_err("event=fatal what=open(%s) error=\"%s\"", path, why);
		return -1;
	}
	(void)fcntl(fd, F_SETPIPE_SZ, PIPE_SIZE_WANTED);	/* pipes only */
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

/*
 * A libpq password file others may read: refuse (libpq would only warn
 * and ignore it, while the password lies open). Called as the user that
 * connects, after the privilege drop.
 */
static int
check_pgpass(const char *conninfo)
{
	char why[PGPASS_WHY_MAX];

	if (pgpass_check(conninfo, why) < 0) {
		log_err("event=fatal error=\"%s\"", why);
		return -1;
	}
	return 0;
}

/* After the FIFO is open: the shared drop in lib/privdrop.c. */
static int
drop_privileges(const char *user)
{
	const char *why;
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0 || user == NULL || *user == '\0')
		return 0;
	if (privdrop_lookup(user, &uid, &gid, &why) < 0 ||
	    privdrop_to(uid, gid, &why) < 0) {
		log_err("event=fatal what=drop_privileges(%s) error=\"%s\"", user, why);
		return -1;
	}
	return 0;
}

static int
open_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static void
log_counters(const struct watcher *w)
{
	log_info("event=counters lines=%llu matched=%llu granted=%llu ignored=%llu "
	    "bad_field=%llu too_long=%llu limit=%llu oversized=%llu queued=%zu "
	    "dropped=%llu committed=%llu db_errors=%llu swept=%llu "
	    "snapshot_restarts=%llu untrusted=%llu loop_busy_max_ms=%lld stale=%llu",
	    (unsigned long long)w->n.lines, (unsigned long long)w->n.matched,
	    (unsigned long long)w->n.granted, (unsigned long long)w->n.ignored,
	    (unsigned long long)w->n.bad_field, (unsigned long long)w->n.too_long,
	    (unsigned long long)w->n.limit,
	    (unsigned long long)w->input.oversized, w->queue.len,
	    (unsigned long long)w->queue.dropped,
	    (unsigned long long)w->n.committed, (unsigned long long)w->n.db_errors,
	    (unsigned long long)w->n.swept,
	    (unsigned long long)w->n.snapshot_restarts,
	    (unsigned long long)w->n.untrusted,
	    (long long)w->n.loop_busy_max_ms, (unsigned long long)w->n.stale);
}

#define M(n, t, h, v) { "authrelay_" n, h, t, { { NULL, NULL } }, (double)(v) }
#define ML(n, t, h, k, l, v) { "authrelay_" n, h, t, { { k, l }, { NULL, NULL } }, (double)(v) }

/* metrics_file: the counters in Prometheus' text format (authrelayd(8)). */
static void
write_metrics(struct watcher *w, int64_t now)
{
	enum store_state ss = store_state(w->store);
	double age = w->n.last_commit_ms == 0 ? -1.0 :
	    (double)(now - w->n.last_commit_ms) / 1000.0;
	double oldest = w->queue.len == 0 ? 0.0 :
	    (double)(now - queue_at(&w->queue, 0)->received_ms) / 1000.0;
	uint64_t connects = w->n.db_connects_before + store_connects(w->store);
	char err[METRICS_ERROR_MAX];
	const char *in = "Input lines refused before any decision, by reason.";
	const struct metrics_sample s[] = {
		M("start_time_seconds", "gauge", "When authrelayd started (Unix time).",
		    w->started),
		M("lines_total", "counter", "Input lines read.", w->n.lines),
		M("matched_total", "counter", "Lines a parser recognised as a login.",
		    w->n.matched),
		ML("logins_total", "counter", "Logins decided, by outcome.",
		    "outcome", "granted", w->n.granted),
		ML("logins_total", NULL, NULL, "outcome", "ignored", w->n.ignored),
		ML("rejected_lines_total", "counter", in, "reason", "bad_field",
		    w->n.bad_field),
		ML("rejected_lines_total", NULL, NULL, "reason", "too_long",
		    w->n.too_long),
		ML("rejected_lines_total", NULL, NULL, "reason", "pcre2_limit",
		    w->n.limit),
		ML("rejected_lines_total", NULL, NULL, "reason", "oversized",
		    w->input.oversized),
		M("untrusted_total", "counter", "Lines whose sender was not trusted.",
		    w->n.untrusted),
		M("queue_depth", "gauge", "Logins waiting to be committed.",
		    w->queue.len),
		M("queue_max", "gauge", "The queue's capacity (queue_max).",
		    w->queue.max),
		M("queue_dropped_total", "counter",
		    "Logins dropped because the queue was full.", w->queue.dropped),
		M("queue_oldest_age_seconds", "gauge",
		    "How long the oldest queued login has waited.", oldest),
		M("committed_total", "counter", "Logins committed to the database.",
		    w->n.committed),
		M("last_commit_age_seconds", "gauge",
		    "Seconds since the last commit (-1: none yet).", age),
		M("db_errors_total", "counter", "Batches the database did not commit.",
		    w->n.db_errors),
		M("db_up", "gauge", "1 while connected to the database.",
		    ss == STORE_IDLE || ss == STORE_BUSY),
		M("db_connects_total", "counter",
		    "Database sessions established (the first included).", connects),
		M("db_reconnects_total", "counter",
		    "Database sessions established after the first.",
		    connects > 0 ? connects - 1 : 0),
		M("swept_total", "counter", "Expired relays deleted.", w->n.swept),
		M("snapshot_restarts_total", "counter",
		    "Times the snapshot process died and was restarted.",
		    w->n.snapshot_restarts),
		M("loop_busy_max_seconds", "gauge",
		    "Longest stretch the main loop went without polling its inputs.",
		    (double)w->n.loop_busy_max_ms / 1000.0),
	};

	w->next_metrics_ms = now + METRICS_INTERVAL_MS;
	if (metrics_write(w->cfg.metrics_file, s, sizeof(s) / sizeof(s[0]),
	    err) < 0)
		log_err("event=metrics_failed error=\"%s\"", err);
}

/* Start the snapshot process when due (watcher/snapshot.c says why). */
static void
spawn_snapshot(struct watcher *w, int64_t now)
{
	if (w->snap_pid > 0 || w->stopping || !config_writes_snapshot(&w->cfg) ||
	    now < w->snap_respawn_ms)
		return;
	if ((w->snap_pid = snapshot_spawn(&w->cfg)) < 0) {
		log_sys(LOG_ERR, "event=snapshot_spawn_failed");
		w->snap_pid = 0;
		w->snap_respawn_ms = now + SNAPSHOT_RESPAWN_MAX_MS;
		return;
	}
	log_debug("event=snapshot_started pid=%ld", (long)w->snap_pid);
}

/* The snapshot process ended: unless we stop it, it comes back. */
static void
snapshot_exited(struct watcher *w, int status)
{
	int64_t now = clock_ms();

	w->snap_pid = 0;
	if (w->stopping)
		return;
	if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM)) {
		log_err("event=snapshot_exited status=%d restart_ms=%lld",
		    WIFEXITED(status) ? WEXITSTATUS(status) :
		    128 + WTERMSIG(status), (long long)w->snap_backoff_ms);
		w->n.snapshot_restarts++;
		w->snap_backoff_ms = w->snap_backoff_ms == 0 ?
		    SNAPSHOT_RESPAWN_MIN_MS : w->snap_backoff_ms * 2;
		if (w->snap_backoff_ms > SNAPSHOT_RESPAWN_MAX_MS)
			w->snap_backoff_ms = SNAPSHOT_RESPAWN_MAX_MS;
	}
	w->snap_respawn_ms = now + w->snap_backoff_ms;
}

static void
reap_children(struct watcher *w)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == w->snap_pid)
			snapshot_exited(w, status);
		else
			hook_reaped(pid, status);
	}
}

static void
stop_snapshot(struct watcher *w)
{
	int status;

	if (w->snap_pid <= 0)
		return;
	kill(w->snap_pid, SIGTERM);
	if (waitpid(w->snap_pid, &status, 0) == w->snap_pid)
		w->snap_pid = 0;
}

/*
 * The host's own addresses: at start and on SIGHUP. A reload that
 * cannot read them keeps the old set.
 */
static int
load_self(struct watcher *w)
{
	const char *why;

	if (selfaddr_load(&w->self, &why) < 0) {
		log_sys(LOG_ERR, "event=self_addresses_failed error=\"%s\"", why);
		return -1;
	}
	log_info("event=self_addresses count=%zu", w->self.count);
	return 0;
}

/* SIGHUP: a new config and parsers replace the old only if both load. */
static void
reload(struct watcher *w)
{
	char error[CONFIG_ERROR_MAX];
	struct trusted_policy policy;
	struct config cfg;
	struct rules *rules;

	if (config_load(w->conf_path, 0, &cfg, error) < 0) {
		log_err("event=reload_failed error=\"%s\" keeping=old", error);
		return;
	}
	if (check_config(&cfg, &policy) < 0) {
		log_err("event=reload_failed keeping=old");
		config_free(&cfg);
		return;
	}
	if ((rules = load_rules(&cfg)) == NULL) {
		log_err("event=reload_failed keeping=old");
		trusted_policy_free(&policy);
		config_free(&cfg);
		return;
	}
	if (strcmp(cfg.fifo, w->cfg.fifo) != 0)
		log_warn("event=reload note=\"fifo change needs a restart\"");
	if (strcmp(cfg.database, w->cfg.database) != 0) {
		struct store *st = store_new(cfg.database,
		    handover_name(&w->handover));

		if (st != NULL) {
			w->n.db_connects_before += store_connects(w->store);
			store_free(w->store);
			w->store = st;
		}
	}
	rules_free(w->rules);
	config_free(&w->cfg);
	trusted_policy_free(&w->policy);
	w->rules = rules;
	w->cfg = cfg;
	w->policy = policy;
	w->queue.max = (size_t)cfg.queue_max;
	/* New intervals apply now, not after the old timers run out. */
	if (w->next_sweep_ms > clock_ms() + cfg.sweep_interval_ms)
		w->next_sweep_ms = clock_ms() + cfg.sweep_interval_ms;
	retention_reload(&w->retention, &cfg, clock_ms());
	/* the snapshot process has the old config: a new one takes over */
	if (w->snap_pid > 0)
		kill(w->snap_pid, SIGTERM);
	w->snap_backoff_ms = 0;
	w->snap_respawn_ms = clock_ms();
	(void)load_self(w);
	log_info("event=reloaded families=%zu", rules_family_count(rules));
}

static void
handle_signals(struct watcher *w)
{
	struct signalfd_siginfo si;

	while (read(w->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			reload(w);
			break;
		case SIGUSR1:
			log_counters(w);
			break;
		case SIGCHLD:
			reap_children(w);
			break;
		default:
			if (!w->stopping)
				log_info("event=stopping queued=%zu", w->queue.len);
			w->stopping = 1;
			w->stop_deadline_ms = clock_ms() + STOP_FLUSH_MS;
			break;
		}
	}
}

/* Decide a recognised login: granted, or ignored with a reason. */
static void
decide(const struct config *cfg, const struct selfaddr *self,
    const struct rules_match *m, struct event *ev)
{
	const char *why;

	ev->reason[0] = '\0';
	if (!config_list_has(&cfg->services, m->service))
		snprintf(ev->reason, sizeof(ev->reason), "service");
	else if (config_never_relay(cfg, &m->addr, &why))
		snprintf(ev->reason, sizeof(ev->reason), "never_relay:%s", why);
	else if (selfaddr_has(self, &m->addr))
		snprintf(ev->reason, sizeof(ev->reason), "never_relay:self");
}

static void
note_drop(struct watcher *w, int64_t now)
{
	if (now - w->last_drop_log_ms < DROP_LOG_EVERY_MS)
		return;
	log_err("event=queue_full dropped=%llu since_last=%llu queue_max=%zu",
	    (unsigned long long)w->queue.dropped,
	    (unsigned long long)(w->queue.dropped - w->drops_logged),
	    w->queue.max);
	w->drops_logged = w->queue.dropped;
	w->last_drop_log_ms = now;
}

/*
 * With the trusted template, the sender's kernel-attested uid must be one
 * the policy allows for the family whose line it is; anything else is
 * recorded as ignored, never granted. NULL: trusted (or not required).
 */
static const char *
sender_verdict(struct watcher *w, const struct trusted_line *tl,
    int have_tl, const char *family)
{
	if (!w->cfg.require_trusted)
		return NULL;
	if (!have_tl)
		return "malformed";
	return trusted_check(&w->policy, tl, family, (int64_t)time(NULL),
	    w->cfg.max_clock_skew_ms / 1000);
}

/* All events up to this sequence number are committed (or given up). */
static uint64_t
done_seq(struct watcher *w)
{
	return w->queue.len == 0 ? w->next_seq - 1 : queue_at(&w->queue, 0)->seq - 1;
}

static void handle_line_inner(struct watcher *w, const char *line, size_t len,
    int64_t now, int *queued_r, int *dropped_r);

/*
 * One input line. With confirm = yes the transaction marks are no
 * logins, and every line gets its answer (confirm.h has the rules).
 */
static void
handle_line(struct watcher *w, const char *line, size_t len, int64_t now)
{
	int queued = 0, dropped = 0;

	if (!w->cfg.confirm) {
		handle_line_inner(w, line, len, now, &queued, &dropped);
		return;
	}
	if (!confirm_is_mark(line, len))
		handle_line_inner(w, line, len, now, &queued, &dropped);
	confirm_line(&w->confirm, line, len, w->next_seq - 1, queued, dropped);
	confirm_flush(&w->confirm, done_seq(w));
}

static void
handle_line_inner(struct watcher *w, const char *line, size_t len, int64_t now,
    int *queued_r, int *dropped_r)
{
	const char *raw = line;
	size_t raw_len = len;
	struct trusted_line tl = { 0 };
	struct rules_match m;
	struct event ev;
	const char *distrust;
	int have_tl = 0;

	w->n.lines++;
	if (w->cfg.input_format[0] == 't') {
		have_tl = trusted_parse(line, len, &tl) == 0;
		if (have_tl) {
			line = tl.msg;
			len = tl.msg_len;
		} else if (w->cfg.require_trusted) {
			w->n.untrusted++;	/* not even the template: junk */
			return;
		}
	}
	switch (rules_match_line(w->rules, line, len, &m)) {
	case RULES_MATCH:
		break;
	case RULES_BAD_FIELD:
		w->n.bad_field++;
		log_debug("event=rejected reason=bad_field");
		return;
	case RULES_TOO_LONG:
		w->n.too_long++;
		return;
	case RULES_LIMIT:
		w->n.limit++;
		log_warn("event=rejected reason=pcre2_limit");
		return;
	default:
		return;
	}
	w->n.matched++;
	memcpy(ev.ip, m.ip, sizeof(ev.ip));
	memcpy(ev.user, m.user, sizeof(ev.user));
	snprintf(ev.parser, sizeof(ev.parser), "%s", m.parser);
	memcpy(ev.service, m.service, sizeof(ev.service));
	ev.received_ms = now;
	ev.redelivered = 0;
	/* identical raw lines are re-deliveries */
	ev.line_hash = fnv1a64(FNV1A64_INIT, raw, raw_len);
	ev.seq = w->next_seq;
	decide(&w->cfg, &w->self, &m, &ev);
	if ((distrust = sender_verdict(w, &tl, have_tl, m.parser)) != NULL) {
		w->n.untrusted++;
		snprintf(ev.reason, sizeof(ev.reason), "untrusted:%s", distrust);
		log_warn("event=untrusted parser=%s ip=%s reason=%s uid=%ld",
		    m.parser, m.ip, distrust, have_tl && tl.has_uid ?
		    (long)tl.uid : -1L);
	}
	if (ev.reason[0] == '\0')
		w->n.granted++;
	else
		w->n.ignored++;
	log_debug("event=login parser=%s rule=%s service=%s ip=%s reason=%s",
	    m.parser, m.rule, m.service, m.ip,
	    ev.reason[0] != '\0' ? ev.reason : "-");
	if (queue_push(&w->queue, &ev) < 0) {
		*dropped_r = 1;
		note_drop(w, now);
		return;
	}
	w->next_seq++;
	*queued_r = 1;
}

/*
 * Backpressure: in FIFO mode a full queue stops the reading, so the
 * syslog daemon's own queue holds what follows instead of logins being
 * dropped here. (With confirm = yes rsyslog waits for the answer to
 * COMMIT TRANSACTION, so the queue holds one transaction at most.)
 */
static int
input_held(const struct watcher *w)
{
	return !w->cfg.confirm && queue_full(&w->queue);
}

/* Handle the complete lines already read; 1 if the queue stopped it. */
static int
take_lines(struct watcher *w, int64_t now)
{
	const char *line;
	size_t len;

	for (;;) {
		if (input_held(w))
			return 1;
		if (!linebuf_next(&w->input, &line, &len))
			return 0;
		handle_line(w, line, len, now);
	}
}

/*
 * A line of the omprog journal: answered DEFER_COMMIT by a predecessor
 * that stopped before it was committed. Queued whatever queue_max says.
 */
static uint64_t
replay_line(void *arg, const char *line, size_t len)
{
	struct watcher *w = arg;
	size_t max = w->queue.max;
	int queued = 0, dropped = 0;

	w->queue.max = SIZE_MAX;
	if (!confirm_is_mark(line, len))
		handle_line_inner(w, line, len, clock_ms(), &queued, &dropped);
	w->queue.max = max;
	return w->next_seq - 1;
}

/* Standard input ended (the omprog parent is gone): stop once it is read. */
static void
finish_input(struct watcher *w, int64_t now)
{
	const char *line;
	size_t len;

	if (take_lines(w, now))
		return;
	if (linebuf_rest(&w->input, &line, &len))
		handle_line(w, line, len, now);
	w->input_eof = 2;
	log_info("event=input_closed");
	if (!w->stopping) {
		w->stopping = 1;
		w->stop_deadline_ms = now + STOP_FLUSH_MS;
	}
}

static void
read_input(struct watcher *w)
{
	ssize_t n;
	int64_t now = clock_ms();

	for (int rounds = 0; rounds < 16; rounds++) {
		if (take_lines(w, now))
			return;
		n = linebuf_fill(&w->input, w->input_fd);
		if (n == 0) {
			w->input_eof = 1;
			finish_input(w, now);
			return;
		}
		if (n < 0) {
			if (errno != EAGAIN)
				log_sys(LOG_ERR, "event=read_error");
			return;
		}
	}
	take_lines(w, now);
}

/* Log what a committed batch decided, one line per login. */
static void
log_committed(struct watcher *w, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const struct event *ev = queue_at(&w->queue, i);

		log_info("event=%s ip=%s user=%s parser=%s service=%s%s%s",
		    ev->reason[0] == '\0' ? "grant" : "ignore", ev->ip, ev->user,
		    ev->parser, ev->service, ev->reason[0] != '\0' ? " reason=" : "",
		    ev->reason);
		if (ev->reason[0] == '\0')
			hook_run(w->cfg.on_change, "grant", ev->ip);
	}
}

static void
handle_result(struct watcher *w, const struct store_result *res, int64_t now)
{
	if (res->job == STORE_JOB_VERSION || res->job == STORE_JOB_MAINTAIN) {
		if (retention_handle(&w->retention, w->store, res, now) < 0)
			w->fatal = 1;
		return;
	}
	if (res->job == STORE_JOB_HANDOVER) {
		handover_handle(&w->handover, w->store, res, now);
		return;
	}
	if (res->job == STORE_JOB_SWEEP) {
		if (res->ok) {
			w->n.swept += (uint64_t)res->rows;
			w->sweep_more = res->rows >= STORE_SWEEP_BATCH;
			if (res->rows > 0)
				log_info("event=expired relays=%ld", res->rows);
			for (size_t i = 0; i < res->naddrs; i++)
				hook_run(w->cfg.on_change, "expire",
				    res->addrs[i]);
		}
		return;
	}
	if (res->ok) {
		log_committed(w, res->events);
		queue_pop(&w->queue, res->events);
		w->n.committed += res->events;
		w->n.last_commit_ms = clock_ms();
		w->isolate -= w->isolate < res->events ? w->isolate : res->events;
		return;
	}
	w->n.db_errors++;
	if (res->data_error && res->events == 1) {
		/* One event the server refuses: never block the queue on it. */
		const struct event *ev = queue_at(&w->queue, 0);

		log_err("event=db_refused ip=%s parser=%s error=\"%s\" dropped=1",
		    ev->ip, ev->parser, res->error);
		queue_pop(&w->queue, 1);
	} else if (res->data_error) {
		log_err("event=db_error error=\"%s\" retry=one_by_one", res->error);
		w->isolate = res->events;
	}
}

/* With the connection idle: sweep, or write the next batch. */
static void
start_work(struct watcher *w, int64_t now)
{
	size_t n;

	if (store_state(w->store) != STORE_IDLE)
		return;
	/* First the schema check, then partition upkeep when due. */
	if (retention_start(&w->retention, w->store, &w->cfg, now))
		return;
	/* Nothing is written while an earlier session may still write. */
	if (handover_start(&w->handover, w->store, now))
		return;
	if (now >= w->next_sweep_ms || w->sweep_more) {
		w->next_sweep_ms = now + w->cfg.sweep_interval_ms;
		w->sweep_more = 0;
		store_send_sweep(w->store, now);
		return;
	}
	if (w->queue.len == 0)
		return;
	n = w->queue.len < (size_t)w->cfg.batch_max ? w->queue.len :
	    (size_t)w->cfg.batch_max;
	/* After a refused batch, isolate the bad event one at a time. */
	if (w->isolate > 0)
		n = 1;
	for (size_t i = 0; i < n; i++) {
		struct event *ev = queue_at(&w->queue, i);

		/* An event older than a relay's life grants nothing now. */
		if (ev->reason[0] == '\0' && now - ev->received_ms >= w->cfg.expire_ms) {
			snprintf(ev->reason, sizeof(ev->reason), "stale");
			w->n.stale++;
		}
	}
	store_send_batch(w->store, &w->queue, n, now, w->cfg.expire_ms);
}

static int64_t
min_timeout(int64_t a, int64_t b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

static int
poll_timeout(struct watcher *w, int64_t now)
{
	int64_t t = store_next_ms(w->store, now);

	if (store_state(w->store) == STORE_IDLE) {
		t = min_timeout(t, w->next_sweep_ms > now ? w->next_sweep_ms - now : 0);
		t = min_timeout(t, retention_next_ms(&w->retention, w->store, now));
		t = min_timeout(t, handover_next_ms(&w->handover, w->store, now));
	}
	if (w->snap_pid == 0 && config_writes_snapshot(&w->cfg) && !w->stopping)
		t = min_timeout(t, w->snap_respawn_ms > now ?
		    w->snap_respawn_ms - now : 0);
	if (w->stopping)
		t = min_timeout(t, w->stop_deadline_ms > now ?
		    w->stop_deadline_ms - now : 0);
	if (w->cfg.metrics_file[0] != '\0')
		t = min_timeout(t, w->next_metrics_ms > now ?
		    w->next_metrics_ms - now : 0);
	return t < 0 ? 60000 : (int)(t > 60000 ? 60000 : t);
}

/*
 * Read input unless the queue is full (FIFO mode) or the input ended.
 * Once stopping, reading goes on only with confirm = yes inside an open
 * transaction with logins not yet committed: answering its lines lets
 * rsyslog reach COMMIT TRANSACTION, whose answer is then either OK (all
 * committed) or never given (rsyslog sends the whole batch again).
 */
static int
want_input(const struct watcher *w)
{
	if (w->input_eof || input_held(w))
		return 0;
	if (!w->stopping)
		return 1;
	return w->cfg.confirm && w->confirm.in_tx && w->queue.len > 0;
}

static int
run_loop(struct watcher *w)
{
	struct store_result res;
	int64_t busy_from = clock_ms();

	for (;;) {
		struct pollfd pfd[3];
		short store_events = 0;
		int store_fd = store_poll_fd(w->store, &store_events);
		int64_t now = clock_ms();

		/* how long the loop went without looking at its inputs */
		if (now - busy_from > w->n.loop_busy_max_ms)
			w->n.loop_busy_max_ms = now - busy_from;
		if (w->fatal) {
			log_err("event=stopped_unflushed lost=%zu", w->queue.len);
			return 1;
		}

		if (w->cfg.metrics_file[0] != '\0' && now >= w->next_metrics_ms)
			write_metrics(w, now);
		if (w->stopping && w->queue.len == 0 &&
		    store_state(w->store) != STORE_BUSY) {
			if (w->cfg.metrics_file[0] != '\0')
				write_metrics(w, now);	/* the final figures */
			log_info("event=stopped committed=%llu",
			    (unsigned long long)w->n.committed);
			return 0;
		}
		if (w->stopping && now >= w->stop_deadline_ms) {
			log_err("event=stopped_unflushed lost=%zu open_transaction=%d",
			    w->queue.len, w->cfg.confirm && w->confirm.in_tx);
			return 0;
		}
		pfd[0] = (struct pollfd){ w->signal_fd, POLLIN, 0 };
		pfd[1] = (struct pollfd){ want_input(w) ? w->input_fd : -1, POLLIN, 0 };
		pfd[2] = (struct pollfd){ store_fd, store_events, 0 };
		if (poll(pfd, 3, poll_timeout(w, now)) < 0 && errno != EINTR) {
			log_sys(LOG_ERR, "event=fatal what=poll");
			return 1;
		}
		now = clock_ms();
		busy_from = now;
		if (pfd[0].revents)
			handle_signals(w);
		if (pfd[1].revents)
			read_input(w);
		if (pfd[2].revents && store_handle_io(w->store, now, &res)) {
			handle_result(w, &res, now);
			store_result_free(&res);
		}
		spawn_snapshot(w, now);
		store_tick(w->store, now);
		/* Lines read earlier and held back by a full queue, then a batch. */
		if (w->input_eof == 1)
			finish_input(w, now);
		else
			take_lines(w, now);
		start_work(w, now);
		if (w->cfg.confirm) {
			confirm_flush(&w->confirm, done_seq(w));
			if (w->confirm.failed && !w->stopping) {
				log_err("event=confirm_failed note=\"rsyslog is gone\"");
				w->stopping = 1;
				w->stop_deadline_ms = now + STOP_FLUSH_MS;
			}
		}
	}
}

static void
watcher_free(struct watcher *w)
{
	stop_snapshot(w);
	rules_free(w->rules);
	trusted_policy_free(&w->policy);
	selfaddr_free(&w->self);
	store_free(w->store);
	queue_free(&w->queue);
	linebuf_free(&w->input);
	confirm_close(&w->confirm);
	config_free(&w->cfg);
	if (w->input_fd >= 0)
		close(w->input_fd);
	if (w->signal_fd >= 0)
		close(w->signal_fd);
}

static int
daemonize(const char *pidfile)
{
	pid_t pid = fork();
	FILE *f;

	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	setsid();
	if (freopen("/dev/null", "r", stdin) == NULL ||
	    freopen("/dev/null", "w", stdout) == NULL ||
	    freopen("/dev/null", "w", stderr) == NULL)
		return -1;
	if (pidfile[0] != '\0' && (f = fopen(pidfile, "we")) != NULL) {
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}
	return 0;
}

/* Sessions are named after the journals read (ours first), else the input. */
static void
init_handover(struct watcher *w)
{
	const char *input = w->cfg.fifo;

	if (w->confirm.njournal_names > 0)
		handover_init(&w->handover,
		    (const char *const *)w->confirm.journal_names,
		    w->confirm.njournal_names);
	else
		handover_init(&w->handover, &input, 1);
}

static int
start(struct watcher *w, int foreground)
{
	if (check_config(&w->cfg, &w->policy) < 0)
		return 1;
	if ((w->rules = load_rules(&w->cfg)) == NULL)
		return 1;
	if (w->cfg.database[0] == '\0') {
		log_err("event=fatal error=\"%s: database is not set\"", w->conf_path);
		return 1;
	}
	if ((w->input_fd = open_input(w->cfg.fifo)) < 0)
		return 1;
	if (load_self(w) < 0)
		return 1;
	if ((w->signal_fd = open_signals()) < 0) {
		log_sys(LOG_ERR, "event=fatal what=signalfd");
		return 1;
	}
	if (!foreground && daemonize(w->cfg.pidfile) < 0)
		return 1;
	if (drop_privileges(w->cfg.user) < 0 || check_pgpass(w->cfg.database) < 0)
		return 1;
	if (linebuf_init(&w->input, INPUT_BUF_SIZE, INPUT_LINE_MAX) < 0) {
		log_err("event=fatal error=\"out of memory\"");
		return 1;
	}
	queue_init(&w->queue, (size_t)w->cfg.queue_max);
	w->next_seq = 1;
	confirm_init(&w->confirm, STDOUT_FILENO);
	if (w->cfg.confirm && w->cfg.confirm_journal[0] != '\0') {
		const char *why;
		size_t n;

		if (confirm_journal_open(&w->confirm, w->cfg.confirm_journal, &why) < 0) {
			log_err("event=fatal what=confirm_journal(%s) error=\"%s\"",
			    w->cfg.confirm_journal, why);
			return 1;
		}
		if ((n = confirm_journal_replay(&w->confirm, replay_line, w)) > 0)
			log_warn("event=journal_replayed lines=%zu queued=%zu", n,
			    w->queue.len);
	}
	init_handover(w);
	if ((w->store = store_new(w->cfg.database,
	    handover_name(&w->handover))) == NULL) {
		log_err("event=fatal error=\"out of memory\"");
		return 1;
	}
	/* omprog waits for the program to say it is ready. */
	if (w->cfg.confirm)
		confirm_ready(&w->confirm);
	w->next_sweep_ms = clock_ms();
	w->snap_respawn_ms = clock_ms();
	retention_init(&w->retention, clock_ms());
	w->next_metrics_ms = clock_ms();
	w->started = time(NULL);
	log_info("event=started fifo=%s families=%zu expire_ms=%lld",
	    w->cfg.fifo, rules_family_count(w->rules),
	    (long long)w->cfg.expire_ms);
	store_tick(w->store, clock_ms());
	return run_loop(w);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "sync", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	struct watcher w = { .input_fd = -1, .signal_fd = -1,
	    .confirm = { .journal_fd = -1 } };
	int foreground = 0, check = 0, verbose = 0, sync_mode = 0, c, rc;
	char error[CONFIG_ERROR_MAX];
	const char *conf = NULL;

	while ((c = getopt_long(argc, argv, "c:fnv", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'f': foreground = 1; break;
		case 'n': check = 1; break;
		case 'v': verbose = 1; break;
		case 'S': sync_mode = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("authrelayd", foreground || check, verbose);
	w.conf_path = config_path(conf);
	if (config_load(w.conf_path, 0, &w.cfg, error) < 0) {
		log_err("event=config_error error=\"%s\"", error);
		return 1;
	}
	if (check)
		rc = check_only(&w.cfg);
	else if (sync_mode) {
		/* --sync reads no FIFO: drop at once; a reload needs a restart. */
		signal(SIGHUP, SIG_IGN);
		rc = drop_privileges(w.cfg.user) < 0 ||
		    check_pgpass(w.cfg.database) < 0 ? 1 : snapshot_run(&w.cfg);
	}
	else
		rc = start(&w, foreground);
	watcher_free(&w);
	return rc;
}
