/* fuzz-policyreq.c - libFuzzer target: policy requests read the same however the stream is chunked, in bounded memory. */
#include <string.h>

#include "fuzz.h"
#include "request.h"

/*
 * Input: one byte choosing the largest chunk (1..64), then the stream.
 * Properties: the whole stream and the chunked stream give the same
 * requests (same count, same verdicts, same values); the number of
 * requests is the number of empty lines; kept values never exceed
 * POLICYREQ_VALUE_MAX and hold no '\n'; a request without a fault has
 * exactly the attributes the model saw.
 */
#define FUZZ_CHUNK_SPAN 64

struct summary {
	size_t requests;
	uint64_t hash;
};

static void
mix(uint64_t *h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		*h = (*h ^ b[i]) * 1099511628211ULL;	/* FNV-1a */
}

static void
check_value(int has, const char *v)
{
	if (!has)
		return;
	FUZZ_CHECK(strlen(v) <= POLICYREQ_VALUE_MAX);
	FUZZ_CHECK(strchr(v, '\n') == NULL);
}

static void
record(struct summary *s, const struct policyreq *r)
{
	const char *why = r->bad_why != NULL ? r->bad_why : "-";

	check_value(r->has_request, r->request);
	check_value(r->has_client, r->client);
	check_value(r->has_server, r->server);
	s->requests++;
	mix(&s->hash, why, strlen(why) + 1);
	if (r->bad_why == NULL) {
		int f[3] = { r->has_request, r->has_client, r->has_server };

		mix(&s->hash, f, sizeof(f));
		mix(&s->hash, r->request, strlen(r->request) + 1);
		mix(&s->hash, r->client, strlen(r->client) + 1);
		mix(&s->hash, r->server, strlen(r->server) + 1);
	}
}

static void
run(const uint8_t *p, size_t n, size_t chunk, struct summary *s)
{
	static struct policyreq r;
	size_t off = 0;

	memset(s, 0, sizeof(*s));
	s->hash = 14695981039346656037ULL;
	policyreq_reset(&r);
	while (off < n) {
		size_t len = n - off < chunk ? n - off : chunk;
		size_t used = 0;

		while (used < len) {
			int done;
			size_t u = policyreq_feed(&r, (const char *)p + off + used,
			    len - used, &done);

			FUZZ_CHECK(u <= len - used);
			FUZZ_CHECK(done || u == len - used);
			used += u;
			if (done) {
				record(s, &r);
				policyreq_reset(&r);
			}
		}
		off += len;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct summary whole, chunked;
	size_t empty = 0, linelen = 0;

	if (size < 1)
		return 0;
	size_t chunk = (size_t)data[0] % FUZZ_CHUNK_SPAN + 1;

	data++;
	size--;
	for (size_t i = 0; i < size; i++) {
		if (data[i] == '\n') {
			empty += linelen == 0;
			linelen = 0;
		} else {
			linelen++;
		}
	}
	run(data, size, size > 0 ? size : 1, &whole);
	run(data, size, chunk, &chunked);
	FUZZ_CHECK(whole.requests == empty);
	FUZZ_CHECK(chunked.requests == whole.requests);
	FUZZ_CHECK(chunked.hash == whole.hash);
	return 0;
}
