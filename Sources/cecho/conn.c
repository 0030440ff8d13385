/*
 * conn.c -- one client connection: what arrives, what goes out, backpressure, half-close,
 * graceful drain and close. Layer: connection.
 *
 * The fast path (raw framing, built-in echo): the bytes that arrived are the reply, handed
 * straight back to the transport. Otherwise each arrival is framed and answered by message.c,
 * replies collect in the loop's staging buffer and go out once per event. Either way only
 * what the transport will not take now is queued, in the connection's own output buffer,
 * and the engine is asked to watch for writability only then (write first, then ask). So a
 * ping-pong message costs one receive and one send, and an idle connection owns no buffer.
 */
#include "conn.h"

#include "clock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A staging buffer grown past this by a large reply is released after use. */
#define CE_STAGING_KEEP (1 << 20)

const char *ce_close_reason_name(ce_close_reason reason) {
    switch (reason) {
    case CE_CLOSE_PEER: return "peer closed";
    case CE_CLOSE_RESET: return "reset";
    case CE_CLOSE_ERROR: return "error";
    case CE_CLOSE_IDLE_TIMEOUT: return "idle timeout";
    case CE_CLOSE_WRITE_TIMEOUT: return "write timeout";
    case CE_CLOSE_FRAME_TIMEOUT: return "frame timeout";
    case CE_CLOSE_MESSAGE_TOO_LARGE: return "message too large";
    case CE_CLOSE_REPLY_TOO_LARGE: return "reply too large";
    case CE_CLOSE_HOOK_ERROR: return "hook error";
    case CE_CLOSE_BY_HOOK: return "closed by hook";
    case CE_CLOSE_SHUTDOWN: return "shutdown";
    case CE_CLOSE_SHUTDOWN_FORCED: return "shutdown deadline";
    case CE_CLOSE_DATAGRAM: return "datagram answered";
    case CE_CLOSE_PROXY_INVALID: return "invalid PROXY header";
    case CE_CLOSE_PROXY_TIMEOUT: return "PROXY header timeout";
    case CE_CLOSE_REFUSED: return "refused";
    case CE_CLOSE_DEAD_PEER: return "dead peer";
    case CE_CLOSE_REPLY_TIMEOUT: return "reply timeout";
    }
    return "unknown";
}

/* A proxied connection's balancer: the socket's own peer, asked for when a line or a hook
 * needs it (keeping it would cost every connection a whole address). */
static void format_balancer(const ce_conn *c, char *out, size_t outlen) {
    ce_sockaddr sa;
    socklen_t len = sizeof sa;
    if (getpeername(c->fd, &sa.sa, &len) == -1) snprintf(out, outlen, "?");
    else ce_net_format_peer(c->fd, &sa.sa, out, outlen);
}

void ce_conn_logf(const ce_conns *cs, const ce_conn *c, ce_log_level level, const ce_log_field *fields,
                  size_t nfields, const char *fmt, ...) {
    if (!ce_log_on(&cs->log, level)) return;
    char id[24], peer[CE_ENDPOINT_LEN], proxy[CE_ENDPOINT_LEN];
    snprintf(id, sizeof id, "%" PRIu64, c->id);
    ce_net_format_peer(c->fd, &c->peer.sa, peer, sizeof peer);
    ce_log_field all[CE_LOG_FIELDS_MAX] = {{"conn.id", id}, {"peer.address", peer}};
    size_t n = 2;
    if (c->proxied) { /* the client's address above; the balancer's here */
        format_balancer(c, proxy, sizeof proxy);
        all[n++] = (ce_log_field){"proxy.address", proxy};
    }
    for (size_t i = 0; i < nfields && n < CE_LOG_FIELDS_MAX; i++) all[n++] = fields[i];
    va_list ap;
    va_start(ap, fmt);
    ce_vlogf(&cs->log, level, all, n, fmt, ap);
    va_end(ap);
}

/* Let the engine watch what the connection wants now. 0, or -1 after closing it. */
static int update_interest(ce_conns *cs, ce_conn *c) {
    if (cs->io->update(cs->engine, c) == -1) {
        ce_conn_close(cs, c, CE_CLOSE_ERROR, errno);
        return -1;
    }
    return 0;
}

/* Mark activity for the idle timeout. */
static inline void touch(ce_conns *cs, ce_conn *c) {
    if (cs->config.idle_timeout_ms) ce_tlist_touch(&cs->idle, &c->idle_link, cs->now_ms);
}

