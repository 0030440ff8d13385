/*
 * clock.h -- the monotonic clock every timer reads. Layer: base.
 */
#ifndef CE_CLOCK_H
#define CE_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds on the monotonic clock. */
static inline uint64_t ce_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Nanoseconds on the monotonic clock. */
static inline uint64_t ce_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif /* CE_CLOCK_H */
