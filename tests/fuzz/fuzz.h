/* fuzz.h - what every libFuzzer target shares: the entry points and an abort-on-violation check. */
#ifndef AUTHRELAY_FUZZ_H
#define AUTHRELAY_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * A broken property is a finding like a crash: abort() makes libFuzzer
 * save the input and print the stack, the way rsyslog's fuzzers do.
 */
#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: property failed: %s\n", \
			    __FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

#endif
