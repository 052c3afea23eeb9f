/* clock.h - CLOCK_MONOTONIC in milliseconds: for timers, never for dates. */
#ifndef AUTHRELAY_CLOCK_H
#define AUTHRELAY_CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC (immune to wall-clock jumps). */
int64_t clock_ms(void);

#endif
