/*
 * load.c -- the load engine: connect, warm up, measure, drain. See cbench.h.
 *
 * A connection sends the next part of its stream while the workload allows (depth messages
 * or window bytes beyond what has come back), checks every byte that comes back against what
 * it sent, and times each message from its first byte out to its last byte back.
 */
#include "cbench.h"
#include "cecho.h"
#include "waiter.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define RECEIVE_CHUNK (64 * 1024)
#define MAX_IOV 64
#define MAX_EVENTS 512
#define PROGRESS_NS 250000000ull
#define SILENT_NS 1000000000ull /* an echo silent this long at the end of the drain is lost */

enum conn_state { CONN_IDLE = 0, CONN_CONNECTING, CONN_OPEN, CONN_CLOSED };

typedef struct conn {
    int fd;
    int state;
    int ready;               /* its first echo came back */
    int events;              /* what the waiter watches */
    uint32_t offset;         /* where its stream starts in the pattern */
    uint64_t sent;           /* stream bytes sent */
    uint64_t received;       /* stream bytes received */
    uint64_t last_receive_ns;
    uint64_t flagged;        /* 1 + the last message counted as wrong, so each counts once */
    uint64_t *stamps;        /* when each message in flight was started, by message % ring */
} conn;

typedef struct engine {
    const cb_load_config *config;
    cb_load_result *result;
    wire wire;
    conn *conns;
    uint64_t *stamps;
    uint64_t ring;
    waiter *waiter;
    unsigned char *receive_buffer;
    struct sockaddr_storage address;
    socklen_t address_len;

    cb_phase phase;
    uint64_t now;
    uint64_t phase_started;
    uint64_t next_progress;
    uint64_t phase_round_trips;
    uint64_t unfinished;     /* connections still sending or waiting, for the drain */
    int next_to_connect;
    int connecting;
    int resolved;            /* connections ready or failed */
    struct rusage usage_at_start;
} engine;

static uint64_t monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double cpu_seconds(const struct rusage *u) {
    return (double)u->ru_utime.tv_sec + (double)u->ru_utime.tv_usec / 1e6 + (double)u->ru_stime.tv_sec +
           (double)u->ru_stime.tv_usec / 1e6;
}

static uint64_t seconds_ns(double seconds) { return seconds <= 0 ? 0 : (uint64_t)(seconds * 1e9); }

/* ---- Phases --------------------------------------------------------------------------- */

static void report(engine *e, int started) {
    if (!e->config->progress) return;
    double elapsed = (double)(e->now - e->phase_started) / 1e9;
    e->config->progress(e->config->progress_ctx, e->phase, started, elapsed, e->phase_round_trips);
}

static void enter(engine *e, cb_phase phase) {
    struct rusage usage;
    if (phase == CB_PHASE_MEASURE) getrusage(RUSAGE_SELF, &e->usage_at_start);
    if (e->phase == CB_PHASE_MEASURE) {
        getrusage(RUSAGE_SELF, &usage);
        e->result->cpu_s = cpu_seconds(&usage) - cpu_seconds(&e->usage_at_start);
        e->result->measured_s = (double)(e->now - e->phase_started) / 1e9;
    }
    if (e->phase == CB_PHASE_CONNECT) e->result->connect_s = (double)(e->now - e->phase_started) / 1e9;
    e->phase = phase;
    e->phase_started = e->now;
    e->phase_round_trips = 0;
    report(e, 1);
}

/* ---- One connection ------------------------------------------------------------------- */

static void watch(engine *e, conn *c, int events) {
    if (c->events == events) return;
    c->events = events;
    waiter_set(e->waiter, c->fd, (int)(c - e->conns), events);
}

/* Ends a connection. One that never got its first echo is a connect failure. */
static void finish(engine *e, conn *c) {
    if (c->state == CONN_CLOSED) return;
    if (!c->ready) {
        e->result->connect_failures++;
        e->resolved++;
        e->connecting--;
    }
    watch(e, c, 0);
    close(c->fd);
    c->fd = -1;
    c->state = CONN_CLOSED;
    e->unfinished--;
}

static void lost(engine *e, conn *c) {
    if (c->ready) e->result->disconnects++;
    finish(e, c);
}

/* How far the stream may be sent now. */
static uint64_t send_limit(const engine *e, const conn *c) {
    uint64_t len = e->wire.message_len;
    if (!c->ready) return len;
    if (e->phase >= CB_PHASE_DRAIN) return (c->sent + len - 1) / len * len; /* finish the one begun */
    if (e->config->mode == CB_MODE_STREAM) return c->received + e->config->window;
    return (c->received / len + (uint64_t)e->config->depth) * len;
}

