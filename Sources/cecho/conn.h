/*
 * conn.h -- the connection layer: what one client connection is and does, told by an engine
 * what happened to its socket. Layer: connection.
 *
 * A connection frames what arrives, answers each message (the built-in echo or a hook),
 * keeps its replies in order, applies every limit and timeout, and decides when to pause
 * reading, shut down writing and close, with a reason. It never calls recv() or send() and
 * does not know which engine runs it: an engine reports "these bytes arrived", "these bytes
 * went out", "the peer closed", "this error", and carries out what the connection asks
 * through the ce_transport it installed (send now, watch this, shut down writing, release).
 */
#ifndef CE_CONN_H
#define CE_CONN_H

#include "access.h"
#include "budget.h"
#include "cecho_internal.h"
#include "counters.h"
#include "log.h"
#include "net.h"
#include "tlist.h"

#include <sys/types.h>

/* Bytes one read asks for. Also the per-loop scratch size, and the most a paused connection
 * can hold beyond its output limit. */
#define CE_READ_CHUNK (64 * 1024)
/* How long a connection closed after an error of its peer's making (a message too large, a
 * hook that closes) may keep sending before its input stops being drained: the replies were
 * flushed and the write side shut down, this only protects them from a reset. */
#define CE_LINGER_MS 5000
/* Tables indexed by descriptor are sized by RLIMIT_NOFILE, but never beyond this. */
#define CE_MAX_SETSIZE (1 << 20)

typedef enum ce_conn_state {
    CONN_OPEN,        /* echoing */
    CONN_PEER_CLOSED, /* the peer sent FIN: flush what is queued, then close */
    CONN_DRAINING,    /* graceful stop: no more reading, flush what was read */
    CONN_LINGERING,   /* write side shut down: discard input until the peer closes */
} ce_conn_state;

typedef struct ce_conn {
    int fd;
    uint8_t io;           /* the engine's own: the interest it registered, or its requests */
    uint8_t state;        /* ce_conn_state */
    uint8_t paused;       /* output passed the limit: no reading or processing until it drains */
    uint8_t closing;      /* flush what is queued, then close for close_reason */
    uint8_t close_reason; /* ce_close_reason, for closing and lingering connections */
    uint8_t ip_counted : 1; /* counted in the access policy's per-address table */
    uint8_t proxy_wait : 1; /* its PROXY header is still to come: not served, not told to hooks */
    uint8_t proxied : 1;    /* a PROXY header named `peer`; the socket's own peer is the balancer */
    uint8_t awaiting : 1;   /* deferred reply number `deferrals` is due: later messages wait */
    uint8_t awaited_terminator : 2; /* the deferred message's line terminator */
    uint16_t deferrals;   /* replies this connection's hook deferred: each completion must name
                             its own (ce_reply_deferral), so none answers another message */
    uint32_t held;        /* reply bytes the engine holds to send itself (see ce_transport) */
    uint64_t id;
    ce_buf out;           /* bytes not yet sent; allocated only while non-empty */
    ce_buf in;            /* framing: an incomplete message, or messages held back */
    size_t scanned;       /* line framing: bytes of `in` already searched for a newline */
    void *user;           /* the hook's context for this connection */
    ce_tlink idle_link;   /* in idle while the idle timeout is on */
    ce_tlink write_link;  /* in writes while output is pending */
    ce_tlink frame_link;  /* in frames while a message is incomplete, in lingers, in proxies
                             while its PROXY header is awaited, or in replies while a deferred
                             reply is (no message is framed meanwhile) */
    ce_sockaddr peer;     /* the client (what its PROXY header named, if any) */
} ce_conn;

/* What an engine does for its connections: the only way their bytes leave and the only
 * descriptor operations they ask for. Each returns 0 or -1 with errno; on -1 the connection
 * layer closes the connection. */
