/* pgsnap.c - PostgreSQL snapshots (pg_current_snapshot()): which transactions a read saw. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgsnap.h"

/* One unsigned decimal, ended by stop; advances *p past it. */
static int
parse_u64(const char **p, char stop, uint64_t *v_r)
{
	const char *s = *p;
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (*s != stop)
		return -1;
	*p = s;
	*v_r = v;
	return 0;
}

int
pgsnap_parse(const char *text, struct pgsnap *s)
{
	const char *p = text;
	size_t cap = 0;

	memset(s, 0, sizeof(*s));
	if (parse_u64(&p, ':', &s->xmin) < 0)
		return -1;
	p++;
	if (parse_u64(&p, ':', &s->xmax) < 0 || s->xmin > s->xmax)
		return -1;
	p++;
	while (*p != '\0') {
		uint64_t x;
		const char *q = p;

		if (parse_u64(&q, strchr(q, ',') != NULL ? ',' : '\0', &x) < 0 ||
		    x < s->xmin || x >= s->xmax || s->nxip == PGSNAP_XIP_MAX)
			goto bad;
		if (s->nxip == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			uint64_t *grown = realloc(s->xip, ncap * sizeof(*grown));

			if (grown == NULL)
				goto bad;
			s->xip = grown;
			cap = ncap;
		}
		s->xip[s->nxip++] = x;
		p = *q == ',' ? q + 1 : q;
		if (*q == ',' && *p == '\0')
			goto bad;	/* a trailing comma */
	}
	return 0;
bad:
	pgsnap_free(s);
	return -1;
}

void
pgsnap_free(struct pgsnap *s)
{
	free(s->xip);
	memset(s, 0, sizeof(*s));
}

int
pgsnap_copy(struct pgsnap *dst, const struct pgsnap *src)
{
	uint64_t *xip = NULL;

	if (src->nxip > 0) {
		if ((xip = malloc(src->nxip * sizeof(*xip))) == NULL)
			return -1;
		memcpy(xip, src->xip, src->nxip * sizeof(*xip));
	}
	pgsnap_free(dst);
	*dst = *src;
	dst->xip = xip;
	return 0;
}

int
pgsnap_saw(const struct pgsnap *s, uint64_t txid)
{
	if (txid < s->xmin)
		return 1;
	if (txid >= s->xmax)
		return 0;
	for (size_t i = 0; i < s->nxip; i++)
		if (s->xip[i] == txid)
			return 0;
	return 1;
}

char *
pgsnap_unseen_params(const struct pgsnap *s, char xmax_r[24])
{
	size_t len = 3 + 21 * s->nxip, off = 0;
	char *arr = malloc(len);

	if (arr == NULL)
		return NULL;
	snprintf(xmax_r, 24, "%" PRIu64, s->xmax);
	arr[off++] = '{';
	for (size_t i = 0; i < s->nxip; i++)
		off += (size_t)snprintf(arr + off, len - off, "%s%" PRIu64,
		    i > 0 ? "," : "", s->xip[i]);
	arr[off++] = '}';
	arr[off] = '\0';
	return arr;
}
