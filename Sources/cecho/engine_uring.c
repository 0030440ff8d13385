/*
 * engine_uring.c -- the completion engine: io_uring. Layer: engine.
 *
 * Where the readiness engine asks "may I read?" and then reads, this one asks the kernel to
 * receive and send, and is told when it has. One io_uring_enter per turn submits everything
 * the turn queued and waits for the next completions (SINGLE_ISSUER, DEFER_TASKRUN: the
 * kernel finishes requests only while the loop's thread waits in that call).
 *
 * Receiving: each connection has one receive armed. While its messages are small it is a
 * multishot receive drawing from a ring of small buffers the kernel picks from, so an idle
 * connection owns no buffer and a ping-pong message costs no system call of its own. When a
 * receive fills a small buffer the connection is busy: the multishot receive is cancelled
 * and single receives from a ring of large buffers follow, one armed at a time, so that a
 * stream moves in large pieces and back pressure (the connection's output limit) stops it
 * within one buffer. Out of buffers (ENOBUFS), the connection waits until buffers come back.
 *
 * Sending: the echo sends straight from the buffer its bytes arrived in (no copy) and gives
 * the buffer back to its ring once the send completes; other replies are copied out of the
 * connection layer's staging. A connection's output is a queue of such pieces with one send
 * in flight, so bytes stay in order and a short send is finished before the next piece.
 * What a connection holds counts as its pending output (ce_conn_hold), so the connection layer
 * pauses it at the output limit as with any engine. Small copies share a block while it has
 * room, so a queue of tiny replies costs at most twice its bytes. Past HELD_MAX ring buffers
 * for one connection, or half of a ring for the whole loop, new input is copied so that slow
 * readers cannot pin the rings.
 *
 * The loop's own descriptors (wakeup, listeners, UDP sockets) are watched with single poll
 * requests, armed again each turn while watched: level-triggered, as the loop expects.
 *
 * Closing a connection cancels its requests and closes its descriptor at once; its memory (and
 * the buffers its requests hold) is released when the last completion for it has arrived.
 */
#if defined(__linux__)

#include "engine.h"
#include "uring.h"

#include "clock.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define URING_ENTRIES 2048     /* submission queue: what one turn may queue before a flush */
#define URING_CQ_ENTRIES 8192  /* completion queue: multishot receives post many */
/* Receive buffers, per loop: two small ones per connection the server may hold, within
 * [16, 1024] (2 MiB at most); one large one per connection, within [8, 64] (4 MiB at most).
 * A ping-pong message holds one small buffer from its receive to its echo's send; a stream
 * holds a few large ones; out of buffers, a connection waits for some to come back. */
#define SMALL_GROUP 0
#define SMALL_SIZE 2048
#define SMALL_MIN 16
#define SMALL_MAX 1024
#define LARGE_GROUP 1
#define LARGE_SIZE (64 * 1024) /* one receive of the readiness engine (CE_READ_CHUNK) */
#define LARGE_MIN 8
#define LARGE_MAX 64
/* Ring buffers one connection's output may hold before new input is copied out of them. */
#define HELD_MAX 4
/* The loop's own descriptors watched at once: listeners, UDP sockets, the wakeup. */
#define WATCH_MAX (2 * 64 + 8)

/* What a completion is for, in the low bits of its user_data (the rest is a pointer). */
enum { OP_RECV = 1, OP_SEND, OP_CANCEL, OP_POLL, OP_REMOVE };
#define OP_BITS 7u

enum { RECV_NONE = 0, RECV_SMALL, RECV_LARGE };

/* Copies of small replies are kept in blocks of this size, reused through a free list. */
#define COPY_BLOCK SMALL_SIZE
#define SPARE_BLOCKS 256

/* One piece of a connection's output, sent in order. */
typedef struct useg {
    char *p;
    uint32_t len;
    int32_t bid;    /* >= 0: a receive buffer of ring `group`, given back once sent; else a copy */
    uint8_t group;
} useg;

enum { PIECE_COPY = -1, PIECE_BLOCK = -2 }; /* a malloc'd copy; a copy in a reusable block */