typedef struct ce_transport {
    /* Start watching new connection `c` for input. */
    int (*attach)(void *engine, ce_conn *c);
    /* Reply bytes `p[0, n)`, to go out after everything pending before them. Returns how
     * many the engine took (sent, or kept to send itself, counted with ce_conn_hold()); the
     * connection queues the rest in `out`. `p` is valid only during the call, unless it is
     * the engine's own receive buffer. */
    ssize_t (*send)(void *engine, ce_conn *c, const char *p, size_t n);
    /* Reading wanted (ce_conn_wants_read()) or output queued changed: watch accordingly. */
    int (*update)(void *engine, ce_conn *c);
    /* Everything was sent: shut down the write side. */
    int (*shutdown)(void *engine, ce_conn *c);
    /* The connection is over: stop watching it, close its descriptor and free `c` (at once,
     * or once the kernel has given back what it holds of it). */
    void (*release)(void *engine, ce_conn *c);
} ce_transport;

/* A datagram whose hook deferred its reply: where the reply goes when it comes. */
typedef struct ce_udp_pending {
    uint64_t id;            /* 0: a free slot */
    int fd;                 /* the UDP socket it came in on */
    size_t limit;           /* the datagram's length: no reply may be larger */
    uint64_t since_ms;
    ce_sockaddr peer;
    socklen_t peer_len;
} ce_udp_pending;

/* The reply a hook is building: at most one per loop at a time. */
struct ce_reply {
    ce_conn *conn;       /* NULL for a standalone reply (ce_reply_create) */
    ce_buf *buf;         /* the connection's output, or the loop's staging buffer */
    size_t max_reply;    /* the loop's limits, copied so the reply API needs no loop */
    size_t cap;          /* what buf may hold in all */
    size_t start;        /* where this reply's payload starts in buf */
    int overflow;        /* a write passed max_reply: nothing more is kept */
    uint64_t deferral;   /* the number a deferral of this message gets (ce_reply_deferral) */
    char failure[256];   /* why the hook failed, for the log */
};

/* One log limiter per kind of dropped datagram, so that a flood of one kind (over the rate,
 * say) never hides the first drop of another (a reflector's source port) for the rest of its
 * second. Refusals by the allow list share `access_log` with TCP's: the same kind. */
typedef struct ce_udp_drop_logs {
    ce_ratelimit reflector;      /* the source port of a reflecting service */
    ce_ratelimit rate;           /* over its source's reply rate */
    ce_ratelimit too_large;      /* a reply larger than its datagram */
    ce_ratelimit max_reply;      /* a reply over max-reply */
    ce_ratelimit deferred;       /* a deferred reply refused: the table is full */
    ce_ratelimit hook_failed;
    ce_ratelimit send;           /* the socket would not take the reply */
} ce_udp_drop_logs;

/* The connections of one loop and what they share: settings, hooks, counters, timers, and the
 * table that finds a connection by descriptor. One per loop; only that loop's thread uses it. */
typedef struct ce_conns {
    ce_loop_config config;  /* the loop's settings (hooks copied into `hooks`) */
    ce_hooks hooks;         /* all NULL for the built-in echo */
    int fast_echo;          /* raw framing and no hooks: the echo never leaves the fast path */
    size_t output_cap;      /* most a connection's output (or staging) may hold: limit + one event */
    size_t input_cap;       /* most a connection's input may hold: a whole message + one read */
    ce_logger log;
    ce_counters counters;
    ce_budget *budget;      /* the cap, shared with the server's other loops */
    ce_access *access;      /* the shared policy, or NULL */
    uint64_t now_ms;        /* monotonic, read once per turn by the engine */
    uint64_t next_conn_id;
    ce_conn **table;        /* table[fd]: the connection on fd, or NULL */
    int setsize;            /* descriptors below this can be tracked */
    uint32_t count;         /* connections open */
    ce_tlist idle, writes, frames, lingers, proxies, replies;
    char *scratch;          /* CE_READ_CHUNK bytes: where reads land when nothing else fits */
    ce_buf staging;         /* replies of the current event while the connection has no queue */
    ce_reply reply;
    ce_ratelimit refusal_log; /* refusals by the server's own limits */
    ce_ratelimit access_log;  /* refusals by the allow list or the per-address limit */
    ce_udp_drop_logs udp_log; /* datagrams dropped, a line a second per kind */
    ce_ratelimit proxy_log;   /* connections closed for their PROXY header */
    ce_udp_pending *pending;  /* CE_UDP_PENDING slots, allocated with the first UDP socket */
    const ce_transport *io;   /* the engine's operations, and the engine */
    void *engine;
    size_t conn_size;       /* bytes allocated per connection: the engine may keep its own after */
} ce_conns;

