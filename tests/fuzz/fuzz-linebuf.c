/* fuzz-linebuf.c - libFuzzer target: linebuf over a pipe emits the same lines however the stream is chunked. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "linebuf.h"

/*
 * Input: maxline selector, extra capacity, largest chunk, chunk seed,
 * then the stream. Small sizes put every boundary within reach.
 */
#define FUZZ_HEADER 4
#define FUZZ_MAXLINE_SPAN 48
#define FUZZ_CAP_SPAN 48
#define FUZZ_CHUNK_SPAN 64

static int pipe_r = -1, pipe_w = -1;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fds[2];

	(void)argc;
	(void)argv;
	/* Non-blocking reads: EAGAIN tells us the chunk is consumed. */
	if (pipe2(fds, O_CLOEXEC) < 0 ||
	    fcntl(fds[0], F_SETFL, O_NONBLOCK) < 0) {
		perror("fuzz-linebuf: pipe");
		exit(2);
	}
	pipe_r = fds[0];
	pipe_w = fds[1];
	return 0;
}

/* The reference: a plain split of the whole stream, checked in order. */
struct model {
	const char *s;
	size_t len, pos;
	size_t maxline;
	uint64_t oversized;
};

/* Next line the reference expects, or 0 at the end of the stream. */
static int
model_next(struct model *md, const char **line_r, size_t *len_r)
{
	while (md->pos < md->len) {
		const char *p = md->s + md->pos;
		size_t avail = md->len - md->pos;
		const char *nl = memchr(p, '\n', avail);
		size_t len = nl != NULL ? (size_t)(nl - p) : avail;

		md->pos += nl != NULL ? len + 1 : len;
		if (len > md->maxline) {
			md->oversized++;
			continue;
		}
		/* Only a terminated line loses its \r; an empty rest is no line. */
		if (nl != NULL && len > 0 && p[len - 1] == '\r')
			len--;
		if (nl == NULL && len == 0)
			return 0;
		*line_r = p;
		*len_r = len;
		return 1;
	}
	return 0;
}

static void
expect_line(struct model *md, const char *line, size_t len)
{
	const char *want;
	size_t wlen;

	FUZZ_CHECK(model_next(md, &want, &wlen) == 1);
	FUZZ_CHECK(len == wlen && memcmp(line, want, len) == 0);
}

/* Read whatever the pipe holds and compare every complete line. */
static void
drain(struct linebuf *lb, struct model *md)
{
	const char *line;
	size_t len;
	ssize_t n;

	for (;;) {
		n = linebuf_fill(lb, pipe_r);
		if (n < 0) {
			FUZZ_CHECK(errno == EAGAIN);
			return;
		}
		/* 0 would mean a full buffer: the writer is still open. */
		FUZZ_CHECK(n > 0);
		while (linebuf_next(lb, &line, &len) == 1)
			expect_line(md, line, len);
	}
}

static void
feed(struct linebuf *lb, struct model *md, const uint8_t *s, size_t len,
    size_t chunk_max, uint32_t seed)
{
	size_t done = 0, chunk;
	ssize_t n;

	while (done < len) {
		seed = seed * 1103515245u + 12345u;
		chunk = 1 + (seed >> 16) % chunk_max;
		if (chunk > len - done)
			chunk = len - done;
		n = write(pipe_w, s + done, chunk);
		FUZZ_CHECK(n == (ssize_t)chunk);
		done += chunk;
		drain(lb, md);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct linebuf lb;
	struct model md;
	const char *line, *want;
	size_t len, wlen, maxline, cap;

	if (size < FUZZ_HEADER)
		return 0;
	maxline = 1 + data[0] % FUZZ_MAXLINE_SPAN;
	cap = maxline + 1 + data[1] % FUZZ_CAP_SPAN;
	memset(&md, 0, sizeof(md));
	md.s = (const char *)data + FUZZ_HEADER;
	md.len = size - FUZZ_HEADER;
	md.maxline = maxline;
	FUZZ_CHECK(linebuf_init(&lb, cap, maxline) == 0);
	feed(&lb, &md, data + FUZZ_HEADER, size - FUZZ_HEADER,
	    1 + data[2] % FUZZ_CHUNK_SPAN, data[3]);
	/* End of stream: the unterminated rest, as the daemon does at EOF. */
	if (linebuf_rest(&lb, &line, &len) == 1)
		expect_line(&md, line, len);
	FUZZ_CHECK(model_next(&md, &want, &wlen) == 0);
	FUZZ_CHECK(lb.oversized == md.oversized);
	linebuf_free(&lb);
	return 0;
}
