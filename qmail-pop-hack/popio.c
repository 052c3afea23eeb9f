/* popio.c - POP3 line input and buffered output on the network descriptors, with timeouts. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "popio.h"

/* Longest accepted timeout: a day, and it must fit poll()'s int. */
#define POPIO_TIMEOUT_MAX_MS 86400000

void
popio_init(struct popio *io, int fd_in, int fd_out, int timeout_ms,
    int byte_at_a_time)
{
	memset(io, 0, sizeof(*io));
	io->fd_in = fd_in;
	io->fd_out = fd_out;
	io->timeout_ms = timeout_ms;
	io->byte_at_a_time = byte_at_a_time;
}

static int
wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	return n;
}

static enum popio_status
fill(struct popio *io)
{
	size_t want = io->byte_at_a_time ? 1 : sizeof(io->in);
	ssize_t n;
	int w;

	w = wait_fd(io->fd_in, POLLIN, io->timeout_ms);
	if (w == 0)
		return POPIO_TIMEOUT;
	if (w < 0)
		return POPIO_ERROR;
	do
		n = read(io->fd_in, io->in, want);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return POPIO_ERROR;
	if (n == 0)
		return POPIO_EOF;
	io->ipos = 0;
	io->ilen = (size_t)n;
	return POPIO_OK;
}

enum popio_status
popio_getline(struct popio *io, char line[POPIO_LINE_MAX], size_t *len_r,
    int *crlf_r)
{
	enum popio_status st;
	size_t len = 0;
	char c;

	for (;;) {
		if (io->ipos == io->ilen) {
			st = fill(io);
			if (st != POPIO_OK)
				return st;
		}
		c = io->in[io->ipos++];
		if (c == '\n')
			break;
		/* Room for the line, its CR and its LF within the limit. */
		if (len + 1 >= POPIO_LINE_MAX)
			return POPIO_TOOLONG;
		line[len++] = c;
	}
	*crlf_r = len > 0 && line[len - 1] == '\r';
	if (*crlf_r)
		len--;
	*len_r = len;
	return POPIO_OK;
}

void
popio_skipline(struct popio *io, size_t max)
{
	size_t n;

	for (n = 0; n < max; n++) {
		if (io->ipos == io->ilen && fill(io) != POPIO_OK)
			return;
		if (io->in[io->ipos++] == '\n')
			return;
	}
}

int
popio_flush(struct popio *io)
{
	size_t done = 0;
	ssize_t n;

	while (done < io->olen) {
		if (wait_fd(io->fd_out, POLLOUT, io->timeout_ms) <= 0)
			return -1;
		n = write(io->fd_out, io->out + done, io->olen - done);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	io->olen = 0;
	return 0;
}

int
popio_put(struct popio *io, const char *s, size_t len)
{
	size_t room;

	while (len > 0) {
		if (io->olen == sizeof(io->out) && popio_flush(io) < 0)
			return -1;
		room = sizeof(io->out) - io->olen;
		if (room > len)
			room = len;
		memcpy(io->out + io->olen, s, room);
		io->olen += room;
		s += room;
		len -= room;
	}
	return 0;
}

int
popio_puts(struct popio *io, const char *s)
{
	return popio_put(io, s, strlen(s));
}

int64_t
popio_duration_env(const char *name, int64_t def, int64_t max)
{
	const char *v = getenv(name);
	int64_t ms;

	if (v == NULL || *v == '\0')
		return def;
	ms = config_parse_duration(v);
	/* A malformed value must not silently mean "no delay/timeout". */
	if (ms < 0)
		return def;
	return ms > max ? max : ms;
}

int
popio_timeout_from_env(void)
{
	int64_t ms = popio_duration_env("AUTHRELAY_POP_TIMEOUT",
	    POPIO_DEFAULT_TIMEOUT_MS, POPIO_TIMEOUT_MAX_MS);

	return ms < 1 ? 1 : (int)ms;
}

void
popio_sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
	    .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}
