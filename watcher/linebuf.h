/* linebuf.h - split a byte stream into lines; over-long lines are dropped whole. */
#ifndef AUTHRELAY_LINEBUF_H
#define AUTHRELAY_LINEBUF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct linebuf {
	char *buf;
	size_t cap;		/* bytes allocated */
	size_t maxline;		/* longer lines are discarded to the next \n */
	size_t start, end;	/* unconsumed bytes are buf[start..end) */
	int discarding;		/* inside an over-long line */
	uint64_t oversized;	/* lines discarded */
};

/* cap must exceed maxline. Returns 0 or -1 (ENOMEM). */
int linebuf_init(struct linebuf *lb, size_t cap, size_t maxline);
void linebuf_free(struct linebuf *lb);

/* One read(2) into free space: >0 bytes, 0 at EOF, -1 with errno. */
ssize_t linebuf_fill(struct linebuf *lb, int fd);

/*
 * Next complete line (without its \n, and without a trailing \r): 1 and
 * line_r and len_r set (valid until the next fill), or 0 when none is
 * complete yet.
 */
int linebuf_next(struct linebuf *lb, const char **line_r, size_t *len_r);

/* At EOF: the unterminated last line, if any (1), else 0. */
int linebuf_rest(struct linebuf *lb, const char **line_r, size_t *len_r);

#endif