void ce_conn_failed(ce_conns *cs, ce_conn *c, int err) {
    /* ENOTCONN: shutdown() of a connection whose peer's RST arrived after our last send.
     * ETIMEDOUT: the kernel gave up on the peer (keepalive probes or the user timeout). */
    int reset = err == ECONNRESET || err == EPIPE || err == ENOTCONN;
    ce_close_reason reason = err == ETIMEDOUT ? CE_CLOSE_DEAD_PEER : reset ? CE_CLOSE_RESET : CE_CLOSE_ERROR;
    ce_conn_close(cs, c, reason, err);
}

void ce_conn_announce(ce_conns *cs, ce_conn *c) {
    if (!cs->hooks.opened) return;
    char peer[CE_ENDPOINT_LEN], local[CE_ENDPOINT_LEN] = "?", proxy[CE_ENDPOINT_LEN];
    ce_net_format_peer(c->fd, &c->peer.sa, peer, sizeof peer);
    (void)ce_net_local_endpoint(c->fd, local, sizeof local);
    ce_conn_info info = {.fd = c->fd, .id = c->id, .peer = peer, .local = local};
    if (c->proxied) {
        format_balancer(c, proxy, sizeof proxy);
        info.proxy = proxy;
    }
    c->user = cs->hooks.opened(cs->hooks.ctx, &info);
}

ce_conn *ce_conn_open(ce_conns *cs, int fd, const ce_sockaddr *peer) {
    ce_conn *c = calloc(1, cs->conn_size);
    if (!c) return NULL;
    c->fd = fd;
    c->id = ++cs->next_conn_id;
    c->peer = *peer;
    c->state = CONN_OPEN;
    c->proxy_wait = (uint8_t)(cs->config.proxy_protocol != 0);
    if (cs->io->attach(cs->engine, c) == -1) {
        free(c);
        return NULL;
    }
    cs->table[fd] = c;
    cs->count++;
    touch(cs, c);
    CE_COUNT(&cs->counters, accepted, 1);
    CE_COUNT(&cs->counters, active, 1);
    ce_conn_logf(cs, c, CE_LOG_DEBUG, NULL, 0, "new connection");
    if (c->proxy_wait) { /* served, and told to the hook, once its header names the client */
        if (cs->config.proxy_timeout_ms) ce_tlist_touch(&cs->proxies, &c->frame_link, cs->now_ms);
    } else {
        ce_conn_announce(cs, c);
    }
    return c;
}

void ce_conn_close(ce_conns *cs, ce_conn *c, ce_close_reason reason, int err) {
    if (ce_log_on(&cs->log, CE_LOG_DEBUG)) {
        ce_log_field fields[2] = {{"reason", ce_close_reason_name(reason)}, {"error", strerror(err)}};
        ce_conn_logf(cs, c, CE_LOG_DEBUG, fields, err ? 2 : 1, "closing connection");
    }
    /* Count first: once the peer sees the close, the counters must already say why. */
    ce_counters *n = &cs->counters;
    CE_UNCOUNT(n, active, 1);
    CE_COUNT(n, closed, 1);
    switch (reason) {
    case CE_CLOSE_RESET: CE_COUNT(n, resets, 1); break;
    case CE_CLOSE_ERROR: CE_COUNT(n, errors, 1); break;
    case CE_CLOSE_IDLE_TIMEOUT: CE_COUNT(n, idle_timeouts, 1); break;
    case CE_CLOSE_WRITE_TIMEOUT: CE_COUNT(n, write_timeouts, 1); break;
    case CE_CLOSE_FRAME_TIMEOUT: CE_COUNT(n, frame_timeouts, 1); break;
    case CE_CLOSE_SHUTDOWN_FORCED: CE_COUNT(n, shutdown_forced, 1); break;
    case CE_CLOSE_PROXY_INVALID: CE_COUNT(n, proxy_invalid, 1); break;
    case CE_CLOSE_PROXY_TIMEOUT: CE_COUNT(n, proxy_timeouts, 1); break;
    case CE_CLOSE_DEAD_PEER: CE_COUNT(n, dead_peers, 1); break;
    default: break;
    }
    ce_tlink_remove(&c->idle_link);
    ce_tlink_remove(&c->write_link);
    ce_tlink_remove(&c->frame_link);
    ce_conn_end_await(c);
    cs->table[c->fd] = NULL;
    cs->count--;
    ce_budget_give_back(cs->budget);
    ce_ip ip;
    if (c->ip_counted && ce_ip_of(&c->peer.sa, &ip) == 0) ce_access_conn_release(cs->access, &ip);
    if (cs->hooks.closed && !c->proxy_wait) cs->hooks.closed(cs->hooks.ctx, c->user, reason);
    ce_buf_free(&c->out);
    ce_buf_free(&c->in);
    cs->io->release(cs->engine, c);
}