typedef struct uconn {
    ce_conn c;              /* first: the connection layer's part */
    useg *q;                /* the output queue, a ring of qcap pieces, allocated on first use */
    uint32_t qhead, qlen, qcap;
    uint16_t inflight;      /* requests of this connection the kernel still owns */
    uint32_t sent;          /* bytes of the head piece already sent (after a short send) */
    uint8_t recv;           /* RECV_*: the receive armed, or the last one until it ends */
    uint8_t cancelling;     /* the armed receive is being cancelled */
    uint8_t sending;        /* a send of the head piece is in flight */
    uint8_t busy;           /* its last receive filled a small buffer */
    uint8_t held;           /* ring buffers its queue holds */
    uint8_t released;       /* the connection layer let it go: free once inflight is 0 */
    uint8_t starved;        /* waits for buffers (on the engine's starved list) */
    struct uconn *next_starved;
} uconn;

/* A descriptor of the loop's own, watched with single poll requests. Aligned so that its
 * address leaves the low bits of a user_data free for the OP_* tag. */
typedef struct uwatch {
    _Alignas(8) int fd;     /* -1: a free slot */
    int mask;               /* CE_READABLE | CE_WRITABLE wanted; 0: being removed */
    int armed;              /* a poll request is in flight */
} uwatch;

typedef struct uring_engine {
    ce_conns *cs;
    ce_ring ring;
    ce_buf_ring rings[2];   /* SMALL_GROUP, LARGE_GROUP */
    unsigned held[2];       /* buffers of each ring that output queues hold */
    int started;
    int buffers_back;       /* buffers were given back since the starved last tried */
    uconn *starved;
    size_t live;            /* connections allocated (released ones until their last completion) */
    struct {                /* the receive buffer ce_conn_received() is looking at */
        char *p;
        uint32_t len;
        uint16_t bid;
        uint8_t group;
        uint8_t claimed;
    } cur;
    uwatch watches[WATCH_MAX];
    char *spare[SPARE_BLOCKS]; /* free blocks for small copies */
    int nspare;
    ce_ratelimit starved_log;
} uring_engine;

static inline uint64_t tag(const void *p, unsigned op) { return (uint64_t)(uintptr_t)p | op; }

_Static_assert(sizeof(uwatch) % 8 == 0 && _Alignof(uconn) >= 8, "tags need 3 free low bits");

/* An SQE to fill: when the queue is full, what is queued is submitted first. */
static struct io_uring_sqe *sqe_get(uring_engine *e) {
    struct io_uring_sqe *sqe = ce_ring_sqe(&e->ring);
    if (sqe) return sqe;
    if (e->started) (void)ce_ring_enter(&e->ring, 0, 0);
    return ce_ring_sqe(&e->ring);
}

/* ---- Buffers ------------------------------------------------------------------------------ */

static void give_back(uring_engine *e, unsigned group, unsigned bid) {
    ce_buf_ring_give(&e->rings[group], bid);
    e->buffers_back = 1;
}

/* Room for a copy of `n` reply bytes: a reused block when it fits, else its own allocation. */
static char *copy_piece(uring_engine *e, useg *s, const char *p, size_t n) {
    if (n <= COPY_BLOCK) {
        s->p = e->nspare ? e->spare[--e->nspare] : malloc(COPY_BLOCK);
        s->bid = PIECE_BLOCK;
    } else {
        s->p = malloc(n);
        s->bid = PIECE_COPY;
    }
    if (s->p) memcpy(s->p, p, n);
    return s->p;
}

/* Let go of one output piece: its ring buffer goes back, a copy is freed or kept for reuse. */
static void drop_piece(uring_engine *e, uconn *u, useg *s) {
    if (s->bid >= 0) {
        give_back(e, s->group, (unsigned)s->bid);
        u->held--;
        e->held[s->group]--;
    } else if (s->bid == PIECE_BLOCK && e->nspare < SPARE_BLOCKS) {
        e->spare[e->nspare++] = s->p;
    } else {
        free(s->p);
    }
}

/* ---- A connection's requests -------------------------------------------------------------- */

