/* fnv.h - FNV-1a, 64 bits: a fast hash for tables and fingerprints (not against attackers). */
#ifndef AUTHRELAY_FNV_H
#define AUTHRELAY_FNV_H

#include <stddef.h>
#include <stdint.h>

#define FNV1A64_INIT UINT64_C(14695981039346656037)

/* Continue hash h (FNV1A64_INIT to start) over len bytes of data. */
uint64_t fnv1a64(uint64_t h, const void *data, size_t len);

#endif
