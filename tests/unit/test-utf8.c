/* test-utf8.c - unit tests for lib/utf8.c over Markus Kuhn's UTF-8 decoder stress-test categories. */
#include <string.h>

#include "harness.h"
#include "utf8.h"

/* One whole string: decodes as exactly one code point cp? */
static int
one(const char *s, size_t len, uint32_t cp)
{
	uint32_t got = 0;

	return utf8_decode(s, len, &got) == len && got == cp;
}

static int
bad(const char *s, size_t len)
{
	uint32_t got;

	return utf8_decode(s, len, &got) == 0;
}

#define ONE(lit, cp) CHECK(one(lit, sizeof(lit) - 1, cp))
#define BAD(lit) CHECK(bad(lit, sizeof(lit) - 1))

/* Kuhn 1, 2.1-2.3: correct text, first and last of each length, boundaries. */
static void
test_valid(void)
{
	const char *why = NULL;
	static const char greek[] = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";

	CHECK(utf8_text_ok(greek, sizeof(greek) - 1, &why));
	CHECK(utf8_text_ok("j\xc3\xb6rg@example.org", 17, &why));
	ONE("\x01", 0x01);
	ONE("\xc2\xa0", 0xa0);
	ONE("\xe0\xa0\x80", 0x800);
	ONE("\xf0\x90\x80\x80", 0x10000);
	ONE("\x7f", 0x7f);
	ONE("\xdf\xbf", 0x7ff);
	ONE("\xef\xbf\xbf", 0xffff);
	ONE("\xf4\x8f\xbf\xbf", 0x10ffff);
	ONE("\xed\x9f\xbf", 0xd7ff);
	ONE("\xee\x80\x80", 0xe000);
	ONE("\xef\xbf\xbd", 0xfffd);
	/* Kuhn 5.3: noncharacters are well-formed, not refused */
	ONE("\xef\xbf\xbe", 0xfffe);
	ONE("\xef\xb7\x90", 0xfdd0);
	ONE("\xf4\x8f\xbf\xbe", 0x10fffe);
}

/* Kuhn 2.2 past the end, and 5- and 6-byte forms. */
static void
test_beyond(void)
{
	BAD("\xf4\x90\x80\x80");	/* U+110000 */
	BAD("\xf7\xbf\xbf\xbf");	/* U+1FFFFF */
	BAD("\xf8\x88\x80\x80\x80");	/* 5 bytes, U+200000 */
	BAD("\xfb\xbf\xbf\xbf\xbf");
	BAD("\xfc\x84\x80\x80\x80\x80");	/* 6 bytes */
	BAD("\xfd\xbf\xbf\xbf\xbf\xbf");
}

/* Kuhn 3.1-3.5: stray continuations, lonely starts, truncations, FE/FF. */
static void
test_malformed(void)
{
	const char *why = NULL;
	char c[2] = { 0, 0 };

	for (int b = 0x80; b <= 0xbf; b++) {
		c[0] = (char)b;
		CHECK(bad(c, 1));
	}
	BAD("\x80\xbf");
	/* lonely start bytes followed by a space */
	for (int b = 0xc0; b <= 0xff; b++) {
		char s[2] = { (char)b, ' ' };

		CHECK(bad(s, 2));
	}
	/* last continuation byte missing */
	BAD("\xc2");
	BAD("\xe0\xa0");
	BAD("\xf0\x90\x80");
	BAD("\xdf");
	BAD("\xef\xbf");
	BAD("\xf4\x8f\xbf");
	/* a truncated sequence followed by ASCII does not swallow it */
	BAD("\xe0\xa0" "a");
	CHECK(!utf8_text_ok("ab\xe0\xa0", 4, &why));
	CHECK(strcmp(why, "invalid UTF-8") == 0);
	/* 3.5: impossible bytes */
	BAD("\xfe");
	BAD("\xff");
	BAD("\xfe\xfe\xff\xff");
	CHECK(!utf8_text_ok("a\xff", 2, &why));
}

/* Kuhn 4.1-4.3: overlong forms, '/' above all. */
static void
test_overlong(void)
{
	const char *why = NULL;

	BAD("\xc0\xaf");		/* '/' in 2 bytes */
	BAD("\xe0\x80\xaf");		/* in 3 */
	BAD("\xf0\x80\x80\xaf");	/* in 4 */
	BAD("\xf8\x80\x80\x80\xaf");	/* in 5 */
	BAD("\xfc\x80\x80\x80\x80\xaf");	/* in 6 */
	BAD("\xc1\xbf");		/* highest overlongs */
	BAD("\xe0\x9f\xbf");
	BAD("\xf0\x8f\xbf\xbf");
	BAD("\xc0\x80");		/* overlong NUL */
	BAD("\xe0\x80\x80");
	BAD("\xf0\x80\x80\x80");
	CHECK(!utf8_text_ok("a\xc0\xaf" "b", 4, &why));
}

/* Kuhn 5.1-5.2: UTF-16 surrogates, single and paired. */
static void
test_surrogates(void)
{
	BAD("\xed\xa0\x80");	/* U+D800 */
	BAD("\xed\xad\xbf");
	BAD("\xed\xae\x80");
	BAD("\xed\xaf\xbf");
	BAD("\xed\xb0\x80");	/* U+DC00 */
	BAD("\xed\xbe\x80");
	BAD("\xed\xbf\xbf");	/* U+DFFF */
	BAD("\xed\xa0\x80\xed\xb0\x80");
	BAD("\xed\xaf\xbf\xed\xbf\xbf");
}

/* Controls: C0, DEL, C1 (also in their two-byte UTF-8 form). */
static void
test_controls(void)
{
	const char *why = NULL;

	CHECK(utf8_is_control(0) && utf8_is_control(0x1b) &&
	    utf8_is_control(0x7f) && utf8_is_control(0x80) &&
	    utf8_is_control(0x85) && utf8_is_control(0x9b) &&
	    utf8_is_control(0x9f));
	CHECK(!utf8_is_control(' ') && !utf8_is_control('~') &&
	    !utf8_is_control(0xa0) && !utf8_is_control(0xf6));
	CHECK(!utf8_text_ok("a\x1b[2J", 5, &why));
	CHECK(strcmp(why, "control character") == 0);
	CHECK(!utf8_text_ok("a\x7f", 2, &why));
	CHECK(!utf8_text_ok("a\xc2\x9b" "31m", 6, &why));	/* CSI */
	CHECK(!utf8_text_ok("a\xc2\x85", 3, &why));	/* NEL */
	CHECK(!utf8_text_ok("a\0b", 3, &why));
	CHECK(utf8_text_ok("a\xc2\xa0" "b", 4, &why));
	CHECK(utf8_text_ok("", 0, &why));
	CHECK(utf8_is_unsafe_display(0x202e) && utf8_is_unsafe_display(0x2066) &&
	    utf8_is_unsafe_display(0x9b) && !utf8_is_unsafe_display(0xf6) &&
	    !utf8_is_unsafe_display(0x2030));
}

int
main(void)
{
	test_valid();
	test_beyond();
	test_malformed();
	test_overlong();
	test_surrogates();
	test_controls();
	return harness_done();
}
