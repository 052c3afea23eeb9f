/* fnv.c - FNV-1a, 64 bits: a fast hash for tables and fingerprints (not against attackers). */
#include "fnv.h"

uint64_t
fnv1a64(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * UINT64_C(1099511628211);
	return h;
}
