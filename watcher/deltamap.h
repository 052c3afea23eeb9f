/* deltamap.h - the relay rows changed since the base snapshot, in memory, keyed by address. */
#ifndef AUTHRELAY_DELTAMAP_H
#define AUTHRELAY_DELTAMAP_H

#include <stddef.h>
#include <stdint.h>

#include "ipaddr.h"
#include "pgsnap.h"
#include "relaycdb.h"

/*
 * The latest known state of each changed row: its expiry (in the past
 * for a revoked relay: a tombstone that must hide the base's record),
 * its user and the transaction that wrote it. Entries leave only when a
 * newer base has seen their transaction (deltamap_prune).
 */
struct delta_entry {
	char ip[IPADDR_TEXT_MAX];	/* "" = free slot */
	int64_t expires;
	uint64_t txid;
	char *user;			/* malloc()ed */
};

struct deltamap {
	struct delta_entry *slots;
	size_t cap;		/* power of two */
	size_t count;
};

void deltamap_init(struct deltamap *m);
void deltamap_free(struct deltamap *m);

/*
 * Record the state of the row for ip (canonical text). A row read twice
 * keeps the state of the newer transaction. 1 = changed, 0 = same as
 * before, -1 = out of memory.
 */
int deltamap_set(struct deltamap *m, const char *ip, int64_t expires,
    const char *user, uint64_t txid);

/* The entry for ip (canonical text), or NULL. */
const struct delta_entry *deltamap_get(const struct deltamap *m,
    const char *ip);

/* Drop every entry whose transaction the base snapshot saw. */
size_t deltamap_prune(struct deltamap *m, const struct pgsnap *base);

/* Visit every entry; fn's nonzero return stops the walk and is returned. */
typedef int deltamap_fn(void *ctx, const struct delta_entry *e);
int deltamap_each(const struct deltamap *m, deltamap_fn *fn, void *ctx);

#endif
