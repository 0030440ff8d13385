/*
 * udp.c -- UDP echo (RFC 862): each datagram is answered with at most one datagram to its
 * sender, by the built-in echo or through the same hook path as TCP, without framing.
 *
 * Echo services are a classic reflection and amplification tool, so before anything is
 * answered: a source port that is itself a reflector (0, echo, daytime, qotd, chargen) gets
 * nothing, a source outside the allow list gets nothing, and each source's replies are
 * rate-limited (the access policy's token buckets). A reply larger than its datagram is never
 * sent. UDP has no backpressure: a reply the socket will not take now is dropped and counted,
 * never queued. Every drop is counted; the log gets at most a line a second per kind.
 */
#include "loop.h"
#include "net.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A staging buffer grown past this by a large reply is released after use. */
#define UDP_STAGING_KEEP (1 << 20)

ce_udp *ce_udp_find(ce_loop *l, int fd) {
    for (size_t i = 0; i < l->nudp; i++)
        if (l->udp[i].fd == fd) return &l->udp[i];
    return NULL;
}

int ce_loop_add_udp(ce_loop *l, int fd, char *err, size_t errlen) {
    int saved = EINVAL;
    if (!l->config.access || !ce_access_limits_udp(l->config.access)) {
        snprintf(err, errlen, "UDP needs an access policy with a reply rate (amplification protection)");
        goto fail;
    }
    if (l->nudp == CE_MAX_LISTENERS) {
        snprintf(err, errlen, "more than %d UDP sockets", CE_MAX_LISTENERS);
        saved = ENOSPC;
        goto fail;
    }
    if (fd >= l->poller->fd_bound || fd >= l->setsize) {
        snprintf(err, errlen, "UDP descriptor %d is beyond what the %s backend can watch", fd, l->poller->name);
        saved = EBADF;
        goto fail;
    }
    if (!l->pending && !(l->pending = calloc(CE_UDP_PENDING, sizeof *l->pending))) {
        snprintf(err, errlen, "malloc(UDP pending table): %s", strerror(ENOMEM));
        saved = ENOMEM;
        goto fail;
    }
    if (l->poller->set(l->poller_state, fd, 0, CE_READABLE) == -1) {
        saved = errno;
        snprintf(err, errlen, "watching UDP socket %d: %s", fd, strerror(saved));
        goto fail;
    }
    ce_udp *u = &l->udp[l->nudp++];
    u->fd = fd;
    u->mask = CE_READABLE;
    if (ce_net_local_endpoint(fd, u->local, sizeof u->local) == -1) snprintf(u->local, sizeof u->local, "?");
    return 0;
fail:
    close(fd);
    errno = saved;
    return -1;
}

void ce_udp_close_all(ce_loop *l) {
    for (size_t i = 0; i < l->nudp; i++) {
        (void)l->poller->set(l->poller_state, l->udp[i].fd, l->udp[i].mask, 0);
        close(l->udp[i].fd);
    }
    l->nudp = 0;
    free(l->pending);
    l->pending = NULL;
}

/* Source ports of services that answer anything: replying to one could start an endless
 * ping-pong between two reflectors, or hit a victim that spoofed it. Port 0 is never a real
 * sender. */
static int is_reflector_port(unsigned port) {
    return port == 0 || port == 7 || port == 13 || port == 17 || port == 19;
}

static unsigned port_of(const ce_sockaddr *peer) {
    if (peer->sa.sa_family == AF_INET) return ntohs(peer->in.sin_port);
    if (peer->sa.sa_family == AF_INET6) return ntohs(peer->in6.sin6_port);
    return 0;
}

/* Count a dropped datagram and say why, at most once a second per `limiter`. */
static void drop(ce_loop *l, _Atomic uint64_t *counter, ce_ratelimit *limiter, ce_log_level level,
                 const ce_sockaddr *peer, const char *why) {
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    uint64_t suppressed;
    if (!ce_log_on(l, level) || !ce_ratelimit_allow(limiter, l->now_ms, &suppressed)) return;
    char where[CE_ENDPOINT_LEN], more[56] = "";
    ce_net_format(&peer->sa, where, sizeof where);
    if (suppressed) snprintf(more, sizeof more, " (%" PRIu64 " more not logged)", suppressed);
    ce_log_field fields[2] = {{"peer.address", where}, {"reason", why}};
    ce_logf(l, level, fields, 2, "dropped datagram: %s%s", why, more);
}

