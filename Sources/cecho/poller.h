/*
 * poller.h -- the contract every readiness backend implements (private to the core).
 *
 * A backend watches descriptors for CE_READABLE / CE_WRITABLE and reports the ready ones.
 * It is level-triggered: a descriptor stays ready until the loop has drained it. Errors and
 * hang-ups are reported as both readable and writable, so the next read or write sees them.
 * The loop tracks each descriptor's current mask and passes it in, so backends keep no more
 * state than their system call needs.
 */
#ifndef CE_POLLER_H
#define CE_POLLER_H

#include <stddef.h>

#define CE_READABLE 1
#define CE_WRITABLE 2

typedef struct ce_fired {
    int fd;
    int mask; /* CE_READABLE | CE_WRITABLE */
} ce_fired;

typedef struct ce_poller_ops {
    const char *name;
    int fd_bound; /* descriptors >= fd_bound cannot be watched (select); INT_MAX otherwise */
    /* State for descriptors below `setsize`; NULL with `err` filled on failure. */
    void *(*create)(int setsize, char *err, size_t errlen);
    void (*destroy)(void *state);
    /* Change `fd`'s interest from `oldmask` to `newmask` (0 = not watched). 0 or -1/errno. */
    int (*set)(void *state, int fd, int oldmask, int newmask);
    /* Wait up to `timeout_ms` (-1 = no limit) and fill at most `max` ready descriptors.
     * Returns how many, 0 on timeout or EINTR, -1 on failure. */
    int (*wait)(void *state, int timeout_ms, ce_fired *fired, int max);
} ce_poller_ops;

/* The backend called `name`, "auto" for the platform's best; NULL if not compiled here. */
const ce_poller_ops *ce_poller_find(const char *name);

#endif /* CE_POLLER_H */
