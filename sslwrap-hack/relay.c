/* relay.c - one client session: TLS handshake, back-end connect, preamble, two-way relay. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "clock.h"
#include "log.h"
#include "relay.h"
#include "tlsctx.h"

/* One TLS record's worth of plaintext each way. */
#define RELAY_BUF_MAX 16384
#define REASON_MAX 256

struct buf {
	unsigned char data[RELAY_BUF_MAX];
	size_t off, len;	/* unsent bytes are data[off..len) */
};

struct session {
	SSL *ssl;
	int rfd, wfd, bfd;
	const char *ip;
	struct buf c2b, b2c;	/* client-to-backend, backend-to-client */
	int client_eof, backend_eof, backend_shut;
	int backend_deaf;	/* writing to the back end failed: EPIPE */
	short rd_ev, wr_ev, b_ev;	/* what blocked operations wait for */
	unsigned long long in, out;	/* plaintext bytes each way */
	const char *end;	/* why the session ended; NULL while running */
};

static void
set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags >= 0)
		(void)fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* Why an SSL call failed, for the log; errno and the error queue read. */
static void
ssl_reason(int err, char *out, size_t outsz)
{
	if (err == SSL_ERROR_SSL ||
	    (err == SSL_ERROR_SYSCALL && ERR_peek_error() != 0)) {
		tlsctx_error(out, outsz);
		return;
	}
	if (err == SSL_ERROR_SYSCALL && errno != 0)
		snprintf(out, outsz, "%s", strerror(errno));
	else if (err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL)
		snprintf(out, outsz, "connection closed");
	else
		snprintf(out, outsz, "SSL error %d", err);
}

/* Poll fd for events until the absolute deadline; 1 ready, 0 timeout. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int n;

	for (;;) {
		left = deadline - clock_ms();
		if (left <= 0)
			return 0;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return 1;	/* let the next call report it */
	}
}

static int
handshake(struct session *s, int timeout_ms)
{
	int64_t deadline = clock_ms() + timeout_ms;
	char why[REASON_MAX];
	int r, err;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_accept(s->ssl);
		if (r == 1)
			return 0;
		err = SSL_get_error(s->ssl, r);
		if (err == SSL_ERROR_WANT_READ && wait_fd(s->rfd, POLLIN,
		    deadline))
			continue;
		if (err == SSL_ERROR_WANT_WRITE && wait_fd(s->wfd, POLLOUT,
		    deadline))
			continue;
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
			snprintf(why, sizeof(why), "handshake timeout");
		else
			ssl_reason(err, why, sizeof(why));
		log_info("event=handshake_fail ip=%s reason=\"%s\"", s->ip,
		    why);
		return -1;
	}
}

/* Write all of p to the back end before the deadline; 0 or -1. */
static int
write_all(int fd, const unsigned char *p, size_t len, int64_t deadline)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EAGAIN) {
			if (!wait_fd(fd, POLLOUT, deadline)) {
				errno = ETIMEDOUT;
				return -1;
			}
		} else if (n < 0 && errno != EINTR) {
			return -1;
		}
	}
	return 0;
}

/* How a non-fatal SSL result maps onto poll events; 0 if fatal. */
static short
ssl_wait_events(int err)
{
	if (err == SSL_ERROR_WANT_READ)
		return POLLIN;
	if (err == SSL_ERROR_WANT_WRITE)
		return POLLOUT;
	return 0;
}

/* A fatal TLS error from the client side: log why, end the session. */
static void
client_failed(struct session *s, int err)
{
	char why[REASON_MAX];

	ssl_reason(err, why, sizeof(why));
	log_info("event=client_error ip=%s reason=\"%s\"", s->ip, why);
	s->end = "client_error";
}

/* Each step returns 1 when it moved bytes or changed state. */
static int
client_read(struct session *s)
{
	int n, err;

	if (s->client_eof || s->c2b.len > 0)
		return 0;
	ERR_clear_error();
	errno = 0;
	n = SSL_read(s->ssl, s->c2b.data, sizeof(s->c2b.data));
	if (n > 0) {
		s->c2b.off = 0;
		s->c2b.len = (size_t)n;
		s->in += (unsigned long long)n;
		return 1;
	}
	err = SSL_get_error(s->ssl, n);
	s->rd_ev |= ssl_wait_events(err);
	if (ssl_wait_events(err) != 0)
		return 0;
	/* close_notify, or a bare EOF (SSL_OP_IGNORE_UNEXPECTED_EOF). */
	if (err == SSL_ERROR_ZERO_RETURN ||
	    (err == SSL_ERROR_SYSCALL && errno == 0 && ERR_peek_error() == 0))
		s->client_eof = 1;
	else
		client_failed(s, err);
	return 1;
}