/* Send one reply datagram; what the socket will not take now is dropped, never queued. */
static void send_reply(ce_loop *l, int fd, const ce_sockaddr *peer, socklen_t peer_len, const char *p, size_t n) {
    /* Count first: once the peer has the reply, the counters must already say so. */
    CE_COUNT(l, udp_out, 1);
    CE_COUNT(l, bytes_out, n);
    ssize_t w;
    do w = sendto(fd, p, n, CE_SEND_FLAGS, &peer->sa, peer_len); while (w == -1 && errno == EINTR);
    if (w == -1) {
        CE_UNCOUNT(l, udp_out, 1);
        CE_UNCOUNT(l, bytes_out, n);
        drop(l, &l->counters.udp_send_dropped, &l->udp_log, CE_LOG_DEBUG, peer, strerror(errno));
    }
}

/* Keep a deferred datagram's sender until its reply comes. 0, or -1 when the table is full
 * of entries younger than CE_UDP_PENDING_MS. */
static int pend(ce_loop *l, int fd, uint64_t id, const ce_sockaddr *peer, socklen_t peer_len, size_t limit) {
    ce_udp_pending *slot = NULL;
    for (int i = 0; i < CE_UDP_PENDING; i++) {
        ce_udp_pending *p = &l->pending[i];
        if (!p->id || l->now_ms - p->since_ms >= CE_UDP_PENDING_MS) {
            slot = p; /* free, or abandoned: a handle that never completed */
            break;
        }
    }
    if (!slot) return -1;
    *slot = (ce_udp_pending){.id = id, .fd = fd, .limit = limit, .since_ms = l->now_ms, .peer = *peer,
                             .peer_len = peer_len};
    return 0;
}

/* A hook answers one datagram: a connection of its own, opened and closed around the call. */
static void hook_datagram(ce_loop *l, ce_udp *u, const ce_sockaddr *peer, socklen_t peer_len,
                          const char *data, size_t len) {
    ce_conn c;
    memset(&c, 0, sizeof c);
    c.fd = u->fd;
    c.id = ++l->next_conn_id;
    c.peer = *peer;
    if (l->hooks.opened) {
        char from[CE_ENDPOINT_LEN];
        ce_net_format(&peer->sa, from, sizeof from);
        ce_conn_info info = {.fd = u->fd, .id = c.id, .peer = from, .local = u->local};
        c.user = l->hooks.opened(l->hooks.ctx, &info);
    }
    /* No reply may be larger than its datagram: the hook's writes stop there. */
    size_t limit = len < l->config.max_reply ? len : l->config.max_reply;
    ce_buf *b = &l->staging;
    ce_action action = ce_hook_invoke(l, &c, b, limit, data, len);
    switch (action) {
    case CE_ACTION_REPLY:
    case CE_ACTION_REPLY_AND_CLOSE:
        if (!l->reply.overflow) send_reply(l, u->fd, peer, peer_len, b->data + b->start, ce_buf_len(b));
        else if (limit == len) drop(l, &l->counters.udp_too_large, &l->udp_log, CE_LOG_NOTICE, peer,
                                    "reply larger than its datagram (amplification)");
        else drop(l, &l->counters.replies_too_large, &l->udp_log, CE_LOG_WARNING, peer, "reply over max-reply");
        break;
    case CE_ACTION_DEFER:
        if (pend(l, u->fd, c.id, peer, peer_len, len) == -1)
            drop(l, &l->counters.udp_deferred_refused, &l->udp_log, CE_LOG_WARNING, peer,
                 "deferred reply refused: too many datagrams awaiting one");
        break;
    case CE_ACTION_FAIL:
        drop(l, &l->counters.hook_errors, &l->udp_log, CE_LOG_WARNING, peer,
             l->reply.failure[0] ? l->reply.failure : "hook failed");
        break;
    default: /* declined, or closed: a datagram has no connection to close */
        break;
    }
    ce_buf_consume(b, ce_buf_len(b));
    if (b->cap > UDP_STAGING_KEEP) ce_buf_free(b);
    if (l->hooks.closed) l->hooks.closed(l->hooks.ctx, c.user, CE_CLOSE_DATAGRAM);
}

