/* sslwrap-hack.c - POP3S front: TLS for clients, real client IP passed to the POP3 back end. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "endpoint.h"
#include "ipaddr.h"
#include "log.h"
#include "privdrop.h"
#include "proxyhdr.h"
#include "relay.h"
#include "secfile.h"
#include "tlsctx.h"

#define PROG "sslwrap-hack"
#define DEFAULT_BACKEND "127.0.0.1:110"
#define DEFAULT_MAXCONN 512
#define DEFAULT_HANDSHAKE_MS (10 * 1000)
#define DEFAULT_IDLE_MS (20 * 60 * 1000)	/* qmail-pop3d's own timeout */
#define ACCEPT_BACKOFF_MS 100	/* after EMFILE and friends */
#define EXIT_PERM 100
#define EXIT_TEMP 111

enum header_mode { HEADER_SSL, HEADER_PROXY_V1, HEADER_PROXY_V2 };

struct options {
	const char *listen, *cert, *key, *backend, *passfile, *user;
	enum header_mode mode;
	long maxconn;
	int handshake_ms, idle_ms;
	int to_stderr, verbose;
};

/* Everything the front holds; the secret and SSL_CTX are reloadable. */
static struct {
	struct options opt;
	struct endpoint backend;
	SSL_CTX *ctx;
	char secret[SECFILE_MAX];
	size_t secret_len;
	int drop;		/* change to uid/gid before client data */
	uid_t uid;
	gid_t gid;
} front;

static volatile sig_atomic_t got_chld, got_hup, got_term;

static void
usage(void)
{
	fprintf(stderr, "usage: " PROG " [-ev] [-l ADDRESS:PORT] -c CERTFILE "
	    "-k KEYFILE [-b BACKEND] [-p PASSFILE] [-P proxy-v1|proxy-v2] "
	    "[-u USER] [-n MAXCONN] [-t HANDSHAKE] [-i IDLE]\n");
	exit(EXIT_PERM);
}

static void __attribute__((format(printf, 2, 3), noreturn))
fatal(int code, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	fprintf(stderr, PROG ": fatal: unable to %s\n", text);
	if (!front.opt.to_stderr)
		log_err("event=fatal error=\"unable to %s\"", text);
	explicit_bzero(front.secret, sizeof(front.secret));
	exit(code);
}

/* A duration option (config_parse_duration syntax), 1 ms .. INT_MAX. */
static int
duration_opt(const char *s, char flag)
{
	int64_t ms = config_parse_duration(s);

	if (ms <= 0 || ms > INT_MAX)
		fatal(EXIT_PERM, "parse -%c %s: bad duration", flag, s);
	return (int)ms;
}

static long
maxconn_opt(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > 100000)
		fatal(EXIT_PERM, "parse -n %s: want 1..100000", s);
	return v;
}

static enum header_mode
mode_opt(const char *s)
{
	if (strcmp(s, "proxy-v1") == 0)
		return HEADER_PROXY_V1;
	if (strcmp(s, "proxy-v2") == 0)
		return HEADER_PROXY_V2;
	fatal(EXIT_PERM, "parse -P %s: want proxy-v1 or proxy-v2", s);
}

