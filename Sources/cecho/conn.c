/*
 * conn.c -- one client connection: reading, writing, backpressure, half-close, graceful
 * drain and close.
 *
 * The fast path (raw framing, built-in echo): read into the loop's scratch buffer and send it
 * straight back. Otherwise each read is framed and answered by message.c, replies collect in
 * the loop's staging buffer and go out once per event. Either way only what the kernel will
 * not take is queued, in the connection's own output buffer, and only then is WRITABLE
 * interest registered (write first, then ask for writability). So a ping-pong message costs
 * one read and one send, and an idle connection owns no buffer at all.
 */
#include "loop.h"
#include "net.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    }
    return "unknown";
}

static int is_transient(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

/* Register `mask` with the poller if it changed. 0, or -1 after closing the connection. */
static int set_mask(ce_loop *l, ce_conn *c, int mask) {
    if (mask == c->mask) return 0;
    if (l->poller->set(l->poller_state, c->fd, c->mask, mask) == -1) {
        ce_conn_close(l, c, CE_CLOSE_ERROR, errno);
        return -1;
    }
    c->mask = (uint8_t)mask;
    return 0;
}

/* Whether the connection should be reading now. While a deferred reply is due it still
 * reads, into its input buffer, as long as a whole read fits: so a peer that resets or closes
 * meanwhile is noticed, and a half-close still gets every reply. */
static int wants_read(const ce_loop *l, const ce_conn *c) {
    switch (c->state) {
    case CONN_OPEN:
        if (c->paused || c->closing) return 0;
        return !c->awaiting || ce_buf_len(&c->in) + CE_READ_CHUNK <= l->input_cap;
    case CONN_LINGERING: return 1;
    default: return 0;
    }
}

/* Interest follows state: READABLE while it may read, WRITABLE while output is queued. */
static int update_interest(ce_loop *l, ce_conn *c) {
    return set_mask(l, c, (wants_read(l, c) ? CE_READABLE : 0) | (ce_buf_len(&c->out) ? CE_WRITABLE : 0));
}

/* Mark activity for the idle timeout. */
static inline void touch(ce_loop *l, ce_conn *c) {
    if (l->config.idle_timeout_ms) ce_tlist_touch(&l->idle, &c->idle_link, l->now_ms);
}

static void fail(ce_loop *l, ce_conn *c, int err) {
    /* ENOTCONN: shutdown() of a connection whose peer's RST arrived after our last send. */
    int reset = err == ECONNRESET || err == EPIPE || err == ENOTCONN;
    ce_conn_close(l, c, reset ? CE_CLOSE_RESET : CE_CLOSE_ERROR, err);
}

/* Tell the hook about a new connection; it returns the context it wants back. */
static void announce(ce_loop *l, ce_conn *c) {
    char peer[CE_ENDPOINT_LEN], local[CE_ENDPOINT_LEN] = "?";
    ce_net_format_peer(c->fd, &c->peer.sa, peer, sizeof peer);
    (void)ce_net_local_endpoint(c->fd, local, sizeof local);
    ce_conn_info info = {.fd = c->fd, .id = c->id, .peer = peer, .local = local};
    c->user = l->hooks.opened(l->hooks.ctx, &info);
}

ce_conn *ce_conn_open(ce_loop *l, int fd, const ce_sockaddr *peer) {
    ce_conn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->fd = fd;
    c->id = ++l->next_conn_id;
    c->peer = *peer;
    c->state = CONN_OPEN;
    if (l->poller->set(l->poller_state, fd, 0, CE_READABLE) == -1) {
        free(c);
        return NULL;
    }
    c->mask = CE_READABLE;
    l->conns[fd] = c;
    l->nconns++;
    touch(l, c);
    CE_COUNT(l, accepted, 1);
    CE_COUNT(l, active, 1);
    ce_conn_logf(l, c, CE_LOG_DEBUG, NULL, 0, "new connection");
    if (l->hooks.opened) announce(l, c);
    return c;
}

void ce_conn_close(ce_loop *l, ce_conn *c, ce_close_reason reason, int err) {
    if (ce_log_on(l, CE_LOG_DEBUG)) {
        ce_log_field fields[2] = {{"reason", ce_close_reason_name(reason)}, {"error", strerror(err)}};
        ce_conn_logf(l, c, CE_LOG_DEBUG, fields, err ? 2 : 1, "closing connection");
    }
    /* Count first: once the peer sees the close, the counters must already say why. */
    CE_UNCOUNT(l, active, 1);
    CE_COUNT(l, closed, 1);
    switch (reason) {
    case CE_CLOSE_RESET: CE_COUNT(l, resets, 1); break;
    case CE_CLOSE_ERROR: CE_COUNT(l, errors, 1); break;
    case CE_CLOSE_IDLE_TIMEOUT: CE_COUNT(l, idle_timeouts, 1); break;
    case CE_CLOSE_WRITE_TIMEOUT: CE_COUNT(l, write_timeouts, 1); break;
    case CE_CLOSE_FRAME_TIMEOUT: CE_COUNT(l, frame_timeouts, 1); break;
    case CE_CLOSE_SHUTDOWN_FORCED: CE_COUNT(l, shutdown_forced, 1); break;
    default: break;
    }
    if (c->mask) (void)l->poller->set(l->poller_state, c->fd, c->mask, 0);
    ce_tlink_remove(&c->idle_link);
    ce_tlink_remove(&c->write_link);
    ce_tlink_remove(&c->frame_link);
    close(c->fd);
    l->conns[c->fd] = NULL;
    l->nconns--;
    ce_budget_give_back(l->budget);
    ce_ip ip;
    if (c->ip_counted && ce_ip_of(&c->peer.sa, &ip) == 0) ce_access_conn_release(l->config.access, &ip);
    if (l->hooks.closed) l->hooks.closed(l->hooks.ctx, c->user, reason);
    ce_buf_free(&c->out);
    ce_buf_free(&c->in);
    free(c);
}

void ce_conn_pause(ce_loop *l, ce_conn *c) {
    if (c->paused) return;
    c->paused = 1;
    CE_COUNT(l, backpressure_pauses, 1);
    if (ce_log_on(l, CE_LOG_DEBUG))
        ce_conn_logf(l, c, CE_LOG_DEBUG, NULL, 0, "output over %zu bytes: reading paused",
                     l->config.output_limit);
}

/* Queue bytes the kernel did not take. A client that does not read its replies stalls only
 * itself: past the limit the connection stops reading. 0, or -1 if closed. */
static int queue_output(ce_loop *l, ce_conn *c, const char *p, size_t n) {
    int was_empty = ce_buf_len(&c->out) == 0;
    if (ce_buf_append(&c->out, p, n, l->output_cap) == -1) {
        ce_conn_close(l, c, CE_CLOSE_ERROR, errno);
        return -1;
    }
    if (was_empty && l->config.write_timeout_ms) ce_tlist_touch(&l->writes, &c->write_link, l->now_ms);
    if (ce_buf_len(&c->out) >= l->config.output_limit) ce_conn_pause(l, c);
    return 0;
}

/* Send `n` bytes now; whatever the kernel refuses is queued in order. 0, or -1 if closed. */
static int send_or_queue(ce_loop *l, ce_conn *c, const char *p, size_t n) {
    ssize_t w;
    do w = send(c->fd, p, n, CE_SEND_FLAGS); while (w == -1 && errno == EINTR);
    if (w == -1) {
        if (!is_transient(errno)) {
            fail(l, c, errno);
            return -1;
        }
        w = 0;
    }
    if (w > 0) {
        CE_COUNT(l, bytes_out, w);
        touch(l, c);
    }
    if (ce_log_on(l, CE_LOG_TRACE)) ce_conn_logf(l, c, CE_LOG_TRACE, NULL, 0, "sent %zd of %zu bytes", w, n);
    if ((size_t)w == n) return 0;
    CE_COUNT(l, partial_writes, 1);
    return queue_output(l, c, p + w, n - (size_t)w);
}

/* Send the replies this event staged. 0, or -1 if the connection closed. */
static int flush_staging(ce_loop *l, ce_conn *c) {
    size_t n = ce_buf_len(&l->staging);
    if (n == 0) return 0;
    int rc = send_or_queue(l, c, l->staging.data + l->staging.start, n);
    ce_buf_consume(&l->staging, n);
    if (l->staging.cap > CE_STAGING_KEEP) ce_buf_free(&l->staging);
    return rc;
}

/* Keep the frame timer running only while an incomplete message waits. */
static void track_incomplete(ce_loop *l, ce_conn *c, int incomplete) {
    if (!l->config.frame_timeout_ms) return;
    if (incomplete && ce_buf_len(&c->in) > 0) {
        if (!ce_tlink_linked(&c->frame_link)) ce_tlist_touch(&l->frames, &c->frame_link, l->now_ms);
    } else {
        ce_tlink_remove(&c->frame_link);
    }
}

/* Answer the whole messages held in the connection's input buffer. Once the peer has closed
 * (or the server is stopping) an incomplete rest can never complete: it is answered as a last
 * line, or dropped. */
static void process_buffered(ce_loop *l, ce_conn *c) {
    int incomplete = 0;
    size_t used = ce_messages_process(l, c, c->in.data + c->in.start, ce_buf_len(&c->in), &incomplete);
    ce_buf_consume(&c->in, used);
    if (incomplete && c->state == CONN_PEER_CLOSED) ce_messages_flush_final(l, c);
    if (incomplete && c->state == CONN_DRAINING) ce_buf_consume(&c->in, ce_buf_len(&c->in));
    if (ce_buf_len(&c->in) == 0) {
        ce_buf_free(&c->in); /* idle connections keep no buffer */
        c->scanned = 0;
    }
    track_incomplete(l, c, incomplete);
}

/* After the write side is shut down, read and drop whatever the peer still sends until it
 * closes: closing with unread input would reset the connection and destroy the replies the
 * peer has not read yet (nginx's lingering close). */
static void begin_linger(ce_loop *l, ce_conn *c) {
    if (shutdown(c->fd, SHUT_WR) == -1) {
        fail(l, c, errno);
        return;
    }
    c->state = CONN_LINGERING;
    ce_buf_free(&c->in);
    ce_tlink_remove(&c->frame_link);
    ce_tlist_touch(&l->lingers, &c->frame_link, l->now_ms);
    (void)update_interest(l, c);
}

void ce_conn_advance(ce_loop *l, ce_conn *c) {
    for (;;) {
        if (!l->fast_echo && !c->paused && !c->awaiting && !c->closing && c->state != CONN_LINGERING &&
            ce_buf_len(&c->in) > 0)
            process_buffered(l, c);
        if (flush_staging(l, c) == -1) return;
        if (c->paused && ce_buf_len(&c->out) <= l->config.output_limit / 4) {
            c->paused = 0; /* drained below a quarter: read and process again */
            if (!l->fast_echo && ce_buf_len(&c->in) > 0 && c->state != CONN_LINGERING) continue;
        }
        break;
    }
    if (c->closing && ce_buf_len(&c->in) > 0) { /* messages after the closing one go unanswered */
        ce_buf_free(&c->in);
        c->scanned = 0;
    }
    int settled = ce_buf_len(&c->out) == 0 && !c->awaiting && ce_buf_len(&c->in) == 0;
    if (settled && c->state == CONN_PEER_CLOSED) {
        ce_conn_close(l, c, c->closing ? (ce_close_reason)c->close_reason : CE_CLOSE_PEER, 0);
        return;
    }
    if (settled && (c->closing || c->state == CONN_DRAINING)) {
        begin_linger(l, c);
        return;
    }
    (void)update_interest(l, c);
}

void ce_conn_close_after_flush(ce_loop *l, ce_conn *c, ce_close_reason reason) {
    if (c->closing) return; /* the first reason stands */
    if (ce_log_on(l, CE_LOG_DEBUG)) {
        ce_log_field field = {"reason", ce_close_reason_name(reason)};
        ce_conn_logf(l, c, CE_LOG_DEBUG, &field, 1, "closing once its replies are sent");
    }
    c->closing = 1;
    c->close_reason = (uint8_t)reason;
    ce_tlink_remove(&c->frame_link);
    /* The input may be mid-processing: ce_conn_advance() drops what is left of it. */
}

/* The peer sent FIN: what it sent still gets its replies before we close (half-close). */
static void on_peer_eof(ce_loop *l, ce_conn *c) {
    c->state = CONN_PEER_CLOSED;
    ce_conn_advance(l, c); /* answers a last line without its terminator */
}

/* The fast path: read one chunk and echo it. With output already queued, read straight into
 * the output buffer behind it (order is kept, and no copy is made). */
static void echo_readable(ce_loop *l, ce_conn *c) {
    int queued = ce_buf_len(&c->out) > 0;
    char *dst = l->scratch;
    if (queued) {
        /* Below the limit (or reading would be paused) the cap leaves room for a chunk, so
         * this fails only when memory runs out: end the connection rather than spin. */
        if (ce_buf_reserve(&c->out, CE_READ_CHUNK, l->output_cap) == -1) {
            ce_conn_close(l, c, CE_CLOSE_ERROR, errno);
            return;
        }
        dst = c->out.data + c->out.end;
    }
    ssize_t n;
    do n = recv(c->fd, dst, CE_READ_CHUNK, 0); while (n == -1 && errno == EINTR);
    if (n > 0) {
        CE_COUNT(l, bytes_in, n);
        touch(l, c);
        if (ce_log_on(l, CE_LOG_TRACE)) ce_conn_logf(l, c, CE_LOG_TRACE, NULL, 0, "received %zd bytes", n);
        if (!queued) {
            if (send_or_queue(l, c, dst, (size_t)n) == -1) return;
        } else {
            c->out.end += (size_t)n;
            if (ce_buf_len(&c->out) >= l->config.output_limit) ce_conn_pause(l, c);
        }
        (void)update_interest(l, c);
    } else if (n == 0) {
        on_peer_eof(l, c);
    } else if (!is_transient(errno)) {
        fail(l, c, errno);
    }
}

/* Framing or a hook: read, then answer every whole message. Fresh data is framed where it
 * was read; only a message cut by the end of the read (or messages held back) is copied into
 * the connection's input buffer. */
static void framed_readable(ce_loop *l, ce_conn *c) {
    int buffered = ce_buf_len(&c->in) > 0;
    char *dst = l->scratch;
    if (buffered) {
        if (ce_buf_reserve(&c->in, CE_READ_CHUNK, l->input_cap) == -1) {
            ce_conn_close(l, c, CE_CLOSE_ERROR, errno);
            return;
        }
        dst = c->in.data + c->in.end;
    }
    ssize_t n;
    do n = recv(c->fd, dst, CE_READ_CHUNK, 0); while (n == -1 && errno == EINTR);
    if (n == 0) {
        on_peer_eof(l, c);
        return;
    }
    if (n == -1) {
        if (!is_transient(errno)) fail(l, c, errno);
        return;
    }
    CE_COUNT(l, bytes_in, n);
    touch(l, c);
    if (ce_log_on(l, CE_LOG_TRACE)) ce_conn_logf(l, c, CE_LOG_TRACE, NULL, 0, "received %zd bytes", n);
    if (buffered) {
        c->in.end += (size_t)n; /* ce_conn_advance() answers it */
    } else {
        int incomplete = 0;
        size_t used = ce_messages_process(l, c, dst, (size_t)n, &incomplete);
        if (used < (size_t)n && !c->closing &&
            ce_buf_append(&c->in, dst + used, (size_t)n - used, l->input_cap) == -1) {
            ce_conn_close(l, c, CE_CLOSE_ERROR, errno);
            return;
        }
        track_incomplete(l, c, incomplete);
    }
    ce_conn_advance(l, c);
}

static void discard_input(ce_loop *l, ce_conn *c) {
    ssize_t n;
    do n = recv(c->fd, l->scratch, CE_READ_CHUNK, 0); while (n == -1 && errno == EINTR);
    if (n == 0) ce_conn_close(l, c, (ce_close_reason)c->close_reason, 0);
    else if (n == -1 && !is_transient(errno)) fail(l, c, errno);
}

/* Write what is queued. The queue is bounded by the output cap, so one event writes at most
 * that much: no fairness cap is needed beyond it. */
static void on_writable(ce_loop *l, ce_conn *c) {
    while (ce_buf_len(&c->out) > 0) {
        size_t len = ce_buf_len(&c->out);
        ssize_t w = send(c->fd, c->out.data + c->out.start, len, CE_SEND_FLAGS);
        if (w == -1) {
            if (errno == EINTR) continue;
            if (is_transient(errno)) break;
            fail(l, c, errno);
            return;
        }
        ce_buf_consume(&c->out, (size_t)w);
        CE_COUNT(l, bytes_out, w);
        touch(l, c);
        if (l->config.write_timeout_ms) ce_tlist_touch(&l->writes, &c->write_link, l->now_ms);
        if (ce_log_on(l, CE_LOG_TRACE))
            ce_conn_logf(l, c, CE_LOG_TRACE, NULL, 0, "sent %zd queued bytes, %zu left", w, ce_buf_len(&c->out));
        if ((size_t)w < len) break; /* the kernel is full: asking again would only fail */
    }
    if (ce_buf_len(&c->out) == 0) {
        ce_buf_free(&c->out); /* idle connections keep no buffer */
        ce_tlink_remove(&c->write_link);
    }
    ce_conn_advance(l, c);
}

void ce_conn_on_event(ce_loop *l, ce_conn *c, int mask) {
    int fd = c->fd;
    mask &= c->mask; /* backends report errors both ways; act only on what we asked for */
    if (mask & CE_READABLE) {
        if (c->state == CONN_LINGERING) discard_input(l, c);
        else if (l->fast_echo) echo_readable(l, c);
        else framed_readable(l, c);
        if (!l->conns[fd]) return; /* closed while reading */
    }
    if ((mask & CE_WRITABLE) && (c->mask & CE_WRITABLE)) on_writable(l, c);
}

void ce_conn_begin_drain(ce_loop *l, ce_conn *c) {
    if (c->state != CONN_OPEN) return; /* already finishing on its own */
    c->state = CONN_DRAINING;
    if (!c->closing) c->close_reason = CE_CLOSE_SHUTDOWN;
    ce_conn_advance(l, c);
}