static void maybe_free(uring_engine *e, uconn *u) {
    if (!u->released || u->inflight) return;
    free(u->q);
    free(u);
    e->live--;
}

/* Arm a receive: multishot from the small ring, or a single receive from the large one. */
static int arm_recv(uring_engine *e, uconn *u) {
    struct io_uring_sqe *sqe = sqe_get(e);
    if (!sqe) {
        errno = EBUSY;
        return -1;
    }
    int large = u->busy;
    sqe->opcode = IORING_OP_RECV;
    sqe->fd = u->c.fd;
    sqe->flags = IOSQE_BUFFER_SELECT;
    sqe->buf_group = large ? LARGE_GROUP : SMALL_GROUP;
    if (!large) sqe->ioprio = IORING_RECV_MULTISHOT;
    sqe->user_data = tag(u, OP_RECV);
    u->recv = large ? RECV_LARGE : RECV_SMALL;
    u->inflight++;
    return 0;
}

/* Ask the kernel to end `u`'s request `op`. -1 when not even a flush freed a submission
 * entry (the kernel is not taking any): the caller must end the request another way. */
static int cancel(uring_engine *e, uconn *u, unsigned op) {
    struct io_uring_sqe *sqe = sqe_get(e);
    if (!sqe) return -1;
    sqe->opcode = IORING_OP_ASYNC_CANCEL;
    sqe->addr = tag(u, op);
    sqe->user_data = tag(u, OP_CANCEL);
    u->inflight++;
    return 0;
}

static void cancel_recv(uring_engine *e, uconn *u) {
    if (cancel(e, u, OP_RECV) == 0) u->cancelling = 1; /* else tried again at the next refresh */
}

/* Send what is left of the head piece. */
static int send_head(uring_engine *e, uconn *u) {
    useg *s = &u->q[u->qhead];
    struct io_uring_sqe *sqe = sqe_get(e);
    if (!sqe) {
        errno = EBUSY;
        return -1;
    }
    sqe->opcode = IORING_OP_SEND;
    sqe->fd = u->c.fd;
    sqe->addr = (uint64_t)(uintptr_t)(s->p + u->sent);
    sqe->len = s->len - u->sent;
    sqe->msg_flags = CE_SEND_FLAGS;
    sqe->user_data = tag(u, OP_SEND);
    u->sending = 1;
    u->inflight++;
    return 0;
}

/* Append a piece to the output queue, growing it by doubling. 0, or -1 (ENOMEM). The output
 * limit bounds its length (pieces of tiny replies share blocks), far below the cap. */
static int push_piece(uconn *u, useg s) {
    if (u->qlen == u->qcap) {
        uint32_t cap = u->qcap ? u->qcap * 2 : 4;
        useg *q = u->qcap < (UINT32_MAX / 2) / sizeof *q ? malloc(cap * sizeof *q) : NULL;
        if (!q) {
            errno = ENOMEM;
            return -1;
        }
        for (uint32_t i = 0; i < u->qlen; i++) q[i] = u->q[(u->qhead + i) % u->qcap];
        free(u->q);
        u->q = q;
        u->qhead = 0;
        u->qcap = cap;
    }
    u->q[(u->qhead + u->qlen) % u->qcap] = s;
    u->qlen++;
    return 0;
}

/* Receive as the connection layer wants: arm while it wants input, cancel once it does not. */
static int refresh(uring_engine *e, uconn *u) {
    int want = ce_conn_wants_read(e->cs, &u->c);
    if (want && u->recv == RECV_NONE && !u->starved) return arm_recv(e, u);
    if (!want && u->recv == RECV_SMALL && !u->cancelling) cancel_recv(e, u);
    return 0;
}

/* ---- The transport: what the connection layer asks of this engine -------------------------- */

static int uring_attach(void *engine, ce_conn *c) {
    uring_engine *e = engine;
    uconn *u = (uconn *)c;
    if (arm_recv(e, u) == -1) return -1;
    e->live++;
    return 0;
}

/* The last piece of the queue, when a small copy may join it: a block with room that no
 * send is reading yet. */
