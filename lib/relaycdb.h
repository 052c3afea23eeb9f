/* relaycdb.h - THE record format of the relay snapshot cdbs. */
#ifndef AUTHRELAY_RELAYCDB_H
#define AUTHRELAY_RELAYCDB_H

#include <stddef.h>
#include <stdint.h>

/*
 * The relay snapshot is a pair of cdbs, written by the watcher
 * (watcher/snapshot.c) and read by auth-wrap and authrelay-policy
 * (lib/relaylookup.c):
 *
 * base  (cfg->cdb_file): every active relay when it was built; rebuilt
 *       rarely, off the watcher's event loop.
 * delta (cfg->cdb_file + RELAYCDB_DELTA_SUFFIX): every relay row that
 *       changed since the base, rewritten on each change. A revoked relay
 *       is a record whose expiry has passed (a tombstone): the delta is
 *       read first and its record, if any, decides.
 *
 * Records of both:
 *   key   = canonical IP text (ipaddr_canon), e.g. "192.0.2.10"
 *   value = "1 <expires_unix_seconds> <user>"   (1 = format version)
 * plus one metadata record, whose key can never be an IP:
 *   base:  key RELAYCDB_META_KEY,  value "1 <built> <count> <id>"
 *   delta: key RELAYCDB_DELTA_KEY, value "1 <built> <count> <id> [<id>]"
 * <id> names a base (RELAYCDB_ID_LEN lowercase hex digits); a delta
 * lists the one or two bases it is valid on top of, and is never used
 * with another. A delta's <built> is when the pair was last known to be
 * current (cdb_max_age applies to it); without a delta file, the base
 * alone is the snapshot (as written by "authrelayctl export-cdb").
 * Expiry is rounded down to the second, so a grant ends early, never late.
 */
#define RELAYCDB_VERSION 1
#define RELAYCDB_META_KEY "!authrelay-snapshot"
#define RELAYCDB_DELTA_KEY "!authrelay-delta"
#define RELAYCDB_DELTA_SUFFIX ".delta"
#define RELAYCDB_ID_LEN 16
#define RELAYCDB_IDS_MAX 2
#define RELAYCDB_USER_MAX 255		/* bytes, as sql/schema.sql allows */
#define RELAYCDB_VALUE_MAX 300		/* "1 " + 20 digits + " " + user */

struct relaycdb_entry {
	int64_t expires;			/* unix seconds */
	char user[RELAYCDB_USER_MAX + 1];	/* UTF-8, no controls */
};

struct relaycdb_meta {
	int64_t built;		/* unix seconds when the snapshot was taken */
	int64_t count;		/* relay records in the file */
	size_t ids;		/* base: 0 (legacy) or 1; delta: 1 or 2 */
	char id[RELAYCDB_IDS_MAX][RELAYCDB_ID_LEN + 1];
};

/*
 * Format an entry value into out. An over-long user is cut (never inside
 * a UTF-8 sequence); well-formed UTF-8 is kept, and each control
 * character (C0, DEL, C1) or byte that is not UTF-8 becomes one '?'.
 * Returns the length (no NUL stored in the cdb), or -1 if out is too
 * small.
 */
int relaycdb_format(int64_t expires, const char *user, char *out,
    size_t outlen);

/*
 * Parse an entry value; 0, or -1 with *error_r (static text). A user
 * that is not well-formed UTF-8 or holds a control character is refused.
 */
int relaycdb_parse(const char *val, size_t len, struct relaycdb_entry *e_r,
    const char **error_r);

/*
 * Format/parse the metadata value (same conventions as above); ids is
 * an array of nids (0 to RELAYCDB_IDS_MAX) base ids.
 */
int relaycdb_format_meta(int64_t built, int64_t count,
    const char *const *ids, size_t nids, char *out, size_t outlen);
int relaycdb_parse_meta(const char *val, size_t len, struct relaycdb_meta *m_r,
    const char **error_r);

/*
 * Longest remaining lifetime a grant may have, in seconds: the larger
 * of expire and RELAYCDB_GRANT_CAP_S (so "authrelayctl allow IP 2h"
 * works), plus the allowed clock skew.
 */
#define RELAYCDB_GRANT_CAP_S 86400
int64_t relaycdb_ttl_max(int64_t expire_ms, int64_t skew_ms);

/*
 * Is the entry a grant at time now? Refuses expired entries and, as
 * defence against clock jumps and forged rows, entries that expire
 * more than ttl_max_s seconds in the future. 1 = active, 0 = not
 * (*why_r says why).
 */
int relaycdb_active(const struct relaycdb_entry *e, int64_t now,
    int64_t ttl_max_s, const char **why_r);

/*
 * Look ip (canonical text) up in the snapshot open on fd with cdb_seek
 * (no mmap). 1 = found (*e_r filled), 0 = absent, -1 = unreadable or
 * corrupt (*error_r).
 */
int relaycdb_lookup(int fd, const char *ip, struct relaycdb_entry *e_r,
    const char **error_r);

/*
 * Read the metadata record under key (RELAYCDB_META_KEY or
 * RELAYCDB_DELTA_KEY): 0, or -1 (missing = corrupt) with *error_r.
 */
int relaycdb_read_meta(int fd, const char *key, struct relaycdb_meta *m_r,
    const char **error_r);

/* Does the meta record list base id? */
int relaycdb_meta_has_id(const struct relaycdb_meta *m, const char *id);

/*
 * The key or the value of the record tinycdb's c is at (after cdb_find
 * or cdb_seqnext), copied into out and NUL-terminated: its length, or -1
 * if it does not fit in outlen or cannot be read.
 */
struct cdb;
int relaycdb_record_key(struct cdb *c, char *out, size_t outlen);
int relaycdb_record_value(struct cdb *c, char *out, size_t outlen);

#endif
