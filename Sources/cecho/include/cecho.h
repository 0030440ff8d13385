/*
 * cecho.h -- the whole public API of SwiftEcho's C core.
 *
 * The core owns sockets, the event loop, buffers, limits and counters. It knows nothing of
 * Swift: it reports through a log callback and is driven through the functions below.
 * Functions return 0 on success and -1 on failure with errno set; those that can fail in ways
 * worth explaining also fill a caller-owned buffer with "call(args): reason".
 *
 * Threads: a loop runs on one thread, and calls its hooks there. A server with several loops
 * runs each on its own thread, sharing one ce_budget. Only ce_loop_stop(),
 * ce_loop_post_reply(), ce_loop_post_connection(), ce_loop_post_call() and ce_loop_stats() may
 * be called from other threads (ce_loop_stop() also from a signal handler). The loops also
 * share one ce_access, which locks.
 *
 * Inside, the core is in layers, each using only those below it: base, connection, engine,
 * loop (Sources/cecho/README.md). This header is the face of all of them; cecho_internal.h
 * holds what only the core, its tests and benchmarks need.
 * Layer: public (the face of every layer; includes no private header).
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
/* Framing: how messages end (the framer itself is in cecho_internal.h)                      */

typedef enum ce_framing {
    CE_FRAMING_RAW = 0, /* each read is one message: chunk boundaries are not message ones */
    CE_FRAMING_LINE,    /* a message ends at "\n" or "\r\n", which is not part of it */
    CE_FRAMING_LENGTH,  /* a 4-byte big-endian payload length, then that many bytes */
} ce_framing;

/* ---------------------------------------------------------------------------------------- */
/* Network helpers                                                                          */

/* Flags for ce_net_listen_tcp(). */
#define CE_LISTEN_SHARED_PORT 1 /* SO_REUSEPORT: one listener per loop on the same port, the
                                   kernel spreading connections; only where that balances */
#define CE_LISTEN_DATAGRAM 2    /* ce_net_listen_like(): UDP instead of TCP */

/* Resolve `host` (numeric address or name) and bind a non-blocking, close-on-exec TCP
 * listener with SO_REUSEADDR on every address it names, sharing one port (port 0 picks a
 * free one). IPv6 sockets of a set without IPv4 addresses ("::") are dual-stack: IPv4
 * clients reach them as IPv4-mapped addresses. Stores up to `max` descriptors in `fds` and their count in `*count`. On failure
 * nothing stays open. */
int ce_net_listen_tcp(const char *host, uint16_t port, int backlog, int flags, int *fds,
                      size_t max, size_t *count, char *err, size_t errlen);
/* 1 where CE_LISTEN_SHARED_PORT exists and the kernel balances connections over the
 * listeners (Linux, FreeBSD); 0 where one loop must accept and hand connections out. */
int ce_net_shared_port_balances(void);
/* A non-blocking, close-on-exec socket bound to the address and port socket `fd` (an IPv4 or
 * IPv6 listener) is bound to, with the same IPV6_V6ONLY, without a second name lookup: with
 * CE_LISTEN_DATAGRAM in `flags` a UDP socket beside a TCP listener (no SO_REUSEADDR, so a UDP
 * port another process serves is refused with EADDRINUSE); else one more TCP listener on a
 * shared port (with CE_LISTEN_SHARED_PORT), listening with `backlog`. Returns the
 * descriptor, or -1 (err filled). */
int ce_net_listen_like(int fd, int flags, int backlog, char *err, size_t errlen);
/* Format the local address of socket `fd` as "127.0.0.1:port" or "[::1]:port". */
int ce_net_local_endpoint(int fd, char *out, size_t outlen);

/* Which file a Unix socket was bound to, so that only that file is ever removed. */
typedef struct ce_unix_file {
    uint64_t dev, ino;
} ce_unix_file;
/* Bind a non-blocking, close-on-exec Unix stream listener at `path` (permissions `mode`, set
 * before it listens). A socket file whose listener is gone (connect() refused) is replaced;
 * a live one fails with EADDRINUSE, anything else at `path` with EEXIST, and neither is
 * touched. Stores the descriptor and the file's identity. On failure nothing stays open or
 * created. */
