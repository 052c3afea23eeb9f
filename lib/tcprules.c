/* tcprules.c - tcpserver's rules: the tcprules source syntax, its cdb layout and lookup order. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcprules.h"

/* Append len bytes to r->data; tcprules has no limit, we have one. */
static int
data_add(struct tcprules_rule *r, const char *s, size_t len)
{
	if (len > sizeof(r->data) - r->data_len)
		return -1;
	memcpy(r->data + r->data_len, s, len);
	r->data_len += len;
	return 0;
}

/* The ",NAME=qVALUEq..." tail; mirrors tcprules.c's loop. */
static int
parse_vars(const char *x, size_t len, struct tcprules_rule *r,
    const char **error_r)
{
	while (len > 0) {
		const char *eq, *end;
		char q;

		if (*x != ',' || (eq = memchr(x, '=', len)) == NULL ||
		    eq + 1 == x + len) {
			*error_r = "unable to parse this line";
			return -1;
		}
		q = eq[1];
		end = memchr(eq + 2, q, (size_t)(x + len - (eq + 2)));
		if (end == NULL) {
			*error_r = "unable to parse this line";
			return -1;
		}
		/* "+NAME=" then the value then NUL */
		if (data_add(r, "+", 1) < 0 ||
		    data_add(r, x + 1, (size_t)(eq - x)) < 0 ||
		    data_add(r, eq + 2, (size_t)(end - (eq + 2))) < 0 ||
		    data_add(r, "", 1) < 0) {
			*error_r = "rule too long";
			return -1;
		}
		len -= (size_t)(end + 1 - x);
		x = end + 1;
	}
	return 0;
}

int
tcprules_parse(const char *line, size_t len, struct tcprules_rule *r_r,
    const char **error_r)
{
	const char *colon;

	if (len == 0 || line[0] == '#' || line[0] == '\n')
		return 0;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == ' ' ||
	    line[len - 1] == '\t'))
		len--;
	if (len >= TCPRULES_LINE_MAX) {
		*error_r = "rule too long";
		return -1;
	}
	if ((colon = memchr(line, ':', len)) == NULL)
		return 0;	/* tcprules silently ignores such lines */
	r_r->address_len = (size_t)(colon - line);
	memcpy(r_r->address, line, r_r->address_len);
	r_r->data_len = 0;
	len -= r_r->address_len + 1;
	line = colon + 1;
	if (len >= 4 && memcmp(line, "deny", 4) == 0) {
		data_add(r_r, "D", 2);	/* "D\0" */
		line += 4;
		len -= 4;
	} else if (len >= 5 && memcmp(line, "allow", 5) == 0) {
		line += 5;
		len -= 5;
	} else {
		*error_r = "unable to parse this line";
		return -1;
	}
	return parse_vars(line, len, r_r, error_r) < 0 ? -1 : 1;
}

/* tcprules' getnum: all digits (empty counts as 0), else an error. */
static int
range_num(const char *s, size_t len, unsigned long *out)
{
	unsigned long v = 0;

	if (len > 18)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int
tcprules_keys(const struct tcprules_rule *r, tcprules_key_fn *fn,
    void *ctx, const char **error_r)
{
	const char *a = r->address;
	size_t alen = r->address_len, dash, left, right;
	unsigned long bot, top;

	if (memchr(a, '=', alen) != NULL || memchr(a, '@', alen) != NULL ||
	    memchr(a, '-', alen) == NULL)
		return fn(ctx, a, alen, r->data, r->data_len);
	/* "1.2.3.4-9" or "1.2.3-5.": one dotted component is a range. */
	dash = (size_t)((const char *)memchr(a, '-', alen) - a);
	for (left = dash; left > 0 && a[left - 1] != '.'; left--)
		;
	for (right = dash + 1; right < alen && a[right] != '.'; right++)
		;
	if (range_num(a + left, dash - left, &bot) < 0 ||
	    range_num(a + dash + 1, right - dash - 1, &top) < 0) {
		*error_r = "unable to parse this line";
		return -1;
	}
	if (top > 255)
		top = 255;
	for (; bot <= top; bot++) {
		char key[TCPRULES_LINE_MAX + 8];
		int n = snprintf(key, sizeof(key), "%.*s%lu%.*s", (int)left, a,
		    bot, (int)(alen - right), a + right);
		int rc;

		if (n < 0 || (size_t)n >= sizeof(key)) {
			*error_r = "rule too long";
			return -1;
		}
		if ((rc = fn(ctx, key, (size_t)n, r->data, r->data_len)) != 0)
			return rc;
	}
	return 0;
}

int
tcprules_relay_value(const char *relayclient, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "+RELAYCLIENT=%s", relayclient);

	/* the record's NUL terminator is part of the value */
	return n < 0 || (size_t)n + 1 > outlen ? -1 : n + 1;
}

int
tcprules_data_is_deny(const char *data, size_t len)
{
	return len >= 2 && data[0] == 'D' && data[1] == '\0';
}

