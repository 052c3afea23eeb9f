/* policy.c - authrelay-policy: Postfix policy delegation, action=OK for clients with an active relay. */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "ipaddr.h"
#include "log.h"
#include "privdrop.h"
#include "relaylookup.h"
#include "request.h"

#define PROG "authrelay-policy"
#define ANSWER_OK "action=OK\n\n"
#define ANSWER_DUNNO "action=DUNNO\n\n"
#define IDLE_DEFAULT_S 300	/* Postfix's smtpd_policy_service_max_idle */
#define IDLE_MAX_S 86400
#define CLIENTS_DEFAULT 32
#define CLIENTS_MAX 1024
#define LISTEN_BACKLOG 64
#define READ_CHUNK 4096

/* The configuration, re-read whenever the file changes. */
struct cfgstate {
	const char *path;
	int loaded;
	struct config cfg;
	struct stat st;		/* of the file that was loaded */
	char err[CONFIG_ERROR_MAX];
};

static volatile sig_atomic_t got_term, got_child;

static void
usage(void)
{
	fputs("usage: " PROG " [-ev] [-c file] [-t idle]\n"
	    "       " PROG " [-ev] [-c file] [-t idle] -l socket [-m mode]"
	    " [-g group] [-n clients]\n", stderr);
	exit(100);
}

static void
cfg_release(struct cfgstate *cs)
{
	if (!cs->loaded)
		return;
	/* auth-wrap does the same: no conninfo password left in memory */
	if (cs->cfg.lookup_database != NULL)
		explicit_bzero(cs->cfg.lookup_database,
		    strlen(cs->cfg.lookup_database));
	if (cs->cfg.database != NULL)
		explicit_bzero(cs->cfg.database, strlen(cs->cfg.database));
	config_free(&cs->cfg);
	cs->loaded = 0;
}

static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/*
 * The configuration as the file says now: one stat per request, a new
 * read when the file was replaced or modified. -1 with *why_r when it
 * cannot be read (then nothing stays loaded: no decision on stale keys).
 */
static int
cfg_refresh(struct cfgstate *cs, const char **why_r)
{
	struct stat st;

	if (stat(cs->path, &st) < 0) {
		cfg_release(cs);
		snprintf(cs->err, sizeof(cs->err), "%s: %s", cs->path,
		    strerror(errno));
		*why_r = cs->err;
		return -1;
	}
	if (cs->loaded && same_file(&st, &cs->st))
		return 0;
	cfg_release(cs);
	if (config_load(cs->path, 0, &cs->cfg, cs->err) < 0) {
		*why_r = cs->err;
		return -1;
	}
	cs->loaded = 1;
	cs->st = st;
	log_debug("event=config_loaded file=%s", cs->path);
	return 0;
}

/* Same address (after canonicalisation: ::ffff:a.b.c.d is a.b.c.d)? */
static int
same_addr(const struct ipaddr *a, const struct ipaddr *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes,
	    a->family == AF_INET ? 4 : 16) == 0;
}

/* The answer to one complete request; every fault is DUNNO and one warning. */
static const char *
decide(struct cfgstate *cs, const struct policyreq *r)
{
	struct relaycdb_entry entry;
	struct ipaddr caddr, saddr;
	char ip[IPADDR_TEXT_MAX];
	char why[RELAYLOOKUP_WHY_MAX];
	const char *err;

	if (r->bad_why != NULL) {
		log_warn("event=bad_request reason=\"%s\"", r->bad_why);
		return ANSWER_DUNNO;
	}
	if (!r->has_request || strcmp(r->request, "smtpd_access_policy") != 0) {
		log_warn("event=bad_request reason=\"request is not "
		    "smtpd_access_policy\"");
		return ANSWER_DUNNO;
	}
	if (!r->has_client || ipaddr_parse(r->client, strlen(r->client),
	    &caddr, &err) < 0) {
		log_warn("event=bad_request reason=\"%s\"", r->has_client ?
		    "client_address is not an IP address" :
		    "no client_address");
		return ANSWER_DUNNO;
	}
	ipaddr_format(&caddr, ip);
	if (r->has_server && r->server[0] != '\0') {
		if (ipaddr_parse(r->server, strlen(r->server), &saddr,
		    &err) < 0) {
			log_warn("event=bad_request ip=%s reason=\"server_address "
			    "is not an IP address\"", ip);
			return ANSWER_DUNNO;
		}
		if (same_addr(&caddr, &saddr)) {
			log_debug("event=dunno ip=%s reason=own_address", ip);
			return ANSWER_DUNNO;
		}
	}
	if (cfg_refresh(cs, &err) < 0) {
		log_warn("event=no_check ip=%s reason=\"%s\"", ip, err);
		return ANSWER_DUNNO;
	}
	switch (relaylookup(&cs->cfg, &caddr, ip, &entry, why)) {
	case RELAYLOOKUP_RELAY:
		log_debug("event=ok ip=%s user=%s", ip, entry.user);
		return ANSWER_OK;
	case RELAYLOOKUP_NONE:
		log_debug("event=dunno ip=%s", ip);
		return ANSWER_DUNNO;
	case RELAYLOOKUP_ERROR:
	default:
		log_warn("event=no_check ip=%s reason=\"%s\"", ip, why);
		return ANSWER_DUNNO;
	}
}

