/* qmail-popup-hack.c - qmail-popup that learns the real client IP from a TLS front and logs logins as root. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipaddr.h"
#include "popio.h"
#include "poplog.h"
#include "proxyproto.h"
#include "secfile.h"
#include "sslline.h"
#include "utf8.h"

#define PROG "qmail-popup-hack"
#define POPUP_USER_MAX 255	/* login name bytes, before escaping */
#define POPUP_USER_ESC_MAX (POPUP_USER_MAX * 4 + 1)
#define POPUP_HOST_MAX 255
/* "<" pid "." time "@" host ">" */
#define POPUP_STAMP_MAX (POPUP_HOST_MAX + 48)
#define CHECKPW_INPUT_MAX 512	/* the checkpassword interface's limit */
#define CHECKPW_FD 3
#define NOTIFY_FD 4		/* not 3: checkpassword reads that one */
#define NOTIFY_FD_TEXT "4"
#define FD_SCRATCH_MIN 10	/* park descriptors above 3 and 4 */
#define DEFAULT_FAIL_DELAY_MS 2000
#define FAIL_DELAY_MAX_MS 60000
#define PORT_TEXT_MAX 6

struct session {
	struct popio io;
	char stamp[POPUP_STAMP_MAX];
	char ip[IPADDR_TEXT_MAX];	/* empty: no usable client IP */
	const char *svc;		/* pop3 | pop3s */
	const char *via;		/* tcp | ssl | proxy */
	char user[POPUP_USER_MAX + 1];
	size_t user_len;
	int have_user;
	int64_t fail_delay_ms;
	int ssl_enabled;
	int ssl_required;	/* SSL_HACK_REQUIRE=1: only behind the front */
	int proxy_enabled;
	char secret[SECFILE_MAX];
	size_t secret_len;
	char **subprogram;
};

static void
reply(struct session *s, const char *text)
{
	if (popio_puts(&s->io, text) < 0 || popio_flush(&s->io) < 0)
		_exit(1);
}

/*
 * [A-Za-z0-9._@+=-] and well-formed UTF-8 characters stay as they are
 * (an international name reads, and is recorded, as the user typed it);
 * every other byte becomes \xHH: no spaces, no '=' confusion for
 * parsers, no invalid UTF-8, no control (C0, DEL, C1) or bidi character
 * in the log.
 */
static void
escape_user(const char *u, size_t len, char out[POPUP_USER_ESC_MAX])
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, o = 0, n;
	unsigned char c;
	uint32_t cp;

	if (len > POPUP_USER_MAX)
		len = POPUP_USER_MAX;
	while (i < len) {
		c = (unsigned char)u[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("._@+=-", c) != NULL) {
			out[o++] = (char)c;
			i++;
			continue;
		}
		n = utf8_decode(u + i, len - i, &cp);
		if (n > 1 && !utf8_is_unsafe_display(cp)) {
			memcpy(out + o, u + i, n);
			o += n;
			i += n;
			continue;
		}
		n = n == 0 ? 1 : n;
		for (size_t k = 0; k < n; k++) {
			c = (unsigned char)u[i + k];
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
		i += n;
	}
	out[o] = '\0';
}

static void
fail_delay(const struct session *s)
{
	popio_sleep_ms(s->fail_delay_ms);
}

/* The kernel's view of the peer, not $TCPREMOTEIP: loopback or AF_UNIX. */
static int
peer_is_loopback(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const struct sockaddr_in6 *s6;
	const uint8_t *b;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_UNIX)
		return 1;
	if (ss.ss_family == AF_INET) {
		b = (const uint8_t *)&((struct sockaddr_in *)&ss)->sin_addr;
		return b[0] == 127;
	}
	if (ss.ss_family != AF_INET6)
		return 0;
	s6 = (const struct sockaddr_in6 *)&ss;
	if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
		return 1;
	b = s6->sin6_addr.s6_addr;
	return IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) && b[12] == 127;
}

static int
is_unspecified(const struct ipaddr *a)
{
	size_t n = a->family == AF_INET ? 4 : 16, i;

	for (i = 0; i < n; i++)
		if (a->bytes[i] != 0)
			return 0;
	return 1;
}

static const char *
peer_text(void)
{
	const char *ip = getenv("TCPREMOTEIP");

	return ip != NULL ? ip : "unknown";
}