void ce_conn_pause(ce_conns *cs, ce_conn *c) {
    if (c->paused) return;
    c->paused = 1;
    CE_COUNT(&cs->counters, backpressure_pauses, 1);
    if (ce_log_on(&cs->log, CE_LOG_DEBUG))
        ce_conn_logf(cs, c, CE_LOG_DEBUG, NULL, 0, "output over %zu bytes: reading paused",
                     cs->config.output_limit);
}

/* Output became pending (`was` bytes were before): the write timeout runs while it is, and
 * past the limit the connection stops reading, so a client that does not read its replies
 * stalls only itself. */
static void grew(ce_conns *cs, ce_conn *c, size_t was) {
    if (was == 0 && cs->config.write_timeout_ms) ce_tlist_touch(&cs->writes, &c->write_link, cs->now_ms);
    if (ce_conn_pending(c) >= cs->config.output_limit) ce_conn_pause(cs, c);
}

/* Reply bytes left for the kernel. */
static void wrote(ce_conns *cs, ce_conn *c, size_t n) {
    if (n) ce_conn_sent(cs, c, n);
}

/* Output made progress: the write timeout starts over, or stops once nothing is pending. */
static void progressed(ce_conns *cs, ce_conn *c) {
    if (ce_buf_len(&c->out) == 0) ce_buf_free(&c->out); /* idle connections keep no buffer */
    if (ce_conn_pending(c) == 0) ce_tlink_remove(&c->write_link);
    else if (cs->config.write_timeout_ms) ce_tlist_touch(&cs->writes, &c->write_link, cs->now_ms);
}

void ce_conn_sent_queued(ce_conns *cs, ce_conn *c, size_t n) {
    ce_buf_consume(&c->out, n);
    wrote(cs, c, n);
    if (ce_log_on(&cs->log, CE_LOG_TRACE))
        ce_conn_logf(cs, c, CE_LOG_TRACE, NULL, 0, "sent %zu queued bytes, %zu left", n, ce_buf_len(&c->out));
    progressed(cs, c);
}

void ce_conn_hold(ce_conns *cs, ce_conn *c, size_t n) {
    size_t was = ce_conn_pending(c);
    c->held += (uint32_t)n;
    grew(cs, c, was);
}

void ce_conn_sent_held(ce_conns *cs, ce_conn *c, size_t n) {
    c->held -= (uint32_t)n;
    wrote(cs, c, n);
    progressed(cs, c);
}

/* Queue bytes the transport did not take. 0, or -1 if closed. */
static int queue_output(ce_conns *cs, ce_conn *c, const char *p, size_t n) {
    size_t was = ce_conn_pending(c);
    if (ce_buf_append(&c->out, p, n, cs->output_cap) == -1) {
        ce_conn_close(cs, c, CE_CLOSE_ERROR, errno);
        return -1;
    }
    grew(cs, c, was);
    return 0;
}

/* Hand `n` reply bytes to the transport now; whatever it does not take is queued in order.
 * 0, or -1 if closed. */
static int transmit(ce_conns *cs, ce_conn *c, const char *p, size_t n) {
    ssize_t w = cs->io->send(cs->engine, c, p, n);
    if (w == -1) {
        ce_conn_failed(cs, c, errno);
        return -1;
    }
    if (ce_log_on(&cs->log, CE_LOG_TRACE)) ce_conn_logf(cs, c, CE_LOG_TRACE, NULL, 0, "sent %zd of %zu bytes", w, n);
    if ((size_t)w == n) return 0;
    return queue_output(cs, c, p + w, n - (size_t)w);
}

/* Send the replies this event staged. 0, or -1 if the connection closed. */
static int flush_staging(ce_conns *cs, ce_conn *c) {
    size_t n = ce_buf_len(&cs->staging);
    if (n == 0) return 0;
    int rc = transmit(cs, c, cs->staging.data + cs->staging.start, n);
    ce_buf_consume(&cs->staging, n);
    if (cs->staging.cap > CE_STAGING_KEEP) ce_buf_free(&cs->staging);
    return rc;
}

/* Keep the frame timer running only while an incomplete message waits. Not while a deferred
 * reply is due: nothing is framed meanwhile, and the link times the reply. */
