/*
 * accept.c -- the loop's listeners: taking connections in, the descriptor exhaustion that must
 * never make the loop spin (EMFILE/ENFILE), and dealing connections to the other loops of a
 * group. Whether one is served is the connection layer's to say (admit.c). Layer: loop.
 */
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int add_listener(ce_loop *l, int fd, int hand_off, char *err, size_t errlen) {
    if (l->nlisteners == CE_MAX_LISTENERS) {
        snprintf(err, errlen, "more than %d listeners", CE_MAX_LISTENERS);
        close(fd);
        errno = ENOSPC;
        return -1;
    }
    if (fd >= l->backend->fd_bound || fd >= l->conns.setsize) {
        snprintf(err, errlen, "listening descriptor %d is beyond what the %s backend can watch",
                 fd, l->backend->name);
        close(fd);
        errno = EBADF;
        return -1;
    }
    if (l->backend->engine->watch(l->engine, fd, 0, CE_READABLE) == -1) {
        int saved = errno;
        snprintf(err, errlen, "watching listener %d: %s", fd, strerror(saved));
        close(fd);
        errno = saved;
        return -1;
    }
    l->listeners[l->nlisteners].fd = fd;
    l->listeners[l->nlisteners].mask = CE_READABLE;
    l->listeners[l->nlisteners].hand_off = hand_off;
    l->nlisteners++;
    return 0;
}

int ce_loop_add_listener(ce_loop *l, int fd, char *err, size_t errlen) {
    return add_listener(l, fd, 0, err, errlen);
}

int ce_loop_add_handoff_listener(ce_loop *l, int fd, char *err, size_t errlen) {
    return add_listener(l, fd, 1, err, errlen);
}

int ce_loop_set_group(ce_loop *l, ce_loop *const *group, size_t count, char *err, size_t errlen) {
    ce_loop **copy = count ? malloc(count * sizeof *copy) : NULL;
    if (count && !copy) {
        snprintf(err, errlen, "malloc(group of %zu loops): %s", count, strerror(ENOMEM));
        errno = ENOMEM;
        return -1;
    }
    for (size_t i = 0; i < count; i++) copy[i] = group[i];
    free(l->group);
    l->group = copy;
    l->ngroup = count;
    l->next_in_group = 0;
    return 0;
}

void ce_listeners_close(ce_loop *l) {
    ce_listeners_watch(l, 0);
    for (size_t i = 0; i < l->nlisteners; i++) close(l->listeners[i].fd);
    l->nlisteners = 0;
    l->listeners_paused = 0;
    ce_udp_close_all(l); /* a stopping server takes no more datagrams either */
}

void ce_listeners_watch(ce_loop *l, int on) {
    for (size_t i = 0; i < l->nlisteners; i++) {
        ce_listener *lst = &l->listeners[i];
        int mask = on ? CE_READABLE : 0;
        if (lst->mask == mask) continue;
        if (l->backend->engine->watch(l->engine, lst->fd, lst->mask, mask) == 0) lst->mask = mask;
    }
}

/* Out of descriptors. libuv's trick: give up the spare descriptor, accept each pending
 * connection and close it at once (the client learns now instead of hanging in the
 * backlog), then take the spare back. Without a spare, rest the listeners briefly. Either
 * way a listener that stays readable never makes the loop spin. */
static void on_exhausted(ce_loop *l, ce_listener *lst, int err) {
    ce_conns *cs = &l->conns;
    uint64_t suppressed;
    if (ce_ratelimit_allow(&l->exhaustion_log, cs->now_ms, &suppressed)) {
        ce_log_field field = {"error", strerror(err)};
        ce_logf(&cs->log, CE_LOG_WARNING, &field, 1,
                "out of file descriptors: refusing new connections until some close");
    }
    int rested = 1;
    if (l->spare_fd != -1) {
        close(l->spare_fd);
        l->spare_fd = -1;
        for (int i = 0; i < CE_ACCEPTS_PER_EVENT; i++) {
            ce_sockaddr peer;
            socklen_t len = sizeof peer;
            int fd = ce_net_accept(lst->fd, &peer.sa, &len);
            if (fd == -1) {
                if (errno == EINTR || errno == ECONNABORTED) continue;
                rested = errno != EAGAIN && errno != EWOULDBLOCK; /* still exhausted: rest */
                break;
            }
            ce_conns_refuse(cs, fd, &peer, &cs->counters.refused_no_descriptors, "out of file descriptors",
                            CE_LOG_WARNING, &cs->refusal_log);
            rested = 0;
        }
        l->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    if (rested) {
        ce_listeners_watch(l, 0);
        l->listeners_paused = 1;
        l->accept_retry_ms = cs->now_ms + CE_ACCEPT_BACKOFF_MS;
    }
}

void ce_accept_admit(ce_loop *l, int fd, const ce_sockaddr *peer) {
    if (l->stopping || atomic_load_explicit(&l->stop_request, memory_order_relaxed)) {
        /* handed over by another loop while this one stops: it would never be drained */
        close(fd);
        return;
    }
    (void)ce_conns_admit(&l->conns, fd, peer, l->backend->fd_bound);
}

/* Where a hand-off listener's connection goes: the next loop of the group, which takes it
 * through its post queue and applies its own limits; this loop serves its own turn. */
static void hand_off(ce_loop *l, int fd, const ce_sockaddr *peer, socklen_t len) {
    ce_loop *target = l->group[l->next_in_group];
    l->next_in_group = (l->next_in_group + 1) % l->ngroup;
    if (target == l) {
        ce_accept_admit(l, fd, peer);
        return;
    }
    if (ce_loop_post_connection(target, fd, peer, len) == -1) {
        CE_COUNT(&l->conns.counters, errors, 1);
        ce_log_field field = {"error", strerror(errno)};
        ce_logf(&l->conns.log, CE_LOG_ERROR, &field, 1, "handing a connection to another loop failed");
    }
}

void ce_accept_on_readable(ce_loop *l, ce_listener *lst) {
    for (int i = 0; i < CE_ACCEPTS_PER_EVENT; i++) {
        ce_sockaddr peer;
        socklen_t len = sizeof peer;
        int fd = ce_net_accept(lst->fd, &peer.sa, &len);
        if (fd != -1) {
            if (lst->hand_off && l->ngroup > 0) hand_off(l, fd, &peer, len);
            else ce_accept_admit(l, fd, &peer);
            continue;
        }
        switch (errno) {
        case EINTR:
        case ECONNABORTED: /* the client gave up while queued: take the next one */
#ifdef EPROTO
        case EPROTO:
#endif
            continue;
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
            on_exhausted(l, lst, errno);
            return;
        default:
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                CE_COUNT(&l->conns.counters, errors, 1);
                ce_log_field field = {"error", strerror(errno)};
                ce_logf(&l->conns.log, CE_LOG_ERROR, &field, 1, "accept failed");
            }
            return;
        }
    }
}
