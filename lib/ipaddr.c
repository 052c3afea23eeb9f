/* ipaddr.c - the one IP address parser, canonicaliser and CIDR matcher. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "ipaddr.h"

static const uint8_t v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};
static const uint8_t zero16[16];

/* Copy a length-bounded field into a NUL-terminated scratch buffer. */
static int
copy_field(const char *s, size_t len, char *buf, size_t bufsz)
{
	if (len == 0 || len >= bufsz)
		return -1;
	if (memchr(s, '\0', len) != NULL)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return 0;
}

int
ipaddr_parse(const char *s, size_t len, struct ipaddr *addr_r,
    const char **error_r)
{
	char buf[IPADDR_TEXT_MAX];

	memset(addr_r, 0, sizeof(*addr_r));
	if (copy_field(s, len, buf, sizeof(buf)) < 0) {
		*error_r = len == 0 ? "empty address" : "address too long";
		return -1;
	}
	if (inet_pton(AF_INET, buf, addr_r->bytes) == 1) {
		addr_r->family = AF_INET;
		return 0;
	}
	/* inet_pton(AF_INET6) already refuses brackets, zone ids and junk. */
	if (inet_pton(AF_INET6, buf, addr_r->bytes) != 1) {
		*error_r = "not an IP address";
		return -1;
	}
	if (memcmp(addr_r->bytes, v4mapped_prefix, 12) == 0) {
		/* The dotted tail of a mapped address must itself be strict. */
		const char *dot = strrchr(buf, ':');
		uint8_t v4[4];

		if (dot != NULL && strchr(dot, '.') != NULL &&
		    inet_pton(AF_INET, dot + 1, v4) != 1) {
			*error_r = "bad IPv4 part in mapped address";
			return -1;
		}
		memmove(addr_r->bytes, addr_r->bytes + 12, 4);
		memset(addr_r->bytes + 4, 0, 12);
		addr_r->family = AF_INET;
		return 0;
	}
	/*
	 * ::/96 beyond :: and ::1 is IPv4-compatible (deprecated by RFC
	 * 4291), however it is spelled (::1.2.3.4 or ::102:304): ambiguous,
	 * and inet_ntop would print it in a form we refuse.
	 */
	if (memcmp(addr_r->bytes, zero16, 12) == 0 &&
	    !(addr_r->bytes[12] == 0 && addr_r->bytes[13] == 0 &&
	    addr_r->bytes[14] == 0 && addr_r->bytes[15] <= 1)) {
		*error_r = "IPv4-compatible IPv6 address";
		return -1;
	}
	addr_r->family = AF_INET6;
	return 0;
}

void
ipaddr_format(const struct ipaddr *addr, char out[IPADDR_TEXT_MAX])
{
	if (inet_ntop(addr->family, addr->bytes, out, IPADDR_TEXT_MAX) == NULL)
		out[0] = '\0';
}

int
ipaddr_canon(const char *s, size_t len, char out[IPADDR_TEXT_MAX],
    const char **error_r)
{
	struct ipaddr addr;

	if (ipaddr_parse(s, len, &addr, error_r) < 0)
		return -1;
	ipaddr_format(&addr, out);
	return 0;
}

static int
max_prefix(int family)
{
	return family == AF_INET ? 32 : 128;
}

static void
clear_host_bits(struct ipaddr *addr, int prefix)
{
	int total = max_prefix(addr->family) / 8;

	for (int i = 0; i < total; i++) {
		int keep = prefix - i * 8;

		if (keep >= 8)
			continue;
		addr->bytes[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
	}
}

/* Strict decimal prefix length: digits only, no sign, no leading zero. */
static int
parse_prefix(const char *s, size_t len, int max)
{
	int value = 0;

	if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		value = value * 10 + (s[i] - '0');
	}
	return value > max ? -1 : value;
}

int
ipaddr_parse_cidr(const char *s, size_t len, struct ipcidr *cidr_r,
    const char **error_r)
{
	const char *slash = memchr(s, '/', len);
	size_t addrlen = slash != NULL ? (size_t)(slash - s) : len;
	uint8_t raw[16];
	char buf[IPADDR_TEXT_MAX];
	int prefix;

	memset(cidr_r, 0, sizeof(*cidr_r));
	if (copy_field(s, addrlen, buf, sizeof(buf)) < 0) {
		*error_r = "bad network address";
		return -1;
	}
	/* Parse without unmapping first: ::ffff:0:0/96 is a v6 prefix. */
	if (inet_pton(AF_INET, buf, raw) == 1) {
		cidr_r->addr.family = AF_INET;
		memcpy(cidr_r->addr.bytes, raw, 4);
	} else if (inet_pton(AF_INET6, buf, raw) == 1) {
		cidr_r->addr.family = AF_INET6;
		memcpy(cidr_r->addr.bytes, raw, 16);
	} else {
		*error_r = "bad network address";
		return -1;
	}
	prefix = max_prefix(cidr_r->addr.family);
	if (slash != NULL) {
		prefix = parse_prefix(slash + 1, len - addrlen - 1, prefix);
		if (prefix < 0) {
			*error_r = "bad prefix length";
			return -1;
		}
	}
	if (cidr_r->addr.family == AF_INET6 && prefix >= 96 &&
	    memcmp(cidr_r->addr.bytes, v4mapped_prefix, 12) == 0) {
		memmove(cidr_r->addr.bytes, cidr_r->addr.bytes + 12, 4);
		memset(cidr_r->addr.bytes + 4, 0, 12);
		cidr_r->addr.family = AF_INET;
		prefix -= 96;
	}
	cidr_r->prefix = prefix;
	clear_host_bits(&cidr_r->addr, prefix);
	return 0;
}

int
ipaddr_in_cidr(const struct ipaddr *addr, const struct ipcidr *cidr)
{
	struct ipaddr masked;

	if (addr->family != cidr->addr.family)
		return 0;
	masked = *addr;
	clear_host_bits(&masked, cidr->prefix);
	return memcmp(masked.bytes, cidr->addr.bytes, 16) == 0;
}

static int
v6_is_special(const uint8_t *b, const char **why_r)
{
	static const uint8_t zero[16];

	if (memcmp(b, zero, 16) == 0)
		*why_r = "unspecified";
	else if (memcmp(b, zero, 15) == 0 && b[15] == 1)
		*why_r = "loopback";
	else if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		*why_r = "link-local";
	else if (b[0] == 0xff)
		*why_r = "multicast";
	else if (memcmp(b, zero, 12) == 0)
		*why_r = "ipv4-compatible";
	else
		return 0;
	return 1;
}

static int
v4_is_special(const uint8_t *b, const char **why_r)
{
	if (b[0] == 0)
		*why_r = "unspecified";
	else if (b[0] == 127)
		*why_r = "loopback";
	else if (b[0] == 169 && b[1] == 254)
		*why_r = "link-local";
	else if (b[0] >= 224 && b[0] <= 239)
		*why_r = "multicast";
	else if (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255)
		*why_r = "broadcast";
	else
		return 0;
	return 1;
}

int
ipaddr_is_special(const struct ipaddr *addr, const char **why_r)
{
	if (addr->family == AF_INET)
		return v4_is_special(addr->bytes, why_r);
	return v6_is_special(addr->bytes, why_r);
}