/* Done in the drain: everything begun was sent and came back. */
static int drained(const engine *e, const conn *c) {
    return c->received == c->sent && c->sent % e->wire.message_len == 0;
}

static void send_more(engine *e, conn *c) {
    uint64_t limit = send_limit(e, c);
    uint64_t len = e->wire.message_len;
    while (c->sent < limit) {
        struct iovec iov[MAX_IOV];
        int count = 0;
        uint64_t pos = c->sent;
        while (pos < limit && count < MAX_IOV) {
            wire_piece piece = wire_piece_at(&e->wire, c->offset, pos);
            size_t take = piece.len < limit - pos ? piece.len : (size_t)(limit - pos);
            iov[count].iov_base = (void *)piece.sent;
            iov[count].iov_len = take;
            count++;
            pos += take;
        }
        /* One piece (raw ping-pong) goes out with send(), as a server would answer it. */
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)count};
        ssize_t n = count == 1 ? send(c->fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL)
                               : sendmsg(c->fd, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            lost(e, c);
            return;
        }
        /* Stamp every message whose first byte just went out. */
        for (uint64_t m = (c->sent + len - 1) / len; m * len < c->sent + (uint64_t)n; m++)
            c->stamps[m % e->ring] = e->now;
        uint64_t planned = pos - c->sent;
        c->sent += (uint64_t)n;
        if (e->phase == CB_PHASE_MEASURE) e->result->bytes_sent += (uint64_t)n;
        if ((uint64_t)n < planned) break; /* the kernel took less: wait until writable */
    }
    watch(e, c, WAIT_READ | (c->sent < limit ? WAIT_WRITE : 0));
}

/* Compares what came back with what was sent, counting each wrong message once. */
static void verify(engine *e, conn *c, const unsigned char *data, size_t n) {
    uint64_t pos = c->received;
    size_t used = 0;
    while (used < n) {
        wire_piece piece = wire_piece_at(&e->wire, c->offset, pos);
        size_t take = piece.len < n - used ? piece.len : n - used;
        if (memcmp(data + used, piece.expect, take) != 0) {
            for (size_t i = 0; i < take; i++)
                if (data[used + i] != piece.expect[i]) e->result->mismatched_bytes++;
            uint64_t message = pos / e->wire.message_len;
            if (c->flagged != message + 1) {
                c->flagged = message + 1;
                e->result->verify_errors++;
            }
        }
        used += take;
        pos += take;
    }
}

static void complete_messages(engine *e, conn *c, uint64_t before, uint64_t after) {
    uint64_t len = e->wire.message_len;
    for (uint64_t m = before / len; (m + 1) * len <= after; m++) {
        if (e->phase == CB_PHASE_MEASURE) {
            cb_histogram_record(&e->result->latency, e->now - c->stamps[m % e->ring]);
            e->result->round_trips++;
        }
        e->phase_round_trips++;
    }
}

static void on_readable(engine *e, conn *c) {
    ssize_t n = recv(c->fd, e->receive_buffer, RECEIVE_CHUNK, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        lost(e, c);
        return;
    }
    if (n == 0) {
        lost(e, c);
        return;
    }
    if (c->received + (uint64_t)n > c->sent) {
        e->result->overflow_errors++;
        lost(e, c);
        return;
    }
    verify(e, c, e->receive_buffer, (size_t)n);
    uint64_t before = c->received;
    c->received += (uint64_t)n;
    c->last_receive_ns = e->now;
    if (e->phase == CB_PHASE_MEASURE) e->result->bytes_received += (uint64_t)n;
    complete_messages(e, c, before, c->received);

    if (!c->ready && c->received >= e->wire.message_len) {
        c->ready = 1;
        e->result->ready++;
        e->resolved++;
        e->connecting--;
    }
    if (e->phase >= CB_PHASE_DRAIN && drained(e, c)) {
        finish(e, c);
        return;
    }
    send_more(e, c);
}

/* Ends a connection whose connect failed, keeping the first reason for the report. */
static void connect_failed(engine *e, conn *c, int error) {
    if (!e->result->connect_error) e->result->connect_error = error;
    finish(e, c);
}

/* A connect finished, one way or the other. */
static void on_connected(engine *e, conn *c) {
    int error = 0;
    socklen_t len = sizeof error;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1 || error != 0) {
        connect_failed(e, c, error ? error : errno);
        return;
    }
    c->state = CONN_OPEN;
    send_more(e, c);
}

