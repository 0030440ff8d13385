/*
 * accept.c -- taking connections in: the connection cap, select's FD_SETSIZE bound, and
 * descriptor exhaustion (EMFILE/ENFILE), none of which may make the loop spin.
 */
#include "loop.h"
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void ce_listeners_watch(ce_loop *l, int on) {
    for (size_t i = 0; i < l->nlisteners; i++) {
        ce_listener *lst = &l->listeners[i];
        int mask = on ? CE_READABLE : 0;
        if (lst->mask == mask) continue;
        if (l->poller->set(l->poller_state, lst->fd, lst->mask, mask) == 0) lst->mask = mask;
    }
}

/* Close a connection we will not serve, count it, and say why (at most once a second). */
static void refuse(ce_loop *l, int fd, const ce_sockaddr *peer, _Atomic uint64_t *counter,
                   const char *why) {
    /* Count first: once the client sees the close, the counter must already say why. */
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    uint64_t suppressed;
    if (!ce_log_on(l, CE_LOG_WARNING) || !ce_ratelimit_allow(&l->refusal_log, l->now_ms, &suppressed)) {
        close(fd);
        return;
    }
    char where[CE_ENDPOINT_LEN], more[48] = "";
    if (peer) ce_net_format_peer(fd, &peer->sa, where, sizeof where); /* a Unix peer needs fd open */
    else snprintf(where, sizeof where, "(unknown)");
    close(fd);
    if (suppressed) snprintf(more, sizeof more, " (%" PRIu64 " more refusals not logged)", suppressed);
    ce_log_field fields[2] = {{"peer.address", where}, {"reason", why}};
    ce_logf(l, CE_LOG_WARNING, fields, 2, "refused connection: %s%s", why, more);
}

/* Out of descriptors. libuv's trick: give up the spare descriptor, accept each pending
 * connection and close it at once (the client learns now instead of hanging in the
 * backlog), then take the spare back. Without a spare, rest the listeners briefly. Either
 * way a listener that stays readable never makes the loop spin. */
static void on_exhausted(ce_loop *l, ce_listener *lst, int err) {
    uint64_t suppressed;
    if (ce_ratelimit_allow(&l->exhaustion_log, l->now_ms, &suppressed)) {
        ce_log_field field = {"error", strerror(err)};
        ce_logf(l, CE_LOG_WARNING, &field, 1,
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
            refuse(l, fd, &peer, &l->counters.refused_no_descriptors, "out of file descriptors");
            rested = 0;
        }
        l->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    if (rested) {
        ce_listeners_watch(l, 0);
        l->listeners_paused = 1;
        l->accept_retry_ms = l->now_ms + CE_ACCEPT_BACKOFF_MS;
    }
}

void ce_accept_admit(ce_loop *l, int fd, const ce_sockaddr *peer) {
    if (l->stopping || atomic_load_explicit(&l->stop_request, memory_order_relaxed)) {
        /* handed over by another loop while this one stops: it would never be drained */
        close(fd);
        return;
    }
    if (!ce_budget_take(l->budget)) {
        refuse(l, fd, peer, &l->counters.refused_max_connections, "max connections reached");
        return;
    }
    if (fd >= l->poller->fd_bound) { /* select: FD_SET must never see it */
        refuse(l, fd, peer, &l->counters.refused_fd_setsize, "descriptor above the select() limit FD_SETSIZE");
        return;
    }
    if (fd >= l->setsize) {
        refuse(l, fd, peer, &l->counters.refused_no_descriptors, "descriptor beyond the loop's table");
        return;
    }
    ce_net_tune_connection(fd, peer->sa.sa_family);
    if (!ce_conn_open(l, fd, peer)) {
        int err = errno;
        ce_budget_give_back(l->budget);
        refuse(l, fd, peer, &l->counters.errors, strerror(err));
    }
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
        CE_COUNT(l, errors, 1);
        ce_log_field field = {"error", strerror(errno)};
        ce_logf(l, CE_LOG_ERROR, &field, 1, "handing a connection to another loop failed");
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
                CE_COUNT(l, errors, 1);
                ce_log_field field = {"error", strerror(errno)};
                ce_logf(l, CE_LOG_ERROR, &field, 1, "accept failed");
            }
            return;
        }
    }
}
