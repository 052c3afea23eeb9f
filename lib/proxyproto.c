/* proxyproto.c - strict parser for the HAProxy PROXY protocol v1 header line. */
#include <string.h>
#include <sys/socket.h>

#include "proxyproto.h"

/* Fields after "PROXY ": family, src, dst, sport, dport. */
#define PROXYPROTO_FIELDS 5

struct field {
	const char *s;
	size_t len;
};

/* Split at single spaces; an empty field means a doubled space. */
static int
split_fields(const char *s, size_t len, struct field f[PROXYPROTO_FIELDS],
    size_t *count_r)
{
	size_t n = 0, start = 0, i;

	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != ' ')
			continue;
		if (i == start || n == PROXYPROTO_FIELDS)
			return -1;
		f[n].s = s + start;
		f[n].len = i - start;
		n++;
		start = i + 1;
	}
	*count_r = n;
	return 0;
}

static int
parse_port(const struct field *f, unsigned *port_r)
{
	unsigned v = 0;
	size_t i;

	if (f->len == 0 || f->len > 5 || (f->len > 1 && f->s[0] == '0'))
		return -1;
	for (i = 0; i < f->len; i++) {
		if (f->s[i] < '0' || f->s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(f->s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port_r = v;
	return 0;
}

/* The family keyword dictates the text form, whatever it parses to. */
static int
parse_addr(const struct field *f, int v6, struct ipaddr *addr_r)
{
	const char *why;
	int has_colon = memchr(f->s, ':', f->len) != NULL;

	if (has_colon != v6)
		return -1;
	return ipaddr_parse(f->s, f->len, addr_r, &why);
}

static int
parse_known(const struct field f[PROXYPROTO_FIELDS], int v6,
    struct proxyproto_v1 *r, const char **error_r)
{
	if (parse_addr(&f[1], v6, &r->src) < 0) {
		*error_r = "bad source address";
		return -1;
	}
	if (parse_addr(&f[2], v6, &r->dst) < 0) {
		*error_r = "bad destination address";
		return -1;
	}
	if (parse_port(&f[3], &r->src_port) < 0 ||
	    parse_port(&f[4], &r->dst_port) < 0) {
		*error_r = "bad port";
		return -1;
	}
	r->known = 1;
	return 0;
}

int
proxyproto_v1_parse(const char *buf, size_t len, struct proxyproto_v1 *r,
    const char **error_r)
{
	static const char prefix[] = "PROXY ";
	struct field f[PROXYPROTO_FIELDS];
	const char *body;
	size_t blen, count;

	memset(r, 0, sizeof(*r));
	if (len > PROXYPROTO_V1_MAX) {
		*error_r = "header too long";
		return -1;
	}
	if (len < sizeof(prefix) + 1 || buf[len - 2] != '\r' ||
	    buf[len - 1] != '\n') {
		*error_r = "no CRLF at the end";
		return -1;
	}
	if (memcmp(buf, prefix, sizeof(prefix) - 1) != 0) {
		*error_r = "no PROXY signature";
		return -1;
	}
	body = buf + sizeof(prefix) - 1;
	blen = len - (sizeof(prefix) - 1) - 2;
	if (memchr(body, '\r', blen) != NULL || memchr(body, '\n', blen) != NULL
	    || memchr(body, '\0', blen) != NULL) {
		*error_r = "stray CR, LF or NUL";
		return -1;
	}
	/* UNKNOWN: the rest of the line is ignored by the spec's rule. */
	if (blen >= 7 && memcmp(body, "UNKNOWN", 7) == 0 &&
	    (blen == 7 || body[7] == ' '))
		return 0;
	if (split_fields(body, blen, f, &count) < 0 ||
	    count != PROXYPROTO_FIELDS) {
		*error_r = "wrong number of fields";
		return -1;
	}
	if (f[0].len == 4 && memcmp(f[0].s, "TCP4", 4) == 0)
		return parse_known(f, 0, r, error_r);
	if (f[0].len == 4 && memcmp(f[0].s, "TCP6", 4) == 0)
		return parse_known(f, 1, r, error_r);
	*error_r = "unknown protocol family";
	return -1;
}