/* Refuse a first line: the client learns nothing about which check. */
static void __attribute__((noreturn))
refuse_first(struct session *s, const char *what, const char *reason)
{
	char peer[IPADDR_TEXT_MAX];
	const char *why;
	const char *p = peer_text();

	if (ipaddr_canon(p, strlen(p), peer, &why) < 0)
		memcpy(peer, "unknown", sizeof("unknown"));
	poplog(LOG_WARNING, "%s refused peer=%s reason=%s", what, peer, reason);
	explicit_bzero(s->secret, sizeof(s->secret));
	fail_delay(s);
	reply(s, "-ERR real-IP line refused\r\n");
	_exit(1);
}

/* The client IP now comes from the front; the front's goes aside. */
static void
adopt_ip(struct session *s, const struct ipaddr *a, const char *frontvar,
    const char *svc, const char *via)
{
	const char *orig = getenv("TCPREMOTEIP");

	ipaddr_format(a, s->ip);
	if (setenv(frontvar, orig != NULL ? orig : "", 1) < 0 ||
	    setenv("TCPREMOTEIP", s->ip, 1) < 0)
		poplog_fatal(111, "unable to set environment: out of memory");
	/* These described the front's connection, not the client's. */
	unsetenv("TCPREMOTEHOST");
	unsetenv("TCPREMOTEINFO");
	unsetenv("TCPREMOTEPORT");
	s->svc = svc;
	s->via = via;
}

static void
ssl_line(struct session *s, const char *arg, size_t len, int crlf)
{
	const char *ip, *secret, *why;
	struct ipaddr a;
	size_t iplen, slen;
	int v6, good;

	if (!peer_is_loopback(0))
		refuse_first(s, "ssl line", "peer-not-loopback");
	if (!crlf)
		refuse_first(s, "ssl line", "no-crlf");
	if (sslline_split(arg, len, &ip, &iplen, &v6, &secret, &slen) < 0)
		refuse_first(s, "ssl line", "malformed");
	good = secfile_equal(secret, slen, s->secret, s->secret_len);
	explicit_bzero(s->secret, sizeof(s->secret));
	if (!good)
		refuse_first(s, "ssl line", "bad-secret");
	if (sslline_check_ip(ip, iplen, v6, &a, &why) < 0)
		refuse_first(s, "ssl line", why);
	if (is_unspecified(&a))
		refuse_first(s, "ssl line", "unspecified-ip");
	adopt_ip(s, &a, "SSL_HACK_FRONTIP", "pop3s", "ssl");
}

static void
set_port_env(const char *name, unsigned port)
{
	char text[PORT_TEXT_MAX];

	snprintf(text, sizeof(text), "%u", port);
	if (setenv(name, text, 1) < 0)
		poplog_fatal(111, "unable to set environment: out of memory");
}

static void
proxy_line(struct session *s, const char *line, size_t len, int crlf)
{
	char header[PROXYPROTO_V1_MAX + 1];
	char local[IPADDR_TEXT_MAX];
	struct proxyproto_v1 p;
	const char *why;

	if (!peer_is_loopback(0))
		refuse_first(s, "proxy header", "peer-not-loopback");
	/* The spec accepts only CRLF, never a bare LF. */
	if (!crlf || len + 2 > PROXYPROTO_V1_MAX)
		refuse_first(s, "proxy header", "malformed");
	memcpy(header, line, len);
	memcpy(header + len, "\r\n", 2);
	if (proxyproto_v1_parse(header, len + 2, &p, &why) < 0)
		refuse_first(s, "proxy header", "malformed");
	if (!p.known)
		return;		/* UNKNOWN: keep the real peer */
	if (is_unspecified(&p.src))
		refuse_first(s, "proxy header", "unspecified-ip");
	adopt_ip(s, &p.src, "PROXY_FRONTIP", "pop3s", "proxy");
	set_port_env("TCPREMOTEPORT", p.src_port);
	ipaddr_format(&p.dst, local);
	if (setenv("TCPLOCALIP", local, 1) < 0)
		poplog_fatal(111, "unable to set environment: out of memory");
	set_port_env("TCPLOCALPORT", p.dst_port);
	unsetenv("TCPLOCALHOST");
}

/* Returns 1 when the line was a real-IP line (and was accepted). */
static int
first_line(struct session *s, const char *line, size_t len, int crlf)
{
	if (s->ssl_enabled && len >= 4 && memcmp(line, "SSL ", 4) == 0) {
		ssl_line(s, line + 4, len - 4, crlf);
		return 1;
	}
	explicit_bzero(s->secret, sizeof(s->secret));
	/* Meant to be reached only through sslwrap-hack: no plain POP. */
	if (s->ssl_required && !s->proxy_enabled)
		refuse_first(s, "ssl line", "missing");
	if (!s->proxy_enabled)
		return 0;
	/* With PROXY_PROTOCOL=1 the header is mandatory: never guess. */
	if (len < 6 || memcmp(line, "PROXY ", 6) != 0)
		refuse_first(s, "proxy header", "missing");
	proxy_line(s, line, len, crlf);
	return 1;
}

