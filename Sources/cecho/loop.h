/*
 * loop.h -- the loop's and connections' private state, shared by the core's files.
 */
#ifndef CE_LOOP_H
#define CE_LOOP_H

#include "access.h"
#include "cecho.h"
#include "poller.h"
#include "tlist.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

/* Bytes one read asks for. Also the per-loop scratch size of the echo fast path, and the
 * most a paused connection can hold beyond its output limit. */
#define CE_READ_CHUNK (64 * 1024)
/* Ready descriptors taken per poller wait; more stay ready for the next round. */
#define CE_MAX_FIRED 512
/* Connections accepted per listener event, so a connect storm cannot starve the
 * established connections for a whole round (libuv and nginx cap this too). */
#define CE_ACCEPTS_PER_EVENT 64
/* How long a connection closed after an error of its peer's making (a message too large, a
 * hook that closes) may keep sending before its input stops being drained: the replies were
 * flushed and the write side shut down, this only protects them from a reset. */
#define CE_LINGER_MS 5000
/* After EMFILE/ENFILE without a spare descriptor, listeners rest this long (SwiftNIO's
 * accept back-off) instead of spinning on a listener that stays readable. */
#define CE_ACCEPT_BACKOFF_MS 100
#define CE_MAX_LISTENERS 64
/* Datagrams answered per UDP socket event: a flood on UDP must not starve the TCP
 * connections of the loop (and the reverse), as with CE_ACCEPTS_PER_EVENT. */
#define CE_UDP_DATAGRAMS_PER_EVENT 32
/* Tables indexed by descriptor are sized by RLIMIT_NOFILE, but never beyond this. */
#define CE_MAX_SETSIZE (1 << 20)

typedef enum ce_conn_state {
    CONN_OPEN,        /* echoing */
    CONN_PEER_CLOSED, /* the peer sent FIN: flush what is queued, then close */
    CONN_DRAINING,    /* graceful stop: no more reading, flush what was read */
    CONN_LINGERING,   /* write side shut down: discard input until the peer closes */
} ce_conn_state;

typedef union ce_sockaddr {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
} ce_sockaddr;

typedef struct ce_conn {
    int fd;
    uint8_t mask;         /* interest registered with the poller */
    uint8_t state;        /* ce_conn_state */
    uint8_t paused;       /* output passed the limit: no reading or processing until it drains */
    uint8_t awaiting;     /* a deferred reply is due: later messages wait, in order */
    uint8_t closing;      /* flush what is queued, then close for close_reason */
    uint8_t close_reason; /* ce_close_reason, for closing and lingering connections */
    uint8_t awaited_terminator; /* the deferred message's line terminator */
    uint8_t ip_counted;   /* counted in the access policy's per-address table */
    uint64_t id;
    ce_buf out;           /* bytes not yet sent; allocated only while non-empty */
    ce_buf in;            /* framing: an incomplete message, or messages held back */
    size_t scanned;       /* line framing: bytes of `in` already searched for a newline */
    void *user;           /* the hook's context for this connection */
    ce_tlink idle_link;   /* in loop->idle while the idle timeout is on */
    ce_tlink write_link;  /* in loop->writes while output is queued */
    ce_tlink frame_link;  /* in loop->frames while a message is incomplete, or loop->lingers */
    ce_sockaddr peer;     /* kept raw: formatted only when a log line needs it */
} ce_conn;

/* The reply a hook is building: at most one per loop at a time. */
struct ce_reply {
    ce_conn *conn;       /* NULL for a standalone reply (ce_reply_create) */
    ce_buf *buf;         /* the connection's output, or the loop's staging buffer */
    size_t max_reply;    /* the loop's limits, copied so the reply API needs no loop */
    size_t cap;          /* what buf may hold in all */
    size_t start;        /* where this reply's payload starts in buf */
    int overflow;        /* a write passed max_reply: nothing more is kept */
    char failure[256];   /* why the hook failed, for the log */
};

/* What another thread hands the loop: a deferred reply, or a connection to serve. */
typedef enum ce_post_kind {
    CE_POST_REPLY = 0,
    CE_POST_CONNECTION, /* fd is a client connection; data holds its peer address */
} ce_post_kind;

typedef struct ce_post {
    struct ce_post *next;
    ce_post_kind kind;
    int fd;
    uint64_t id;
    ce_action action;
    size_t len;
    char data[];
} ce_post;

typedef struct ce_listener {
    int fd;
    int mask;
    int hand_off;         /* deal accepted connections to the group, in turn */
} ce_listener;

/* A UDP socket the loop answers. */
typedef struct ce_udp {
    int fd;
    int mask;
    char local[64];         /* its address, for hooks (ce_conn_info.local) */
} ce_udp;

