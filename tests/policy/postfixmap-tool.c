/* postfixmap-tool.c - write a Postfix relay map with lib/postfixmap for tests/policy. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "postfixmap.h"

#define MAX_ENTRIES 64

static long long
num(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0') {
		fprintf(stderr, "postfixmap-tool: bad number: %s\n", s);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	struct postfixmap_entry e[MAX_ENTRIES];
	char err[512];
	size_t n = 0;
	long written;

	if (argc < 3 || (argc - 3) % 2 != 0 || (argc - 3) / 2 > MAX_ENTRIES) {
		fputs("usage: postfixmap-tool FILE NOW [IP EXPIRES]...\n", stderr);
		return 2;
	}
	for (int i = 3; i < argc; i += 2) {
		e[n].ip = argv[i];
		e[n].expires = num(argv[i + 1]);
		n++;
	}
	written = postfixmap_write(argv[1], e, n, num(argv[2]), err,
	    sizeof(err));
	if (written < 0) {
		fprintf(stderr, "postfixmap-tool: %s\n", err);
		return 1;
	}
	printf("%ld\n", written);
	return 0;
}
