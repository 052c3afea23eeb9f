/* fuzz-syslog.c - libFuzzer target: syslog_split keeps tag and message inside the line. */
#include <string.h>

#include "fuzz.h"
#include "syslog.h"

/* Does [p, p + n) lie within [base, base + size)? */
static int
within(const char *p, size_t n, const char *base, size_t size)
{
	return p >= base && p <= base + size && n <= (size_t)(base + size - p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	struct syslog_line a, b;
	int r;

	memset(&a, 0, sizeof(a));
	r = syslog_split(line, size, &a);
	FUZZ_CHECK(r == 0 || r == -1);
	if (r < 0)
		return 0;
	FUZZ_CHECK(a.tag != NULL && a.msg != NULL);
	FUZZ_CHECK(within(a.tag, a.tag_len, line, size));
	FUZZ_CHECK(within(a.msg, a.msg_len, line, size));
	FUZZ_CHECK(a.tag_len >= 1 && a.tag_len <= SYSLOG_TAG_MAX);
	/* The message follows the tag and runs to the end of the line. */
	FUZZ_CHECK(a.msg >= a.tag + a.tag_len);
	FUZZ_CHECK(a.msg + a.msg_len == line + size);
	/* Pure function: the same line splits the same way. */
	FUZZ_CHECK(syslog_split(line, size, &b) == 0);
	FUZZ_CHECK(a.tag == b.tag && a.tag_len == b.tag_len);
	FUZZ_CHECK(a.msg == b.msg && a.msg_len == b.msg_len);
	return 0;
}