/* A datagram whose hook deferred its reply: where the reply goes when it comes. */
typedef struct ce_udp_pending {
    uint64_t id;            /* 0: a free slot */
    int fd;                 /* the UDP socket it came in on */
    size_t limit;           /* the datagram's length: no reply may be larger */
    uint64_t since_ms;
    ce_sockaddr peer;
    socklen_t peer_len;
} ce_udp_pending;

/* Counters: written only by the loop thread, read by any (ce_loop_stats), so relaxed
 * atomic loads and stores suffice and compile to plain moves. */
typedef struct ce_counters {
    _Atomic uint64_t accepted, active, closed;
    _Atomic uint64_t refused_max_connections, refused_fd_setsize, refused_no_descriptors;
    _Atomic uint64_t bytes_in, bytes_out;
    _Atomic uint64_t partial_writes, backpressure_pauses, idle_timeouts, write_timeouts, shutdown_forced;
    _Atomic uint64_t resets, errors;
    _Atomic uint64_t messages, messages_too_large, frame_timeouts, replies_too_large;
    _Atomic uint64_t hook_errors, slow_hooks, late_replies;
    _Atomic uint64_t refused_not_allowed, refused_per_ip;
    _Atomic uint64_t udp_in, udp_out, udp_not_allowed, udp_bad_port, udp_rate_limited;
    _Atomic uint64_t udp_too_large, udp_send_dropped, udp_deferred_refused;
} ce_counters;

#define CE_COUNT(loop, field, n)                                                              \
    atomic_store_explicit(&(loop)->counters.field,                                            \
                          atomic_load_explicit(&(loop)->counters.field, memory_order_relaxed) + \
                              (uint64_t)(n),                                                  \
                          memory_order_relaxed)

#define CE_UNCOUNT(loop, field, n)                                                            \
    atomic_store_explicit(&(loop)->counters.field,                                            \
                          atomic_load_explicit(&(loop)->counters.field, memory_order_relaxed) - \
                              (uint64_t)(n),                                                  \
                          memory_order_relaxed)

/* One log line a second at most for an event that can repeat at the rate of an attack. */
typedef struct ce_ratelimit {
    uint64_t last_ms;
    uint64_t suppressed;
    int used;
} ce_ratelimit;

struct ce_loop {
    const ce_poller_ops *poller;
    void *poller_state;
    int setsize;            /* descriptors below this can be tracked */
    ce_conn **conns;        /* conns[fd]: the client connection on fd, or NULL */
    uint32_t nconns;
    ce_budget *budget;      /* the cap, shared with the server's other loops */
    ce_budget *own_budget;  /* the budget this loop made, when none was given */
    ce_loop **group;        /* where hand-off listeners deal connections; NULL: none */
    size_t ngroup, next_in_group;
    ce_listener listeners[CE_MAX_LISTENERS];
    size_t nlisteners;
    int listeners_paused;   /* after EMFILE without a spare: until accept_retry_ms */
    uint64_t accept_retry_ms;
    int wake_read_fd, wake_write_fd; /* one eventfd on Linux, a pipe elsewhere */
    int spare_fd;           /* held open to be given up on EMFILE; -1 when lost */
    char *scratch;          /* CE_READ_CHUNK bytes: the fast path's read buffer */
    ce_fired fired[CE_MAX_FIRED];
    ce_tlist idle, writes, frames, lingers;
    ce_hooks hooks;         /* all NULL for the built-in echo */
    size_t output_cap;      /* most a connection's output (or staging) may hold: limit + one event */
    size_t input_cap;       /* most a connection's input may hold: a whole message + one read */
    int fast_echo;          /* raw framing and no hooks: the echo never leaves conn.c's fast path */
    ce_buf staging;         /* replies of the current event while the connection has no queue */
    ce_reply reply;
    pthread_mutex_t post_lock; /* guards posts: other threads append, the loop takes them */
    ce_post *posts, *posts_tail;
    uint64_t now_ms;        /* monotonic, read once per round */
    uint64_t next_conn_id;
    ce_loop_config config;
    _Atomic int stop_request; /* 0 none, 1 graceful, 2 immediate */
    int stopping;           /* graceful stop under way */
    uint64_t deadline_ms;   /* of the graceful stop */
    ce_counters counters;
    ce_ratelimit refusal_log, exhaustion_log;
    ce_ratelimit access_log; /* refusals by the allow list or the per-address limit */
    ce_ratelimit udp_log;    /* datagrams dropped for reflection, rate or size */
    ce_udp udp[CE_MAX_LISTENERS];
    size_t nudp;
    ce_udp_pending *pending; /* CE_UDP_PENDING slots, allocated with the first UDP socket */
};