int ce_net_listen_unix(const char *path, unsigned mode, int backlog, int *fd, ce_unix_file *file,
                       char *err, size_t errlen);
/* Remove the socket file at `path` if it is still `file` (a restart may have replaced it).
 * Returns 1 when removed, 0 when gone or replaced, -1 on error (errno set). */
int ce_net_remove_unix(const char *path, const ce_unix_file *file);
/* The longest Unix socket path this platform takes, in bytes. */
size_t ce_net_unix_path_max(void);

/* What a socket passed in by a service manager (socket activation) is. */
typedef enum ce_socket_kind {
    CE_SOCKET_TCP_LISTENER = 1, /* a listening IPv4 or IPv6 stream socket */
    CE_SOCKET_UNIX_LISTENER,    /* a listening Unix stream socket */
    CE_SOCKET_UDP,              /* an IPv4 or IPv6 datagram socket */
} ce_socket_kind;
/* Check that inherited descriptor `fd` is a socket the loop can serve, store its kind, and
 * make it non-blocking and close-on-exec. -1 with `err` saying what it is instead. */
int ce_net_adopt_socket(int fd, ce_socket_kind *kind, char *err, size_t errlen);

/* Send `state` ("READY=1", lines separated by '\n') as one datagram to the service
 * manager's socket `address` (the value of NOTIFY_SOCKET): an absolute path, or '@' and a
 * Linux abstract name. Never blocks. Returns 0, or -1 with `err` filled. */
int ce_notify_send(const char *address, const char *state, char *err, size_t errlen);

/* Dead-peer detection on TCP connection `fd` (deadpeer.c): keepalive probes after
 * `keepalive_s` idle seconds (0: off), then every third of that, at least 1 s apart, the
 * third unanswered one ending the connection; and TCP_USER_TIMEOUT =
 * ce_dead_peer_user_timeout_ms(write_timeout_ms), so sent data left unacknowledged that long
 * ends it too. With both set, Linux ends a probed connection once the user timeout has passed
 * since the peer was last heard, at the next probe, whatever the probe count: about the
 * larger of keepalive + interval and the user timeout. The kernel reports either as
 * ETIMEDOUT. Options the platform lacks are skipped. Returns 0, or -1 with errno from the
 * first option refused. Not for Unix sockets. */
int ce_net_set_dead_peer(int fd, uint32_t keepalive_s, uint64_t write_timeout_ms);
/* The user timeout that goes with a write timeout: a quarter more, at least 2 s, so that the
 * loop's own write timeout fires first where both apply; 0 (off) for 0. */
uint32_t ce_dead_peer_user_timeout_ms(uint64_t write_timeout_ms);

/* ---------------------------------------------------------------------------------------- */
/* Limits                                                                                    */

/* Raise the soft RLIMIT_NOFILE to the hard limit. Returns the soft limit now in force
 * (or -1 when it cannot be read). */
long ce_limit_raise_nofile(void);
/* Descriptors the loop keeps for itself besides client connections: listeners, poller,
 * wakeup, the spare descriptor for EMFILE, standard streams and some headroom. */
#define CE_RESERVED_FDS 32
/* What each further loop of a server keeps: poller, wakeup, spare, its listeners. */
#define CE_RESERVED_FDS_PER_LOOP 8
/* The CPUs this process may run on (its affinity mask on Linux), at least 1. */
int ce_cpu_count(void);

/* The connection cap of a server, shared by its loops (thread-safe). The owner destroys it
 * after every loop that uses it. */
typedef struct ce_budget ce_budget;
/* A budget of `max` connections at once (0 counts as 1). NULL with errno ENOMEM. */
ce_budget *ce_budget_create(uint32_t max);
void ce_budget_destroy(ce_budget *budget);
/* A new cap (0 counts as 1), from any thread: connections already served above it stay. */
void ce_budget_set_max(ce_budget *budget, uint32_t max);