static void
parse_args(int argc, char **argv, struct options *o)
{
	int c;

	o->backend = DEFAULT_BACKEND;
	o->passfile = getenv("SSL_HACK_PASS");
	o->maxconn = DEFAULT_MAXCONN;
	o->handshake_ms = DEFAULT_HANDSHAKE_MS;
	o->idle_ms = DEFAULT_IDLE_MS;
	while ((c = getopt(argc, argv, "evl:c:k:b:p:P:u:n:t:i:")) != -1) {
		switch (c) {
		case 'e': o->to_stderr = 1; break;
		case 'v': o->verbose = 1; break;
		case 'l': o->listen = optarg; break;
		case 'c': o->cert = optarg; break;
		case 'k': o->key = optarg; break;
		case 'b': o->backend = optarg; break;
		case 'p': o->passfile = optarg; break;
		case 'P': o->mode = mode_opt(optarg); break;
		case 'u': o->user = optarg; break;
		case 'n': o->maxconn = maxconn_opt(optarg); break;
		case 't': o->handshake_ms = duration_opt(optarg, 't'); break;
		case 'i': o->idle_ms = duration_opt(optarg, 'i'); break;
		default: usage();
		}
	}
	if (optind != argc || o->cert == NULL || o->key == NULL)
		usage();
	if (o->mode == HEADER_SSL && (o->passfile == NULL ||
	    o->passfile[0] == '\0'))
		fatal(EXIT_PERM, "find the secret: give -p or SSL_HACK_PASS");
}

/* (Re)load what may change on SIGHUP: certificate, key and secret. */
static int
load_secrets(SSL_CTX **ctx_r, char err[TLSCTX_ERROR_MAX])
{
	const char *why;
	SSL_CTX *ctx;

	ctx = tlsctx_load(front.opt.cert, front.opt.key, err);
	if (ctx == NULL)
		return -1;
	if (front.opt.mode == HEADER_SSL) {
		explicit_bzero(front.secret, sizeof(front.secret));
		if (secfile_read(front.opt.passfile, front.secret,
		    sizeof(front.secret), &front.secret_len, &why) < 0) {
			snprintf(err, TLSCTX_ERROR_MAX, "read secret %s: %s",
			    front.opt.passfile, why);
			SSL_CTX_free(ctx);
			return -1;
		}
	}
	*ctx_r = ctx;
	return 0;
}

static void
setup(void)
{
	char err[TLSCTX_ERROR_MAX];
	const char *why;

	if (endpoint_parse(front.opt.backend, 1, &front.backend, &why) < 0)
		fatal(EXIT_PERM, "parse -b %s: %s", front.opt.backend, why);
	if (front.opt.user != NULL) {
		if (privdrop_lookup(front.opt.user, &front.uid, &front.gid,
		    &why) < 0)
			fatal(EXIT_PERM, "find user %s: %s", front.opt.user,
			    why);
		front.drop = 1;
		/* Fail now, not at the first client of a standalone front. */
		if (geteuid() != 0 && geteuid() != front.uid)
			fatal(EXIT_PERM, "change to user %s: not root",
			    front.opt.user);
	} else if (geteuid() == 0) {
		fatal(EXIT_PERM, "run as root: give -u USER");
	}
	if (load_secrets(&front.ctx, err) < 0)
		fatal(EXIT_PERM, "load %s", err);
}

static void
drop_or_die(void)
{
	const char *why;

	if (front.drop && privdrop_to(front.uid, front.gid, &why) < 0)
		fatal(EXIT_TEMP, "drop privileges to %s: %s", front.opt.user,
		    why);
}

/*
 * The first bytes for the back end (a relay_preamble_fn; arg is the
 * proxyhdr_conn). The secret is zeroed here: each child needs it once.
 */
static size_t
build_preamble(SSL *ssl, void *arg, unsigned char *out, size_t outsz)
{
	const struct proxyhdr_conn *conn = arg;
	size_t len;

	switch (front.opt.mode) {
	case HEADER_PROXY_V1:
		len = proxyhdr_v1(conn, (char *)out, outsz);
		break;
	case HEADER_PROXY_V2:
		len = proxyhdr_v2(conn, SSL_get_version(ssl), out, outsz);
		break;
	default:
		len = proxyhdr_ssl_line(&conn->src, front.secret,
		    front.secret_len, (char *)out, outsz);
		break;
	}
	explicit_bzero(front.secret, sizeof(front.secret));
	return len;
}