static void start_connect(engine *e, conn *c) {
    c->fd = socket(e->address.ss_family, SOCK_STREAM, 0);
    if (c->fd == -1) {
        if (!e->result->connect_error) e->result->connect_error = errno;
        c->state = CONN_CLOSED;
        e->result->connect_failures++;
        e->resolved++;
        e->unfinished--;
        return;
    }
    c->state = CONN_CONNECTING;
    e->connecting++;
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    fcntl(c->fd, F_SETFD, FD_CLOEXEC);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&e->address, e->address_len) == 0) {
        c->state = CONN_OPEN;
        send_more(e, c);
    } else if (errno == EINPROGRESS) {
        watch(e, c, WAIT_WRITE);
    } else {
        connect_failed(e, c, errno);
    }
}

/* Starts connects up to the concurrency limit. Connects that fail at once free their slot for
 * the next in this same loop, not by recursion. */
static void start_next_connect(engine *e) {
    int limit = e->config->connect_concurrency > 0 ? e->config->connect_concurrency : e->config->conns;
    while (e->phase == CB_PHASE_CONNECT && e->next_to_connect < e->config->conns && e->connecting < limit)
        start_connect(e, &e->conns[e->next_to_connect++]);
}

static void on_event(engine *e, conn *c, int events) {
    if (c->state == CONN_CONNECTING) {
        if (events & (WAIT_WRITE | WAIT_ERROR)) on_connected(e, c);
        return;
    }
    if (c->state != CONN_OPEN) return;
    if (events & (WAIT_READ | WAIT_ERROR)) on_readable(e, c);
    if (c->state == CONN_OPEN && (events & WAIT_WRITE)) send_more(e, c);
}

/* ---- The run -------------------------------------------------------------------------- */

