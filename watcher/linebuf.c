/* linebuf.c - split a byte stream into lines; over-long lines are dropped whole. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linebuf.h"

int
linebuf_init(struct linebuf *lb, size_t cap, size_t maxline)
{
	memset(lb, 0, sizeof(*lb));
	if (cap <= maxline || (lb->buf = malloc(cap)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	lb->cap = cap;
	lb->maxline = maxline;
	return 0;
}

void
linebuf_free(struct linebuf *lb)
{
	free(lb->buf);
	lb->buf = NULL;
}

ssize_t
linebuf_fill(struct linebuf *lb, int fd)
{
	ssize_t n;

	if (lb->start > 0 && lb->end == lb->cap) {
		memmove(lb->buf, lb->buf + lb->start, lb->end - lb->start);
		lb->end -= lb->start;
		lb->start = 0;
	}
	do
		n = read(fd, lb->buf + lb->end, lb->cap - lb->end);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		lb->end += (size_t)n;
	return n;
}

/* Drop a partial line that has grown past maxline; keep its tail state. */
static void
drop_oversized(struct linebuf *lb)
{
	if (!lb->discarding)
		lb->oversized++;
	lb->discarding = 1;
	lb->start = lb->end = 0;
}

int
linebuf_next(struct linebuf *lb, const char **line_r, size_t *len_r)
{
	for (;;) {
		size_t avail = lb->end - lb->start;
		char *p = lb->buf + lb->start;
		char *nl = memchr(p, '\n', avail);
		size_t len;

		if (nl == NULL) {
			if (avail > lb->maxline || (lb->discarding && avail > 0))
				drop_oversized(lb);
			if (lb->start == lb->end)
				lb->start = lb->end = 0;
			return 0;
		}
		len = (size_t)(nl - p);
		lb->start += len + 1;
		if (lb->discarding) {
			lb->discarding = 0;	/* the tail of a dropped line */
			continue;
		}
		if (len > lb->maxline) {
			lb->oversized++;
			continue;
		}
		if (len > 0 && p[len - 1] == '\r')
			len--;
		*line_r = p;
		*len_r = len;
		return 1;
	}
}

int
linebuf_rest(struct linebuf *lb, const char **line_r, size_t *len_r)
{
	size_t len = lb->end - lb->start;

	if (len == 0 || lb->discarding || len > lb->maxline)
		return 0;
	*line_r = lb->buf + lb->start;
	*len_r = len;
	lb->start = lb->end;
	return 1;
}