/* ---- The set (conn.c) ----------------------------------------------------------------- */

/* Set up for `config` with tables for descriptors below `setsize`; `budget` is the cap
 * (shared or the loop's own). 0, or -1 with `err` filled. */
int ce_conns_init(ce_conns *cs, const ce_loop_config *config, ce_budget *budget, int setsize,
                  char *err, size_t errlen);
/* The engine that carries the connections' bytes; `conn_size` >= sizeof(ce_conn). */
void ce_conns_set_transport(ce_conns *cs, const ce_transport *io, void *engine, size_t conn_size);
/* Free what ce_conns_init() allocated; every connection must be closed. */
void ce_conns_free(ce_conns *cs);
/* The connection on `fd`, or NULL. */
static inline ce_conn *ce_conns_find(const ce_conns *cs, int fd) {
    return fd >= 0 && fd < cs->setsize ? cs->table[fd] : NULL;
}
/* Close every connection still open, for `reason`. */
void ce_conns_close_all(ce_conns *cs, ce_close_reason reason);
/* Graceful stop: each connection stops reading, finishes what was read, shuts down writing
 * and lingers until its peer closes. */
void ce_conns_drain_all(ce_conns *cs);
/* Milliseconds until the nearest connection timer (0: due), -1 when none runs. */
int64_t ce_conns_next_timeout(const ce_conns *cs);
/* Close the connections whose timer expired at now_ms. */
void ce_conns_expire(ce_conns *cs);
/* Take the settings of `next` that may change while running (ce_loop_reconfigure()). */
void ce_conns_reconfigure(ce_conns *cs, const ce_loop_config *next);
/* Keepalive and the user timeout for TCP connection `fd`, as the settings say (best effort:
 * a connection the kernel will not tune is still served). */
void ce_conns_arm_dead_peer(const ce_conns *cs, int fd, int family);

/* ---- Admission (admit.c) ------------------------------------------------------------ */

/* Serve `fd`, accepted from `peer`: checked against the allow list, the engine's descriptor
 * bound `fd_bound`, the shared cap and the per-address limit, then attached and announced.
 * A connection refused is closed, counted and logged. Returns it, or NULL. */
ce_conn *ce_conns_admit(ce_conns *cs, int fd, const ce_sockaddr *peer, int fd_bound);
/* The client a PROXY header named in `c->peer`, checked against the allow list and the
 * per-address limit, as a connection without one is at accept. 0, or -1 after refusing it
 * (counted, logged, closed: `c` is gone). */
int ce_conn_admit_client(ce_conns *cs, ce_conn *c);
/* Say "`what`: `why`" about connection `c` as a notice, at most once a second per `limiter`. */
void ce_conn_notice(ce_conns *cs, const ce_conn *c, ce_ratelimit *limiter, const char *what, const char *why);
/* Close a connection we will not serve, count it, and say why at `level`, at most once a
 * second per `limiter`. `peer` may be NULL. */
void ce_conns_refuse(ce_conns *cs, int fd, const ce_sockaddr *peer, _Atomic uint64_t *counter,
                     const char *why, ce_log_level level, ce_ratelimit *limiter);

/* ---- One connection's events, from its engine (conn.c) ------------------------------ */

/* Open a connection on `fd` (admitted already): attached to the engine, counted, announced
 * to the hook. NULL with errno when the engine cannot take it. */
ce_conn *ce_conn_open(ce_conns *cs, int fd, const ce_sockaddr *peer);
/* Where the next read should put up to CE_READ_CHUNK bytes: the end of the connection's
 * own buffer when what arrives would be copied there anyway, else the scratch buffer. NULL
 * when that buffer cannot grow: the connection was closed. */
char *ce_conn_read_space_own(ce_conns *cs, ce_conn *c);
static inline char *ce_conn_read_space(ce_conns *cs, ce_conn *c) {
    const ce_buf *own = cs->fast_echo ? &c->out : &c->in; /* empty while lingering */
    return ce_buf_len(own) == 0 ? cs->scratch : ce_conn_read_space_own(cs, c);
}
/* `n` bytes arrived at `p` (where ce_conn_read_space() said, or the engine's own buffer).
 * They are framed and answered; replies go out through the transport. Returns 0, or -1 when
 * the connection closed meanwhile (`c` is gone). */
