/* fuzz-proxyproto.c - libFuzzer target: proxyproto_v1_parse is strict and its result re-serialises. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "ipaddr.h"
#include "proxyproto.h"

/* An address as a header of the given protocol spells it. */
static void
addr_text(const struct ipaddr *a, int tcp6, char *out, size_t max)
{
	char t[IPADDR_TEXT_MAX];

	ipaddr_format(a, t);
	/* TCP6 carries IPv4 clients as IPv4-mapped IPv6. */
	snprintf(out, max, "%s%s", tcp6 && a->family == AF_INET ?
	    "::ffff:" : "", t);
}

static int
same_addr(const struct ipaddr *a, const struct ipaddr *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes,
	    a->family == AF_INET ? 4 : 16) == 0;
}

/* Print p back as a header; it must parse to the same values. */
static void
check_reserialise(const struct proxyproto_v1 *p, int tcp6)
{
	char hdr[2 * PROXYPROTO_V1_MAX], src[64], dst[64];
	struct proxyproto_v1 q;
	const char *why = NULL;
	int n;

	addr_text(&p->src, tcp6, src, sizeof(src));
	addr_text(&p->dst, tcp6, dst, sizeof(dst));
	n = snprintf(hdr, sizeof(hdr), "PROXY %s %s %s %u %u\r\n",
	    tcp6 ? "TCP6" : "TCP4", src, dst, p->src_port, p->dst_port);
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof(hdr));
	/* Canonical text is never longer than what was accepted. */
	FUZZ_CHECK((size_t)n <= PROXYPROTO_V1_MAX);
	FUZZ_CHECK(proxyproto_v1_parse(hdr, (size_t)n, &q, &why) == 0);
	FUZZ_CHECK(q.known == 1);
	FUZZ_CHECK(same_addr(&p->src, &q.src) && same_addr(&p->dst, &q.dst));
	FUZZ_CHECK(p->src_port == q.src_port && p->dst_port == q.dst_port);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct proxyproto_v1 p;
	const char *why = NULL;
	int tcp6;

	memset(&p, 0, sizeof(p));
	if (proxyproto_v1_parse(buf, size, &p, &why) < 0) {
		FUZZ_CHECK(why != NULL && why[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(size <= PROXYPROTO_V1_MAX);
	FUZZ_CHECK(size >= 8 && memcmp(buf, "PROXY ", 6) == 0);
	FUZZ_CHECK(buf[size - 2] == '\r' && buf[size - 1] == '\n');
	/* No CR or LF anywhere before the final CRLF. */
	FUZZ_CHECK(memchr(buf, '\n', size - 1) == NULL);
	FUZZ_CHECK(memchr(buf, '\r', size - 2) == NULL);
	if (!p.known) {
		FUZZ_CHECK(size >= 15 && memcmp(buf + 6, "UNKNOWN", 7) == 0);
		return 0;
	}
	FUZZ_CHECK(p.src_port <= 65535 && p.dst_port <= 65535);
	tcp6 = memcmp(buf + 6, "TCP6 ", 5) == 0;
	FUZZ_CHECK(tcp6 || memcmp(buf + 6, "TCP4 ", 5) == 0);
	if (!tcp6)
		FUZZ_CHECK(p.src.family == AF_INET && p.dst.family == AF_INET);
	check_reserialise(&p, tcp6);
	return 0;
}