static int
backend_write(struct session *s)
{
	struct buf *b = &s->c2b;
	ssize_t n;

	if (b->off < b->len && s->backend_deaf) {
		b->off = b->len = 0;	/* nobody listens: drop it */
		return 1;
	}
	if (b->off < b->len) {
		n = write(s->bfd, b->data + b->off, b->len - b->off);
		if (n < 0 && errno == EAGAIN) {
			s->b_ev |= POLLOUT;
			return 0;
		}
		if (n < 0 && errno == EINTR)
			return 1;
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
			/*
			 * The back end stopped reading (a refusal, a QUIT
			 * race); its last words may still be on the way
			 * to the client, so keep relaying those.
			 */
			s->backend_deaf = 1;
			return 1;
		}
		if (n < 0) {
			log_sys(LOG_INFO, "event=backend_error ip=%s op=write",
			    s->ip);
			s->end = "backend_error";
			return 1;
		}
		b->off += (size_t)n;
		if (b->off == b->len)
			b->off = b->len = 0;
		return 1;
	}
	/* Half-close: pass the client's end on once its data is out. */
	if (s->client_eof && !s->backend_shut && !s->backend_deaf) {
		(void)shutdown(s->bfd, SHUT_WR);
		s->backend_shut = 1;
		return 1;
	}
	return 0;
}

static int
backend_read(struct session *s)
{
	ssize_t n;

	if (s->backend_eof || s->b2c.len > 0)
		return 0;
	n = read(s->bfd, s->b2c.data, sizeof(s->b2c.data));
	if (n > 0) {
		s->b2c.off = 0;
		s->b2c.len = (size_t)n;
		return 1;
	}
	if (n < 0 && errno == EAGAIN) {
		s->b_ev |= POLLIN;
		return 0;
	}
	if (n < 0 && errno == EINTR)
		return 1;
	if (n < 0 && errno != ECONNRESET) {
		log_sys(LOG_INFO, "event=backend_error ip=%s op=read", s->ip);
		s->end = "backend_error";
		return 1;
	}
	s->backend_eof = 1;	/* EOF, or a reset: the back end is done */
	return 1;
}

static int
client_write(struct session *s)
{
	struct buf *b = &s->b2c;
	int n, err;

	if (b->off >= b->len)
		return 0;
	ERR_clear_error();
	errno = 0;
	n = SSL_write(s->ssl, b->data + b->off, (int)(b->len - b->off));
	if (n > 0) {
		b->off += (size_t)n;
		s->out += (unsigned long long)n;
		if (b->off == b->len)
			b->off = b->len = 0;
		return 1;
	}
	err = SSL_get_error(s->ssl, n);
	s->wr_ev |= ssl_wait_events(err);
	if (ssl_wait_events(err) != 0)
		return 0;
	client_failed(s, err);
	return 1;
}

/* Move whatever can move without blocking; record what blocks. */
static void
pump(struct session *s)
{
	int progress;

	do {
		s->rd_ev = s->wr_ev = s->b_ev = 0;
		progress = client_read(s);
		if (s->end == NULL)
			progress |= backend_write(s);
		if (s->end == NULL)
			progress |= backend_read(s);
		if (s->end == NULL)
			progress |= client_write(s);
		if (s->end == NULL && s->backend_eof && s->b2c.len == 0)
			s->end = "backend";
	} while (progress && s->end == NULL);
}

/* Collect the descriptors and events the blocked steps wait for. */
static nfds_t
poll_set(const struct session *s, struct pollfd pfd[3])
{
	short cev = s->rd_ev | s->wr_ev;
	nfds_t n = 0;

	if (s->rfd == s->wfd) {
		if (cev != 0)
			pfd[n++] = (struct pollfd){ .fd = s->rfd,
			    .events = cev };
	} else {
		/* Under inetd/tcpserver: read on 0, write on 1. */
		if (cev & POLLIN)
			pfd[n++] = (struct pollfd){ .fd = s->rfd,
			    .events = POLLIN };
		if (cev & POLLOUT)
			pfd[n++] = (struct pollfd){ .fd = s->wfd,
			    .events = POLLOUT };
	}
	if (s->b_ev != 0)
		pfd[n++] = (struct pollfd){ .fd = s->bfd, .events = s->b_ev };
	return n;
}

