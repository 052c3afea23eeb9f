/* unit-sslwrap.c - unit tests for sslwrap-hack's header builders and address specs. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "../unit/harness.h"
#include "endpoint.h"
#include "proxyhdr.h"

static struct ipaddr
ip(const char *text)
{
	struct ipaddr a;
	const char *why;

	if (ipaddr_parse(text, strlen(text), &a, &why) < 0) {
		fprintf(stderr, "bad test address %s: %s\n", text, why);
		exit(2);
	}
	return a;
}

static void
test_ssl_line(void)
{
	char out[PROXYHDR_MAX];
	struct ipaddr a = ip("192.0.2.7"), b = ip("2001:DB8::1"),
	    m = ip("::ffff:198.51.100.9");
	size_t n;

	n = proxyhdr_ssl_line(&a, "s3:cr et", 8, out, sizeof(out));
	CHECK(n == 24 && memcmp(out, "SSL 192.0.2.7:s3:cr et\r\n", n) == 0);
	n = proxyhdr_ssl_line(&b, "x", 1, out, sizeof(out));
	CHECK(n == 21 && memcmp(out, "SSL [2001:db8::1]:x\r\n", n) == 0);
	/* IPv4-mapped clients go out as plain IPv4. */
	n = proxyhdr_ssl_line(&m, "x", 1, out, sizeof(out));
	CHECK(n == 20 && memcmp(out, "SSL 198.51.100.9:x\r\n", n) == 0);
	/* No room: 0, never a truncated line. */
	CHECK(proxyhdr_ssl_line(&a, "secret", 6, out, 22) == 0);
	CHECK(proxyhdr_ssl_line(&a, "secret", 6, out, 23) == 22);
}

static void
test_v1(void)
{
	struct proxyhdr_conn c4 = { ip("192.0.2.45"), ip("192.0.2.1"), 56324,
	    995 };
	struct proxyhdr_conn c6 = { ip("2001:db8::45"), ip("2001:db8::1"), 1,
	    65535 };
	struct proxyhdr_conn mixed = { ip("192.0.2.45"), ip("2001:db8::1"),
	    7, 8 };
	char out[PROXYHDR_MAX];
	size_t n;

	n = proxyhdr_v1(&c4, out, sizeof(out));
	CHECK(n == strlen("PROXY TCP4 192.0.2.45 192.0.2.1 56324 995\r\n"));
	CHECK(memcmp(out, "PROXY TCP4 192.0.2.45 192.0.2.1 56324 995\r\n",
	    n) == 0);
	n = proxyhdr_v1(&c6, out, sizeof(out));
	CHECK(memcmp(out, "PROXY TCP6 2001:db8::45 2001:db8::1 1 65535\r\n",
	    n) == 0);
	n = proxyhdr_v1(&mixed, out, sizeof(out));
	CHECK(memcmp(out, "PROXY TCP6 ::ffff:192.0.2.45 2001:db8::1 7 8\r\n",
	    n) == 0);
	CHECK(proxyhdr_v1(&c4, out, 10) == 0);
}