/* ---------------------------------------------------------------------------------------- */
/* Poller backends                                                                          */

/* 1 when backend `name` ("auto", "select", "poll", "epoll", "kqueue", "io_uring") is built
 * for this platform, else 0 (whether the kernel lets it run: ce_backend_probe()). */
int ce_backend_available(const char *name);
/* The backend "auto" stands for here ("epoll", "kqueue" or "poll"). */
const char *ce_backend_default(void);
/* 0 when backend `name` can run here now, else -1 with `err` saying why: io_uring needs a
 * kernel that allows it (kernel.io_uring_disabled, seccomp) and has what the engine uses. */
int ce_backend_probe(const char *name, char *err, size_t errlen);
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
    uint64_t messages;                /* messages framed and answered (or declined) */
    uint64_t messages_too_large;      /* connections closed for a message over max_message */
    uint64_t frame_timeouts;          /* connections closed holding an incomplete message */
    uint64_t replies_too_large;       /* connections closed for a reply over max_reply */
    uint64_t hook_errors;             /* connections closed because their hook failed */
    uint64_t slow_hooks;              /* hook calls that took longer than slow_hook_ms */
    uint64_t late_replies;            /* deferred replies dropped: their connection was gone */
    uint64_t refused_not_allowed;     /* closed at accept: address outside the allow list */
    uint64_t refused_per_ip;          /* closed at accept: the address held max_per_ip already */
    uint64_t udp_in;                  /* datagrams received */
    uint64_t udp_out;                 /* datagrams sent */
    uint64_t udp_not_allowed;         /* dropped: source outside the allow list */
    uint64_t udp_bad_port;            /* dropped: source port 0, 7, 13, 17 or 19 (reflection) */
    uint64_t udp_rate_limited;        /* dropped: the source's token bucket was empty */
    uint64_t udp_too_large;           /* replies dropped: larger than their datagram */
    uint64_t udp_send_dropped;        /* replies dropped: the socket would block, or failed */
    uint64_t udp_deferred_refused;    /* deferrals refused: the pending table was full */
    uint64_t refused_proxy_untrusted; /* closed at accept: a PROXY header expected from an
                                         address outside proxy_from */
    uint64_t proxy_invalid;           /* closed: the PROXY header was missing or malformed */
    uint64_t proxy_timeouts;          /* closed: no whole PROXY header within proxy_timeout_ms */
    uint64_t hook_calls;              /* with time_hooks: hook calls timed, */
    uint64_t hook_ns;                 /* their time in all, */
    uint64_t hook_buckets[14];        /* and by duration (CE_HOOK_BUCKETS, see below) */
    uint64_t dead_peers;              /* closed because the kernel found the peer gone (ETIMEDOUT) */
    uint64_t reply_timeouts;          /* connections closed: a deferred reply passed reply_timeout_ms */
} ce_stats;

/* The hook-duration histogram (loop config time_hooks): ce_stats.hook_buckets[i] counts the
 * hook calls that took at most ce_hook_bucket_bound_us(i) microseconds and more than the
 * bound before it; the last bucket's bound is UINT64_MAX (every longer call). */
#define CE_HOOK_BUCKETS 14
uint64_t ce_hook_bucket_bound_us(size_t i);

/* ---------------------------------------------------------------------------------------- */
/* Hooks: the code that turns each message into a reply (the built-in echo when there are none) */