/* Everything one datagram goes through, in order of cost: the checks, then the answer. */
static void answer(ce_loop *l, ce_udp *u, const ce_sockaddr *peer, socklen_t peer_len, const char *data, size_t len) {
    if (is_reflector_port(port_of(peer))) {
        drop(l, &l->counters.udp_bad_port, &l->udp_log, CE_LOG_NOTICE, peer,
             "source port of a reflecting service (0, 7, 13, 17, 19)");
        return;
    }
    ce_ip ip;
    if (ce_ip_of(&peer->sa, &ip) == 0) {
        if (!ce_access_allows(l->config.access, &ip)) {
            drop(l, &l->counters.udp_not_allowed, &l->access_log, CE_LOG_NOTICE, peer, "address not allowed");
            return;
        }
        if (!ce_access_udp_take(l->config.access, &ip, l->now_ms)) {
            drop(l, &l->counters.udp_rate_limited, &l->udp_log, CE_LOG_NOTICE, peer, "over the reply rate for its source");
            return;
        }
    }
    CE_COUNT(l, messages, 1);
    if (l->hooks.message) hook_datagram(l, u, peer, peer_len, data, len);
    else send_reply(l, u->fd, peer, peer_len, data, len); /* the echo never leaves C */
}

void ce_udp_on_readable(ce_loop *l, ce_udp *u) {
    for (int i = 0; i < CE_UDP_DATAGRAMS_PER_EVENT; i++) {
        ce_sockaddr peer;
        socklen_t peer_len = sizeof peer;
        ssize_t n;
        /* CE_READ_CHUNK (64 KiB) holds the largest UDP payload, 65507 bytes over IPv4 and
         * 65527 over IPv6: nothing is ever truncated. */
        do n = recvfrom(u->fd, l->scratch, CE_READ_CHUNK, 0, &peer.sa, &peer_len); while (n == -1 && errno == EINTR);
        if (n == -1) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNREFUSED) {
                CE_COUNT(l, errors, 1);
                ce_log_field field = {"error", strerror(errno)};
                ce_logf(l, CE_LOG_ERROR, &field, 1, "UDP receive failed");
            }
            return;
        }
        CE_COUNT(l, udp_in, 1);
        CE_COUNT(l, bytes_in, n);
        if (ce_log_on(l, CE_LOG_TRACE)) {
            char from[CE_ENDPOINT_LEN];
            ce_net_format(&peer.sa, from, sizeof from);
            ce_log_field field = {"peer.address", from};
            ce_logf(l, CE_LOG_TRACE, &field, 1, "received a datagram of %zd bytes", n);
        }
        answer(l, u, &peer, peer_len, l->scratch, (size_t)n);
    }
}

void ce_udp_deliver(ce_loop *l, ce_udp *u, const ce_post *p) {
    ce_udp_pending *slot = NULL;
    for (int i = 0; l->pending && i < CE_UDP_PENDING; i++)
        if (l->pending[i].id == p->id && l->pending[i].fd == u->fd) slot = &l->pending[i];
    if (!slot) {
        CE_COUNT(l, late_replies, 1);
        return;
    }
    ce_udp_pending entry = *slot;
    slot->id = 0;
    if (p->action != CE_ACTION_REPLY && p->action != CE_ACTION_REPLY_AND_CLOSE) return;
    if (p->len > entry.limit)
        drop(l, &l->counters.udp_too_large, &l->udp_log, CE_LOG_NOTICE, &entry.peer,
             "reply larger than its datagram (amplification)");
    else if (p->len > l->config.max_reply)
        drop(l, &l->counters.replies_too_large, &l->udp_log, CE_LOG_WARNING, &entry.peer, "reply over max-reply");
    else
        send_reply(l, u->fd, &entry.peer, entry.peer_len, p->data, p->len);
}