static int
write_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Answer requests from in on out until end of input, a read or write
 * error, idle_s seconds without a byte between requests, or a request
 * that takes longer than idle_s to arrive.
 */
static void
serve(int in, int out, struct cfgstate *cs, int idle_s)
{
	static struct policyreq r;	/* 4 KiB line: not on the stack */
	char buf[READ_CHUNK];
	int64_t started_ms = 0;

	policyreq_reset(&r);
	for (;;) {
		struct pollfd p = { .fd = in, .events = POLLIN };
		int64_t wait_ms = (int64_t)idle_s * 1000;
		ssize_t n;
		size_t off = 0;
		int pr;

		if (got_term)
			return;
		if (r.started) {
			wait_ms -= clock_ms() - started_ms;
			if (wait_ms < 0)
				wait_ms = 0;
		}
		pr = poll(&p, 1, (int)wait_ms);
		if (pr < 0 && errno == EINTR) {
			if (got_term)
				return;
			continue;
		}
		if (pr < 0) {
			log_sys(LOG_WARNING, "event=read_failed what=poll");
			return;
		}
		if (pr == 0) {
			log_debug("event=closed reason=%s", r.started ?
			    "request_timeout" : "idle");
			return;
		}
		n = read(in, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			log_sys(LOG_WARNING, "event=read_failed what=read");
			return;
		}
		if (n == 0) {
			if (r.started)
				log_debug("event=closed reason=eof_in_request");
			return;
		}
		if (!r.started)
			started_ms = clock_ms();
		while (off < (size_t)n) {
			int done;

			off += policyreq_feed(&r, buf + off, (size_t)n - off,
			    &done);
			if (done) {
				const char *a = decide(cs, &r);

				if (write_all(out, a, strlen(a)) < 0)
					return;	/* the client went away */
				policyreq_reset(&r);
				started_ms = clock_ms();
			}
		}
	}
}

static void
on_signal(int sig)
{
	if (sig == SIGCHLD)
		got_child = 1;
	else
		got_term = 1;
}

/* The listening socket: born mode 0600, then the requested mode and group. */
static int
listen_socket(const char *path, mode_t mode, gid_t gid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_err("event=fatal what=socket path=%s error=\"path too long\"",
		    path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode)) {
			log_err("event=fatal what=socket path=%s "
			    "error=\"exists and is not a socket\"", path);
			return -1;
		}
		/* a live server keeps its socket; a dead one's is stale */
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa,
		    sizeof(sa)) == 0) {
			close(probe);
			log_err("event=fatal what=socket path=%s "
			    "error=\"another server listens there\"", path);
			return -1;
		}
		if (probe >= 0)
			close(probe);
		if (unlink(path) < 0) {
			log_sys(LOG_ERR, "event=fatal what=unlink path=%s", path);
			return -1;
		}
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		log_sys(LOG_ERR, "event=fatal what=socket");
		return -1;
	}
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		umask(old);
		log_sys(LOG_ERR, "event=fatal what=bind path=%s", path);
		close(fd);
		return -1;
	}
	umask(old);
	if ((gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) < 0) ||
	    chmod(path, mode) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		log_sys(LOG_ERR, "event=fatal what=socket_setup path=%s", path);
		unlink(path);
		close(fd);
		return -1;
	}
	return fd;
}

/* As root: become the configuration's user (the watcher's). */
static int
drop_root(const char *conf)
{
	struct config cfg;
	char cerr[CONFIG_ERROR_MAX];
	const char *why;
	uid_t uid;
	gid_t gid;
	int rc = 0;

	if (geteuid() != 0)
		return 0;
	if (config_load(conf, 0, &cfg, cerr) < 0) {
		log_err("event=fatal what=config error=\"%s\"", cerr);
		return -1;
	}
	if (cfg.user == NULL || cfg.user[0] == '\0') {
		log_warn("event=running_as_root reason=\"user is empty\"");
	} else if (privdrop_lookup(cfg.user, &uid, &gid, &why) < 0 ||
	    privdrop_to(uid, gid, &why) < 0) {
		log_err("event=fatal what=drop_privileges(%s) error=\"%s\"",
		    cfg.user, why);
		rc = -1;
	}
	if (cfg.lookup_database != NULL)
		explicit_bzero(cfg.lookup_database, strlen(cfg.lookup_database));
	if (cfg.database != NULL)
		explicit_bzero(cfg.database, strlen(cfg.database));
	config_free(&cfg);
	return rc;
}

static void
reap(pid_t *kids, int *nkids)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < *nkids; i++) {
			if (kids[i] == pid) {
				kids[i] = kids[--*nkids];
				break;
			}
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			log_warn("event=child_failed pid=%ld status=%d",
			    (long)pid, status);
	}
}

