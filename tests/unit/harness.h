/* harness.h - the smallest unit-test harness: CHECK, and a summary at exit. */
#ifndef AUTHRELAY_HARNESS_H
#define AUTHRELAY_HARNESS_H

#include <stdio.h>
#include <stdlib.h>

static int harness_run, harness_failed;

#define CHECK(cond) do { \
	harness_run++; \
	if (!(cond)) { \
		harness_failed++; \
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
	} \
} while (0)

/* Print "N passed, M failed" and give the exit status. */
static inline int
harness_done(void)
{
	printf("%d passed, %d failed\n", harness_run - harness_failed,
	    harness_failed);
	return harness_failed == 0 ? 0 : 1;
}

#endif