static void track_incomplete(ce_conns *cs, ce_conn *c, int incomplete) {
    if (!cs->config.frame_timeout_ms || c->awaiting) return;
    if (incomplete && ce_buf_len(&c->in) > 0) {
        if (!ce_tlink_linked(&c->frame_link)) ce_tlist_touch(&cs->frames, &c->frame_link, cs->now_ms);
    } else {
        ce_tlink_remove(&c->frame_link);
    }
}

/* Answer the whole messages held in the connection's input buffer. Once the peer has closed
 * (or the server is stopping) an incomplete rest can never complete: it is answered as a last
 * line, or dropped. */
static void process_buffered(ce_conns *cs, ce_conn *c) {
    int incomplete = 0;
    size_t used = ce_messages_process(cs, c, c->in.data + c->in.start, ce_buf_len(&c->in), &incomplete);
    ce_buf_consume(&c->in, used);
    if (incomplete && c->state == CONN_PEER_CLOSED) ce_messages_flush_final(cs, c);
    if (incomplete && c->state == CONN_DRAINING) ce_buf_consume(&c->in, ce_buf_len(&c->in));
    if (ce_buf_len(&c->in) == 0) {
        ce_buf_free(&c->in); /* idle connections keep no buffer */
        c->scanned = 0;
    }
    track_incomplete(cs, c, incomplete);
}

/* After the write side is shut down, read and drop whatever the peer still sends until it
 * closes: closing with unread input would reset the connection and destroy the replies the
 * peer has not read yet (nginx's lingering close). 0, or -1 if closed. */
static int begin_linger(ce_conns *cs, ce_conn *c) {
    if (cs->io->shutdown(cs->engine, c) == -1) {
        ce_conn_failed(cs, c, errno);
        return -1;
    }
    c->state = CONN_LINGERING;
    ce_buf_free(&c->in);
    ce_tlink_remove(&c->frame_link);
    ce_tlist_touch(&cs->lingers, &c->frame_link, cs->now_ms);
    return update_interest(cs, c);
}

int ce_conn_advance(ce_conns *cs, ce_conn *c) {
    for (;;) {
        if (!cs->fast_echo && !c->paused && !c->awaiting && !c->closing && c->state != CONN_LINGERING &&
            !c->proxy_wait && ce_buf_len(&c->in) > 0)
            process_buffered(cs, c);
        if (flush_staging(cs, c) == -1) return -1;
        if (c->paused && ce_conn_pending(c) <= cs->config.output_limit / 4) {
            c->paused = 0; /* drained below a quarter: read and process again */
            if (!cs->fast_echo && ce_buf_len(&c->in) > 0 && c->state != CONN_LINGERING) continue;
        }
        break;
    }
    if (c->closing && ce_buf_len(&c->in) > 0) { /* messages after the closing one go unanswered */
        ce_buf_free(&c->in);
        c->scanned = 0;
    }
    int settled = ce_conn_pending(c) == 0 && !c->awaiting && ce_buf_len(&c->in) == 0;
    if (settled && c->state == CONN_PEER_CLOSED) {
        ce_conn_close(cs, c, c->closing ? (ce_close_reason)c->close_reason : CE_CLOSE_PEER, 0);
        return -1;
    }
    if (settled && (c->closing || c->state == CONN_DRAINING)) return begin_linger(cs, c);
    return update_interest(cs, c);
}

void ce_conn_close_after_flush(ce_conns *cs, ce_conn *c, ce_close_reason reason) {
    if (c->closing) return; /* the first reason stands */
    if (ce_log_on(&cs->log, CE_LOG_DEBUG)) {
        ce_log_field field = {"reason", ce_close_reason_name(reason)};
        ce_conn_logf(cs, c, CE_LOG_DEBUG, &field, 1, "closing once its replies are sent");
    }
    c->closing = 1;
    c->close_reason = (uint8_t)reason;
    ce_tlink_remove(&c->frame_link);
    /* The input may be mid-processing: ce_conn_advance() drops what is left of it. */
}

int ce_conn_peer_closed(ce_conns *cs, ce_conn *c) {
    if (c->proxy_wait) { /* its header can never complete now */
        ce_conn_proxy_give_up(cs, c, CE_CLOSE_PROXY_INVALID, "the peer closed before its PROXY header was whole");
        return -1;
    }
    if (c->state == CONN_LINGERING) { /* what it waited for: the replies were read */
        ce_conn_close(cs, c, (ce_close_reason)c->close_reason, 0);
        return -1;
    }
    /* What it sent still gets its replies before we close (half-close); a last line without
     * its terminator is answered too. */
    c->state = CONN_PEER_CLOSED;
    return ce_conn_advance(cs, c);
}