/* Why a connection closed, as hooks are told. */
typedef enum ce_close_reason {
    CE_CLOSE_PEER = 0,          /* the peer closed, after its replies went out */
    CE_CLOSE_RESET,             /* the peer reset the connection (ECONNRESET, EPIPE) */
    CE_CLOSE_ERROR,             /* another socket error, or no memory */
    CE_CLOSE_IDLE_TIMEOUT,      /* no byte read or written for idle_timeout_ms */
    CE_CLOSE_WRITE_TIMEOUT,     /* queued output made no progress for write_timeout_ms */
    CE_CLOSE_FRAME_TIMEOUT,     /* an incomplete message waited frame_timeout_ms */
    CE_CLOSE_MESSAGE_TOO_LARGE, /* a message's payload passed max_message */
    CE_CLOSE_REPLY_TOO_LARGE,   /* a reply passed max_reply */
    CE_CLOSE_HOOK_ERROR,        /* the hook failed */
    CE_CLOSE_BY_HOOK,           /* the hook asked to close */
    CE_CLOSE_SHUTDOWN,          /* graceful stop: everything was sent */
    CE_CLOSE_SHUTDOWN_FORCED,   /* still open at the shutdown deadline, or an immediate stop */
    CE_CLOSE_DATAGRAM,          /* UDP: the datagram's exchange is over (see "Datagrams") */
    CE_CLOSE_PROXY_INVALID,     /* no valid PROXY header (never told to hooks: not opened yet) */
    CE_CLOSE_PROXY_TIMEOUT,     /* no whole PROXY header in time (likewise) */
    CE_CLOSE_REFUSED,           /* the client its PROXY header named was refused (likewise) */
    CE_CLOSE_DEAD_PEER,         /* the kernel found the peer gone: keepalive or user timeout */
    CE_CLOSE_REPLY_TIMEOUT,     /* a deferred reply was not ready within reply_timeout_ms */
} ce_close_reason;

/* A short lower-case name for `reason` ("peer closed", "reply too large", ...). */
const char *ce_close_reason_name(ce_close_reason reason);

/* What a hook did with a message. */
typedef enum ce_action {
    CE_ACTION_REPLY = 0,       /* send what was written: one reply, even if empty */
    CE_ACTION_DECLINE,         /* send nothing for this message */
    CE_ACTION_REPLY_AND_CLOSE, /* send what was written, then close the connection */
    CE_ACTION_CLOSE,           /* send nothing more and close the connection */
    CE_ACTION_DEFER,           /* the reply will come through ce_loop_post_reply() */
    CE_ACTION_FAIL,            /* the hook failed (see ce_reply_fail): close the connection */
} ce_action;

/* A connection as its hook first sees it. Strings are valid only during the call. */
typedef struct ce_conn_info {
    int fd;
    uint64_t id;       /* unique within its loop */
    const char *peer;  /* "1.2.3.4:5678", "[::1]:5678", or for a Unix-domain client the socket
                        * it came through, "unix:PATH" */
    const char *local; /* the same forms */
    const char *proxy; /* the load balancer's address when a PROXY header named `peer`, or NULL */
} ce_conn_info;

/* The reply being built for one message; valid only during the `message` callback. */
typedef struct ce_reply ce_reply;

/* Callbacks from the loop's thread. Replies are framed by the core: the hook writes payload
 * only, and the core adds the line terminator or length header. */
typedef struct ce_hooks {
    void *ctx;
    /* A connection opened; returns its context, handed to the other callbacks. May be NULL. */
    void *(*opened)(void *ctx, const ce_conn_info *info);
    /* One message (`data` valid during the call); write the reply to `reply`. */
    ce_action (*message)(void *ctx, void *conn_ctx, const char *data, size_t len, ce_reply *reply);
    /* The connection closed; its context is not used again. May be NULL. */
    void (*closed)(void *ctx, void *conn_ctx, ce_close_reason reason);
    /* The reply the connection's hook deferred will not be sent: it passed reply_timeout_ms,
     * and the connection closes once the replies before it are sent; or, for a datagram, the
     * table of senders awaiting a reply was full (called before `closed`). Stop working on
     * it. May be NULL. */
    void (*abandoned)(void *ctx, void *conn_ctx);
} ce_hooks;

/* Append to the reply. Past max_reply nothing more is kept and -1 (ENOBUFS) is returned; the
 * reply is then dropped and its connection closed (reply too large). */
