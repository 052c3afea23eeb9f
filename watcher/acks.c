/* acks.c - rsyslog omprog confirmations, written in input order once committed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "acks.h"

void
acks_init(struct acks *a, int fd)
{
	memset(a, 0, sizeof(*a));
	a->fd = fd;
}

int
acks_push(struct acks *a, uint64_t after_seq, const char *text)
{
	struct ack *k;

	if (a->len == ACKS_MAX)
		return -1;
	k = &a->ring[(a->head + a->len) % ACKS_MAX];
	k->after_seq = after_seq;
	snprintf(k->text, sizeof(k->text), "%s", text);
	a->len++;
	return 0;
}

static int
write_line(int fd, const char *text)
{
	char buf[ACKS_TEXT_MAX + 1];
	size_t len = strlen(text), off = 0;

	memcpy(buf, text, len);
	buf[len++] = '\n';
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

void
acks_flush(struct acks *a, uint64_t done_seq)
{
	while (a->len > 0 && !a->failed) {
		struct ack *k = &a->ring[a->head];

		if (k->after_seq > done_seq)
			return;
		if (write_line(a->fd, k->text) < 0)
			a->failed = 1;
		a->head = (a->head + 1) % ACKS_MAX;
		a->len--;
	}
}
