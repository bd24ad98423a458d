/* clock: the one time source for deadlines (connection expiry, health checks). Monotonic: a
 * wall-clock step (NTP, an operator) must not expire every connection or skip a re-entry time.
 * The wall clock only measures what no monotonic clock spans: the time between two processes
 * (a restart's downtime). */
#ifndef RAWLB_CLOCK_H
#define RAWLB_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline uint64_t clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

#endif