static useg *open_block(uconn *u, size_t n) {
    if (!u->qlen || (u->sending && u->qlen == 1)) return NULL;
    useg *tail = &u->q[(u->qhead + u->qlen - 1) % u->qcap];
    return tail->bid == PIECE_BLOCK && tail->len + n <= COPY_BLOCK ? tail : NULL;
}

static ssize_t uring_send(void *engine, ce_conn *c, const char *p, size_t n) {
    uring_engine *e = engine;
    uconn *u = (uconn *)c;
    useg s = {.p = (char *)p, .len = (uint32_t)n};
    useg *block;
    if (p == e->cur.p && n == e->cur.len && !e->cur.claimed && u->held < HELD_MAX &&
        e->held[e->cur.group] < e->rings[e->cur.group].count / 2) {
        s.bid = e->cur.bid; /* the echo of the bytes just received: send from their buffer */
        s.group = e->cur.group;
        if (push_piece(u, s) == -1) return -1;
        e->cur.claimed = 1;
        u->held++;
        e->held[s.group]++;
    } else if ((block = open_block(u, n)) != NULL) {
        memcpy(block->p + block->len, p, n);
        block->len += (uint32_t)n;
    } else {
        if (!copy_piece(e, &s, p, n)) {
            errno = ENOMEM;
            return -1;
        }
        if (push_piece(u, s) == -1) {
            drop_piece(e, u, &s);
            return -1;
        }
    }
    ce_conn_hold(e->cs, c, n);
    if (!u->sending && send_head(e, u) == -1) return -1;
    return (ssize_t)n;
}

static int uring_update(void *engine, ce_conn *c) { return refresh(engine, (uconn *)c); }

static int uring_shutdown(void *engine, ce_conn *c) {
    (void)engine;
    return shutdown(c->fd, SHUT_WR);
}

static void uring_release(void *engine, ce_conn *c) {
    uring_engine *e = engine;
    uconn *u = (uconn *)c;
    u->released = 1;
    /* Every queued piece goes, but the one a send still reads from: its completion frees it. */
    for (uint32_t i = u->sending ? 1 : 0; i < u->qlen; i++) drop_piece(e, u, &u->q[(u->qhead + i) % u->qcap]);
    u->qlen = u->sending ? 1 : 0;
    int stuck = 0;
    if (u->recv != RECV_NONE && !u->cancelling && cancel(e, u, OP_RECV) == -1) stuck = 1;
    if (u->sending && cancel(e, u, OP_SEND) == -1) stuck = 1;
    /* No way to cancel: ending the socket ends its requests (they complete with 0 or an
     * error), where a close alone would not while they hold it. */
    if (stuck) shutdown(c->fd, SHUT_RDWR);
    /* Closed now, so the descriptor can be reused; the socket itself lives until the kernel
     * has dropped the requests that hold it. */
    close(c->fd);
    maybe_free(e, u);
}

static const ce_transport uring_transport = {
    .attach = uring_attach,
    .send = uring_send,
    .update = uring_update,
    .shutdown = uring_shutdown,
    .release = uring_release,
};

/* ---- Completions ---------------------------------------------------------------------------- */

