/* test-ipaddr.c - the one IP canonicaliser: what it accepts, refuses and emits. */
#include <arpa/inet.h>
#include <string.h>

#include "harness.h"
#include "ipaddr.h"

static int
canon_is(const char *in, const char *want)
{
	char out[IPADDR_TEXT_MAX];
	const char *why;

	if (ipaddr_canon(in, strlen(in), out, &why) < 0)
		return want == NULL;
	if (want == NULL)
		fprintf(stderr, "accepted %s as %s\n", in, out);
	return want != NULL && strcmp(out, want) == 0;
}

static int
in_cidr(const char *ip, const char *net)
{
	struct ipaddr a;
	struct ipcidr c;
	const char *why;

	if (ipaddr_parse(ip, strlen(ip), &a, &why) < 0 ||
	    ipaddr_parse_cidr(net, strlen(net), &c, &why) < 0)
		return -1;
	return ipaddr_in_cidr(&a, &c);
}

static int
special(const char *ip)
{
	struct ipaddr a;
	const char *why;

	if (ipaddr_parse(ip, strlen(ip), &a, &why) < 0)
		return -1;
	return ipaddr_is_special(&a, &why);
}

int
main(void)
{
	/* canonical forms */
	CHECK(canon_is("192.0.2.10", "192.0.2.10"));
	CHECK(canon_is("::ffff:203.59.134.51", "203.59.134.51"));
	CHECK(canon_is("::FFFF:203.59.134.51", "203.59.134.51"));
	CHECK(canon_is("::ffff:cb3b:8633", "203.59.134.51"));
	CHECK(canon_is("2001:DB8:0:0:0:0:0:1", "2001:db8::1"));
	CHECK(canon_is("2001:db8::0:1", "2001:db8::1"));
	CHECK(canon_is("::1", "::1"));
	/* refused spellings */
	CHECK(canon_is("127.1", NULL));
	CHECK(canon_is("01.2.3.4", NULL));
	CHECK(canon_is("0x7f.0.0.1", NULL));
	CHECK(canon_is("1.2.3", NULL));
	CHECK(canon_is("1.2.3.4 ", NULL));
	CHECK(canon_is(" 1.2.3.4", NULL));
	CHECK(canon_is("1.2.3.256", NULL));
	CHECK(canon_is("fe80::1%eth0", NULL));
	CHECK(canon_is("[::1]", NULL));
	CHECK(canon_is("::ffff:01.2.3.4", NULL));
	CHECK(canon_is("::1.2.3.4", NULL));
	CHECK(canon_is("::102:304", NULL));	/* the same, in hex (fuzz find) */
	CHECK(canon_is("::f2:f2", NULL));
	CHECK(canon_is("::ffff:1", NULL));	/* ::255.255.0.1, not mapped */
	CHECK(canon_is("::2", NULL));
	CHECK(canon_is("::", "::"));
	CHECK(canon_is("x.x.x.x", NULL));
	CHECK(canon_is("", NULL));
	CHECK(canon_is("1.2.3.4/32", NULL));
	CHECK(canon_is("1111:2222:3333:4444:5555:6666:7777:8888:9999", NULL));
	/* embedded NUL: exact length is honoured */
	{
		char out[IPADDR_TEXT_MAX];
		const char *why;
		CHECK(ipaddr_canon("1.2.3.4\0junk", 12, out, &why) < 0);
		CHECK(ipaddr_canon("1.2.3.4xx", 7, out, &why) == 0 &&
		    strcmp(out, "1.2.3.4") == 0);
	}
	/* CIDR */
	CHECK(in_cidr("10.1.2.3", "10.0.0.0/8") == 1);
	CHECK(in_cidr("11.1.2.3", "10.0.0.0/8") == 0);
	CHECK(in_cidr("10.1.2.3", "10.1.2.3") == 1);
	CHECK(in_cidr("10.1.2.4", "10.1.2.3") == 0);
	CHECK(in_cidr("192.0.2.1", "0.0.0.0/0") == 1);
	CHECK(in_cidr("2001:db8::5", "2001:db8::/32") == 1);
	CHECK(in_cidr("2001:db9::5", "2001:db8::/32") == 0);
	CHECK(in_cidr("10.1.2.3", "::ffff:10.0.0.0/104") == 1);
	CHECK(in_cidr("10.1.2.3", "2001:db8::/32") == 0);
	CHECK(in_cidr("10.1.2.3", "10.0.0.0/33") == -1);
	CHECK(in_cidr("10.1.2.3", "10.0.0.0/08") == -1);
	CHECK(in_cidr("10.1.2.3", "10.0.0.0/") == -1);
	CHECK(in_cidr("10.1.2.3", "10.0.0.0/-1") == -1);
	/* special addresses */
	CHECK(special("127.0.0.45") == 1);
	CHECK(special("::ffff:127.0.0.1") == 1);
	CHECK(special("0.0.0.0") == 1);
	CHECK(special("::") == 1);
	CHECK(special("169.254.1.1") == 1);
	CHECK(special("fe80::1") == 1);
	CHECK(special("224.0.0.1") == 1);
	CHECK(special("ff02::1") == 1);
	CHECK(special("255.255.255.255") == 1);
	CHECK(special("192.0.2.10") == 0);
	CHECK(special("2001:db8::1") == 0);
	return harness_done();
}