static void
relay_loop(struct session *s, int idle_ms)
{
	struct pollfd pfd[3];
	nfds_t nfds;
	int n;

	for (;;) {
		pump(s);
		if (s->end != NULL)
			return;
		nfds = poll_set(s, pfd);
		if (nfds == 0) {
			/* Cannot happen: something always waits. */
			s->end = "stalled";
			return;
		}
		n = poll(pfd, nfds, idle_ms);
		if (n == 0) {
			s->end = "idle_timeout";
			return;
		}
		if (n < 0 && errno != EINTR) {
			log_sys(LOG_ERR, "event=error ip=%s op=poll", s->ip);
			s->end = "error";
			return;
		}
	}
}

/* Best effort close_notify: the client may already be gone. */
static void
tls_close(struct session *s)
{
	ERR_clear_error();
	(void)SSL_shutdown(s->ssl);
	ERR_clear_error();
}

/* Connect and send the preamble; it is zeroed whatever happens. */
static int
connect_backend(struct session *s, const struct relay_conf *conf)
{
	unsigned char preamble[PROXYHDR_MAX];
	int64_t deadline = clock_ms() + conf->connect_ms;
	size_t len;
	int rc = 0;

	len = conf->preamble(s->ssl, conf->preamble_arg, preamble,
	    sizeof(preamble));
	if (len == 0) {
		log_err("event=error ip=%s op=preamble", s->ip);
		return -1;
	}
	s->bfd = endpoint_connect(conf->backend, conf->connect_ms);
	if (s->bfd < 0 || write_all(s->bfd, preamble, len, deadline) < 0) {
		log_info("event=backend_down ip=%s backend=%s error=\"%s\"",
		    s->ip, conf->backend->text, strerror(errno));
		rc = -1;
	}
	explicit_bzero(preamble, sizeof(preamble));
	return rc;
}

static int
run(struct session *s, SSL_CTX *ctx, const struct relay_conf *conf)
{
	s->ssl = SSL_new(ctx);
	if (s->ssl == NULL || SSL_set_rfd(s->ssl, s->rfd) != 1 ||
	    SSL_set_wfd(s->ssl, s->wfd) != 1) {
		log_err("event=error ip=%s op=SSL_new", s->ip);
		return RELAY_TEMP;
	}
	if (handshake(s, conf->handshake_ms) < 0)
		return RELAY_CLIENT;
	/*
	 * Many POP3 clients drop TCP after QUIT without close_notify: a
	 * normal end once the session runs (OpenSSL 3 calls it an error),
	 * but during the handshake it stays "unexpected eof" in the log.
	 */
	SSL_set_options(s->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	log_debug("event=handshake ip=%s tls=%s cipher=%s", s->ip,
	    SSL_get_version(s->ssl), SSL_get_cipher_name(s->ssl));
	if (connect_backend(s, conf) < 0) {
		tls_close(s);
		return RELAY_TEMP;
	}
	relay_loop(s, conf->idle_ms);
	tls_close(s);
	log_info("event=close ip=%s in=%llu out=%llu end=%s tls=%s", s->ip,
	    s->in, s->out, s->end, SSL_get_version(s->ssl));
	if (strcmp(s->end, "idle_timeout") == 0)
		return RELAY_CLIENT;
	return strcmp(s->end, "backend_error") == 0 ||
	    strcmp(s->end, "error") == 0 ? RELAY_TEMP : RELAY_OK;
}

int
relay_session(SSL_CTX *ctx, int rfd, int wfd, const char *ip,
    const struct relay_conf *conf)
{
	static struct session s;	/* 32 KiB of buffers: not on the stack */
	int rc;

	memset(&s, 0, sizeof(s));
	s.rfd = rfd;
	s.wfd = wfd;
	s.bfd = -1;
	s.ip = ip;
	set_nonblock(rfd);
	set_nonblock(wfd);
	rc = run(&s, ctx, conf);
	if (s.bfd >= 0)
		close(s.bfd);
	SSL_free(s.ssl);
	explicit_bzero(&s, sizeof(s));
	return rc;
}
