/* popio.h - POP3 line input and buffered output on the network descriptors, with timeouts. */
#ifndef QMAIL_POP_HACK_POPIO_H
#define QMAIL_POP_HACK_POPIO_H

#include <stddef.h>
#include <stdint.h>

/* Longest command line, CRLF included (RFC 2449 asks for 255 at least). */
#define POPIO_LINE_MAX 512
#define POPIO_INBUF 4096
#define POPIO_OUTBUF 8192
/* qmail's idle timeout, 20 minutes. */
#define POPIO_DEFAULT_TIMEOUT_MS 1200000

enum popio_status {
	POPIO_OK = 0,
	POPIO_EOF,
	POPIO_TIMEOUT,
	POPIO_TOOLONG,
	POPIO_ERROR
};

struct popio {
	int fd_in;
	int fd_out;
	int timeout_ms;
	int byte_at_a_time;	/* never read past a line end (see popup) */
	size_t ipos, ilen;
	size_t olen;
	char in[POPIO_INBUF];
	char out[POPIO_OUTBUF];
};

void popio_init(struct popio *io, int fd_in, int fd_out, int timeout_ms,
    int byte_at_a_time);

/*
 * Read one line ending in LF into line (POPIO_LINE_MAX bytes); the LF and
 * one CR before it are removed and *crlf_r says whether that CR was
 * there. The line may contain NUL bytes: check *len_r, not strlen.
 */
enum popio_status popio_getline(struct popio *io, char line[POPIO_LINE_MAX],
    size_t *len_r, int *crlf_r);

/*
 * After POPIO_TOOLONG: discard the rest of that line (at most max bytes)
 * so that closing the socket does not reset it under our last reply.
 */
void popio_skipline(struct popio *io, size_t max);
/* How much of an overlong line is read and dropped before answering. */
#define POPIO_SKIP_MAX 65536

/* Queue bytes; flushes when the buffer fills. -1 on write error/timeout. */
int popio_put(struct popio *io, const char *s, size_t len);
int popio_puts(struct popio *io, const char *s);
int popio_flush(struct popio *io);

/* Timeout from $AUTHRELAY_POP_TIMEOUT (a duration, default 1200 s). */
int popio_timeout_from_env(void);

/* A duration from environment variable name, in ms; def when unset. */
int64_t popio_duration_env(const char *name, int64_t def, int64_t max);

/* Sleep ms milliseconds, restarting after signals. */
void popio_sleep_ms(int64_t ms);

#endif