int ce_reply_write(ce_reply *reply, const void *data, size_t len);
/* Room for up to `max` reply bytes, written in place and then kept with ce_reply_commit();
 * NULL past max_reply or without memory. */
void *ce_reply_reserve(ce_reply *reply, size_t max);
void ce_reply_commit(ce_reply *reply, size_t len);
/* Bytes written to this reply so far. */
size_t ce_reply_length(const ce_reply *reply);
/* 1 once a write went past max_reply: the reply will not be sent. */
int ce_reply_over_limit(const ce_reply *reply);
/* Record why the hook failed, for the log; then return CE_ACTION_FAIL. */
void ce_reply_fail(ce_reply *reply, const char *why);
/* The connection the reply is for, and the number a deferral of this message gets: what
 * ce_loop_post_reply() needs to find it later, and to answer this message and no other. */
int ce_reply_conn_fd(const ce_reply *reply);
uint64_t ce_reply_conn_id(const ce_reply *reply);
uint64_t ce_reply_deferral(const ce_reply *reply);

/* A reply outside any loop, over a buffer of its own, so that a hook's `message` callback can
 * be called exactly as the loop calls it, without sockets: for benchmarks and hook tests.
 * Its connection is none (fd -1, id 0). NULL without memory. */
ce_reply *ce_reply_create(size_t max_reply);
/* The bytes written since the last take, valid until the next write; then empties the reply
 * (keeping its memory) for the next message. */
const char *ce_reply_take(ce_reply *reply, size_t *len);
void ce_reply_destroy(ce_reply *reply);

/* Datagrams (UDP). Each datagram is one message, unframed, answered with at most one datagram
 * to its sender. For a hook it is a connection of its own, over at once: `opened` (fd = the
 * UDP socket, a fresh id), `message`, then `closed` with CE_CLOSE_DATAGRAM, all in one go.
 * _CLOSE acts as _DECLINE and _REPLY_AND_CLOSE as _REPLY. A reply over the datagram's length
 * is dropped and counted (amplification). CE_ACTION_DEFER keeps the sender in a small table
 * (CE_UDP_PENDING per loop); ce_loop_post_reply(loop, fd, id, ...) sends the reply when it
 * comes, checked the same way. When the table is full the deferral is refused, counted and
 * `abandoned`, its later reply counted as late; an entry waits at most CE_UDP_PENDING_MS. */
#define CE_UDP_PENDING 64
#define CE_UDP_PENDING_MS 30000

/* ---------------------------------------------------------------------------------------- */
/* Access policy: who may connect, shared by every loop of a process                         */

/* An IPv4 or IPv6 address range. IPv4-mapped IPv6 ranges (::ffff:a.b.c.d/96+) are kept as
 * IPv4, so they match IPv4 clients however they arrive. */
typedef struct ce_cidr {
    int family;       /* 4 or 6 */
    unsigned prefix;  /* leading bits that must match: 0..32 or 0..128 */
    uint8_t addr[16]; /* network byte order; IPv4 in the first 4 bytes */
} ce_cidr;

/* Parse "10.0.0.0/8", "fd00::/8" or a bare address (/32, /128). Refuses a bad address, a
 * prefix out of range and bits set past the prefix. Returns 0, or -1 with errno EINVAL. */
int ce_cidr_parse(const char *text, ce_cidr *out);

/* The process-wide policy: the allow list, connections per client address and the UDP reply
 * rate per source. Thread-safe; the loops only borrow it, so it must outlive them. */
typedef struct ce_access ce_access;

typedef struct ce_access_config {
    const ce_cidr *allow;     /* ranges TCP and UDP clients may come from (copied); */
    size_t nallow;            /* none: every address. Unix-socket clients are never checked */
    uint32_t max_per_ip;      /* TCP connections one address may hold; 0 = no limit */
    uint32_t max_connections; /* connections of all loops together: sizes the per-address table */
    uint32_t udp_rate;        /* UDP replies per second per source (burst = rate); 0 = no UDP */
    const ce_cidr *proxy_from; /* who may send a PROXY header (copied), with proxy_protocol; */
    size_t nproxy_from;       /* Unix-socket peers always may */
} ce_access_config;