/*
 * The one place that writes "login ok": reason NULL, a client IP we
 * trust, and (the caller's job) a confirmation from qmail-pop3d-hack.
 * A record that would pass POPLOG_MSG_MAX is never cut: "login ok"
 * becomes "login unrecorded ... reason=user-too-long" (no relay), and
 * the other records drop the user and say note=user-too-long.
 */
static void
log_outcome(const struct session *s, const char *auth, const char *verb,
    const char *reason)
{
	char user[POPUP_USER_ESC_MAX];

	escape_user(s->user, s->user_len, user);
	if (s->ip[0] == '\0') {
		if (poplog_whole(LOG_WARNING, "login unrecorded svc=%s user=%s "
		    "auth=%s via=%s reason=no-client-ip outcome=%s", s->svc,
		    user, auth, s->via, reason != NULL ? reason : "ok") < 0)
			poplog(LOG_WARNING, "login unrecorded svc=%s auth=%s "
			    "via=%s reason=no-client-ip outcome=%s "
			    "note=user-too-long", s->svc, auth, s->via,
			    reason != NULL ? reason : "ok");
		return;
	}
	if (reason == NULL) {
		if (poplog_whole(LOG_INFO, "login ok svc=%s ip=%s user=%s "
		    "auth=%s via=%s", s->svc, s->ip, user, auth, s->via) < 0)
			poplog(LOG_WARNING, "login unrecorded svc=%s ip=%s "
			    "auth=%s via=%s reason=user-too-long outcome=ok",
			    s->svc, s->ip, auth, s->via);
	} else if (poplog_whole(LOG_NOTICE, "login %s svc=%s ip=%s user=%s "
	    "auth=%s via=%s reason=%s", verb, s->svc, s->ip, user, auth,
	    s->via, reason) < 0) {
		poplog(LOG_NOTICE, "login %s svc=%s ip=%s auth=%s via=%s "
		    "reason=%s note=user-too-long", verb, s->svc, s->ip, auth,
		    s->via, reason);
	}
}

static void __attribute__((noreturn))
child_exec(struct session *s, int data_r, int notify_w)
{
	int d, n;

	signal(SIGPIPE, SIG_DFL);
	/* Park both above 4 first, so neither dup2 clobbers the other. */
	d = fcntl(data_r, F_DUPFD_CLOEXEC, FD_SCRATCH_MIN);
	n = fcntl(notify_w, F_DUPFD_CLOEXEC, FD_SCRATCH_MIN);
	if (d < 0 || n < 0 || dup2(d, CHECKPW_FD) < 0 ||
	    dup2(n, NOTIFY_FD) < 0)
		_exit(111);
	/* Whatever tcpserver's parent left open is not checkpassword's. */
	if (close_range(NOTIFY_FD + 1, ~0U, 0) < 0)
		_exit(111);
	if (setenv("AUTHRELAY_NOTIFY_FD", NOTIFY_FD_TEXT, 1) < 0)
		_exit(111);
	execvp(s->subprogram[0], s->subprogram);
	_exit(111);
}

static void
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;	/* the child left early; its status says why */
		buf += n;
		len -= (size_t)n;
	}
}

/* One byte from qmail-pop3d-hack means: authenticated and Maildir read. */
static int
wait_notify(int fd)
{
	char c;
	ssize_t n;

	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	return n == 1;
}

static void __attribute__((noreturn))
report_failure(struct session *s, const char *auth, int status)
{
	const char *reason, *text;

	if (WIFSIGNALED(status)) {
		reason = "crash";
		text = "-ERR aack, child crashed\r\n";
	} else if (WEXITSTATUS(status) == 0) {
		/* The subprogram ran a session but is not ours: no record. */
		log_outcome(s, auth, "unconfirmed", "no-notify");
		_exit(0);
	} else if (WEXITSTATUS(status) == 111) {
		reason = "tempfail";
		text = "-ERR [SYS/TEMP] temporary failure\r\n";
	} else if (WEXITSTATUS(status) == 2) {
		reason = "misuse";
		text = "-ERR [SYS/PERM] authorization failed\r\n";
	} else {
		reason = "badpass";
		text = "-ERR [AUTH] authorization failed\r\n";
	}
	log_outcome(s, auth, "failed", reason);
	fail_delay(s);
	reply(s, text);
	_exit(1);
}

