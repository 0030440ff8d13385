/*
 * engine_ready.c -- the readiness engine: a poller (select, poll, epoll, kqueue) says which
 * descriptors are ready, and the engine reads and writes them with recv() and send().
 * Layer: engine.
 *
 * Write first, then ask for writability: replies are sent the moment they exist, and only
 * what the kernel will not take waits in the connection's queue, with WRITABLE interest
 * registered just while it does (Redis's pending writes, libuv's uv__write). Level-triggered:
 * a descriptor left with bytes to read is reported again on the next turn.
 */
#include "engine.h"
#include "poller.h"

#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Ready descriptors taken per poller wait; more stay ready for the next turn. */
#define CE_MAX_FIRED 512

typedef struct ready_engine {
    const ce_backend *backend;
    const ce_poller_ops *poller;
    void *poller_state;
    ce_conns *cs;
    ce_fired fired[CE_MAX_FIRED];
} ready_engine;

static int is_transient(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

/* ---- The transport: what the connection layer asks of this engine -------------------- */

static int ready_attach(void *engine, ce_conn *c) {
    ready_engine *e = engine;
    if (e->poller->set(e->poller_state, c->fd, 0, CE_READABLE) == -1) return -1;
    c->io = CE_READABLE;
    return 0;
}

static ssize_t ready_send(void *engine, ce_conn *c, const char *p, size_t n) {
    ready_engine *e = engine;
    ssize_t w;
    do w = send(c->fd, p, n, CE_SEND_FLAGS); while (w == -1 && errno == EINTR);
    if (w == -1) {
        if (!is_transient(errno)) return -1;
        w = 0;
    }
    if (w > 0) ce_conn_sent(e->cs, c, (size_t)w);
    if ((size_t)w < n) CE_COUNT(&e->cs->counters, partial_writes, 1);
    return w;
}

/* Interest follows the connection: READABLE while it wants input, WRITABLE while output is
 * queued. */
static int ready_update(void *engine, ce_conn *c) {
    ready_engine *e = engine;
    int mask = (ce_conn_wants_read(e->cs, c) ? CE_READABLE : 0) | (ce_buf_len(&c->out) ? CE_WRITABLE : 0);
    if (mask == c->io) return 0;
    if (e->poller->set(e->poller_state, c->fd, c->io, mask) == -1) return -1;
    c->io = (uint8_t)mask;
    return 0;
}

static int ready_shutdown(void *engine, ce_conn *c) {
    (void)engine;
    return shutdown(c->fd, SHUT_WR);
}

static void ready_release(void *engine, ce_conn *c) {
    ready_engine *e = engine;
    if (c->io) (void)e->poller->set(e->poller_state, c->fd, c->io, 0);
    close(c->fd);
    free(c);
}

static const ce_transport ready_transport = {
    .attach = ready_attach,
    .send = ready_send,
    .update = ready_update,
    .shutdown = ready_shutdown,
    .release = ready_release,
};

/* ---- Readiness, turned into the connection's events ------------------------------------ */

/* Read once into where the connection wants its bytes. 0, or -1 when it closed. */
static int on_readable(ready_engine *e, ce_conn *c) {
    ce_conns *cs = e->cs;
    char *p = ce_conn_read_space(cs, c);
    if (!p) return -1;
    ssize_t n;
    do n = recv(c->fd, p, CE_READ_CHUNK, 0); while (n == -1 && errno == EINTR);
    if (n > 0) return ce_conn_received(cs, c, p, (size_t)n);
    if (n == 0) return ce_conn_peer_closed(cs, c);
    if (is_transient(errno)) return 0;
    ce_conn_failed(cs, c, errno);
    return -1;
}

/* Write what is queued. The queue is bounded by the output cap, so one event writes at most
 * that much: no fairness cap is needed beyond it. */
static void on_writable(ready_engine *e, ce_conn *c) {
    ce_conns *cs = e->cs;
    while (ce_buf_len(&c->out) > 0) {
        size_t len = ce_buf_len(&c->out);
        ssize_t w = send(c->fd, c->out.data + c->out.start, len, CE_SEND_FLAGS);
        if (w == -1) {
            if (errno == EINTR) continue;
            if (is_transient(errno)) break;
            ce_conn_failed(cs, c, errno);
            return;
        }
        ce_conn_sent_queued(cs, c, (size_t)w);
        if ((size_t)w < len) break; /* the kernel is full: asking again would only fail */
    }
    (void)ce_conn_advance(cs, c);
}

static void on_ready(ready_engine *e, ce_conn *c, int mask) {
    mask &= c->io; /* pollers report errors both ways; act only on what was asked for */
    if ((mask & CE_READABLE) && on_readable(e, c) == -1) return;
    if ((mask & CE_WRITABLE) && (c->io & CE_WRITABLE)) on_writable(e, c);
}

/* ---- The engine -------------------------------------------------------------------------- */

static void *ready_create(ce_conns *cs, const ce_backend *backend, int setsize, char *err, size_t errlen) {
    ready_engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "malloc(engine): %s", strerror(ENOMEM));
        return NULL;
    }
    e->backend = backend;
    e->poller = backend->variant;
    e->cs = cs;
    e->poller_state = e->poller->create(setsize, err, errlen);
    if (!e->poller_state) {
        free(e);
        return NULL;
    }
    ce_conns_set_transport(cs, &ready_transport, e, sizeof(ce_conn));
    return e;
}

static void ready_destroy(void *engine) {
    ready_engine *e = engine;
    e->poller->destroy(e->poller_state);
    free(e);
}

static int ready_watch(void *engine, int fd, int oldmask, int newmask) {
    ready_engine *e = engine;
    return e->poller->set(e->poller_state, fd, oldmask, newmask);
}

static int ready_turn(void *engine, int timeout_ms, ce_event *events, int max) {
    ready_engine *e = engine;
    ce_conns *cs = e->cs;
    int n = e->poller->wait(e->poller_state, timeout_ms, e->fired, CE_MAX_FIRED);
    if (n == -1) return -1;
    cs->now_ms = ce_now_ms();
    int out = 0;
    for (int i = 0; i < n; i++) {
        /* A connection closed earlier in this turn is no longer found: check before acting. */
        ce_conn *c = ce_conns_find(cs, e->fired[i].fd);
        if (c) on_ready(e, c, e->fired[i].mask);
        else if (out < max) events[out++] = (ce_event){e->fired[i].fd, e->fired[i].mask};
    }
    return out;
}

const ce_engine_ops ce_engine_ready = {
    .create = ready_create,
    .destroy = ready_destroy,
    .watch = ready_watch,
    .turn = ready_turn,
};