/* Sources the UDP rate table tracks at once, in fixed memory. A new source replaces the one
 * idle longest in its hash set, if that one was idle a second (its bucket was full again,
 * so nothing is forgotten); else it shares one overflow bucket of the same rate with every
 * other source that found no place. IPv6 sources are tracked per /64. */
#define CE_UDP_RATE_SOURCES 4096

/* NULL with `err` filled when memory runs out. */
ce_access *ce_access_create(const ce_access_config *config, char *err, size_t errlen);
void ce_access_destroy(ce_access *access);
/* Replace the allow list, the per-address limit (and the per-address table's size, which
 * only grows) and the UDP rate (only where UDP was set up at creation), from any thread;
 * counts of open connections are kept, and so is proxy_from (fixed at creation). -1 with
 * `err` filled, and nothing changed, when memory runs out. */
int ce_access_update(ce_access *access, const ce_access_config *config, char *err, size_t errlen);

/* ---------------------------------------------------------------------------------------- */
/* The event loop                                                                           */

typedef struct ce_loop ce_loop;

typedef struct ce_loop_config {
    const char *backend;          /* "auto", "select", "poll", "epoll", "kqueue" or "io_uring" */
    uint32_t max_connections;     /* client connections served at once; more are refused */
    ce_budget *budget;            /* shared cap across loops (max_connections then unused);
                                     NULL: the loop has its own; must outlive the loop */
    size_t output_limit;          /* pending output above which reading pauses (resumes < 1/4) */
    uint64_t write_timeout_ms;    /* close when queued output makes no progress; 0 = off */
    uint64_t idle_timeout_ms;     /* close after no byte read or written; 0 = off */
    uint64_t shutdown_timeout_ms; /* graceful stop deadline */
    ce_framing framing;           /* how messages end (raw: each read is one) */
    size_t max_message;           /* largest payload in line and length framing */
    uint64_t frame_timeout_ms;    /* close when an incomplete message waits this long; 0 = off */
    size_t max_reply;             /* largest reply a hook may write */
    uint64_t slow_hook_ms;        /* log and count hook calls slower than this; 0 = off */
    uint64_t reply_timeout_ms;    /* close a connection whose deferred reply waits this long,
                                     after the replies before it; 0 = off */
    const ce_hooks *hooks;        /* NULL: the built-in echo, which never leaves C (copied) */
    ce_log_level log_level;       /* events below it are not even formatted */
    ce_log_fn log_fn;             /* may be NULL */
    void *log_ctx;
    ce_access *access;            /* shared policy, or NULL for none; must outlive the loop */
    int proxy_protocol;           /* every connection begins with a PROXY header (v1 or v2) from
                                     a peer access->proxy_from trusts; its source stands for
                                     the peer from then on (allow list, per-address limit,
                                     logs, hooks). Needs `access`. */
    uint64_t proxy_timeout_ms;    /* the whole header must arrive within this */
    int time_hooks;               /* time every hook call into ce_stats' histogram (two clock
                                     reads a call; slow_hook_ms reads the clock anyway) */
    uint32_t keepalive_s;         /* TCP keepalive idle time (ce_net_set_dead_peer); 0 = off */
} ce_loop_config;

/* Create a loop (poller, wakeup descriptor). NULL on failure, with `err` filled. */
ce_loop *ce_loop_create(const ce_loop_config *config, char *err, size_t errlen);
/* Hand a listening socket to the loop, which owns it from now on (even on failure). */
int ce_loop_add_listener(ce_loop *loop, int fd, char *err, size_t errlen);
/* Like ce_loop_add_listener(), but each connection it accepts goes to the next loop of the
 * loop's group in turn (ce_loop_set_group()): for listeners the kernel cannot spread over
 * loops (Unix sockets, inherited sockets, platforms without a balancing SO_REUSEPORT). */
