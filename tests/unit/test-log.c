/* test-log.c - unit tests for lib/log.c: records stay within LOG_TEXT_MAX, cut on a UTF-8 boundary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "log.h"
#include "utf8.h"

/* Log through stderr into a temporary file; the text after "t: info: ". */
static size_t
logged(const char *fmt, const char *arg, char *out, size_t outlen)
{
	FILE *f = tmpfile();
	int saved = dup(2);
	size_t n;

	if (f == NULL || saved < 0)
		return 0;
	fflush(stderr);
	dup2(fileno(f), 2);
	log_info(fmt, arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	n = fread(out, 1, outlen - 1, f);
	fclose(f);
	out[n] = '\0';
	if (n > 0 && out[n - 1] == '\n')
		out[--n] = '\0';
	if (strncmp(out, "t: info: ", 9) != 0)
		return 0;
	memmove(out, out + 9, n - 9 + 1);
	return n - 9;
}

int
main(void)
{
	char big[2000], out[4096];
	const char *why;
	size_t n;

	log_init("t", 1, 0);
	/* 'a' then U+00F6 repeated: every cut point lands on each byte kind */
	for (int shift = 0; shift < 2; shift++) {
		size_t o = 0;

		if (shift)
			big[o++] = 'a';
		while (o + 2 < sizeof(big)) {
			big[o++] = '\xc3';
			big[o++] = '\xb6';
		}
		big[o] = '\0';
		n = logged("event=x user=%s", big, out, sizeof(out));
		CHECK(n > 0 && n <= LOG_TEXT_MAX);
		CHECK(n >= LOG_TEXT_MAX - 1);
		CHECK(utf8_text_ok(out, n, &why));
	}
	n = logged("event=short user=%s", "j\xc3\xb6rg", out, sizeof(out));
	CHECK(n == strlen("event=short user=j\xc3\xb6rg") &&
	    strcmp(out, "event=short user=j\xc3\xb6rg") == 0);
	return harness_done();
}
