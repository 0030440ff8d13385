/*
 * conn.c -- one client connection: read, echo, queue what the kernel would not take,
 * backpressure, half-close, graceful drain and close.
 *
 * The fast path: read into the loop's scratch buffer and send it straight back. Only when
 * the kernel takes part of a send does the connection get an output buffer, and then WRITABLE
 * interest until the buffer drains (write first, then ask for writability). So a ping-pong
 * message costs one read and one send, and an idle connection owns no buffer at all.
 */
#include "loop.h"
#include "net.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *ce_close_reason_name(ce_close_reason reason) {
    switch (reason) {
    case CE_CLOSE_PEER: return "peer closed";
    case CE_CLOSE_RESET: return "reset";
    case CE_CLOSE_ERROR: return "error";
    case CE_CLOSE_IDLE_TIMEOUT: return "idle timeout";
    case CE_CLOSE_WRITE_TIMEOUT: return "write timeout";
    case CE_CLOSE_SHUTDOWN: return "shutdown";
    case CE_CLOSE_SHUTDOWN_FORCED: return "shutdown deadline";
    }
    return "unknown";
}

static int is_transient(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

/* Output may hold the limit plus one read, the bound on a client that never reads. */
static size_t output_cap(const ce_loop *l) { return l->config.output_limit + CE_READ_CHUNK; }

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

/* Mark activity for the idle timeout. */
static inline void touch(ce_loop *l, ce_conn *c) {
    if (l->config.idle_timeout_ms) ce_tlist_touch(&l->idle, &c->idle_link, l->now_ms);
}

static void fail(ce_loop *l, ce_conn *c, int err) {
    int reset = err == ECONNRESET || err == EPIPE;
    ce_conn_close(l, c, reset ? CE_CLOSE_RESET : CE_CLOSE_ERROR, err);
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
    return c;
}

void ce_conn_close(ce_loop *l, ce_conn *c, ce_close_reason reason, int err) {
    if (ce_log_on(l, CE_LOG_DEBUG)) {
        ce_log_field fields[2] = {{"reason", ce_close_reason_name(reason)}, {"error", strerror(err)}};
        ce_conn_logf(l, c, CE_LOG_DEBUG, fields, err ? 2 : 1, "closing connection");
    }
    if (c->mask) (void)l->poller->set(l->poller_state, c->fd, c->mask, 0);
    ce_tlink_remove(&c->idle_link);
    ce_tlink_remove(&c->write_link);
    close(c->fd);
    ce_buf_free(&c->out);
    l->conns[c->fd] = NULL;
    l->nconns--;
    CE_UNCOUNT(l, active, 1);
    CE_COUNT(l, closed, 1);
    switch (reason) {
    case CE_CLOSE_RESET: CE_COUNT(l, resets, 1); break;
    case CE_CLOSE_ERROR: CE_COUNT(l, errors, 1); break;
    case CE_CLOSE_IDLE_TIMEOUT: CE_COUNT(l, idle_timeouts, 1); break;
    case CE_CLOSE_WRITE_TIMEOUT: CE_COUNT(l, write_timeouts, 1); break;
    case CE_CLOSE_SHUTDOWN_FORCED: CE_COUNT(l, shutdown_forced, 1); break;
    default: break;
    }
    free(c);
}

/* Stop reading once queued output passes the limit: a client that does not read its
 * echo stalls only itself, holding at most the limit plus one read. */
static int pause_if_full(ce_loop *l, ce_conn *c) {
    if (c->paused || ce_buf_len(&c->out) < l->config.output_limit) return 0;
    c->paused = 1;
    CE_COUNT(l, backpressure_pauses, 1);
    if (ce_log_on(l, CE_LOG_DEBUG))
        ce_conn_logf(l, c, CE_LOG_DEBUG, NULL, 0, "output over %zu bytes: reading paused",
                     l->config.output_limit);
    return set_mask(l, c, c->mask & ~CE_READABLE);
}

/* Queue bytes the kernel did not take; from now on the connection waits for WRITABLE. */
static int queue_output(ce_loop *l, ce_conn *c, const char *p, size_t n) {
    int was_empty = ce_buf_len(&c->out) == 0;
    if (ce_buf_append(&c->out, p, n, output_cap(l)) == -1) {
        ce_conn_close(l, c, CE_CLOSE_ERROR, errno);
        return -1;
    }
    if (was_empty && l->config.write_timeout_ms) ce_tlist_touch(&l->writes, &c->write_link, l->now_ms);
    if (set_mask(l, c, c->mask | CE_WRITABLE) == -1) return -1;
    return pause_if_full(l, c);
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
    if (w > 0) CE_COUNT(l, bytes_out, w);
    if (ce_log_on(l, CE_LOG_TRACE)) ce_conn_logf(l, c, CE_LOG_TRACE, NULL, 0, "sent %zd of %zu bytes", w, n);
    if ((size_t)w == n) return 0;
    CE_COUNT(l, partial_writes, 1);
    return queue_output(l, c, p + w, n - (size_t)w);
}

/* The peer sent FIN: its echo still goes out in full before we close (half-close). */
static void on_peer_eof(ce_loop *l, ce_conn *c) {
    if (ce_buf_len(&c->out) == 0) {
        ce_conn_close(l, c, CE_CLOSE_PEER, 0);
        return;
    }
    c->state = CONN_PEER_CLOSED;
    (void)set_mask(l, c, c->mask & ~CE_READABLE);
}

/* Read one chunk and echo it. With output already queued, read straight into the output
 * buffer behind it (order is kept, and no copy is made). */
static void on_readable(ce_loop *l, ce_conn *c) {
    int queued = ce_buf_len(&c->out) > 0;
    char *dst = l->scratch;
    if (queued) {
        /* Below the limit (or reading would be paused) the cap leaves room for a chunk, so
         * this fails only when memory runs out: end the connection rather than spin. */
        if (ce_buf_reserve(&c->out, CE_READ_CHUNK, output_cap(l)) == -1) {
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
        if (ce_log_on(l, CE_LOG_TRACE))
            ce_conn_logf(l, c, CE_LOG_TRACE, NULL, 0, "received %zd bytes", n);
        if (!queued) {
            (void)send_or_queue(l, c, dst, (size_t)n);
            return;
        }
        c->out.end += (size_t)n;
        (void)pause_if_full(l, c);
    } else if (n == 0) {
        on_peer_eof(l, c);
    } else if (!is_transient(errno)) {
        fail(l, c, errno);
    }
}

/* After the write side is shut down, read and drop whatever the peer still sends until it
 * closes: closing with unread input would reset the connection and destroy the echo the
 * peer has not read yet (nginx's lingering close). */
static void discard_input(ce_loop *l, ce_conn *c) {
    ssize_t n;
    do n = recv(c->fd, l->scratch, CE_READ_CHUNK, 0); while (n == -1 && errno == EINTR);
    if (n == 0) ce_conn_close(l, c, CE_CLOSE_SHUTDOWN, 0);
    else if (n == -1 && !is_transient(errno)) fail(l, c, errno);
}

static void begin_linger(ce_loop *l, ce_conn *c) {
    if (shutdown(c->fd, SHUT_WR) == -1) {
        fail(l, c, errno);
        return;
    }
    c->state = CONN_LINGERING;
    (void)set_mask(l, c, CE_READABLE);
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
        if (ce_log_on(l, CE_LOG_TRACE))
            ce_conn_logf(l, c, CE_LOG_TRACE, NULL, 0, "sent %zd queued bytes, %zu left", w, ce_buf_len(&c->out));
        touch(l, c);
        if (l->config.write_timeout_ms) ce_tlist_touch(&l->writes, &c->write_link, l->now_ms);
        if ((size_t)w < len) break; /* the kernel is full: asking again would only fail */
    }
    if (ce_buf_len(&c->out) > 0) {
        if (c->paused && c->state == CONN_OPEN && ce_buf_len(&c->out) <= l->config.output_limit / 4) {
            c->paused = 0;
            (void)set_mask(l, c, c->mask | CE_READABLE);
        }
        return;
    }
    ce_buf_free(&c->out); /* idle connections keep no buffer */
    ce_tlink_remove(&c->write_link);
    c->paused = 0;
    switch (c->state) {
    case CONN_PEER_CLOSED: ce_conn_close(l, c, CE_CLOSE_PEER, 0); return;
    case CONN_DRAINING: begin_linger(l, c); return;
    default: (void)set_mask(l, c, CE_READABLE); return;
    }
}

void ce_conn_on_event(ce_loop *l, ce_conn *c, int mask) {
    int fd = c->fd;
    mask &= c->mask; /* backends report errors both ways; act only on what we asked for */
    if (mask & CE_READABLE) {
        if (c->state == CONN_LINGERING) discard_input(l, c);
        else on_readable(l, c);
        if (!l->conns[fd]) return; /* closed while reading */
    }
    if ((mask & CE_WRITABLE) && (c->mask & CE_WRITABLE)) on_writable(l, c);
}

void ce_conn_begin_drain(ce_loop *l, ce_conn *c) {
    switch (c->state) {
    case CONN_OPEN:
        if (ce_buf_len(&c->out) == 0) {
            begin_linger(l, c);
            return;
        }
        c->state = CONN_DRAINING;
        (void)set_mask(l, c, CE_WRITABLE);
        return;
    default: return; /* already finishing on its own */
    }
}
