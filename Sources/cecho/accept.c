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

/* Close a connection we will not serve, count it, and say why at `level` (at most once a
 * second per `limiter`). */
static void refuse_at(ce_loop *l, int fd, const ce_sockaddr *peer, _Atomic uint64_t *counter,
                      const char *why, ce_log_level level, ce_ratelimit *limiter) {
    /* Count first: once the client sees the close, the counter must already say why. */
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    uint64_t suppressed;
    if (!ce_log_on(l, level) || !ce_ratelimit_allow(limiter, l->now_ms, &suppressed)) {
        close(fd);
        return;
    }
    char where[CE_ENDPOINT_LEN], more[48] = "";
    if (peer) ce_net_format_peer(fd, &peer->sa, where, sizeof where); /* a Unix peer needs fd open */
    else snprintf(where, sizeof where, "(unknown)");
    close(fd);
    if (suppressed) snprintf(more, sizeof more, " (%" PRIu64 " more refusals not logged)", suppressed);
    ce_log_field fields[2] = {{"peer.address", where}, {"reason", why}};
    ce_logf(l, level, fields, 2, "refused connection: %s%s", why, more);
}

/* A refusal of the server's own limits: a warning, for the operator may need to raise one. */
static void refuse(ce_loop *l, int fd, const ce_sockaddr *peer, _Atomic uint64_t *counter,
                   const char *why) {
    refuse_at(l, fd, peer, counter, why, CE_LOG_WARNING, &l->refusal_log);
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
    /* The allow list first: who the operator did not let in costs nothing else (a notice:
     * refusing them is the policy working). */
    ce_access *access = l->config.access;
    ce_ip ip;
    int has_ip = access && ce_ip_of(&peer->sa, &ip) == 0; /* Unix clients are not checked */
    if (has_ip && !ce_access_allows(access, &ip)) {
        refuse_at(l, fd, peer, &l->counters.refused_not_allowed, "address not allowed", CE_LOG_NOTICE,
                  &l->access_log);
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
    /* A slot of the shared cap is taken last but one: every refusal after it gives it back. */
    if (!ce_budget_take(l->budget)) {
        refuse(l, fd, peer, &l->counters.refused_max_connections, "max connections reached");
        return;
    }
    /* Counted per address last, so that nothing refuses after it counted. */
    int counted = 0;
    if (has_ip && ce_access_counts_connections(access)) {
        if (ce_access_conn_acquire(access, &ip) == -1) {
            ce_budget_give_back(l->budget);
            refuse_at(l, fd, peer, &l->counters.refused_per_ip, "too many connections from this address",
                      CE_LOG_NOTICE, &l->access_log);
            return;
        }
        counted = 1;
    }
    ce_net_tune_connection(fd, peer->sa.sa_family);
    ce_conn *c = ce_conn_open(l, fd, peer);
    if (!c) {
        int err = errno;
        ce_budget_give_back(l->budget);
        if (counted) ce_access_conn_release(access, &ip);
        refuse(l, fd, peer, &l->counters.errors, strerror(err));
        return;
    }
    c->ip_counted = (uint8_t)counted;
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
