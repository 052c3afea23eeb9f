/* request.c - read Postfix policy requests line by line in fixed memory. */
#include <string.h>

#include "request.h"

void
policyreq_reset(struct policyreq *r)
{
	memset(r, 0, sizeof(*r));
}

static void
bad(struct policyreq *r, const char *why)
{
	if (r->bad_why == NULL)
		r->bad_why = why;	/* the first fault names the request */
}

/* Lower-case letters, digits and '_', as Postfix's attribute names. */
static int
good_name(const char *s, size_t len)
{
	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

/* One of our attributes: copy its value unless repeated or too long. */
static void
keep(struct policyreq *r, int *has, char *dst, const char *v, size_t vlen,
    const char *what)
{
	if (*has) {
		bad(r, what);
		return;
	}
	*has = 1;
	if (vlen > POLICYREQ_VALUE_MAX) {
		bad(r, "attribute value too long");
		return;
	}
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
}

/* A whole non-empty line (without '\n') of at most LINE_MAX bytes. */
static void
attribute(struct policyreq *r)
{
	const char *s = r->line;
	const char *eq = memchr(s, '=', r->line_len);
	size_t nlen, vlen;
	const char *v;

	if (++r->attrs > POLICYREQ_ATTRS_MAX) {
		bad(r, "too many attributes");
		return;
	}
	if (memchr(s, '\0', r->line_len) != NULL) {
		bad(r, "NUL byte");
		return;
	}
	if (eq == NULL) {
		bad(r, "line without '='");
		return;
	}
	nlen = (size_t)(eq - s);
	v = eq + 1;
	vlen = r->line_len - nlen - 1;
	if (!good_name(s, nlen)) {
		bad(r, "bad attribute name");
		return;
	}
	if (nlen == 7 && memcmp(s, "request", 7) == 0)
		keep(r, &r->has_request, r->request, v, vlen,
		    "repeated request");
	else if (nlen == 14 && memcmp(s, "client_address", 14) == 0)
		keep(r, &r->has_client, r->client, v, vlen,
		    "repeated client_address");
	else if (nlen == 14 && memcmp(s, "server_address", 14) == 0)
		keep(r, &r->has_server, r->server, v, vlen,
		    "repeated server_address");
}

size_t
policyreq_feed(struct policyreq *r, const char *p, size_t len, int *done_r)
{
	size_t i = 0;

	*done_r = 0;
	while (i < len) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t n = nl != NULL ? (size_t)(nl - (p + i)) : len - i;

		r->started = 1;
		if (r->total < POLICYREQ_TOTAL_MAX) {
			size_t room = POLICYREQ_TOTAL_MAX - r->total;

			r->total += n + (nl != NULL) < room ?
			    n + (nl != NULL) : room;
			if (n + (nl != NULL) >= room)
				bad(r, "request too long");
		}
		if (!r->line_long) {
			if (n > POLICYREQ_LINE_MAX - r->line_len) {
				r->line_long = 1;
				bad(r, "line too long");
			} else {
				memcpy(r->line + r->line_len, p + i, n);
				r->line_len += n;
			}
		}
		i += n;
		if (nl == NULL)
			break;
		i++;	/* the '\n' */
		if (r->line_len == 0 && !r->line_long) {
			*done_r = 1;	/* the empty line: request complete */
			return i;
		}
		if (!r->line_long)
			attribute(r);
		r->line_len = 0;
		r->line_long = 0;
	}
	return i;
}
