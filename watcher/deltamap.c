/* deltamap.c - the relay rows changed since the base snapshot, in memory, keyed by address. */
#include <stdlib.h>
#include <string.h>

#include "deltamap.h"
#include "fnv.h"

#define DELTAMAP_MIN_CAP 1024

void
deltamap_init(struct deltamap *m)
{
	memset(m, 0, sizeof(*m));
}

void
deltamap_free(struct deltamap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].user);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

static size_t
hash_ip(const char *ip)
{
	return (size_t)fnv1a64(FNV1A64_INIT, ip, strlen(ip));
}

/* The slot holding ip, or the free slot where it would go. */
static struct delta_entry *
find_slot(struct delta_entry *slots, size_t cap, const char *ip)
{
	size_t i = hash_ip(ip) & (cap - 1);

	while (slots[i].ip[0] != '\0' && strcmp(slots[i].ip, ip) != 0)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

/* Re-insert every entry into a table of cap slots. */
static int
rehash(struct deltamap *m, size_t cap)
{
	struct delta_entry *slots = calloc(cap, sizeof(*slots));

	if (slots == NULL)
		return -1;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].ip[0] != '\0')
			*find_slot(slots, cap, m->slots[i].ip) = m->slots[i];
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
	return 0;
}

int
deltamap_set(struct deltamap *m, const char *ip, int64_t expires,
    const char *user, uint64_t txid)
{
	struct delta_entry *e;
	char *copy;

	/* at most half full: short probe runs */
	if ((m->count + 1) * 2 > m->cap &&
	    rehash(m, m->cap ? 2 * m->cap : DELTAMAP_MIN_CAP) < 0)
		return -1;
	e = find_slot(m->slots, m->cap, ip);
	if (e->ip[0] != '\0') {
		if (txid < e->txid)
			return 0;	/* an older version read late */
		if (e->expires == expires && strcmp(e->user, user) == 0) {
			e->txid = txid;
			return 0;
		}
	}
	if ((copy = strdup(user)) == NULL)
		return -1;
	if (e->ip[0] == '\0') {
		m->count++;
		strncpy(e->ip, ip, sizeof(e->ip) - 1);
	}
	free(e->user);
	e->user = copy;
	e->expires = expires;
	e->txid = txid;
	return 1;
}

const struct delta_entry *
deltamap_get(const struct deltamap *m, const char *ip)
{
	const struct delta_entry *e;

	if (m->cap == 0)
		return NULL;
	e = find_slot(m->slots, m->cap, ip);
	return e->ip[0] != '\0' ? e : NULL;
}

size_t
deltamap_prune(struct deltamap *m, const struct pgsnap *base)
{
	size_t before = m->count, cap = DELTAMAP_MIN_CAP;
	struct deltamap kept;

	deltamap_init(&kept);
	for (size_t i = 0; i < m->cap; i++) {
		const struct delta_entry *e = &m->slots[i];

		if (e->ip[0] != '\0' && !pgsnap_saw(base, e->txid))
			kept.count++;
	}
	while (kept.count * 2 > cap)
		cap *= 2;
	if ((kept.slots = calloc(cap, sizeof(*kept.slots))) == NULL)
		return 0;	/* keep everything: larger, still correct */
	kept.cap = cap;
	for (size_t i = 0; i < m->cap; i++) {
		const struct delta_entry *e = &m->slots[i];

		if (e->ip[0] != '\0' && !pgsnap_saw(base, e->txid))
			*find_slot(kept.slots, kept.cap, e->ip) = *e;
		else
			free(e->user);
	}
	free(m->slots);
	*m = kept;
	return before - m->count;
}

int
deltamap_each(const struct deltamap *m, deltamap_fn *fn, void *ctx)
{
	for (size_t i = 0; i < m->cap; i++) {
		int r;

		if (m->slots[i].ip[0] != '\0' && (r = fn(ctx, &m->slots[i])) != 0)
			return r;
	}
	return 0;
}
