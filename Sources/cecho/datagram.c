/*
 * datagram.c -- answering one UDP datagram (RFC 862): the reflection and amplification
 * checks, then the built-in echo or the hook, without framing. Layer: connection.
 *
 * Echo services are a classic reflection and amplification tool, so before anything is
 * answered: a source port that is itself a reflector (0, echo, daytime, qotd, chargen) gets
 * nothing, a source outside the allow list gets nothing, and each source's replies are
 * rate-limited (the access policy's token buckets). A reply larger than its datagram is never
 * sent. Every drop is counted; the log gets at most a line a second per kind. The socket
 * itself (receiving, sending) is the loop's (udp.c).
 */
#include "conn.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A staging buffer grown past this by a large reply is released after use. */
#define UDP_STAGING_KEEP (1 << 20)

int ce_datagram_prepare(ce_conns *cs) {
    if (cs->pending) return 0;
    cs->pending = calloc(CE_UDP_PENDING, sizeof *cs->pending);
    if (!cs->pending) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

void ce_datagram_forget(ce_conns *cs) {
    free(cs->pending);
    cs->pending = NULL;
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

void ce_datagram_drop(ce_conns *cs, _Atomic uint64_t *counter, ce_ratelimit *limiter, ce_log_level level,
                      const ce_sockaddr *peer, const char *why) {
    ce_count(counter, 1);
    uint64_t suppressed;
    if (!ce_log_on(&cs->log, level) || !ce_ratelimit_allow(limiter, cs->now_ms, &suppressed)) return;
    char where[CE_ENDPOINT_LEN], more[56] = "";
    ce_net_format(&peer->sa, where, sizeof where);
    if (suppressed) snprintf(more, sizeof more, " (%" PRIu64 " more not logged)", suppressed);
    ce_log_field fields[2] = {{"peer.address", where}, {"reason", why}};
    ce_logf(&cs->log, level, fields, 2, "dropped datagram: %s%s", why, more);
}

/* Keep a deferred datagram's sender until its reply comes. 0, or -1 when the table is full
 * of entries younger than CE_UDP_PENDING_MS. */
static int pend(ce_conns *cs, int fd, uint64_t id, const ce_sockaddr *peer, socklen_t peer_len, size_t limit) {
    ce_udp_pending *slot = NULL;
    for (int i = 0; i < CE_UDP_PENDING; i++) {
        ce_udp_pending *p = &cs->pending[i];
        if (!p->id || cs->now_ms - p->since_ms >= CE_UDP_PENDING_MS) {
            slot = p; /* free, or abandoned: a handle that never completed */
            break;
        }
    }
    if (!slot) return -1;
    *slot = (ce_udp_pending){.id = id, .fd = fd, .limit = limit, .since_ms = cs->now_ms, .peer = *peer,
                             .peer_len = peer_len};
    return 0;
}

/* A hook answers one datagram: a connection of its own, opened and closed around the call.
 * Returns 1 when the reply staged in cs->staging is to be sent. */
static int hook_datagram(ce_conns *cs, int fd, const char *local, const ce_sockaddr *peer, socklen_t peer_len,
                         const char *data, size_t len) {
    ce_counters *n = &cs->counters;
    ce_conn c;
    memset(&c, 0, sizeof c);
    c.fd = fd;
    c.id = ++cs->next_conn_id;
    c.peer = *peer;
    if (cs->hooks.opened) {
        char from[CE_ENDPOINT_LEN];
        ce_net_format(&peer->sa, from, sizeof from);
        ce_conn_info info = {.fd = fd, .id = c.id, .peer = from, .local = local};
        c.user = cs->hooks.opened(cs->hooks.ctx, &info);
    }
    /* No reply may be larger than its datagram: the hook's writes stop there. */
    size_t limit = len < cs->config.max_reply ? len : cs->config.max_reply;
    int sends = 0;
    ce_action action = ce_hook_invoke(cs, &c, &cs->staging, limit, data, len);
    switch (action) {
    case CE_ACTION_REPLY:
    case CE_ACTION_REPLY_AND_CLOSE:
        if (!cs->reply.overflow) sends = 1;
        else if (limit == len) ce_datagram_drop(cs, &n->udp_too_large, &cs->udp_log.too_large, CE_LOG_NOTICE, peer,
                                                "reply larger than its datagram (amplification)");
        else ce_datagram_drop(cs, &n->replies_too_large, &cs->udp_log.max_reply, CE_LOG_WARNING, peer, "reply over max-reply");
        break;
    case CE_ACTION_DEFER:
        if (pend(cs, fd, c.id, peer, peer_len, len) == -1) {
            ce_datagram_drop(cs, &n->udp_deferred_refused, &cs->udp_log.deferred, CE_LOG_WARNING, peer,
                             "deferred reply refused: too many datagrams awaiting one");
            /* Nobody waits for this reply: the hook can stop working on it. */
            if (cs->hooks.abandoned) cs->hooks.abandoned(cs->hooks.ctx, c.user);
        }
        break;
    case CE_ACTION_FAIL:
        ce_datagram_drop(cs, &n->hook_errors, &cs->udp_log.hook_failed, CE_LOG_WARNING, peer,
                         cs->reply.failure[0] ? cs->reply.failure : "hook failed");
        break;
    default: /* declined, or closed: a datagram has no connection to close */
        break;
    }
    if (cs->hooks.closed) cs->hooks.closed(cs->hooks.ctx, c.user, CE_CLOSE_DATAGRAM);
    if (!sends) ce_datagram_done(cs);
    return sends;
}

void ce_datagram_done(ce_conns *cs) {
    ce_buf *b = &cs->staging;
    ce_buf_consume(b, ce_buf_len(b));
    if (b->cap > UDP_STAGING_KEEP) ce_buf_free(b);
}

int ce_datagram_answer(ce_conns *cs, int fd, const char *local, const ce_sockaddr *peer,
                       socklen_t peer_len, const char *data, size_t len, const char **reply,
                       size_t *reply_len) {
    ce_counters *n = &cs->counters;
    if (is_reflector_port(port_of(peer))) {
        ce_datagram_drop(cs, &n->udp_bad_port, &cs->udp_log.reflector, CE_LOG_NOTICE, peer,
                         "source port of a reflecting service (0, 7, 13, 17, 19)");
        return 0;
    }
    ce_ip ip;
    if (ce_ip_of(&peer->sa, &ip) == 0) {
        if (!ce_access_allows(cs->access, &ip)) {
            ce_datagram_drop(cs, &n->udp_not_allowed, &cs->access_log, CE_LOG_NOTICE, peer, "address not allowed");
            return 0;
        }
        if (!ce_access_udp_take(cs->access, &ip, cs->now_ms)) {
            ce_datagram_drop(cs, &n->udp_rate_limited, &cs->udp_log.rate, CE_LOG_NOTICE, peer,
                             "over the reply rate for its source");
            return 0;
        }
    }
    CE_COUNT(n, messages, 1);
    if (!cs->hooks.message) { /* the echo never leaves C */
        *reply = data;
        *reply_len = len;
        return 1;
    }
    if (!hook_datagram(cs, fd, local, peer, peer_len, data, len)) return 0;
    *reply = cs->staging.data ? cs->staging.data + cs->staging.start : "";
    *reply_len = ce_buf_len(&cs->staging);
    return 1;
}

int ce_datagram_deliver(ce_conns *cs, int fd, uint64_t id, ce_action action, size_t len,
                        ce_sockaddr *peer, socklen_t *peer_len) {
    ce_udp_pending *slot = NULL;
    for (int i = 0; cs->pending && i < CE_UDP_PENDING; i++)
        if (cs->pending[i].id == id && cs->pending[i].fd == fd) slot = &cs->pending[i];
    if (!slot) {
        CE_COUNT(&cs->counters, late_replies, 1);
        return 0;
    }
    ce_udp_pending entry = *slot;
    slot->id = 0;
    if (action != CE_ACTION_REPLY && action != CE_ACTION_REPLY_AND_CLOSE) return 0;
    if (len > entry.limit) {
        ce_datagram_drop(cs, &cs->counters.udp_too_large, &cs->udp_log.too_large, CE_LOG_NOTICE, &entry.peer,
                         "reply larger than its datagram (amplification)");
        return 0;
    }
    if (len > cs->config.max_reply) {
        ce_datagram_drop(cs, &cs->counters.replies_too_large, &cs->udp_log.max_reply, CE_LOG_WARNING, &entry.peer,
                         "reply over max-reply");
        return 0;
    }
    *peer = entry.peer;
    *peer_len = entry.peer_len;
    return 1;
}
