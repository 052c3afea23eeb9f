/* event.h - one decision about one login, as queued for the database. */
#ifndef AUTHRELAY_EVENT_H
#define AUTHRELAY_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "ipaddr.h"
#include "rules.h"

#define EVENT_REASON_MAX 48

struct event {
	char ip[IPADDR_TEXT_MAX];
	char user[RULES_USER_MAX + 1];
	char parser[RULES_NAME_MAX + 1];
	char service[RULES_SERVICE_MAX + 1];
	char reason[EVENT_REASON_MAX];	/* "" = granted */
	int64_t received_ms;		/* CLOCK_MONOTONIC when read */
	int redelivered;
	uint64_t line_hash;		/* of the raw line: spots re-deliveries */
	uint64_t seq;			/* input order, for omprog acks */
};

/*
 * A bounded FIFO of events; storage grows on demand up to max (the ring
 * is a power of two: max 10000 takes 16384 slots, about 7.6 MB).
 */
struct queue {
	struct event *ring;
	size_t cap;		/* allocated slots (power of two) */
	size_t max;		/* never more than this many queued */
	size_t head;		/* oldest */
	size_t len;
	uint64_t dropped;
};

void queue_init(struct queue *q, size_t max);
void queue_free(struct queue *q);
/* 0, or -1 when full or out of memory (the event is counted as dropped). */
int queue_push(struct queue *q, const struct event *ev);
/* 1 when max events are queued (FIFO mode then stops reading). */
int queue_full(const struct queue *q);
/* The i-th oldest event, i < q->len. */
struct event *queue_at(struct queue *q, size_t i);
/* Forget the n oldest events. */
void queue_pop(struct queue *q, size_t n);

#endif
