/*
 * udp.c -- the loop's UDP sockets: receiving datagrams and sending their replies. What each
 * datagram gets (the reflection and amplification checks, echo or hook) is the connection
 * layer's to say (datagram.c). Layer: loop.
 *
 * UDP has no backpressure: a reply the socket will not take now is dropped and counted, never
 * queued, so memory stays flat whatever arrives.
 */
#include "loop.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

ce_udp *ce_udp_find(ce_loop *l, int fd) {
    for (size_t i = 0; i < l->nudp; i++)
        if (l->udp[i].fd == fd) return &l->udp[i];
    return NULL;
}

int ce_loop_add_udp(ce_loop *l, int fd, char *err, size_t errlen) {
    int saved = EINVAL;
    if (!l->conns.access || !ce_access_limits_udp(l->conns.access)) {
        snprintf(err, errlen, "UDP needs an access policy with a reply rate (amplification protection)");
        goto fail;
    }
    if (l->nudp == CE_MAX_LISTENERS) {
        snprintf(err, errlen, "more than %d UDP sockets", CE_MAX_LISTENERS);
        saved = ENOSPC;
        goto fail;
    }
    if (fd >= l->backend->fd_bound || fd >= l->conns.setsize) {
        snprintf(err, errlen, "UDP descriptor %d is beyond what the %s backend can watch", fd, l->backend->name);
        saved = EBADF;
        goto fail;
    }
    if (ce_datagram_prepare(&l->conns) == -1) {
        snprintf(err, errlen, "malloc(UDP pending table): %s", strerror(ENOMEM));
        saved = ENOMEM;
        goto fail;
    }
    if (l->backend->engine->watch(l->engine, fd, 0, CE_READABLE) == -1) {
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
        (void)l->backend->engine->watch(l->engine, l->udp[i].fd, l->udp[i].mask, 0);
        close(l->udp[i].fd);
    }
    l->nudp = 0;
    ce_datagram_forget(&l->conns);
}

/* Send one reply datagram; what the socket will not take now is dropped, never queued. */
static void send_reply(ce_loop *l, int fd, const ce_sockaddr *peer, socklen_t peer_len, const char *p, size_t n) {
    ce_conns *cs = &l->conns;
    /* Count first: once the peer has the reply, the counters must already say so. */
    CE_COUNT(&cs->counters, udp_out, 1);
    CE_COUNT(&cs->counters, bytes_out, n);
    ssize_t w;
    do w = sendto(fd, p, n, CE_SEND_FLAGS, &peer->sa, peer_len); while (w == -1 && errno == EINTR);
    if (w == -1) {
        CE_UNCOUNT(&cs->counters, udp_out, 1);
        CE_UNCOUNT(&cs->counters, bytes_out, n);
        ce_datagram_drop(cs, &cs->counters.udp_send_dropped, &cs->udp_log.send, CE_LOG_DEBUG, peer, strerror(errno));
    }
}

void ce_udp_on_readable(ce_loop *l, ce_udp *u) {
    ce_conns *cs = &l->conns;
    for (int i = 0; i < CE_UDP_DATAGRAMS_PER_EVENT; i++) {
        ce_sockaddr peer;
        socklen_t peer_len = sizeof peer;
        ssize_t n;
        /* CE_READ_CHUNK (64 KiB) holds the largest UDP payload, 65507 bytes over IPv4 and
         * 65527 over IPv6: nothing is ever truncated. */
        do n = recvfrom(u->fd, cs->scratch, CE_READ_CHUNK, 0, &peer.sa, &peer_len); while (n == -1 && errno == EINTR);
        if (n == -1) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNREFUSED) {
                CE_COUNT(&cs->counters, errors, 1);
                ce_log_field field = {"error", strerror(errno)};
                ce_logf(&cs->log, CE_LOG_ERROR, &field, 1, "UDP receive failed");
            }
            return;
        }
        CE_COUNT(&cs->counters, udp_in, 1);
        CE_COUNT(&cs->counters, bytes_in, n);
        if (ce_log_on(&cs->log, CE_LOG_TRACE)) {
            char from[CE_ENDPOINT_LEN];
            ce_net_format(&peer.sa, from, sizeof from);
            ce_log_field field = {"peer.address", from};
            ce_logf(&cs->log, CE_LOG_TRACE, &field, 1, "received a datagram of %zd bytes", n);
        }
        const char *reply;
        size_t reply_len;
        if (ce_datagram_answer(cs, u->fd, u->local, &peer, peer_len, cs->scratch, (size_t)n, &reply, &reply_len)) {
            send_reply(l, u->fd, &peer, peer_len, reply, reply_len);
            ce_datagram_done(cs);
        }
    }
}

void ce_udp_deliver(ce_loop *l, ce_udp *u, const ce_post *p) {
    ce_sockaddr peer;
    socklen_t peer_len;
    if (ce_datagram_deliver(&l->conns, u->fd, p->id, p->action, p->len, &peer, &peer_len))
        send_reply(l, u->fd, &peer, peer_len, p->data, p->len);
}
