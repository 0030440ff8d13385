/*
 * poller_poll.c -- POSIX poll() backend, the portable fallback.
 *
 * Keeps a dense pollfd array (removal swaps the last entry in) and a descriptor -> slot
 * index, so changing interest is O(1); each wait costs O(watched), as poll() itself does.
 * Layer: engine (under the readiness engine).
 */
#include "poller.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct poll_state {
    struct pollfd *fds; /* watched descriptors, dense */
    int count;
    int *slot;          /* slot[fd] = index in fds, or -1; sized by setsize */
    int setsize;
} poll_state;

static void *poll_create_state(int setsize, char *err, size_t errlen) {
    poll_state *st = calloc(1, sizeof *st);
    if (st) st->fds = malloc(sizeof *st->fds * (size_t)setsize);
    if (st && st->fds) st->slot = malloc(sizeof *st->slot * (size_t)setsize);
    if (!st || !st->fds || !st->slot) {
        snprintf(err, errlen, "malloc(poll state for %d descriptors): %s", setsize, strerror(ENOMEM));
        if (st) free(st->fds);
        free(st);
        return NULL;
    }
    for (int i = 0; i < setsize; i++) st->slot[i] = -1;
    st->setsize = setsize;
    return st;
}

static void poll_destroy_state(void *state) {
    poll_state *st = state;
    free(st->fds);
    free(st->slot);
    free(st);
}

static int poll_set(void *state, int fd, int oldmask, int newmask) {
    poll_state *st = state;
    (void)oldmask;
    if (fd < 0 || fd >= st->setsize) {
        errno = EBADF;
        return -1;
    }
    int i = st->slot[fd];
    if (newmask == 0) {
        if (i < 0) return 0;
        st->fds[i] = st->fds[--st->count];
        st->slot[st->fds[i].fd] = i;
        st->slot[fd] = -1;
        return 0;
    }
    if (i < 0) {
        i = st->count++;
        st->slot[fd] = i;
        st->fds[i].fd = fd;
        st->fds[i].revents = 0;
    }
    st->fds[i].events = (short)(((newmask & CE_READABLE) ? POLLIN : 0) |
                                ((newmask & CE_WRITABLE) ? POLLOUT : 0));
    return 0;
}

static int poll_wait_ready(void *state, int timeout_ms, ce_fired *fired, int max) {
    poll_state *st = state;
    int n = poll(st->fds, (nfds_t)st->count, timeout_ms);
    if (n == -1) return errno == EINTR ? 0 : -1;
    int out = 0;
    for (int i = 0; i < st->count && out < n && out < max; i++) {
        short re = st->fds[i].revents;
        if (!re) continue;
        int mask = 0;
        if (re & POLLIN) mask |= CE_READABLE;
        if (re & POLLOUT) mask |= CE_WRITABLE;
        if (re & (POLLERR | POLLHUP | POLLNVAL)) mask |= CE_READABLE | CE_WRITABLE;
        fired[out].fd = st->fds[i].fd;
        fired[out].mask = mask;
        out++;
    }
    return out;
}

const ce_poller_ops ce_poller_poll = {
    .create = poll_create_state,
    .destroy = poll_destroy_state,
    .set = poll_set,
    .wait = poll_wait_ready,
};
