/* acks.h - rsyslog omprog confirmations, written in input order once committed. */
#ifndef AUTHRELAY_ACKS_H
#define AUTHRELAY_ACKS_H

#include <stddef.h>
#include <stdint.h>

/* rsyslog sends one message (or one transaction) at a time: few pending. */
#define ACKS_MAX 4096
#define ACKS_TEXT_MAX 16

struct acks {
	struct ack {
		uint64_t after_seq;	/* write once events up to this are done */
		char text[ACKS_TEXT_MAX];
	} ring[ACKS_MAX];
	size_t head, len;
	int fd;
	int failed;		/* the reader is gone */
};

void acks_init(struct acks *a, int fd);

/* Queue a reply; -1 when too many are pending (a protocol error). */
int acks_push(struct acks *a, uint64_t after_seq, const char *text);

/* Write every reply whose events are all done (seq <= done_seq). */
void acks_flush(struct acks *a, uint64_t done_seq);

#endif
