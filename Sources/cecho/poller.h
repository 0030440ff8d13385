/*
 * poller.h -- the contract every readiness backend implements, under the readiness engine
 * (engine_ready.c). Layer: engine.
 *
 * A backend watches descriptors for CE_READABLE / CE_WRITABLE and reports the ready ones.
 * It is level-triggered: a descriptor stays ready until the loop has drained it. Errors and
 * hang-ups are reported as both readable and writable, so the next read or write sees them.
 * The loop tracks each descriptor's current mask and passes it in, so backends keep no more
 * state than their system call needs.
 */
#ifndef CE_POLLER_H
#define CE_POLLER_H

#include "engine.h"

#include <stddef.h>

typedef struct ce_fired {
    int fd;
    int mask; /* CE_READABLE | CE_WRITABLE */
} ce_fired;

typedef struct ce_poller_ops {
    /* State for descriptors below `setsize`; NULL with `err` filled on failure. */
    void *(*create)(int setsize, char *err, size_t errlen);
    void (*destroy)(void *state);
    /* Change `fd`'s interest from `oldmask` to `newmask` (0 = not watched). 0 or -1/errno. */
    int (*set)(void *state, int fd, int oldmask, int newmask);
    /* Wait up to `timeout_ms` (-1 = no limit) and fill at most `max` ready descriptors.
     * Returns how many, 0 on timeout or EINTR, -1 on failure. */
    int (*wait)(void *state, int timeout_ms, ce_fired *fired, int max);
} ce_poller_ops;

extern const ce_poller_ops ce_poller_epoll;
extern const ce_poller_ops ce_poller_kqueue;
extern const ce_poller_ops ce_poller_poll;
extern const ce_poller_ops ce_poller_select;

#endif /* CE_POLLER_H */