int ce_conn_received(ce_conns *cs, ce_conn *c, char *p, size_t n);
/* The bytes of ce_conn_received() past any PROXY header: framed and answered. */
int ce_conn_deliver(ce_conns *cs, ce_conn *c, char *p, size_t n);
/* Bytes arrived while the connection awaits its PROXY header (proxied.c): the header is read,
 * the client it names takes the peer's place and is admitted, the hook is told, and what
 * follows the header is delivered. 0, or -1 when the connection closed. */
int ce_conn_proxy_received(ce_conns *cs, ce_conn *c, char *p, size_t n);
/* Close `c`, whose PROXY header will not come (`reason`: CE_CLOSE_PROXY_INVALID or
 * CE_CLOSE_PROXY_TIMEOUT, which count it), saying `why` as a notice, rate-limited. */
void ce_conn_proxy_give_up(ce_conns *cs, ce_conn *c, ce_close_reason reason, const char *why);
/* Tell the hook about a connection now served; it returns the context it wants back. */
void ce_conn_announce(ce_conns *cs, ce_conn *c);
/* The peer sent FIN. 0, or -1 when the connection closed. */
int ce_conn_peer_closed(ce_conns *cs, ce_conn *c);
/* A receive or send failed with `err`: close for a reset or an error. */
void ce_conn_failed(ce_conns *cs, ce_conn *c, int err);
/* `n` reply bytes that ce_transport.send was given went to the kernel at once: they count,
 * and they are activity for the idle timeout. */
static inline void ce_conn_sent(ce_conns *cs, ce_conn *c, size_t n) {
    CE_COUNT(&cs->counters, bytes_out, n);
    if (cs->config.idle_timeout_ms) ce_tlist_touch(&cs->idle, &c->idle_link, cs->now_ms);
}
/* `n` bytes of the queue `out` were sent (the engine sent from it): they leave the queue. */
void ce_conn_sent_queued(ce_conns *cs, ce_conn *c, size_t n);
/* The engine now holds `n` more reply bytes to send itself (ce_transport.send took them). */
void ce_conn_hold(ce_conns *cs, ce_conn *c, size_t n);
/* `n` held bytes were sent. */
void ce_conn_sent_held(ce_conns *cs, ce_conn *c, size_t n);
/* Move the connection on after something changed: answer what it holds, flush, and finish a
 * drain or a half-close when nothing is left. 0, or -1 when it closed. */
int ce_conn_advance(ce_conns *cs, ce_conn *c);
/* Whether the connection wants input now. While a deferred reply is due it still reads, into
 * its input buffer, as long as a whole read fits: so a peer that resets or closes meanwhile
 * is noticed, and a half-close still gets every reply. */
static inline int ce_conn_wants_read(const ce_conns *cs, const ce_conn *c) {
    if (c->state == CONN_OPEN)
        return !c->paused && !c->closing && (!c->awaiting || ce_buf_len(&c->in) + CE_READ_CHUNK <= cs->input_cap);
    return c->state == CONN_LINGERING;
}
/* Whether output progress can change what ce_conn_advance() decides: the connection is paused,
 * closing or finishing, or holds input. An engine may skip the call otherwise. */
static inline int ce_conn_needs_advance(const ce_conn *c) {
    return c->paused || c->closing || c->state != CONN_OPEN || ce_buf_len(&c->in) > 0;
}
/* Reply bytes not yet sent: queued, or held by the engine. */
static inline size_t ce_conn_pending(const ce_conn *c) { return ce_buf_len(&c->out) + c->held; }
/* Graceful stop for one connection: stop reading, finish what was read, shut down writing,
 * linger until the peer closes. */
