/* handover.c - a new database session waits until no earlier session of this watcher is still writing. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "fnv.h"
#include "handover.h"
#include "log.h"

void
handover_init(struct handover *h, const char *const *sources, size_t n)
{
	char host[256] = "";
	uint64_t x;

	memset(h, 0, sizeof(*h));
	(void)gethostname(host, sizeof(host) - 1);
	/* several hosts may read the same path into one database */
	for (size_t i = 0; i < n && i < HANDOVER_NAMES_MAX; i++) {
		x = fnv1a64(FNV1A64_INIT, host, strlen(host) + 1);
		x = fnv1a64(x, sources[i], strlen(sources[i]));
		snprintf(h->names[h->n++], sizeof(h->names[0]),
		    "authrelayd:%016" PRIx64, x);
	}
}

const char *
handover_name(const struct handover *h)
{
	return h->n > 0 ? h->names[0] : "authrelayd";
}

static void
send_check(struct handover *h, struct store *st, int64_t now_ms)
{
	char list[HANDOVER_NAMES_MAX * (HANDOVER_NAME_LEN + 1) + 3];
	size_t len = 0;

	list[len++] = '{';
	for (size_t i = 0; i < h->n; i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
		    i > 0 ? "," : "", h->names[i]);
	snprintf(list + len, sizeof(list) - len, "}");
	store_send_handover(st, list, now_ms);
}

int
handover_start(struct handover *h, struct store *st, int64_t now_ms)
{
	unsigned session = store_session(st);

	if (h->n == 0 || h->clear == session)
		return 0;
	if (h->checking != session) {
		h->checking = session;
		h->since_ms = h->next_ms = now_ms;
		h->deadline_ms = now_ms + HANDOVER_WAIT_MS;
		h->waited = 0;
	}
	if (now_ms >= h->next_ms)
		send_check(h, st, now_ms);
	return 1;
}

int64_t
handover_next_ms(const struct handover *h, const struct store *st,
    int64_t now_ms)
{
	if (h->n == 0 || h->clear == store_session(st) ||
	    h->checking != store_session(st))
		return -1;
	return h->next_ms > now_ms ? h->next_ms - now_ms : 0;
}

static void
clear(struct handover *h, unsigned session, int64_t now_ms)
{
	h->clear = session;
	if (h->waited)
		log_info("event=handover_done waited_ms=%lld",
		    (long long)(now_ms - h->since_ms));
}

void
handover_handle(struct handover *h, struct store *st,
    const struct store_result *res, int64_t now_ms)
{
	unsigned session = store_session(st);
	long busy;

	if (!res->ok && !res->data_error)
		return;		/* connection trouble: checked again next session */
	if (!res->ok || res->tuples == NULL || PQntuples(res->tuples) != 1) {
		log_warn("event=handover_unchecked error=\"%s\"", res->error);
		clear(h, session, now_ms);
		return;
	}
	busy = atol(PQgetvalue(res->tuples, 0, 0));
	if (busy == 0) {
		clear(h, session, now_ms);
	} else if (now_ms >= h->deadline_ms) {
		log_warn("event=handover_timeout sessions=%ld note=\"repeats of their batches may go unmarked\"",
		    busy);
		h->waited = 0;
		clear(h, session, now_ms);
	} else {
		if (!h->waited)
			log_info("event=handover_wait sessions=%ld", busy);
		h->waited = 1;
		h->next_ms = now_ms + HANDOVER_POLL_MS;
	}
}