static int resolve(engine *e, char *error, size_t error_len) {
    char port[16];
    snprintf(port, sizeof port, "%d", e->config->port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    struct addrinfo *found = NULL;
    int status = getaddrinfo(e->config->host, port, &hints, &found);
    if (status != 0 || !found) {
        snprintf(error, error_len, "cannot resolve %s: %s", e->config->host, gai_strerror(status));
        return -1;
    }
    memcpy(&e->address, found->ai_addr, found->ai_addrlen);
    e->address_len = found->ai_addrlen;
    freeaddrinfo(found);
    return 0;
}

static int prepare(engine *e, char *error, size_t error_len) {
    const cb_load_config *config = e->config;
    if (config->conns < 1 || config->size < 1 || config->size > UINT32_MAX || config->depth < 1 ||
        (config->mode == CB_MODE_STREAM && config->window < 1) || config->port < 1 || config->port > 65535) {
        snprintf(error, error_len, "invalid workload: conns, size, depth, window and port must be positive");
        return -1;
    }
    long limit = ce_limit_raise_nofile();
    if (limit != -1 && config->conns > limit - 16) {
        snprintf(error, error_len, "%d connections need more descriptors than RLIMIT_NOFILE allows (%ld)",
                 config->conns, limit);
        return -1;
    }
    if (resolve(e, error, error_len) == -1) return -1;
    if (wire_init(&e->wire, config->framing, config->expect, config->size, config->seed) == -1) goto oom;
    uint64_t len = e->wire.message_len;
    e->ring = config->mode == CB_MODE_STREAM ? config->window / len + 2 : (uint64_t)config->depth;
    e->conns = calloc((size_t)config->conns, sizeof *e->conns);
    e->stamps = calloc((size_t)config->conns * (size_t)e->ring, sizeof *e->stamps);
    e->receive_buffer = malloc(RECEIVE_CHUNK);
    e->waiter = waiter_create(config->conns);
    if (!e->conns || !e->stamps || !e->receive_buffer || !e->waiter) goto oom;
    for (int i = 0; i < config->conns; i++) {
        e->conns[i].fd = -1;
        e->conns[i].offset = wire_offset_for(config->seed, i);
        e->conns[i].stamps = e->stamps + (size_t)i * (size_t)e->ring;
    }
    e->unfinished = (uint64_t)config->conns;
    return 0;
oom:
    snprintf(error, error_len, "out of memory for %d connections of %zu bytes", config->conns, config->size);
    return -1;
}

static void release(engine *e) {
    if (e->conns)
        for (int i = 0; i < e->config->conns; i++)
            if (e->conns[i].fd >= 0) close(e->conns[i].fd);
    waiter_destroy(e->waiter);
    free(e->receive_buffer);
    free(e->stamps);
    free(e->conns);
    wire_free(&e->wire);
}

/* When the current phase ends, in monotonic ns. */
static uint64_t phase_deadline(const engine *e) {
    const cb_load_config *config = e->config;
    switch (e->phase) {
    case CB_PHASE_CONNECT: return e->phase_started + seconds_ns(config->connect_timeout_s);
    case CB_PHASE_WARMUP: return e->phase_started + seconds_ns(config->warmup_s);
    case CB_PHASE_MEASURE: return e->phase_started + seconds_ns(config->duration_s);
    case CB_PHASE_DRAIN: return e->phase_started + seconds_ns(config->drain_s);
    default: return e->now;
    }
}

/* Connections still unready when the connect phase ends have failed. */
static void give_up_unready(engine *e) {
    for (int i = 0; i < e->config->conns; i++) {
        conn *c = &e->conns[i];
        if (c->state == CONN_IDLE) {
            c->state = CONN_CLOSED;
            e->result->connect_failures++;
            e->unfinished--;
        } else if (c->state != CONN_CLOSED && !c->ready) {
            finish(e, c);
        }
    }
}

/* Entering the drain: stop issuing, finish what is begun, and close those already done. */
static void begin_drain(engine *e) {
    enter(e, CB_PHASE_DRAIN);
    for (int i = 0; i < e->config->conns; i++) {
        conn *c = &e->conns[i];
        if (c->state != CONN_OPEN) continue;
        if (drained(e, c)) finish(e, c);
        else send_more(e, c);
    }
}

static void advance(engine *e) {
    uint64_t deadline = phase_deadline(e);
    switch (e->phase) {
    case CB_PHASE_CONNECT:
        if (e->resolved < e->config->conns && e->now < deadline) return;
        give_up_unready(e);
        enter(e, e->result->ready ? CB_PHASE_WARMUP : CB_PHASE_DONE);
        return;
    case CB_PHASE_WARMUP:
        if (e->now >= deadline) enter(e, CB_PHASE_MEASURE);
        return;
    case CB_PHASE_MEASURE:
        if (e->now >= deadline) begin_drain(e);
        return;
    case CB_PHASE_DRAIN:
        if (e->unfinished > 0 && e->now < deadline) return;
        for (int i = 0; i < e->config->conns; i++) {
            conn *c = &e->conns[i];
            if (c->state == CONN_OPEN && c->received < c->sent && e->now - c->last_receive_ns >= SILENT_NS)
                e->result->timeouts++;
        }
        enter(e, CB_PHASE_DONE);
        return;
    default: return;
    }
}

int cb_load_run(const cb_load_config *config, cb_load_result *result, char *error, size_t error_len) {
    engine e;
    memset(&e, 0, sizeof e);
    memset(result, 0, sizeof *result);
    cb_histogram_reset(&result->latency);
    e.config = config;
    e.result = result;
    if (prepare(&e, error, error_len) == -1) {
        release(&e);
        return -1;
    }
    e.now = monotonic_ns();
    e.phase = CB_PHASE_CONNECT;
    e.phase_started = e.now;
    e.next_progress = e.now + PROGRESS_NS;
    report(&e, 1);

    waiter_event events[MAX_EVENTS];
    while (e.phase != CB_PHASE_DONE) {
        start_next_connect(&e);
        advance(&e);
        if (e.phase == CB_PHASE_DONE) break;
        uint64_t wake = phase_deadline(&e);
        if (e.next_progress < wake) wake = e.next_progress;
        int timeout = wake > e.now ? (int)((wake - e.now + 999999) / 1000000) : 0;
        int n = waiter_wait(e.waiter, events, MAX_EVENTS, timeout);
        e.now = monotonic_ns();
        if (n < 0) {
            snprintf(error, error_len, "waiting for sockets: %s", strerror(errno));
            release(&e);
            return -1;
        }
        for (int i = 0; i < n; i++) on_event(&e, &e.conns[events[i].index], events[i].events);
        if ((result->interrupted = cb_interrupted())) {
            enter(&e, CB_PHASE_DONE); /* a window in progress is measured up to here */
            break;
        }
        if (e.now >= e.next_progress) {
            report(&e, 0);
            e.next_progress = e.now + PROGRESS_NS;
        }
    }
    release(&e);
    return 0;
}

void cb_load_config_init(cb_load_config *config) {
    memset(config, 0, sizeof *config);
    config->host = "127.0.0.1";
    config->port = 7;
    config->conns = 100;
    config->size = 1024;
    config->depth = 1;
    config->window = 4 * 1024;
    config->mode = CB_MODE_PINGPONG;
    config->framing = CB_FRAMING_RAW;
    config->expect = CB_EXPECT_ECHO;
    config->warmup_s = 1;
    config->duration_s = 5;
    config->connect_timeout_s = 10;
    config->drain_s = 2;
    config->seed = 1;
}