static void
test_v2(void)
{
	static const unsigned char want4[] = {
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49,
		0x54, 0x0a, 0x21, 0x11, 0x00, 0x0c,
		192, 0, 2, 45, 192, 0, 2, 1, 0xdc, 0x04, 0x03, 0xe3
	};
	struct proxyhdr_conn c4 = { ip("192.0.2.45"), ip("192.0.2.1"), 56324,
	    995 };
	struct proxyhdr_conn c6 = { ip("2001:db8::45"), ip("2001:db8::1"),
	    0x1234, 0xabcd };
	unsigned char out[PROXYHDR_MAX];
	size_t n;

	static const unsigned char tlv[] = {
		0x20, 0x00, 0x0f, 0x01, 0, 0, 0, 1,
		0x21, 0x00, 0x07, 'T', 'L', 'S', 'v', '1', '.', '3'
	};
	char longversion[40];

	n = proxyhdr_v2(&c4, NULL, out, sizeof(out));
	CHECK(n == sizeof(want4) && memcmp(out, want4, n) == 0);
	/* With the SSL TLV: the length field covers it. */
	n = proxyhdr_v2(&c4, "TLSv1.3", out, sizeof(out));
	CHECK(n == sizeof(want4) + sizeof(tlv));
	CHECK(memcmp(out, want4, 14) == 0);
	CHECK(out[14] == 0 && out[15] == 12 + sizeof(tlv));
	CHECK(memcmp(out + 16, want4 + 16, 12) == 0);
	CHECK(memcmp(out + sizeof(want4), tlv, sizeof(tlv)) == 0);
	CHECK(proxyhdr_v2(&c4, "TLSv1.3", out, n - 1) == 0);
	memset(longversion, 'x', sizeof(longversion) - 1);
	longversion[sizeof(longversion) - 1] = '\0';
	CHECK(proxyhdr_v2(&c4, longversion, out, sizeof(out)) == 0);
	n = proxyhdr_v2(&c6, NULL, out, sizeof(out));
	CHECK(n == 16 + 36);
	CHECK(out[12] == 0x21 && out[13] == 0x21);
	CHECK(out[14] == 0 && out[15] == 36);
	CHECK(out[16] == 0x20 && out[17] == 0x01 && out[31] == 0x45);
	CHECK(out[47] == 0x01);
	CHECK(out[48] == 0x12 && out[49] == 0x34);
	CHECK(out[50] == 0xab && out[51] == 0xcd);
	CHECK(proxyhdr_v2(&c4, NULL, out, sizeof(want4) - 1) == 0);
}

static int
parses(const char *spec, int allow_unix)
{
	struct endpoint ep;
	const char *why;

	return endpoint_parse(spec, allow_unix, &ep, &why) == 0;
}

static void
test_endpoint(void)
{
	struct endpoint ep;
	const char *why;
	char longpath[200];

	CHECK(endpoint_parse("127.0.0.1:110", 0, &ep, &why) == 0);
	CHECK(ep.family == AF_INET && strcmp(ep.text, "127.0.0.1:110") == 0);
	CHECK(ntohs(((struct sockaddr_in *)&ep.sa)->sin_port) == 110);
	CHECK(endpoint_parse("[2001:DB8::1]:995", 0, &ep, &why) == 0);
	CHECK(ep.family == AF_INET6 &&
	    strcmp(ep.text, "[2001:db8::1]:995") == 0);
	CHECK(endpoint_parse("[::ffff:127.0.0.1]:110", 0, &ep, &why) == 0);
	CHECK(ep.family == AF_INET && strcmp(ep.text, "127.0.0.1:110") == 0);
	CHECK(endpoint_parse("/run/pop.sock", 1, &ep, &why) == 0);
	CHECK(ep.family == AF_UNIX && strcmp(ep.text, "/run/pop.sock") == 0);
	CHECK(!parses("/run/pop.sock", 0));
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	CHECK(!parses(longpath, 1));
	CHECK(!parses("2001:db8::1:110", 0));	/* IPv6 needs brackets */
	CHECK(!parses("[192.0.2.1]:110", 0));
	CHECK(!parses("localhost:110", 0));	/* numeric only */
	CHECK(!parses("127.1:110", 0));
	CHECK(!parses("127.0.0.1", 0));
	CHECK(!parses("127.0.0.1:", 0));
	CHECK(!parses("127.0.0.1:0", 0));
	CHECK(!parses("127.0.0.1:0110", 0));
	CHECK(!parses("127.0.0.1:65536", 0));
	CHECK(!parses("127.0.0.1:+1", 0));
	CHECK(!parses("127.0.0.1:110 ", 0));
	CHECK(!parses("[::1]110", 0));
	CHECK(!parses("[::1", 0));
	CHECK(parses("127.0.0.1:65535", 0));
}

int
main(void)
{
	test_ssl_line();
	test_v1();
	test_v2();
	test_endpoint();
	return harness_done();
}