/* Serve one client on rfd/wfd; never returns. */
static void __attribute__((noreturn))
serve(int rfd, int wfd, struct proxyhdr_conn *conn)
{
	char ip[IPADDR_TEXT_MAX];
	struct relay_conf rc = {
		.backend = &front.backend,
		.preamble = build_preamble,
		.preamble_arg = conn,
		.handshake_ms = front.opt.handshake_ms,
		.connect_ms = front.opt.handshake_ms,
		.idle_ms = front.opt.idle_ms,
	};

	ipaddr_format(&conn->src, ip);
	log_info("event=connect ip=%s port=%u pid=%ld", ip,
	    (unsigned)conn->sport, (long)getpid());
	exit(relay_session(front.ctx, rfd, wfd, ip, &rc));
}

/* ---- under tcpserver or inetd: TLS on descriptors 0 and 1 ---- */

static int
env_port(const char *name, uint16_t *port_r)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (s == NULL)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 65535)
		return -1;
	*port_r = (uint16_t)v;
	return 0;
}

/* One end from tcpserver's variables, else from the socket itself. */
static void
inetd_end(const char *ipvar, const char *portvar, int peer,
    struct ipaddr *ip_r, uint16_t *port_r)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const char *s = getenv(ipvar), *why;
	int rc;

	if (s != NULL) {
		if (ipaddr_parse(s, strlen(s), ip_r, &why) < 0)
			fatal(EXIT_PERM, "parse %s: %s", ipvar, why);
		if (env_port(portvar, port_r) < 0)
			*port_r = 0;
		return;
	}
	rc = peer ? getpeername(0, (struct sockaddr *)&ss, &len) :
	    getsockname(0, (struct sockaddr *)&ss, &len);
	if (rc < 0 || endpoint_from_sockaddr(&ss, ip_r, port_r) < 0)
		fatal(EXIT_PERM, "find %s: not set and fd 0 is no TCP socket",
		    ipvar);
}

static void __attribute__((noreturn))
run_inetd(void)
{
	struct proxyhdr_conn conn;

	memset(&conn, 0, sizeof(conn));
	inetd_end("TCPREMOTEIP", "TCPREMOTEPORT", 1, &conn.src, &conn.sport);
	/* The local end only goes into PROXY headers. */
	if (front.opt.mode != HEADER_SSL)
		inetd_end("TCPLOCALIP", "TCPLOCALPORT", 0, &conn.dst,
		    &conn.dport);
	drop_or_die();
	serve(0, 1, &conn);
}

/* ---- standalone: a parent accepts, one child per connection ---- */

static void
on_signal(int sig)
{
	if (sig == SIGCHLD)
		got_chld = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

/*
 * Our signals are blocked except inside ppoll (waitmask), so the flags
 * never race with the loop. orig_r is the mask to give children back.
 */
static void
install_signals(sigset_t *waitmask_r, sigset_t *orig_r)
{
	static const int sigs[] = { SIGCHLD, SIGHUP, SIGTERM, SIGINT };
	struct sigaction sa;
	sigset_t blocked;
	size_t i;

	sigemptyset(&blocked);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaddset(&blocked, sigs[i]);
		sigaction(sigs[i], &sa, NULL);
	}
	sigprocmask(SIG_BLOCK, &blocked, orig_r);
	*waitmask_r = *orig_r;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigdelset(waitmask_r, sigs[i]);
}

