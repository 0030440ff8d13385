/*
 * poller_epoll.c -- Linux epoll backend, level-triggered.
 *
 * The kernel keeps the interest set, so a ready list costs O(ready), not O(watched): the
 * backend for many mostly idle connections.
 * Layer: engine (under the readiness engine).
 */
#if defined(__linux__)

#include "poller.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* Events fetched per epoll_wait; the rest stay ready for the next call (level-triggered). */
#define EPOLL_BATCH 512

typedef struct epoll_state {
    int epfd;
    struct epoll_event events[EPOLL_BATCH];
} epoll_state;

static void *epoll_create_state(int setsize, char *err, size_t errlen) {
    (void)setsize;
    epoll_state *st = malloc(sizeof *st);
    if (!st) {
        snprintf(err, errlen, "malloc(epoll state): %s", strerror(ENOMEM));
        return NULL;
    }
    st->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (st->epfd == -1) {
        snprintf(err, errlen, "epoll_create1(): %s", strerror(errno));
        free(st);
        return NULL;
    }
    return st;
}

static void epoll_destroy_state(void *state) {
    epoll_state *st = state;
    close(st->epfd);
    free(st);
}

static int epoll_set(void *state, int fd, int oldmask, int newmask) {
    epoll_state *st = state;
    struct epoll_event ev = {0};
    ev.data.fd = fd;
    if (newmask & CE_READABLE) ev.events |= EPOLLIN;
    if (newmask & CE_WRITABLE) ev.events |= EPOLLOUT;
    int op = oldmask == 0 ? EPOLL_CTL_ADD : newmask == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
    return epoll_ctl(st->epfd, op, fd, &ev);
}

static int epoll_wait_ready(void *state, int timeout_ms, ce_fired *fired, int max) {
    epoll_state *st = state;
    if (max > EPOLL_BATCH) max = EPOLL_BATCH;
    int n = epoll_wait(st->epfd, st->events, max, timeout_ms);
    if (n == -1) return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; i++) {
        uint32_t e = st->events[i].events;
        int mask = 0;
        if (e & EPOLLIN) mask |= CE_READABLE;
        if (e & EPOLLOUT) mask |= CE_WRITABLE;
        if (e & (EPOLLERR | EPOLLHUP)) mask |= CE_READABLE | CE_WRITABLE;
        fired[i].fd = st->events[i].data.fd;
        fired[i].mask = mask;
    }
    return n;
}

const ce_poller_ops ce_poller_epoll = {
    .create = epoll_create_state,
    .destroy = epoll_destroy_state,
    .set = epoll_set,
    .wait = epoll_wait_ready,
};

#endif /* __linux__ */