int
tcprules_data_has_var(const char *data, size_t len, const char *name)
{
	size_t nlen = strlen(name);

	for (size_t i = 0; i < len;) {
		const char *rec = data + i;
		const char *nul = memchr(rec, '\0', len - i);
		size_t rlen = nul != NULL ? (size_t)(nul - rec) : len - i;

		if (rlen > nlen + 1 && rec[0] == '+' &&
		    memcmp(rec + 1, name, nlen) == 0 && rec[nlen + 1] == '=')
			return 1;
		i += rlen + 1;
	}
	return 0;
}

void
tcprules_free(struct tcprules_table *t)
{
	for (size_t i = 0; i < t->count; i++) {
		free(t->items[i].key);
		free(t->items[i].data);
	}
	free(t->items);
	memset(t, 0, sizeof(*t));
}

static int
key_cmp(const void *a, const void *b)
{
	const struct tcprules_key *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);

	if (c != 0)
		return c;
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

const struct tcprules_key *
tcprules_find(const struct tcprules_table *t, const char *key, size_t klen)
{
	size_t lo = 0, hi = t->count;

	while (lo < hi) {	/* lower bound: the lowest order wins */
		size_t mid = lo + (hi - lo) / 2;
		const struct tcprules_key *k = &t->items[mid];
		size_t n = k->klen < klen ? k->klen : klen;
		int c = memcmp(k->key, key, n);

		if (c < 0 || (c == 0 && k->klen < klen))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < t->count && t->items[lo].klen == klen &&
	    memcmp(t->items[lo].key, key, klen) == 0)
		return &t->items[lo];
	return NULL;
}

struct load_ctx {
	struct tcprules_table *t;
	tcprules_key_fn *fn;
	void *ctx;
};

/* tcprules_key_fn: remember a key, then pass it on. */
static int
table_add(void *vctx, const char *key, size_t klen, const char *data,
    size_t dlen)
{
	struct load_ctx *l = vctx;
	struct tcprules_table *t = l->t;
	struct tcprules_key *k;

	if (t->count == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		struct tcprules_key *grown = realloc(t->items,
		    cap * sizeof(*grown));

		if (grown == NULL)
			return -2;
		t->items = grown;
		t->cap = cap;
	}
	k = &t->items[t->count];
	k->key = malloc(klen + 1);
	k->data = malloc(dlen + 1);
	if (k->key == NULL || k->data == NULL) {
		free(k->key);
		free(k->data);
		return -2;
	}
	memcpy(k->key, key, klen);
	memcpy(k->data, data, dlen);
	k->klen = klen;
	k->dlen = dlen;
	k->order = t->count++;
	return l->fn != NULL ? l->fn(l->ctx, key, klen, data, dlen) : 0;
}

int
tcprules_load(const char *path, struct tcprules_table *t,
    tcprules_key_fn *fn, void *ctx, char *err, size_t errlen)
{
	struct load_ctx l = { t, fn, ctx };
	struct tcprules_rule *r;
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	const char *why = NULL;
	int rc = 0;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "open(%s): %s", path, strerror(errno));
		return -1;
	}
	if ((r = malloc(sizeof(*r))) == NULL) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		why = NULL;
		switch (tcprules_parse(line, (size_t)len, r, &why)) {
		case 1:
			rc = tcprules_keys(r, table_add, &l, &why);
			break;
		case 0:
			break;
		default:
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(f))
		snprintf(err, errlen, "read(%s): %s", path, strerror(errno));
	else if (rc == -2)
		snprintf(err, errlen, "%s: out of memory", path);
	else if (rc != 0 && why != NULL)
		snprintf(err, errlen, "%s:%zu: %s", path, lineno, why);
	/* else fn failed and said why in its own context */
	free(line);
	free(r);
	rc = rc != 0 || ferror(f) ? -1 : 0;
	fclose(f);
	if (rc == 0)
		qsort(t->items, t->count, sizeof(*t->items), key_cmp);
	return rc;
}

int
tcprules_relay_record(const struct tcprules_table *t, const char *ip,
    const char *relayclient, char *out, size_t outlen, size_t *len_r)
{
	size_t iplen = strlen(ip);
	char sep = strchr(ip, ':') != NULL ? ':' : '.';
	const struct tcprules_key *k = NULL;
	int n;

	if (tcprules_find(t, ip, iplen) != NULL)
		return 0;
	/* tcpserver's order: 1.2.3.4, then 1.2.3., 1.2., 1. */
	for (size_t j = iplen; j-- > 1 && k == NULL;)
		if (ip[j - 1] == sep)
			k = tcprules_find(t, ip, j);
	*len_r = 0;
	if (k != NULL) {
		if (tcprules_data_is_deny(k->data, k->dlen) ||
		    tcprules_data_has_var(k->data, k->dlen, "RELAYCLIENT"))
			return 0;
		if (k->dlen > outlen)
			return -1;
		memcpy(out, k->data, k->dlen);
		*len_r = k->dlen;
	}
	n = tcprules_relay_value(relayclient, out + *len_r, outlen - *len_r);
	if (n < 0)
		return -1;
	*len_r += (size_t)n;
	return 1;
}