static void on_recv(uring_engine *e, uconn *u, int res, unsigned flags) {
    ce_conns *cs = e->cs;
    int more = (flags & IORING_CQE_F_MORE) != 0;
    unsigned group = u->recv == RECV_LARGE ? LARGE_GROUP : SMALL_GROUP;
    int open = !u->released;
    if (!more) { /* the receive is over; its reference (inflight) is dropped at the end */
        u->recv = RECV_NONE;
        u->cancelling = 0;
    }
    if (res > 0 && (flags & IORING_CQE_F_BUFFER)) {
        unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
        char *p = ce_buf_ring_data(&e->rings[group], bid);
        if (open) {
            if (group == SMALL_GROUP && res == SMALL_SIZE) u->busy = 1;
            else if (group == LARGE_GROUP && res <= SMALL_SIZE) u->busy = 0;
            e->cur.p = p;
            e->cur.len = (uint32_t)res;
            e->cur.bid = (uint16_t)bid;
            e->cur.group = (uint8_t)group;
            e->cur.claimed = 0;
            open = ce_conn_received(cs, &u->c, p, (size_t)res) == 0;
            if (!e->cur.claimed) give_back(e, group, bid);
            e->cur.p = NULL;
        } else {
            give_back(e, group, bid);
        }
    } else if (res == 0 && open) {
        open = ce_conn_peer_closed(cs, &u->c) == 0;
    } else if (res == -ENOBUFS && open && group == LARGE_GROUP) {
        u->busy = 0; /* no large buffer: go on with small ones (armed below) rather than wait */
    } else if (res == -ENOBUFS && open) {
        uint64_t suppressed;
        if (ce_log_on(&cs->log, CE_LOG_DEBUG) && ce_ratelimit_allow(&e->starved_log, cs->now_ms, &suppressed))
            ce_conn_logf(cs, &u->c, CE_LOG_DEBUG, NULL, 0, "out of small receive buffers: waiting for some to come back");
        if (!more && !u->starved) { /* waits for buffers; the list holds a reference */
            u->starved = 1;
            u->next_starved = e->starved;
            e->starved = u;
            u->inflight++;
        }
    } else if (res < 0 && res != -ECANCELED && open) {
        ce_conn_failed(cs, &u->c, -res);
        open = 0;
    }
    if (open) {
        /* A busy connection leaves its multishot receive for large single ones; and a
         * receive that ended is armed again while the connection wants input. */
        if (u->busy && u->recv == RECV_SMALL && !u->cancelling) cancel_recv(e, u);
        else if (refresh(e, u) == -1) ce_conn_close(cs, &u->c, CE_CLOSE_ERROR, errno);
    }
    if (!more) u->inflight--;
    maybe_free(e, u);
}

static void on_send(uring_engine *e, uconn *u, int res) {
    ce_conns *cs = e->cs;
    u->sending = 0;
    u->inflight++; /* held while the connection layer runs: it may release the connection */
    useg *s = &u->q[u->qhead];
    if (u->released) {
        drop_piece(e, u, s);
        u->qlen = 0;
    } else if (res < 0) {
        ce_conn_failed(cs, &u->c, res == -ECANCELED ? ECONNABORTED : -res);
    } else {
        u->sent += (uint32_t)res;
        int whole = u->sent == s->len;
        if (!whole) CE_COUNT(&cs->counters, partial_writes, 1);
        if (whole) {
            drop_piece(e, u, s);
            u->qhead = (u->qhead + 1) % u->qcap;
            u->qlen--;
            u->sent = 0;
        }
        ce_conn_sent_held(cs, &u->c, (size_t)res);
        if (u->qlen && send_head(e, u) == -1) ce_conn_close(cs, &u->c, CE_CLOSE_ERROR, errno);
        else if (ce_conn_needs_advance(&u->c)) (void)ce_conn_advance(cs, &u->c);
    }
    u->inflight -= 2; /* the send, and the hold above */
    maybe_free(e, u);
}

/* A poll of one of the loop's descriptors completed. */
static void on_poll(uwatch *w, int res, ce_event *events, int *n, int max) {
    w->armed = 0;
    if (w->mask == 0) { /* removed meanwhile: the slot is free now */
        w->fd = -1;
        return;
    }
    if (res <= 0 || *n >= max) return; /* armed again next turn */
    int mask = 0;
    if (res & (POLLIN | POLLERR | POLLHUP)) mask |= CE_READABLE;
    if (res & (POLLOUT | POLLERR | POLLHUP)) mask |= CE_WRITABLE;
    events[(*n)++] = (ce_event){w->fd, mask & w->mask};
}