void ce_conn_begin_drain(ce_conns *cs, ce_conn *c);
/* Close now for `reason` (`err`: the errno behind it, or 0). */
void ce_conn_close(ce_conns *cs, ce_conn *c, ce_close_reason reason, int err);
/* Flush what is queued, then close for `reason` (after a lingering close). */
void ce_conn_close_after_flush(ce_conns *cs, ce_conn *c, ce_close_reason reason);
/* Output passed the limit: stop reading and processing until it drains below a quarter. */
void ce_conn_pause(ce_conns *cs, ce_conn *c);
/* A line about connection `c`: adds conn.id and peer.address to `fields`. */
void ce_conn_logf(const ce_conns *cs, const ce_conn *c, ce_log_level level, const ce_log_field *fields,
                  size_t nfields, const char *fmt, ...) CE_PRINTF(6, 7);

/* ---- Messages and replies (message.c, reply.c) -------------------------------------- */

/* Frame `data` and answer each whole message while the connection may; returns the bytes
 * used. `*incomplete` is set when what is left is the start of a message. */
size_t ce_messages_process(ce_conns *cs, ce_conn *c, const char *data, size_t len, int *incomplete);
/* After the peer's FIN, the incomplete rest of the input: a last line without its terminator
 * is still a message; anything else is dropped. Leaves the input empty. */
void ce_messages_flush_final(ce_conns *cs, ce_conn *c);
/* Call the hook for one message of `c` with the loop's reply set up over `b`, its writes
 * limited to `max_reply`; slow calls are logged and counted. */
ce_action ce_hook_invoke(ce_conns *cs, ce_conn *c, ce_buf *b, size_t max_reply, const char *payload,
                         size_t len);
/* A deferred reply for deferral `seq` of connection (`fd`, `id`) arrived from another thread:
 * framed in the place its message left, then the connection answers what it held back
 * meanwhile. A reply that answers nothing awaited (its connection is gone, or it is not the
 * deferral the connection awaits) is counted as late. CE_ACTION_FAIL fails the hook, with
 * `data` saying why. */
void ce_conns_deliver_reply(ce_conns *cs, int fd, uint64_t id, uint64_t seq, ce_action action, const char *data,
                            size_t len);
/* The deferred reply `c` awaits passed the reply timeout: the hook is told (`abandoned`), and
 * the connection closes once the replies before it are sent. */
void ce_messages_reply_timed_out(ce_conns *cs, ce_conn *c);
/* The deferred reply `c` awaited came, or will never come (it closes): stop waiting. */
static inline void ce_conn_end_await(ce_conn *c) {
    if (!c->awaiting) return;
    c->awaiting = 0;
    ce_tlink_remove(&c->frame_link);
}

/* ---- Datagrams (datagram.c) --------------------------------------------------------- */

/* Answer one datagram of `len` bytes that came from `peer` to UDP socket `fd` (at address
 * `local`): the reflection checks, the allow list, the source's rate, then the echo or the
 * hook. Returns 1 with the reply to send in `*reply`, `*reply_len` (valid until
 * ce_datagram_done(), which must follow), or 0 when nothing is to be sent. */
int ce_datagram_answer(ce_conns *cs, int fd, const char *local, const ce_sockaddr *peer,
                       socklen_t peer_len, const char *data, size_t len, const char **reply,
                       size_t *reply_len);
/* The reply ce_datagram_answer() returned was sent (or dropped): its staging is free again. */
void ce_datagram_done(ce_conns *cs);
/* A deferred reply for datagram `id` of UDP socket `fd` arrived: 1 with where to send it
 * (`*peer`, `*peer_len`) when it is to be sent, 0 when it is dropped (counted). */
int ce_datagram_deliver(ce_conns *cs, int fd, uint64_t id, ce_action action, size_t len,
                        ce_sockaddr *peer, socklen_t *peer_len);
/* Count a dropped datagram and say why, at most once a second per `limiter`. */
void ce_datagram_drop(ce_conns *cs, _Atomic uint64_t *counter, ce_ratelimit *limiter, ce_log_level level,
                      const ce_sockaddr *peer, const char *why);
/* Room for deferred datagram replies; with the first UDP socket. 0, or -1 (ENOMEM). */
int ce_datagram_prepare(ce_conns *cs);
/* Forget the datagrams awaiting a reply (the UDP sockets are closing). */
void ce_datagram_forget(ce_conns *cs);

#endif /* CE_CONN_H */
