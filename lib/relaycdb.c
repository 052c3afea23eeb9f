/* relaycdb.c - THE record format of the relay snapshot cdbs. */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cdb.h>

#include "relaycdb.h"
#include "utf8.h"

/* Digits of a non-negative int64 we accept (10^18 is far enough). */
#define RELAYCDB_DIGITS_MAX 18

/* Parse exactly len bytes of decimal digits. */
static int
parse_num(const char *s, size_t len, int64_t *out)
{
	int64_t v = 0;

	if (len == 0 || len > RELAYCDB_DIGITS_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* A base id: exactly RELAYCDB_ID_LEN lowercase hex digits. */
static int
is_id(const char *s, size_t len)
{
	if (len != RELAYCDB_ID_LEN)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* Decimal digits of a non-negative v into out (no NUL); the length. */
static size_t
put_num(int64_t v, char *out)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

/* Cut at most max bytes of s without splitting a UTF-8 sequence. */
static size_t
utf8_cut(const char *s, size_t max)
{
	size_t len = strnlen(s, max + 1);

	if (len <= max)
		return len;
	len = max;
	while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--;
	return len;
}

int
relaycdb_format(int64_t expires, const char *user, char *out, size_t outlen)
{
	size_t ulen = utf8_cut(user, RELAYCDB_USER_MAX), n;

	/* "1 " + up to 19 digits + " " + user + NUL; this runs per row */
	if (expires < 0 || outlen < 2 + 19 + 1 + ulen + 1)
		return -1;
	out[0] = '0' + RELAYCDB_VERSION;
	out[1] = ' ';
	n = 2 + put_num(expires, out + 2);
	out[n++] = ' ';
	/* Well-formed UTF-8 stays; a control character or a stray byte is '?' */
	for (size_t i = 0, len; i < ulen; i += len) {
		uint32_t cp;

		len = utf8_decode(user + i, ulen - i, &cp);
		if (len == 0 || utf8_is_control(cp)) {
			out[n++] = '?';
			len = len == 0 ? 1 : len;
		} else {
			memcpy(out + n, user + i, len);
			n += len;
		}
	}
	out[n] = '\0';
	return (int)n;
}

/* Split "1 <num> <rest>"; rest may be empty here, callers decide. */
static int
split_value(const char *val, size_t len, int64_t *num_r, const char **rest_r,
    size_t *restlen_r, const char **error_r)
{
	const char *sp;

	if (len < 4 || val[0] != '0' + RELAYCDB_VERSION || val[1] != ' ') {
		*error_r = "unknown record version";
		return -1;
	}
	val += 2;
	len -= 2;
	sp = memchr(val, ' ', len);
	if (sp == NULL || parse_num(val, (size_t)(sp - val), num_r) < 0) {
		*error_r = "bad number in record";
		return -1;
	}
	*rest_r = sp + 1;
	*restlen_r = len - (size_t)(sp - val) - 1;
	return 0;
}

int
relaycdb_parse(const char *val, size_t len, struct relaycdb_entry *e_r,
    const char **error_r)
{
	const char *user, *why;
	size_t ulen;

	if (split_value(val, len, &e_r->expires, &user, &ulen, error_r) < 0)
		return -1;
	if (ulen == 0 || ulen > RELAYCDB_USER_MAX) {
		*error_r = "bad user length in record";
		return -1;
	}
	if (!utf8_text_ok(user, ulen, &why)) {
		*error_r = strcmp(why, "control character") == 0 ?
		    "control character in record user" :
		    "invalid UTF-8 in record user";
		return -1;
	}
	memcpy(e_r->user, user, ulen);
	e_r->user[ulen] = '\0';
	return 0;
}

int
relaycdb_format_meta(int64_t built, int64_t count,
    const char *const *ids, size_t nids, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%d %" PRId64 " %" PRId64,
	    RELAYCDB_VERSION, built, count);

	if (nids > RELAYCDB_IDS_MAX)
		return -1;
	for (size_t i = 0; i < nids && n >= 0 && (size_t)n < outlen; i++) {
		if (!is_id(ids[i], strlen(ids[i])))
			return -1;
		n += snprintf(out + n, outlen - (size_t)n, " %s", ids[i]);
	}
	return n < 0 || (size_t)n >= outlen ? -1 : n;
}

int
relaycdb_parse_meta(const char *val, size_t len, struct relaycdb_meta *m_r,
    const char **error_r)
{
	const char *rest, *sp;
	size_t restlen, n;

	memset(m_r, 0, sizeof(*m_r));
	if (split_value(val, len, &m_r->built, &rest, &restlen, error_r) < 0)
		return -1;
	sp = memchr(rest, ' ', restlen);
	n = sp != NULL ? (size_t)(sp - rest) : restlen;
	if (parse_num(rest, n, &m_r->count) < 0) {
		*error_r = "bad count in snapshot record";
		return -1;
	}
	/* then " <id>" at most RELAYCDB_IDS_MAX times, nothing else */
	while (n < restlen) {
		rest += n + 1;
		restlen -= n + 1;
		sp = memchr(rest, ' ', restlen);
		n = sp != NULL ? (size_t)(sp - rest) : restlen;
		if (m_r->ids == RELAYCDB_IDS_MAX || !is_id(rest, n)) {
			*error_r = "bad base id in snapshot record";
			return -1;
		}
		memcpy(m_r->id[m_r->ids], rest, n);
		m_r->id[m_r->ids++][n] = '\0';
	}
	return 0;
}

static int
record_copy(struct cdb *c, unsigned pos, unsigned len, char *out,
    size_t outlen)
{
	if (len >= outlen || cdb_read(c, out, len, pos) < 0)
		return -1;
	out[len] = '\0';
	return (int)len;
}

int
relaycdb_record_key(struct cdb *c, char *out, size_t outlen)
{
	return record_copy(c, cdb_keypos(c), cdb_keylen(c), out, outlen);
}

int
relaycdb_record_value(struct cdb *c, char *out, size_t outlen)
{
	return record_copy(c, cdb_datapos(c), cdb_datalen(c), out, outlen);
}

int
relaycdb_meta_has_id(const struct relaycdb_meta *m, const char *id)
{
	for (size_t i = 0; i < m->ids; i++)
		if (strcmp(m->id[i], id) == 0)
			return 1;
	return 0;
}

int64_t
relaycdb_ttl_max(int64_t expire_ms, int64_t skew_ms)
{
	int64_t longest = expire_ms / 1000;

	if (longest < RELAYCDB_GRANT_CAP_S)
		longest = RELAYCDB_GRANT_CAP_S;
	return longest + skew_ms / 1000 + 1;
}

int
relaycdb_active(const struct relaycdb_entry *e, int64_t now,
    int64_t ttl_max_s, const char **why_r)
{
	if (e->expires <= now) {
		*why_r = "expired";
		return 0;
	}
	if (e->expires - now > ttl_max_s) {
		*why_r = "expiry too far in the future";
		return 0;
	}
	return 1;
}

/* Exactly len bytes at offset off of fd; -1 on error or a short file. */
static int
pread_full(int fd, void *buf, size_t len, uint32_t off)
{
	char *p = buf;

	while (len > 0) {
		ssize_t r = pread(fd, p, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		len -= (size_t)r;
		off += (uint32_t)r;
	}
	return 0;
}

static uint32_t
le32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	    (uint32_t)b[3] << 24;
}

/*
 * Find key in the cdb on fd with pread alone (no mmap, no seek: auth-wrap
 * runs this once per SMTP connection, so every system call counts). The
 * layout is tinycdb's (Bernstein's cdb): 256 (position, slots) pairs,
 * hash tables of (hash, record position) slots probed linearly from
 * (hash >> 8) % slots, records of (key length, data length, key, data).
 * Reads the value, at most RELAYCDB_VALUE_MAX bytes.
 */
static int
seek_value(int fd, const char *key, char *val, size_t *len_r,
    const char **error_r)
{
	size_t klen = strlen(key);
	uint32_t hash = cdb_hash(key, (unsigned)klen), tpos, slots, probe;
	unsigned char head[8], rec[8 + RELAYCDB_VALUE_MAX + 64];

	if (klen > 64) {
		*error_r = "key too long";
		return -1;
	}
	if (pread_full(fd, head, 8, (hash & 255) * 8) < 0)
		goto corrupt;
	tpos = le32(head);
	slots = le32(head + 4);
	if (slots > (UINT32_C(1) << 28))
		goto corrupt;
	for (uint32_t i = 0; i < slots; i++) {
		uint32_t h, rpos, rk, rd;
		ssize_t got;

		probe = ((hash >> 8) + i) % slots;
		if (pread_full(fd, head, 8, tpos + probe * 8) < 0)
			goto corrupt;
		h = le32(head);
		rpos = le32(head + 4);
		if (rpos == 0)
			return 0;
		if (h != hash)
			continue;
		/* the record's lengths, key and a value that fits, at once */
		got = pread(fd, rec, sizeof(rec), (off_t)rpos);
		if (got < 8)
			goto corrupt;
		rk = le32(rec);
		rd = le32(rec + 4);
		if (rk != klen || (size_t)got < 8 + rk ||
		    memcmp(rec + 8, key, klen) != 0)
			continue;
		if (rd > RELAYCDB_VALUE_MAX) {
			*error_r = "oversized record in cdb";
			return -1;
		}
		if ((size_t)got < 8 + rk + rd) {
			*error_r = "truncated cdb";
			return -1;
		}
		memcpy(val, rec + 8 + rk, rd);
		*len_r = rd;
		return 1;
	}
	return 0;
corrupt:
	*error_r = "corrupt or unreadable cdb";
	return -1;
}

int
relaycdb_lookup(int fd, const char *ip, struct relaycdb_entry *e_r,
    const char **error_r)
{
	char val[RELAYCDB_VALUE_MAX];
	size_t len = 0;
	int r = seek_value(fd, ip, val, &len, error_r);

	if (r <= 0)
		return r;
	return relaycdb_parse(val, len, e_r, error_r) < 0 ? -1 : 1;
}

int
relaycdb_read_meta(int fd, const char *key, struct relaycdb_meta *m_r,
    const char **error_r)
{
	char val[RELAYCDB_VALUE_MAX];
	size_t len = 0;
	int r = seek_value(fd, key, val, &len, error_r);

	if (r == 0)
		*error_r = strcmp(key, RELAYCDB_DELTA_KEY) == 0 ?
		    "no delta record (not a relay delta?)" :
		    "no snapshot record (not a relay snapshot?)";
	if (r <= 0)
		return -1;
	return relaycdb_parse_meta(val, len, m_r, error_r);
}
