/*
 * poller_kqueue.c -- kqueue backend for macOS and the BSDs.
 *
 * kqueue reports reading and writing as separate filters; they are merged per descriptor so
 * the loop sees one ready entry with both bits, as from the other backends.
 * Layer: engine (under the readiness engine).
 */
#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__) || \
    defined(__DragonFly__)

#include "poller.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/event.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

/* Events fetched per kevent(); the rest stay pending for the next call. */
#define KQUEUE_BATCH 512

typedef struct kqueue_state {
    int kq;
    int setsize;
    int *merged; /* merged[fd] = 1 + index in this round's fired list, 0 when not yet seen */
    struct kevent events[KQUEUE_BATCH];
} kqueue_state;

static void *kqueue_create_state(int setsize, char *err, size_t errlen) {
    kqueue_state *st = calloc(1, sizeof *st);
    if (st) st->merged = calloc((size_t)setsize, sizeof *st->merged);
    if (!st || !st->merged) {
        snprintf(err, errlen, "malloc(kqueue state for %d descriptors): %s", setsize, strerror(ENOMEM));
        free(st);
        return NULL;
    }
    st->setsize = setsize;
    st->kq = kqueue();
    if (st->kq == -1) {
        snprintf(err, errlen, "kqueue(): %s", strerror(errno));
        free(st->merged);
        free(st);
        return NULL;
    }
    return st;
}

static void kqueue_destroy_state(void *state) {
    kqueue_state *st = state;
    close(st->kq);
    free(st->merged);
    free(st);
}

static int kqueue_set(void *state, int fd, int oldmask, int newmask) {
    kqueue_state *st = state;
    struct kevent changes[2];
    int n = 0;
    int added = newmask & ~oldmask, removed = oldmask & ~newmask;
    if (added & CE_READABLE) EV_SET(&changes[n++], fd, EVFILT_READ, EV_ADD, 0, 0, NULL);
    if (removed & CE_READABLE) EV_SET(&changes[n++], fd, EVFILT_READ, EV_DELETE, 0, 0, NULL);
    if (added & CE_WRITABLE) EV_SET(&changes[n++], fd, EVFILT_WRITE, EV_ADD, 0, 0, NULL);
    if (removed & CE_WRITABLE) EV_SET(&changes[n++], fd, EVFILT_WRITE, EV_DELETE, 0, 0, NULL);
    if (n == 0) return 0;
    return kevent(st->kq, changes, n, NULL, 0, NULL) == -1 ? -1 : 0;
}

static int kqueue_wait_ready(void *state, int timeout_ms, ce_fired *fired, int max) {
    kqueue_state *st = state;
    struct timespec ts, *tsp = NULL;
    if (timeout_ms >= 0) {
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
        tsp = &ts;
    }
    if (max > KQUEUE_BATCH) max = KQUEUE_BATCH;
    int n = kevent(st->kq, NULL, 0, st->events, max, tsp);
    if (n == -1) return errno == EINTR ? 0 : -1;
    int out = 0;
    for (int i = 0; i < n; i++) {
        struct kevent *e = &st->events[i];
        int fd = (int)e->ident;
        if (fd < 0 || fd >= st->setsize) continue;
        int mask = e->filter == EVFILT_READ ? CE_READABLE : e->filter == EVFILT_WRITE ? CE_WRITABLE : 0;
        if (e->flags & EV_ERROR) mask = CE_READABLE | CE_WRITABLE;
        if (!mask) continue;
        if (st->merged[fd]) {
            fired[st->merged[fd] - 1].mask |= mask;
            continue;
        }
        fired[out].fd = fd;
        fired[out].mask = mask;
        st->merged[fd] = ++out;
    }
    for (int i = 0; i < out; i++) st->merged[fired[i].fd] = 0;
    return out;
}

const ce_poller_ops ce_poller_kqueue = {
    .create = kqueue_create_state,
    .destroy = kqueue_destroy_state,
    .set = kqueue_set,
    .wait = kqueue_wait_ready,
};

#else
typedef int ce_poller_kqueue_not_here; /* ISO C wants a declaration in every file */
#endif /* kqueue platforms */
