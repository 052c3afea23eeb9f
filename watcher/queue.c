/* queue.c - a bounded FIFO of login events waiting for the database. */
#include <stdlib.h>
#include <string.h>

#include "event.h"

void
queue_init(struct queue *q, size_t max)
{
	memset(q, 0, sizeof(*q));
	q->max = max > 0 ? max : 1;
}

void
queue_free(struct queue *q)
{
	free(q->ring);
	memset(q, 0, sizeof(*q));
}

/* Double the ring, unwrapping it so head is 0. */
static int
queue_grow(struct queue *q)
{
	size_t ncap = q->cap == 0 ? 1024 : q->cap * 2;
	struct event *ring = malloc(ncap * sizeof(*ring));

	if (ring == NULL)
		return -1;
	for (size_t i = 0; i < q->len; i++)
		ring[i] = q->ring[(q->head + i) & (q->cap - 1)];
	free(q->ring);
	q->ring = ring;
	q->cap = ncap;
	q->head = 0;
	return 0;
}

int
queue_push(struct queue *q, const struct event *ev)
{
	if (q->len >= q->max || (q->len == q->cap && queue_grow(q) < 0)) {
		q->dropped++;
		return -1;
	}
	q->ring[(q->head + q->len) & (q->cap - 1)] = *ev;
	q->len++;
	return 0;
}

int
queue_full(const struct queue *q)
{
	return q->len >= q->max;
}

struct event *
queue_at(struct queue *q, size_t i)
{
	return &q->ring[(q->head + i) & (q->cap - 1)];
}

void
queue_pop(struct queue *q, size_t n)
{
	if (n > q->len)
		n = q->len;
	q->head = (q->head + n) & (q->cap - 1);
	q->len -= n;
}
