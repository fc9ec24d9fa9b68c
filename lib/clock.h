/* clock.h: time in microseconds. */
#ifndef CS_CLOCK_H
#define CS_CLOCK_H

#include <stdint.h>

/* Monotonic clock, for intervals and pacing. */
int64_t cs_now_us(void);

/* Wall clock (CLOCK_REALTIME), microseconds since the epoch. */
int64_t cs_wall_us(void);

/* Sleep until the monotonic clock reaches T (returns at once if past).
 * Returns early (non-zero) when a stop was requested (sig.h). */
int cs_sleep_until_us(int64_t t);

#endif
