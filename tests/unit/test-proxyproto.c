/* test-proxyproto.c - unit tests for lib/proxyproto.c: the v1 grammar, limits and address rules. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "harness.h"
#include "proxyproto.h"

static struct proxyproto_v1 r;
static const char *err;

static int
parses(const char *s)
{
	err = NULL;
	return proxyproto_v1_parse(s, strlen(s), &r, &err) == 0;
}

static int
src_is(const char *want)
{
	char text[IPADDR_TEXT_MAX];

	ipaddr_format(&r.src, text);
	return strcmp(text, want) == 0;
}

static void
test_good(void)
{
	CHECK(parses("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"));
	CHECK(r.known && src_is("192.168.0.1") && r.src_port == 56324 &&
	    r.dst_port == 443 && r.src.family == AF_INET);
	CHECK(parses("PROXY TCP6 2001:db8::1 ::1 0 65535\r\n"));
	CHECK(r.known && src_is("2001:db8::1") && r.src_port == 0 &&
	    r.dst_port == 65535);
	/* Upper-case hex is valid IPv6 text; it comes out canonical. */
	CHECK(parses("PROXY TCP6 2001:DB8::1 ::1 1 2\r\n") &&
	    src_is("2001:db8::1"));
	/* stunnel on a dual-stack listener: mapped becomes IPv4. */
	CHECK(parses("PROXY TCP6 ::ffff:203.0.113.9 ::1 1 2\r\n") &&
	    src_is("203.0.113.9") && r.src.family == AF_INET);
	CHECK(parses("PROXY UNKNOWN\r\n") && !r.known);
	CHECK(parses("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n") && !r.known);
	/* The spec's longest headers. */
	CHECK(parses("PROXY TCP4 255.255.255.255 255.255.255.255 65535 "
	    "65535\r\n"));
	CHECK(parses("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"));
}

static void
test_bad(void)
{
	static const char *bad[] = {
		"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\n",
		"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r",
		"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443",
		"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443 \r\n",
		"PROXY TCP4  192.168.0.1 192.168.0.11 56324 443\r\n",
		"PROXY  TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
		" PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
		"proxy TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
		"PROXY tcp4 192.168.0.1 192.168.0.11 56324 443\r\n",
		"PROXY TCP5 192.168.0.1 192.168.0.11 56324 443\r\n",
		"PROXY TCP4 192.168.0.1 192.168.0.11 56324\r\n",
		"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443 1\r\n",
		"PROXY TCP4 192.168.0.01 192.168.0.11 56324 443\r\n",
		"PROXY TCP4 192.168.0.1 192.168.0.11 056324 443\r\n",
		"PROXY TCP4 192.168.0.1 192.168.0.11 00 443\r\n",
		"PROXY TCP4 192.168.0.1 192.168.0.11 65536 443\r\n",
		"PROXY TCP4 192.168.0.1 192.168.0.11 +1 443\r\n",
		"PROXY TCP4 192.168.0.1 192.168.0.11 -1 443\r\n",
		"PROXY TCP4 192.168.0.1 192.168.0.11 99999999999 443\r\n",
		"PROXY TCP4 2001:db8::1 ::1 1 2\r\n",
		"PROXY TCP6 192.168.0.1 192.168.0.11 1 2\r\n",
		"PROXY TCP4 ::ffff:1.2.3.4 1.2.3.5 1 2\r\n",
		"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",
		"PROXY TCP6 [2001:db8::1] ::1 1 2\r\n",
		"PROXY TCP4 127.1 1.2.3.4 1 2\r\n",
		"PROXY TCP4 1.2.3.4\r1.2.3.5 1 2\r\n",
		"PROXY TCP4 1.2.3.4 1.2.3.5 1 2\r\n\r\n",
		"PROXY UNKNOWNX\r\n",
		"PROXY UNKNOWN\r\r\n",
		"PROXY \r\n",
		"PROXY\r\n",
		"",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parses(bad[i])) {
			fprintf(stderr, "  accepted: [%s]\n", bad[i]);
			CHECK(0);
		} else {
			CHECK(err != NULL);
		}
	}
}

static void
test_limits(void)
{
	char line[PROXYPROTO_V1_MAX + 8];
	size_t pad;

	/* UNKNOWN padded to exactly 107 bytes is fine, 108 is not. */
	memcpy(line, "PROXY UNKNOWN ", 14);
	pad = PROXYPROTO_V1_MAX - 14 - 2;
	memset(line + 14, 'x', pad);
	memcpy(line + 14 + pad, "\r\n", 3);
	CHECK(proxyproto_v1_parse(line, PROXYPROTO_V1_MAX, &r, &err) == 0);
	memset(line + 14, 'x', pad + 1);
	memcpy(line + 15 + pad, "\r\n", 3);
	CHECK(proxyproto_v1_parse(line, PROXYPROTO_V1_MAX + 1, &r, &err) < 0);
	/* An embedded NUL never passes. */
	CHECK(proxyproto_v1_parse("PROXY UNKNOWN \0\r\n", 17, &r, &err) < 0);
}

/*
 * Mutated valid headers, each in a buffer of its exact length (so ASan
 * sees any over-read): whatever is accepted must be self-consistent.
 */
static void
test_mutations(void)
{
	static const char *seeds[] = {
		"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
		"PROXY TCP6 2001:db8::1 ::1 0 65535\r\n",
		"PROXY UNKNOWN\r\n",
	};
	static const char alphabet[] = "PROXYTCP46UNKW :.0123456789abcdef\r\n\0";
	char *buf;
	size_t i, k, len, bad = 0;
	int j;

	srand(1);
	for (i = 0; i < 200000; i++) {
		const char *seed = seeds[i % 3];

		len = strlen(seed);
		if (rand() % 4 == 0)
			len = (size_t)rand() % (len + 1);
		buf = malloc(len ? len : 1);
		if (buf == NULL)
			abort();
		memcpy(buf, seed, len);
		for (j = rand() % 3; j >= 0 && len > 0; j--) {
			k = (size_t)rand() % len;
			buf[k] = alphabet[(size_t)rand() % (sizeof(alphabet) - 1)];
		}
		if (proxyproto_v1_parse(buf, len, &r, &err) == 0 && r.known &&
		    (r.src_port > 65535 || r.dst_port > 65535 ||
		    (r.src.family != AF_INET && r.src.family != AF_INET6)))
			bad++;
		free(buf);
	}
	CHECK(bad == 0);
}

int
main(void)
{
	test_good();
	test_bad();
	test_limits();
	test_mutations();
	return harness_done();
}