/* Read every completion there is. */
static int reap(uring_engine *e, ce_event *events, int max) {
    int n = 0;
    unsigned ready;
    while ((ready = ce_ring_cq_ready(&e->ring)) > 0) {
        for (unsigned i = 0; i < ready; i++) {
            const struct io_uring_cqe *cqe = ce_ring_cqe(&e->ring, i);
            uint64_t data = cqe->user_data;
            int res = cqe->res;
            unsigned flags = cqe->flags;
            void *p = (void *)(uintptr_t)(data & ~(uint64_t)OP_BITS);
            switch ((unsigned)(data & OP_BITS)) {
            case OP_RECV: on_recv(e, p, res, flags); break;
            case OP_SEND: on_send(e, p, res); break;
            case OP_CANCEL: {
                uconn *u = p;
                u->inflight--;
                maybe_free(e, u);
                break;
            }
            case OP_POLL: on_poll(p, res, events, &n, max); break;
            default: break; /* OP_REMOVE: nothing to do */
            }
        }
        ce_ring_cq_advance(&e->ring, ready);
    }
    return n;
}

/* ---- The loop's own descriptors ----------------------------------------------------------- */

static void arm_watches(uring_engine *e) {
    for (int i = 0; i < WATCH_MAX; i++) {
        uwatch *w = &e->watches[i];
        if (w->fd < 0 || !w->mask || w->armed) continue;
        struct io_uring_sqe *sqe = sqe_get(e);
        if (!sqe) return;
        sqe->opcode = IORING_OP_POLL_ADD;
        sqe->fd = w->fd;
        sqe->poll32_events = (w->mask & CE_READABLE ? POLLIN : 0) | (w->mask & CE_WRITABLE ? POLLOUT : 0);
        sqe->user_data = tag(w, OP_POLL);
        w->armed = 1;
    }
}

static int uring_watch(void *engine, int fd, int oldmask, int newmask) {
    uring_engine *e = engine;
    (void)oldmask;
    uwatch *w = NULL, *free_slot = NULL;
    for (int i = 0; i < WATCH_MAX && !w; i++) {
        if (e->watches[i].fd == fd && e->watches[i].mask) w = &e->watches[i];
        else if (e->watches[i].fd < 0 && !free_slot) free_slot = &e->watches[i];
    }
    if (!newmask) {
        if (!w) return 0;
        w->mask = 0;
        if (!w->armed) {
            w->fd = -1;
            return 0;
        }
        struct io_uring_sqe *sqe = sqe_get(e); /* its completion frees the slot */
        if (sqe) {
            sqe->opcode = IORING_OP_POLL_REMOVE;
            sqe->addr = tag(w, OP_POLL);
            sqe->user_data = tag(w, OP_REMOVE);
        }
        return 0;
    }
    if (!w) {
        if (!free_slot) {
            errno = ENOSPC;
            return -1;
        }
        w = free_slot;
        w->fd = fd;
        w->armed = 0;
    }
    w->mask = newmask; /* armed (again) at the start of the next turn */
    return 0;
}

/* ---- The engine ---------------------------------------------------------------------------- */

static void uring_destroy(void *engine) {
    uring_engine *e = engine;
    /* The ring first: closing it (its registration dropped by finish) ends what it still
     * holds and the buffer rings' registration, which only the loop's thread could undo. A
     * connection whose requests never came back within finish's bound may still have the
     * kernel write into a receive buffer while the ring winds down: then the buffers stay. */
    ce_ring_close(&e->ring);
    if (e->live == 0)
        for (int g = 0; g < 2; g++) ce_buf_ring_close(&e->rings[g], NULL);
    while (e->nspare) free(e->spare[--e->nspare]);
    free(e);
}

/* `wanted` rounded up to a power of two (as a buffer ring's size must be), within [min, max]. */
static unsigned ring_size(uint64_t wanted, unsigned min, unsigned max) {
    unsigned n = min;
    while (n < wanted && n < max) n *= 2;
    return n;
}

