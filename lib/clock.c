#include "clock.h"

#include <errno.h>
#include <time.h>

#include "sig.h"

static int64_t read_clock(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t cs_now_us(void)
{
    return read_clock(CLOCK_MONOTONIC);
}

int64_t cs_wall_us(void)
{
    return read_clock(CLOCK_REALTIME);
}

int cs_sleep_until_us(int64_t t)
{
    for (;;) {
        int64_t left = t - cs_now_us();
        struct timespec ts;

        if (cs_stopping())
            return 1;
        if (left <= 0)
            return 0;
        /* Wake at least every 100 ms to notice a stop. */
        if (left > 100000)
            left = 100000;
        ts.tv_sec = left / 1000000;
        ts.tv_nsec = (left % 1000000) * 1000;
        nanosleep(&ts, NULL);
    }
}
