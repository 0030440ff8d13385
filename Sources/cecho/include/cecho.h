/*
 * cecho.h -- the whole public API of SwiftEcho's C core.
 *
 * The core owns sockets, the event loop, buffers, limits and counters. It knows nothing of
 * Swift: it reports through a log callback and is driven through the functions below.
 * Functions return 0 on success and -1 on failure with errno set; those that can fail in ways
 * worth explaining also fill a caller-owned buffer with "call(args): reason".
 *
 * Threads: a loop runs on one thread. Only ce_loop_stop() and ce_loop_stats() may be called
 * from other threads (ce_loop_stop() also from a signal handler).
 */
#ifndef CECHO_H
#define CECHO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------- */
/* Logging                                                                                  */

typedef enum ce_log_level {
    CE_LOG_TRACE = 0,
    CE_LOG_DEBUG,
    CE_LOG_INFO,
    CE_LOG_NOTICE,
    CE_LOG_WARNING,
    CE_LOG_ERROR,
    CE_LOG_CRITICAL,
} ce_log_level;

typedef struct ce_log_field {
    const char *key;   /* dot notation, e.g. "conn.id", "peer.address" */
    const char *value;
} ce_log_field;

/* Receives each core event at or above the loop's log level, on the loop's thread. The
 * strings are valid only during the call. Disabled levels are filtered before formatting. */
typedef void (*ce_log_fn)(void *ctx, ce_log_level level, const char *message,
                          const ce_log_field *fields, size_t nfields);

/* ---------------------------------------------------------------------------------------- */
/* Byte buffer: one allocation with a read cursor (start) and a write cursor (end).          */

typedef struct ce_buf {
    char *data;   /* NULL until the first byte is stored */
    size_t start; /* first unconsumed byte */
    size_t end;   /* one past the last stored byte */
    size_t cap;   /* bytes allocated */
} ce_buf;

static inline size_t ce_buf_len(const ce_buf *b) { return b->end - b->start; }

/* Make room for `n` more bytes after `end`, compacting or growing, never beyond `limit`
 * bytes stored in all. Returns 0, or -1 with errno ENOBUFS (over the limit) or ENOMEM. */
int ce_buf_reserve(ce_buf *b, size_t n, size_t limit);
/* Append `n` bytes; same failures as ce_buf_reserve(). */
int ce_buf_append(ce_buf *b, const void *p, size_t n, size_t limit);
/* Drop `n` bytes from the front (n <= length). An emptied buffer rewinds its cursors. */
void ce_buf_consume(ce_buf *b, size_t n);
/* Release the allocation; the buffer is empty and reusable afterwards. */
void ce_buf_free(ce_buf *b);

/* ---------------------------------------------------------------------------------------- */
/* Network helpers                                                                          */

/* Resolve `host` (numeric address or name) and bind a non-blocking, close-on-exec TCP
 * listener with SO_REUSEADDR on every address it names, sharing one port (port 0 picks a
 * free one). Stores up to `max` descriptors in `fds` and their count in `*count`. On failure
 * nothing stays open. */
int ce_net_listen_tcp(const char *host, uint16_t port, int backlog, int *fds, size_t max,
                      size_t *count, char *err, size_t errlen);
/* Format the local address of socket `fd` as "127.0.0.1:port" or "[::1]:port". */
int ce_net_local_endpoint(int fd, char *out, size_t outlen);
/* The local port of socket `fd`, or -1. */
int ce_net_local_port(int fd);

/* ---------------------------------------------------------------------------------------- */
/* Limits                                                                                    */

/* Raise the soft RLIMIT_NOFILE to the hard limit. Returns the soft limit now in force
 * (or -1 when it cannot be read). */
long ce_limit_raise_nofile(void);
/* Descriptors the loop keeps for itself besides client connections: listeners, poller,
 * wakeup, the spare descriptor for EMFILE, standard streams and some headroom. */
#define CE_RESERVED_FDS 32

/* ---------------------------------------------------------------------------------------- */
/* Poller backends                                                                          */

/* 1 when backend `name` ("auto", "select", "poll", "epoll", "kqueue") exists on this
 * platform, else 0. */
int ce_backend_available(const char *name);
/* The backend "auto" stands for here ("epoll", "kqueue" or "poll"). */
const char *ce_backend_default(void);
/* Descriptors >= this value cannot be watched by backend `name` (FD_SETSIZE for select);
 * INT32_MAX when there is no such bound. */
int32_t ce_backend_fd_bound(const char *name);

/* ---------------------------------------------------------------------------------------- */
/* Counters                                                                                 */

typedef struct ce_stats {
    uint64_t accepted;                /* client connections taken into service */
    uint64_t active;                  /* client connections open now */
    uint64_t closed;                  /* served connections closed, for any reason */
    uint64_t refused_max_connections; /* closed at accept: --max-connections reached */
    uint64_t refused_fd_setsize;      /* closed at accept: descriptor too large for select */
    uint64_t refused_no_descriptors;  /* closed at accept: EMFILE/ENFILE (spare descriptor) */
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t partial_writes;          /* sends the kernel took only in part; the rest queued */
    uint64_t backpressure_pauses;     /* reading paused because output passed the limit */
    uint64_t idle_timeouts;
    uint64_t write_timeouts;
    uint64_t shutdown_forced;         /* still open at the shutdown deadline, closed */
    uint64_t resets;                  /* ended by the peer's reset (ECONNRESET, EPIPE) */
    uint64_t errors;                  /* other socket or accept errors */
} ce_stats;

/* ---------------------------------------------------------------------------------------- */
/* The event loop                                                                           */

typedef struct ce_loop ce_loop;

typedef struct ce_loop_config {
    const char *backend;          /* "auto", "select", "poll", "epoll" or "kqueue" */
    uint32_t max_connections;     /* client connections served at once; more are refused */
    size_t output_limit;          /* pending output above which reading pauses (resumes < 1/4) */
    uint64_t write_timeout_ms;    /* close when queued output makes no progress; 0 = off */
    uint64_t idle_timeout_ms;     /* close after no byte read or written; 0 = off */
    uint64_t shutdown_timeout_ms; /* graceful stop deadline */
    ce_log_level log_level;       /* events below it are not even formatted */
    ce_log_fn log_fn;             /* may be NULL */
    void *log_ctx;
} ce_loop_config;

/* Create a loop (poller, wakeup descriptor). NULL on failure, with `err` filled. */
ce_loop *ce_loop_create(const ce_loop_config *config, char *err, size_t errlen);
/* Hand a listening socket to the loop, which owns it from now on (even on failure). */
int ce_loop_add_listener(ce_loop *loop, int fd, char *err, size_t errlen);
/* Run until stopped and drained. Returns 0, or -1 when the poller fails (err filled). */
int ce_loop_run(ce_loop *loop, char *err, size_t errlen);
/* Ask the loop to stop: graceful (close listeners, flush what was read, close each
 * connection cleanly, force the rest at the shutdown deadline) or, with graceful == 0, at
 * once. Safe from any thread and from a signal handler. */
void ce_loop_stop(ce_loop *loop, int graceful);
/* A consistent-enough snapshot of the counters; safe from any thread. */
void ce_loop_stats(const ce_loop *loop, ce_stats *out);
/* The backend in use ("select", "poll", "epoll", "kqueue"). */
const char *ce_loop_backend(const ce_loop *loop);
/* Close every descriptor and free the loop. Not while ce_loop_run() is running. */
void ce_loop_destroy(ce_loop *loop);

#ifdef __cplusplus
}
#endif

#endif /* CECHO_H */