static void
restore_signals(const sigset_t *orig)
{
	signal(SIGCHLD, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	sigprocmask(SIG_SETMASK, orig, NULL);
}

static void
reload(void)
{
	char err[TLSCTX_ERROR_MAX];
	SSL_CTX *ctx;

	/* A bad new file keeps the old, working configuration. */
	if (load_secrets(&ctx, err) < 0) {
		log_err("event=reload_fail error=\"%s\"", err);
		return;
	}
	SSL_CTX_free(front.ctx);
	front.ctx = ctx;
	log_info("event=reload cert=%s", front.opt.cert);
}

static void __attribute__((noreturn))
child(int lfd, int cfd, const sigset_t *orig, pid_t parent)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct proxyhdr_conn conn;

	close(lfd);
	restore_signals(orig);
	drop_or_die();
	/* After the drop (a uid change clears it): die with the parent. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0 ||
	    getppid() != parent)
		exit(EXIT_TEMP);
	if (getpeername(cfd, (struct sockaddr *)&ss, &len) < 0 ||
	    endpoint_from_sockaddr(&ss, &conn.src, &conn.sport) < 0)
		exit(EXIT_TEMP);
	len = sizeof(ss);
	if (getsockname(cfd, (struct sockaddr *)&ss, &len) < 0 ||
	    endpoint_from_sockaddr(&ss, &conn.dst, &conn.dport) < 0)
		exit(EXIT_TEMP);
	serve(cfd, cfd, &conn);
}

static long
reap(long children)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		children--;
	return children;
}

/* Accept one connection and fork its child; 1 if a child started. */
static int
accept_one(int lfd, const sigset_t *orig, int *backoff_r)
{
	pid_t pid, parent = getpid();
	int cfd;

	cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			log_sys(LOG_ERR, "event=accept_error");
			*backoff_r = 1;
		}
		return 0;
	}
	pid = fork();
	if (pid == 0)
		child(lfd, cfd, orig, parent);
	if (pid < 0) {
		log_sys(LOG_ERR, "event=fork_error");
		*backoff_r = 1;
	}
	close(cfd);
	return pid > 0;
}

/* Listener state across loop turns. */
struct acceptor {
	int lfd;
	long children;
	int capped, backoff;
	sigset_t waitmask, orig;
};

/* Wait for a client or a signal; accept unless at the cap. */
static void
accept_turn(struct acceptor *a)
{
	struct timespec backoff_ts = { 0, ACCEPT_BACKOFF_MS * 1000000L };
	struct pollfd pfd = { .fd = a->lfd, .events = POLLIN };
	int full = a->children >= front.opt.maxconn;

	if (full && !a->capped)
		log_warn("event=cap_reached max=%ld", front.opt.maxconn);
	a->capped = full;
	/* At the cap new clients wait in the listen backlog. */
	if (a->capped || a->backoff)
		pfd.events = 0;
	if (ppoll(&pfd, 1, a->backoff && !a->capped ? &backoff_ts : NULL,
	    &a->waitmask) > 0 && (pfd.revents & POLLIN))
		a->children += accept_one(a->lfd, &a->orig, &a->backoff);
	else
		a->backoff = 0;
}

static void __attribute__((noreturn))
run_standalone(void)
{
	struct acceptor a = { .lfd = -1 };
	struct endpoint ep;
	const char *why;

	if (endpoint_parse(front.opt.listen, 0, &ep, &why) < 0)
		fatal(EXIT_PERM, "parse -l %s: %s", front.opt.listen, why);
	a.lfd = endpoint_listen(&ep);
	if (a.lfd < 0)
		fatal(EXIT_TEMP, "listen on %s: %s", ep.text, strerror(errno));
	install_signals(&a.waitmask, &a.orig);
	log_info("event=listen addr=%s backend=%s max=%ld", ep.text,
	    front.backend.text, front.opt.maxconn);
	while (!got_term) {
		if (got_chld) {
			got_chld = 0;
			a.children = reap(a.children);
		}
		if (got_hup) {
			got_hup = 0;
			reload();
		}
		accept_turn(&a);
	}
	log_info("event=stop children=%ld", a.children);
	explicit_bzero(front.secret, sizeof(front.secret));
	exit(0);
}

int
main(int argc, char **argv)
{
	parse_args(argc, argv, &front.opt);
	log_init(PROG, front.opt.to_stderr, front.opt.verbose);
	privdrop_nocore();
	/* A client or back end gone mid-write is an error return, not death. */
	signal(SIGPIPE, SIG_IGN);
	setup();
	if (front.opt.listen != NULL)
		run_standalone();
	run_inetd();
}
