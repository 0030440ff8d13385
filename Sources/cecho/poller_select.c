/*
 * poller_select.c -- select() backend, the seed's, kept first-class.
 *
 * select() can only name descriptors below FD_SETSIZE: the backend's fd_bound tells the loop, which
 * refuses larger ones before they get here; set() refuses them too, so FD_SET never sees
 * one. The master sets are copied before each call because select() overwrites them.
 * Layer: engine (under the readiness engine).
 */
#include "poller.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

typedef struct select_state {
    fd_set rfds, wfds;   /* interest */
    fd_set rready, wready; /* scratch copies handed to select() */
    int maxfd;           /* highest watched descriptor, -1 when none */
} select_state;

static void *select_create_state(int setsize, char *err, size_t errlen) {
    (void)setsize;
    select_state *st = malloc(sizeof *st);
    if (!st) {
        snprintf(err, errlen, "malloc(select state): %s", strerror(ENOMEM));
        return NULL;
    }
    FD_ZERO(&st->rfds);
    FD_ZERO(&st->wfds);
    st->maxfd = -1;
    return st;
}

static void select_destroy_state(void *state) { free(state); }

static int select_set(void *state, int fd, int oldmask, int newmask) {
    select_state *st = state;
    (void)oldmask;
    if (fd < 0 || fd >= FD_SETSIZE) {
        errno = EBADF;
        return -1;
    }
    if (newmask & CE_READABLE) FD_SET(fd, &st->rfds); else FD_CLR(fd, &st->rfds);
    if (newmask & CE_WRITABLE) FD_SET(fd, &st->wfds); else FD_CLR(fd, &st->wfds);
    if (newmask && fd > st->maxfd) st->maxfd = fd;
    while (st->maxfd >= 0 && !FD_ISSET(st->maxfd, &st->rfds) && !FD_ISSET(st->maxfd, &st->wfds))
        st->maxfd--;
    return 0;
}

static int select_wait_ready(void *state, int timeout_ms, ce_fired *fired, int max) {
    select_state *st = state;
    struct timeval tv, *tvp = NULL;
    if (timeout_ms >= 0) {
        tv.tv_sec = timeout_ms / 1000;
        tv.tv_usec = (timeout_ms % 1000) * 1000;
        tvp = &tv;
    }
    memcpy(&st->rready, &st->rfds, sizeof(fd_set));
    memcpy(&st->wready, &st->wfds, sizeof(fd_set));
    int n = select(st->maxfd + 1, &st->rready, &st->wready, NULL, tvp);
    if (n == -1) return errno == EINTR ? 0 : -1;
    int out = 0;
    /* n counts set bits, so a descriptor ready both ways counts twice */
    for (int fd = 0; fd <= st->maxfd && out < max && n > 0; fd++) {
        int mask = 0;
        if (FD_ISSET(fd, &st->rready)) mask |= CE_READABLE, n--;
        if (FD_ISSET(fd, &st->wready)) mask |= CE_WRITABLE, n--;
        if (!mask) continue;
        fired[out].fd = fd;
        fired[out].mask = mask;
        out++;
    }
    return out;
}

const ce_poller_ops ce_poller_select = {
    .create = select_create_state,
    .destroy = select_destroy_state,
    .set = select_set,
    .wait = select_wait_ready,
};