int ce_loop_add_handoff_listener(ce_loop *loop, int fd, char *err, size_t errlen);
/* The loops hand-off listeners deal connections to, in order (this loop may be one of
 * them); copied. Before ce_loop_run(); each loop of the group must outlive this one. */
int ce_loop_set_group(ce_loop *loop, ce_loop *const *group, size_t count, char *err, size_t errlen);
/* Give connection `fd`, accepted elsewhere from `peer` (a sockaddr of `peer_len` bytes), to
 * the loop, from any thread. The loop owns it from now on: it admits it under its own limits,
 * or closes it if it is stopping or has ended. Returns 0, or -1 with errno ENOMEM (fd then
 * closed). */
int ce_loop_post_connection(ce_loop *loop, int fd, const void *peer, size_t peer_len);
/* Hand a bound UDP socket to the loop, which owns it from now on (even on failure) and
 * answers its datagrams. Needs config.access with a udp_rate (amplification protection). */
int ce_loop_add_udp(ce_loop *loop, int fd, char *err, size_t errlen);
/* Run until stopped and drained. Returns 0, or -1 when the poller fails (err filled). */
int ce_loop_run(ce_loop *loop, char *err, size_t errlen);
/* Ask the loop to stop: graceful (close listeners, flush what was read, close each
 * connection cleanly, force the rest at the shutdown deadline) or, with graceful == 0, at
 * once. Safe from any thread and from a signal handler. */
void ce_loop_stop(ce_loop *loop, int graceful);
/* Deliver deferred reply `deferral` (ce_reply_deferral(); a datagram's is ignored) of connection
 * (`fd`, `id`) of this loop, from any thread: the bytes are copied, framed like any reply,
 * and sent in message order. `action` is CE_ACTION_REPLY, _DECLINE, _REPLY_AND_CLOSE, _CLOSE,
 * or _FAIL with `data` saying why (logged; the connection closes as for a failing hook). A
 * reply that answers nothing awaited (the connection closed meanwhile, the reply timeout
 * passed, or it is not the deferral the connection awaits) is dropped and counted as late.
 * Returns 0, or -1 with errno ENOMEM, or ESHUTDOWN when the loop has ended (nothing is sent). */
int ce_loop_post_reply(ce_loop *loop, int fd, uint64_t id, uint64_t deferral, const void *data, size_t len,
                       ce_action action);
/* Run `fn(ctx)` on the loop's thread between two turns, in order with the loop's other posts;
 * from any thread. Calls still queued when ce_loop_run() returns run before it returns (or,
 * for a loop that never ran, in ce_loop_destroy()). Returns 0, or -1 with errno ENOMEM, or
 * ESHUTDOWN once the loop has ended: the call was not taken, run it elsewhere. */
int ce_loop_post_call(ce_loop *loop, void (*fn)(void *ctx), void *ctx);
/* Apply `config`'s settings that may change while running (timeouts, reply_timeout_ms,
 * keepalive, limits, slow_hook_ms, log_level) between two turns, from any thread: new connections get them, open
 * ones from their next event on (and a keepalive re-armed). The rest of `config` (backend,
 * framing, hooks, budget, access, log callback) is ignored. 0, or -1 (ENOMEM, or ESHUTDOWN
 * once the loop has ended). */
int ce_loop_reconfigure(ce_loop *loop, const ce_loop_config *config);
/* A consistent-enough snapshot of the counters; safe from any thread. */
void ce_loop_stats(const ce_loop *loop, ce_stats *out);
/* Add every counter of `more` to `sum`: a server's stats are the sum of its loops'. */
void ce_stats_add(ce_stats *sum, const ce_stats *more);
/* The backend in use ("select", "poll", "epoll", "kqueue", "io_uring"). */
const char *ce_loop_backend(const ce_loop *loop);
/* Close every descriptor and free the loop. Not while ce_loop_run() is running. */
void ce_loop_destroy(ce_loop *loop);

#ifdef __cplusplus
}
#endif

#endif /* CECHO_H */
