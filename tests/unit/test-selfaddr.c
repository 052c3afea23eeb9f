/* test-selfaddr.c - unit tests for lib/selfaddr.c: the loopback is ours, TEST-NET is not, reload replaces. */
#include <string.h>

#include "harness.h"
#include "selfaddr.h"

static int
has(const struct selfaddr *set, const char *text)
{
	struct ipaddr a;
	const char *why;

	if (ipaddr_parse(text, strlen(text), &a, &why) < 0)
		return -1;
	return selfaddr_has(set, &a);
}

int
main(void)
{
	struct selfaddr set = { NULL, 0 };
	const char *why = NULL;

	CHECK(has(&set, "127.0.0.1") == 0);	/* empty set: nothing */
	CHECK(selfaddr_load(&set, &why) == 0);
	CHECK(set.count >= 1);
	CHECK(has(&set, "127.0.0.1") == 1);	/* lo is up wherever we test */
	CHECK(has(&set, "::ffff:127.0.0.1") == 1);	/* mapped = IPv4 */
	CHECK(has(&set, "192.0.2.254") == 0);
	CHECK(has(&set, "2001:db8::fe") == 0);
	/* A second load replaces the first, no duplicates kept. */
	CHECK(selfaddr_load(&set, &why) == 0);
	for (size_t i = 0; i < set.count; i++)
		for (size_t j = i + 1; j < set.count; j++)
			CHECK(set.items[i].family != set.items[j].family ||
			    memcmp(set.items[i].bytes, set.items[j].bytes, 16) != 0);
	selfaddr_free(&set);
	CHECK(set.count == 0 && has(&set, "127.0.0.1") == 0);
	return harness_done();
}