/*
 * Build the checkpassword input; returns its length, 0 when too long.
 * buf holds the password afterwards: the caller zeroes it.
 */
static size_t
checkpw_input(const struct session *s, const char *pass, size_t plen,
    char buf[CHECKPW_INPUT_MAX])
{
	size_t tlen = strlen(s->stamp);
	size_t total = s->user_len + 1 + plen + 1 + tlen + 1;

	if (total > CHECKPW_INPUT_MAX)
		return 0;
	memcpy(buf, s->user, s->user_len);
	buf[s->user_len] = '\0';
	memcpy(buf + s->user_len + 1, pass, plen);
	buf[s->user_len + 1 + plen] = '\0';
	memcpy(buf + s->user_len + plen + 2, s->stamp, tlen + 1);
	return total;
}

static void __attribute__((noreturn))
run_login(struct session *s, char *pass, size_t plen, const char *auth)
{
	char buf[CHECKPW_INPUT_MAX];
	int data[2], notify[2], status, notified;
	size_t len;
	pid_t pid;

	len = checkpw_input(s, pass, plen, buf);
	explicit_bzero(pass, plen);
	if (len == 0) {
		explicit_bzero(buf, sizeof(buf));
		report_failure(s, auth, 2 << 8);
	}
	if (pipe2(data, O_CLOEXEC) < 0 || pipe2(notify, O_CLOEXEC) < 0)
		poplog_fatal(111, "unable to create pipes: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		poplog_fatal(111, "unable to fork: %s", strerror(errno));
	if (pid == 0) {
		explicit_bzero(buf, sizeof(buf));
		child_exec(s, data[0], notify[1]);
	}
	close(data[0]);
	close(notify[1]);
	write_all(data[1], buf, len);
	explicit_bzero(buf, sizeof(buf));
	close(data[1]);
	notified = wait_notify(notify[0]);
	close(notify[0]);
	if (notified)
		log_outcome(s, auth, "ok", NULL);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			poplog_fatal(111, "waitpid: %s", strerror(errno));
	if (notified)
		_exit(0);
	report_failure(s, auth, status);
}

static int
set_user(struct session *s, const char *u, size_t len)
{
	if (len > POPUP_USER_MAX)
		return -1;
	memcpy(s->user, u, len);
	s->user[len] = '\0';
	s->user_len = len;
	s->have_user = 1;
	return 0;
}

static void
cmd_apop(struct session *s, char *arg, size_t len)
{
	char *sp = memchr(arg, ' ', len);
	size_t nlen;

	if (sp == NULL || sp == arg || (size_t)(sp - arg) + 1 >= len) {
		reply(s, "-ERR syntax error\r\n");
		return;
	}
	nlen = (size_t)(sp - arg);
	if (set_user(s, arg, nlen) < 0) {
		reply(s, "-ERR user name too long\r\n");
		return;
	}
	run_login(s, sp + 1, len - nlen - 1, "apop");
}

static const char capa_text[] =
    "+OK capability list follows\r\n"
    "TOP\r\nUIDL\r\nUSER\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
    ".\r\n";

static void
dispatch(struct session *s, char *line, size_t len)
{
	size_t wlen = 0;
	char *arg;
	size_t alen;

	while (wlen < len && line[wlen] != ' ')
		wlen++;
	arg = line + wlen;
	alen = len - wlen;
	while (alen > 0 && *arg == ' ') {
		arg++;
		alen--;
	}
	line[wlen] = '\0';
	if (strcasecmp(line, "USER") == 0) {
		if (alen == 0)
			reply(s, "-ERR syntax error\r\n");
		else if (set_user(s, arg, alen) < 0)
			reply(s, "-ERR user name too long\r\n");
		else
			reply(s, "+OK \r\n");
	} else if (strcasecmp(line, "PASS") == 0) {
		if (!s->have_user)
			reply(s, "-ERR USER first\r\n");
		else if (alen == 0)
			reply(s, "-ERR syntax error\r\n");
		else
			run_login(s, arg, alen, "user");
	} else if (strcasecmp(line, "APOP") == 0) {
		cmd_apop(s, arg, alen);
	} else if (strcasecmp(line, "QUIT") == 0) {
		reply(s, "+OK \r\n");
		_exit(0);
	} else if (strcasecmp(line, "NOOP") == 0) {
		reply(s, "+OK \r\n");
	} else if (strcasecmp(line, "CAPA") == 0) {
		reply(s, capa_text);
	} else {
		reply(s, "-ERR authorization first\r\n");
	}
}

static void __attribute__((noreturn))
command_loop(struct session *s)
{
	char line[POPIO_LINE_MAX];
	enum popio_status st;
	size_t len;
	int crlf, first = 1;

	for (;;) {
		st = popio_getline(&s->io, line, &len, &crlf);
		if (st == POPIO_TOOLONG) {
			popio_skipline(&s->io, POPIO_SKIP_MAX);
			reply(s, "-ERR line too long\r\n");
			_exit(1);
		}
		if (st != POPIO_OK)
			_exit(1);	/* EOF, timeout, error: silently */
		if (memchr(line, '\0', len) != NULL) {
			explicit_bzero(line, sizeof(line));
			reply(s, "-ERR NUL in command\r\n");
			_exit(1);
		}
		if (first) {
			first = 0;
			if (first_line(s, line, len, crlf)) {
				explicit_bzero(line, sizeof(line));
				continue;
			}
		}
		dispatch(s, line, len);
		explicit_bzero(line, sizeof(line));
	}
}

static void
load_secret(struct session *s)
{
	const char *path = getenv("SSL_HACK_PASS");
	const char *why;

	if (path == NULL || *path == '\0')
		return;
	if (secfile_read(path, s->secret, sizeof(s->secret), &s->secret_len,
	    &why) < 0)
		poplog_fatal(111, "unable to read SSL_HACK_PASS file %s: %s",
		    path, why);
	s->ssl_enabled = 1;
}

/* SSL_HACK_REQUIRE=1: every connection must start with the real-IP line. */
static void
load_required(struct session *s)
{
	const char *v = getenv("SSL_HACK_REQUIRE");

	if (v == NULL || *v == '\0' || strcmp(v, "0") == 0)
		return;
	if (strcmp(v, "1") != 0)
		poplog_fatal(111, "bad SSL_HACK_REQUIRE '%s' (want 1 or 0)", v);
	if (!s->ssl_enabled && !s->proxy_enabled)
		poplog_fatal(111, "SSL_HACK_REQUIRE=1 needs SSL_HACK_PASS "
		    "or PROXY_PROTOCOL=1");
	s->ssl_required = 1;
}

static void
initial_ip(struct session *s)
{
	const char *ip = getenv("TCPREMOTEIP");
	const char *why;

	s->svc = "pop3";
	s->via = "tcp";
	if (ip == NULL || ipaddr_canon(ip, strlen(ip), s->ip, &why) < 0)
		s->ip[0] = '\0';
}

static int
valid_hostname(const char *h)
{
	size_t len = strlen(h), i;

	if (len == 0 || len > POPUP_HOST_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (h[i] <= ' ' || h[i] > '~' || h[i] == '<' || h[i] == '>')
			return 0;
	return 1;
}

/* Descriptors 0-2 must exist so pipes never land on them. */
static void
ensure_std_fds(void)
{
	int fd;

	do {
		fd = open("/dev/null", O_RDWR);
		if (fd < 0)
			_exit(111);
	} while (fd <= 2);
	close(fd);
}

int
main(int argc, char **argv)
{
	static struct session s;
	const char *pe = getenv("PROXY_PROTOCOL");

	ensure_std_fds();
	poplog_init(PROG);
	signal(SIGPIPE, SIG_IGN);
	popio_init(&s.io, 0, 1, popio_timeout_from_env(), 1);
	if (argc < 3 || !valid_hostname(argv[1])) {
		reply(&s, "-ERR usage: qmail-popup-hack hostname subprogram\r\n");
		return 1;
	}
	s.subprogram = argv + 2;
	s.fail_delay_ms = popio_duration_env("AUTHRELAY_POP_FAIL_DELAY",
	    DEFAULT_FAIL_DELAY_MS, FAIL_DELAY_MAX_MS);
	s.proxy_enabled = pe != NULL && strcmp(pe, "1") == 0;
	load_secret(&s);
	load_required(&s);
	/* Our configuration is not the subprogram's business. */
	unsetenv("SSL_HACK_PASS");
	unsetenv("SSL_HACK_REQUIRE");
	unsetenv("PROXY_PROTOCOL");
	unsetenv("AUTHRELAY_NOTIFY_FD");
	initial_ip(&s);
	snprintf(s.stamp, sizeof(s.stamp), "<%ld.%lld@%s>", (long)getpid(),
	    (long long)time(NULL), argv[1]);
	if (popio_puts(&s.io, "+OK ") < 0 || popio_puts(&s.io, s.stamp) < 0)
		return 1;
	reply(&s, "\r\n");
	command_loop(&s);
}