char *ce_conn_read_space_own(ce_conns *cs, ce_conn *c) {
    /* Echo with output queued: read straight into the queue behind it (order is kept, and no
     * copy is made). Below the limit (or reading would be paused) the cap leaves room for a
     * read, so this fails only when memory runs out: end the connection rather than spin.
     * Framing with a message begun: read into the input behind it. A lingering connection
     * holds no input, and its output went out before it began to linger. */
    ce_buf *own = cs->fast_echo ? &c->out : &c->in;
    if (ce_buf_len(own) == 0) return cs->scratch;
    size_t cap = own == &c->out ? cs->output_cap : cs->input_cap;
    if (ce_buf_reserve(own, CE_READ_CHUNK, cap) == -1) {
        ce_conn_close(cs, c, CE_CLOSE_ERROR, errno);
        return NULL;
    }
    return own->data + own->end;
}

/* The fast path: the bytes are their own echo. */
static int echo_received(ce_conns *cs, ce_conn *c, char *p, size_t n) {
    if (ce_buf_len(&c->out) > 0 && p == c->out.data + c->out.end) {
        c->out.end += n; /* read into the queue: nothing more to do than count it */
        if (ce_conn_pending(c) >= cs->config.output_limit) ce_conn_pause(cs, c);
    } else if (transmit(cs, c, p, n) == -1) {
        return -1;
    }
    return update_interest(cs, c);
}

/* Framing or a hook: answer every whole message. Fresh data is framed where it arrived; only
 * a message cut by the end of the read (or messages held back) is copied into the
 * connection's input buffer. Bytes behind input already waiting, or arriving while the
 * connection may not answer (paused, awaiting a reply: a completion engine still delivers
 * what it received before it was told), queue behind it, in order. */
static int framed_received(ce_conns *cs, ce_conn *c, char *p, size_t n) {
    if (c->closing) return ce_conn_advance(cs, c); /* messages after the closing one go unanswered */
    if (ce_buf_len(&c->in) > 0 || c->paused || c->awaiting) {
        if (p == c->in.data + c->in.end && ce_buf_len(&c->in) > 0) {
            c->in.end += n; /* read in place, behind the input (the readiness engines) */
        } else if (ce_buf_append(&c->in, p, n, cs->input_cap) == -1) {
            ce_conn_close(cs, c, CE_CLOSE_ERROR, errno);
            return -1;
        }
    } else {
        int incomplete = 0;
        size_t used = ce_messages_process(cs, c, p, n, &incomplete);
        if (used < n && !c->closing && ce_buf_append(&c->in, p + used, n - used, cs->input_cap) == -1) {
            ce_conn_close(cs, c, CE_CLOSE_ERROR, errno);
            return -1;
        }
        track_incomplete(cs, c, incomplete);
    }
    return ce_conn_advance(cs, c);
}

int ce_conn_deliver(ce_conns *cs, ce_conn *c, char *p, size_t n) {
    return cs->fast_echo ? echo_received(cs, c, p, n) : framed_received(cs, c, p, n);
}

int ce_conn_received(ce_conns *cs, ce_conn *c, char *p, size_t n) {
    /* Dropped while lingering (the peer is only being let finish) or draining (a stop ends
     * reading: what arrives after it is not answered, whatever the engine still received). */
    if (c->state == CONN_LINGERING || c->state == CONN_DRAINING) return 0;
    CE_COUNT(&cs->counters, bytes_in, n);
    touch(cs, c);
    if (ce_log_on(&cs->log, CE_LOG_TRACE)) ce_conn_logf(cs, c, CE_LOG_TRACE, NULL, 0, "received %zu bytes", n);
    return c->proxy_wait ? ce_conn_proxy_received(cs, c, p, n) : ce_conn_deliver(cs, c, p, n);
}

void ce_conn_begin_drain(ce_conns *cs, ce_conn *c) {
    if (c->proxy_wait) { /* never served: nothing to finish */
        ce_conn_close(cs, c, CE_CLOSE_SHUTDOWN, 0);
        return;
    }
    if (c->state != CONN_OPEN) return; /* already finishing on its own */
    c->state = CONN_DRAINING;
    if (!c->closing) c->close_reason = CE_CLOSE_SHUTDOWN;
    (void)ce_conn_advance(cs, c);
}