/* Standalone: one child per connection, at most max_kids at a time. */
static int
run_listener(int lfd, const char *path, const char *conf, int idle_s,
    int max_kids)
{
	pid_t *kids = calloc((size_t)max_kids, sizeof(*kids));
	int nkids = 0;
	sigset_t block, unblocked;

	if (kids == NULL) {
		log_err("event=fatal what=calloc error=\"out of memory\"");
		return 111;
	}
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &unblocked);
	log_info("event=started socket=%s clients=%d", path, max_kids);
	while (!got_term) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		int pr, cfd;
		pid_t pid;

		/* signals arrive only inside ppoll: no flag is missed */
		pr = ppoll(&p, nkids < max_kids ? 1 : 0, NULL, &unblocked);
		if (got_child) {
			got_child = 0;
			reap(kids, &nkids);
		}
		if (pr <= 0 || !(p.revents & POLLIN) || got_term)
			continue;
		cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno != EINTR && errno != EAGAIN &&
			    errno != ECONNABORTED)
				log_sys(LOG_WARNING, "event=accept_failed");
			continue;
		}
		if ((pid = fork()) < 0) {
			log_sys(LOG_WARNING, "event=fork_failed");
			close(cfd);	/* the client retries or fails safe */
			continue;
		}
		if (pid == 0) {
			struct cfgstate cs = { .path = conf };

			close(lfd);
			signal(SIGCHLD, SIG_DFL);
			sigprocmask(SIG_SETMASK, &unblocked, NULL);
			serve(cfd, cfd, &cs, idle_s);
			cfg_release(&cs);
			_exit(0);
		}
		close(cfd);
		kids[nkids++] = pid;
	}
	close(lfd);
	if (unlink(path) < 0 && errno != ENOENT)
		log_sys(LOG_WARNING, "event=unlink_failed path=%s", path);
	for (int i = 0; i < nkids; i++)
		kill(kids[i], SIGTERM);
	while (nkids > 0) {
		pid_t pid = waitpid(-1, NULL, 0);

		if (pid < 0)
			break;
		for (int i = 0; i < nkids; i++)
			if (kids[i] == pid) {
				kids[i] = kids[--nkids];
				break;
			}
	}
	free(kids);
	log_info("event=stopped");
	return 0;
}

/* A whole number in [lo, hi] in the given base, or -1. */
static long
number(const char *s, int base, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, base);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	return v;
}

int
main(int argc, char **argv)
{
	const char *conf_opt = NULL, *sock = NULL, *group = NULL;
	long mode = 0660, idle_s = IDLE_DEFAULT_S, max_kids = CLIENTS_DEFAULT;
	int to_stderr = 0, verbose = 0, c;
	gid_t gid = (gid_t)-1;
	struct sigaction sa;

	while ((c = getopt(argc, argv, "c:eg:l:m:n:t:v")) != -1) {
		switch (c) {
		case 'c': conf_opt = optarg; break;
		case 'e': to_stderr = 1; break;
		case 'g': group = optarg; break;
		case 'l': sock = optarg; break;
		case 'm':
			/* others may never connect: they would learn who relays */
			if ((mode = number(optarg, 8, 0, 0777)) < 0 ||
			    (mode & 0007) != 0) {
				fputs(PROG ": -m: an octal mode without "
				    "permissions for others (e.g. 0660)\n",
				    stderr);
				exit(100);
			}
			break;
		case 'n':
			if ((max_kids = number(optarg, 10, 1, CLIENTS_MAX)) < 0)
				usage();
			break;
		case 't':
			if ((idle_s = number(optarg, 10, 1, IDLE_MAX_S)) < 0)
				usage();
			break;
		case 'v': verbose = 1; break;
		default: usage();
		}
	}
	if (optind != argc || (sock == NULL && (group != NULL)))
		usage();
	log_init(PROG, to_stderr, verbose);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);	/* a vanished client: EPIPE */
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	if (sock == NULL) {
		/* spawn(8): one client on stdin/stdout; stderr is not ours */
		struct cfgstate cs = { .path = config_path(conf_opt) };

		serve(0, 1, &cs, (int)idle_s);
		cfg_release(&cs);
		return 0;
	} else {
		int lfd;

		if (group != NULL) {
			struct group *gr = getgrnam(group);

			if (gr == NULL) {
				log_err("event=fatal what=group group=%s "
				    "error=\"no such group\"", group);
				return 111;
			}
			gid = gr->gr_gid;
		}
		sigaction(SIGCHLD, &sa, NULL);
		if ((lfd = listen_socket(sock, (mode_t)mode, gid)) < 0)
			return 111;
		if (drop_root(config_path(conf_opt)) < 0) {
			unlink(sock);
			return 111;
		}
		return run_listener(lfd, sock, config_path(conf_opt),
		    (int)idle_s, (int)max_kids);
	}
}