/* clock */
uint64_t ce_now_ms(void);

/* log.c */
static inline int ce_log_on(const ce_loop *l, ce_log_level level) {
    return l->config.log_fn && level >= l->config.log_level;
}
#if defined(__GNUC__)
#define CE_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CE_PRINTF(f, a)
#endif
void ce_logf(ce_loop *l, ce_log_level level, const ce_log_field *fields, size_t nfields,
             const char *fmt, ...) CE_PRINTF(5, 6);
/* A line about connection `c`: adds conn.id and peer.address to `fields`. */
void ce_conn_logf(ce_loop *l, const ce_conn *c, ce_log_level level, const ce_log_field *fields,
                  size_t nfields, const char *fmt, ...) CE_PRINTF(6, 7);
/* 1 when a rate-limited line may be logged now; `*suppressed` gets how many were not. */
int ce_ratelimit_allow(ce_ratelimit *r, uint64_t now_ms, uint64_t *suppressed);

/* conn.c */
ce_conn *ce_conn_open(ce_loop *l, int fd, const ce_sockaddr *peer);
void ce_conn_on_event(ce_loop *l, ce_conn *c, int mask);
void ce_conn_close(ce_loop *l, ce_conn *c, ce_close_reason reason, int err);
/* Graceful stop for one connection: stop reading, finish what was read, shut down writing,
 * linger until the peer closes. */
void ce_conn_begin_drain(ce_loop *l, ce_conn *c);
/* Flush what is queued, then close for `reason` (after a lingering close). */
void ce_conn_close_after_flush(ce_loop *l, ce_conn *c, ce_close_reason reason);
/* Output passed the limit: stop reading and processing until it drains below a quarter. */
void ce_conn_pause(ce_loop *l, ce_conn *c);
/* Move a connection on after something changed: process held messages, flush, and finish a
 * drain or a half-close when nothing is left. */
void ce_conn_advance(ce_loop *l, ce_conn *c);

/* message.c */
/* Frame `data` and answer each whole message while the connection may; returns the bytes
 * used. `*incomplete` is set when what is left is the start of a message. */
size_t ce_messages_process(ce_loop *l, ce_conn *c, const char *data, size_t len, int *incomplete);
/* After the peer's FIN, the incomplete rest of the input: a last line without its terminator
 * is still a message; anything else is dropped. Leaves the input empty. */
void ce_messages_flush_final(ce_loop *l, ce_conn *c);
/* Where a reply for `c` is written: its queue if it has one, else the loop's staging. */
ce_buf *ce_reply_buffer(ce_loop *l, ce_conn *c);
/* Call the hook for one message of `c` with the loop's reply set up over `b`, its writes
 * limited to `max_reply`; slow calls are logged and counted. */
ce_action ce_hook_invoke(ce_loop *l, ce_conn *c, ce_buf *b, size_t max_reply, const char *payload,
                         size_t len);
/* Take the deferred replies other threads posted (on the loop's thread). */
void ce_posts_deliver(ce_loop *l);
void ce_posts_free(ce_loop *l);

/* budget.c: 1 when a slot was free and is now taken; give each taken slot back once. */
int ce_budget_take(ce_budget *b);
void ce_budget_give_back(ce_budget *b);

/* accept.c */
void ce_accept_on_readable(ce_loop *l, ce_listener *lst);
/* Serve `fd`, or refuse it (closed, counted) when a limit says no. */
void ce_accept_admit(ce_loop *l, int fd, const ce_sockaddr *peer);
/* Watch (1) or stop watching (0) every listener. */
void ce_listeners_watch(ce_loop *l, int on);

/* udp.c */
/* The UDP socket on `fd`, or NULL. */
ce_udp *ce_udp_find(ce_loop *l, int fd);
/* Answer up to CE_UDP_DATAGRAMS_PER_EVENT datagrams waiting on `u`. */
void ce_udp_on_readable(ce_loop *l, ce_udp *u);
/* A deferred reply posted for a datagram of UDP socket `u`. */
void ce_udp_deliver(ce_loop *l, ce_udp *u, const ce_post *p);
/* Stop answering: close every UDP socket (graceful stop, destroy). */
void ce_udp_close_all(ce_loop *l);

/* wakeup.c */
int ce_wakeup_open(ce_loop *l, char *err, size_t errlen);
void ce_wakeup_signal(ce_loop *l);
void ce_wakeup_drain(ce_loop *l);
void ce_wakeup_close(ce_loop *l);

#endif /* CE_LOOP_H */
