/* fuzz-ipaddr.c - libFuzzer target: ipaddr_parse, ipaddr_canon and ipaddr_parse_cidr against inet_pton. */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "ipaddr.h"

/* Longer text is never an address; inet_pton needs a NUL-terminated copy. */
#define FUZZ_IP_TEXT_MAX 256

/* What inet_pton says about the same bytes (1 = some family accepts). */
static int
pton_accepts(const uint8_t *data, size_t size)
{
	char buf[FUZZ_IP_TEXT_MAX + 1];
	unsigned char raw[16];

	if (size > FUZZ_IP_TEXT_MAX || memchr(data, '\0', size) != NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	return inet_pton(AF_INET, buf, raw) == 1 ||
	    inet_pton(AF_INET6, buf, raw) == 1;
}

static void
check_canonical(const struct ipaddr *a, const char *in, size_t len)
{
	char canon[IPADDR_TEXT_MAX], again[IPADDR_TEXT_MAX];
	struct ipaddr b;
	const char *why = NULL;

	ipaddr_format(a, canon);
	FUZZ_CHECK(strlen(canon) < IPADDR_TEXT_MAX);
	/* The canonical text re-parses to the same bytes... */
	FUZZ_CHECK(ipaddr_parse(canon, strlen(canon), &b, &why) == 0);
	FUZZ_CHECK(b.family == a->family);
	FUZZ_CHECK(memcmp(b.bytes, a->bytes,
	    a->family == AF_INET ? 4 : 16) == 0);
	/* ...canon is idempotent, and agrees with parse + format. */
	FUZZ_CHECK(ipaddr_canon(canon, strlen(canon), again, &why) == 0);
	FUZZ_CHECK(strcmp(canon, again) == 0);
	FUZZ_CHECK(ipaddr_canon(in, len, again, &why) == 0);
	FUZZ_CHECK(strcmp(canon, again) == 0);
}

static void
check_cidr(const char *in, size_t len, int parsed, const struct ipaddr *a)
{
	struct ipcidr c;
	const char *why = NULL;
	int r = ipaddr_parse_cidr(in, len, &c, &why);

	if (r < 0) {
		FUZZ_CHECK(why != NULL);
		/* A bare address is a host prefix: it must be accepted. */
		FUZZ_CHECK(!parsed);
		return;
	}
	FUZZ_CHECK(c.addr.family == AF_INET || c.addr.family == AF_INET6);
	FUZZ_CHECK(c.prefix >= 0 &&
	    c.prefix <= (c.addr.family == AF_INET ? 32 : 128));
	/* Host bits are clear, so the network contains itself. */
	FUZZ_CHECK(ipaddr_in_cidr(&c.addr, &c));
	if (parsed) {
		FUZZ_CHECK(c.addr.family == a->family);
		FUZZ_CHECK(c.prefix == (a->family == AF_INET ? 32 : 128));
		FUZZ_CHECK(ipaddr_in_cidr(a, &c));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *why = NULL, *cls = NULL;
	char canon[IPADDR_TEXT_MAX];
	struct ipaddr a;
	int parsed;

	parsed = ipaddr_parse(in, size, &a, &why) == 0;
	if (parsed) {
		FUZZ_CHECK(a.family == AF_INET || a.family == AF_INET6);
		FUZZ_CHECK(pton_accepts(data, size));
		check_canonical(&a, in, size);
		if (ipaddr_is_special(&a, &cls))
			FUZZ_CHECK(cls != NULL);
	} else {
		FUZZ_CHECK(why != NULL && why[0] != '\0');
		FUZZ_CHECK(ipaddr_canon(in, size, canon, &why) < 0);
	}
	check_cidr(in, size, parsed, &a);
	return 0;
}