static void *uring_create(ce_conns *cs, const ce_backend *backend, int setsize, char *err, size_t errlen) {
    (void)backend;
    (void)setsize;
    uring_engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "malloc(engine): %s", strerror(ENOMEM));
        return NULL;
    }
    e->cs = cs;
    for (int i = 0; i < WATCH_MAX; i++) e->watches[i].fd = -1;
    e->ring.fd = -1;
    /* Created disabled: the loop's thread, which alone submits (SINGLE_ISSUER), enables it. */
    unsigned flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED |
                     IORING_SETUP_SUBMIT_ALL;
    if (ce_ring_open(&e->ring, URING_ENTRIES, URING_CQ_ENTRIES, flags, err, errlen) == -1) {
        free(e);
        return NULL;
    }
    static const unsigned needed[] = {IORING_OP_RECV, IORING_OP_SEND, IORING_OP_POLL_ADD, IORING_OP_POLL_REMOVE,
                                      IORING_OP_ASYNC_CANCEL};
    int missing = ce_ring_unsupported(&e->ring, needed, sizeof needed / sizeof needed[0]);
    if (missing >= 0) {
        snprintf(err, errlen, "io_uring: the kernel lacks operation %d", missing);
        goto fail;
    }
    uint32_t connections = ce_budget_max(cs->budget);
    if (ce_buf_ring_open(&e->rings[SMALL_GROUP], &e->ring, SMALL_GROUP, ring_size(2 * connections, SMALL_MIN, SMALL_MAX),
                         SMALL_SIZE, err, errlen) == -1 ||
        ce_buf_ring_open(&e->rings[LARGE_GROUP], &e->ring, LARGE_GROUP, ring_size(connections, LARGE_MIN, LARGE_MAX),
                         LARGE_SIZE, err, errlen) == -1)
        goto fail;
    ce_conns_set_transport(cs, &uring_transport, e, sizeof(uconn));
    return e;
fail:
    uring_destroy(e);
    errno = ENOSYS;
    return NULL;
}

static int uring_start(void *engine, char *err, size_t errlen) {
    uring_engine *e = engine;
    if (ce_ring_start(&e->ring, 1) == -1) {
        snprintf(err, errlen, "io_uring_register(ENABLE_RINGS): %s", strerror(errno));
        return -1;
    }
    e->started = 1;
    return 0;
}

/* Give back to the kernel what this turn freed, and try the starved connections again. */
static void prepare(uring_engine *e) {
    if (e->buffers_back && e->starved) {
        uconn *u = e->starved;
        e->starved = NULL;
        while (u) {
            uconn *next = u->next_starved;
            u->starved = 0;
            if (!u->released && refresh(e, u) == -1) ce_conn_close(e->cs, &u->c, CE_CLOSE_ERROR, errno);
            u->inflight--; /* the list's reference, dropped last: closing above frees nothing */
            maybe_free(e, u);
            u = next;
        }
    }
    e->buffers_back = 0;
    for (int g = 0; g < 2; g++) ce_buf_ring_publish(&e->rings[g]);
    arm_watches(e);
}

static int uring_turn(void *engine, int timeout_ms, ce_event *events, int max) {
    uring_engine *e = engine;
    prepare(e);
    /* Completions already there (a flush during the last turn): only submit. */
    unsigned wait = ce_ring_cq_ready(&e->ring) ? 0 : 1;
    int rc = ce_ring_enter(&e->ring, wait, timeout_ms);
    if (rc < 0 && errno != EINTR && errno != ETIME && errno != EBUSY) return -1;
    e->cs->now_ms = ce_now_ms();
    return reap(e, events, max);
}

/* The loop has ended and closed every connection: wait (a little) until the kernel has
 * given back every request, so nothing it still holds outlives the loop. */
static void uring_finish(void *engine) {
    uring_engine *e = engine;
    uint64_t until = ce_now_ms() + 1000;
    ce_event ignored[8];
    while (e->live > 0 && ce_now_ms() < until) {
        prepare(e);
        if (ce_ring_enter(&e->ring, 1, 50) < 0 && errno != EINTR && errno != ETIME && errno != EBUSY) break;
        (void)reap(e, ignored, 0);
    }
    (void)ce_ring_enter(&e->ring, 0, 0); /* what is still queued (removing the listeners' polls) */
    ce_ring_stop(&e->ring);              /* so that destroy's close ends the ring */
}

const ce_engine_ops ce_engine_uring = {
    .create = uring_create,
    .destroy = uring_destroy,
    .start = uring_start,
    .watch = uring_watch,
    .turn = uring_turn,
    .finish = uring_finish,
};

#endif /* __linux__ */
