/* fuzz-sslline.c - libFuzzer target: the "SSL ip:secret" line of qmail-popup-hack, split and address check. */
#include <string.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "ipaddr.h"
#include "sslline.h"

/* Does [p, p + n) lie within [base, base + size)? */
static int
within(const char *p, size_t n, const char *base, size_t size)
{
	return p >= base && p <= base + size && n <= (size_t)(base + size - p);
}

static void
check_split(const char *arg, size_t len, const char *ip, size_t iplen,
    int v6, const char *secret, size_t slen)
{
	FUZZ_CHECK(within(ip, iplen, arg, len));
	FUZZ_CHECK(within(secret, slen, arg, len));
	/* The secret runs to the end and follows the address's colon. */
	FUZZ_CHECK(secret + slen == arg + len);
	FUZZ_CHECK(secret[-1] == ':');
	if (v6) {
		FUZZ_CHECK(arg[0] == '[' && ip == arg + 1);
		FUZZ_CHECK(ip[iplen] == ']' && ip + iplen + 2 == secret);
	} else {
		FUZZ_CHECK(ip == arg && ip + iplen + 1 == secret);
		/* Split at the first colon: an IPv6 address needs brackets. */
		FUZZ_CHECK(memchr(ip, ':', iplen) == NULL);
	}
}

/* sslline_check_ip accepts exactly the canonical text of its family. */
static void
check_ip(const char *ip, size_t iplen, int v6)
{
	char canon[IPADDR_TEXT_MAX];
	const char *why = NULL, *reason = NULL;
	struct ipaddr a, b;
	int canonical, r;

	canonical = ipaddr_canon(ip, iplen, canon, &why) == 0 &&
	    strlen(canon) == iplen && memcmp(canon, ip, iplen) == 0 &&
	    ipaddr_parse(ip, iplen, &b, &why) == 0 &&
	    b.family == (v6 ? AF_INET6 : AF_INET);
	r = sslline_check_ip(ip, iplen, v6, &a, &reason);
	FUZZ_CHECK((r == 0) == canonical);
	if (r < 0) {
		FUZZ_CHECK(reason != NULL && (strcmp(reason, "bad-ip") == 0 ||
		    strcmp(reason, "non-canonical-ip") == 0));
		return;
	}
	FUZZ_CHECK(a.family == b.family && memcmp(a.bytes, b.bytes,
	    a.family == AF_INET ? 4 : 16) == 0);
}

/* The input is what follows "SSL " on the first line. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *arg = (const char *)data;
	const char *ip = NULL, *secret = NULL;
	size_t iplen = 0, slen = 0;
	int v6 = -1;

	if (sslline_split(arg, size, &ip, &iplen, &v6, &secret, &slen) < 0) {
		/* Refused only without the colon the shape needs. */
		if (size > 0 && arg[0] != '[')
			FUZZ_CHECK(memchr(arg, ':', size) == NULL);
		return 0;
	}
	FUZZ_CHECK(v6 == 0 || v6 == 1);
	check_split(arg, size, ip, iplen, v6, secret, slen);
	check_ip(ip, iplen, v6);
	return 0;
}
