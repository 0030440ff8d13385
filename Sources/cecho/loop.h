/*
 * loop.h -- the loop's private state, shared by the loop layer's files: turns and timers
 * (loop.c), listeners and accepting (accept.c), UDP sockets (udp.c), posts from other
 * threads (posts.c). Layer: loop.
 */
#ifndef CE_LOOP_H
#define CE_LOOP_H

#include "cecho.h"
#include "conn.h"
#include "engine.h"
#include "wakeup.h"

#include <pthread.h>
#include <stdatomic.h>

/* Connections accepted per listener event, so a connect storm cannot starve the
 * established connections for a whole turn (libuv and nginx cap this too). */
#define CE_ACCEPTS_PER_EVENT 64
/* After EMFILE/ENFILE without a spare descriptor, listeners rest this long (SwiftNIO's
 * accept back-off) instead of spinning on a listener that stays readable. */
#define CE_ACCEPT_BACKOFF_MS 100
#define CE_MAX_LISTENERS 64
/* Datagrams answered per UDP socket event: a flood on UDP must not starve the TCP
 * connections of the loop (and the reverse), as with CE_ACCEPTS_PER_EVENT. */
#define CE_UDP_DATAGRAMS_PER_EVENT 32
/* The loop's own descriptors an engine reports per turn: every listener and UDP socket, the
 * wakeup, and room for descriptors closed during the turn. */
#define CE_MAX_EVENTS (2 * CE_MAX_LISTENERS + 8)
/* Rounds of its own posts a loop serves after a turn before it looks at its descriptors
 * again: enough for a task that suspends once to be resumed and answered in the same turn,
 * few enough that a task yielding over and over cannot starve the connections. */
#define CE_OWN_POST_ROUNDS 4

/* What another thread hands the loop: a deferred reply, a connection to serve, or a call. */
typedef enum ce_post_kind {
    CE_POST_REPLY = 0,
    CE_POST_CONNECTION, /* fd is a client connection; data holds its peer address */
    CE_POST_CALL,       /* fn(ctx) on the loop's thread */
    CE_POST_SETTINGS,   /* data holds a ce_loop_config to take (ce_loop_reconfigure) */
} ce_post_kind;

typedef struct ce_post {
    struct ce_post *next;
    ce_post_kind kind;
    int fd;
    uint64_t id;
    uint64_t deferral;
    ce_action action;
    void (*fn)(void *ctx);
    void *ctx;
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

struct ce_loop {
    const ce_backend *backend;
    void *engine;
    ce_conns conns;         /* the connections, and what they share (counters among them) */
    ce_budget *own_budget;  /* the budget this loop made, when none was given */
    ce_loop **group;        /* where hand-off listeners deal connections; NULL: none */
    size_t ngroup, next_in_group;
    ce_listener listeners[CE_MAX_LISTENERS];
    size_t nlisteners;
    int listeners_paused;   /* after EMFILE without a spare: until accept_retry_ms */
    uint64_t accept_retry_ms;
    ce_ratelimit exhaustion_log;
    int spare_fd;           /* held open to be given up on EMFILE; -1 when lost */
    ce_udp udp[CE_MAX_LISTENERS];
    size_t nudp;
    ce_wakeup wakeup;
    ce_event events[CE_MAX_EVENTS];
    pthread_mutex_t post_lock; /* guards posts: other threads append, the loop takes them */
    ce_post *posts, *posts_tail;
    int posts_closed;       /* the loop has ended: posts are refused */
    int posts_own;          /* the loop's own thread posted without writing the wakeup: serve
                               the queue before waiting (only that thread touches it) */
    _Atomic int stop_request; /* 0 none, 1 graceful, 2 immediate */
    int stopping;           /* graceful stop under way */
    uint64_t deadline_ms;   /* of the graceful stop */
};

/* accept.c */
/* Accept what waits on listener `lst` (readable): admitted here, or dealt to the group. */
void ce_accept_on_readable(ce_loop *l, ce_listener *lst);
/* Serve `fd`, or refuse it (closed, counted) when a limit says no or the loop is stopping. */
void ce_accept_admit(ce_loop *l, int fd, const ce_sockaddr *peer);
/* Watch (1) or stop watching (0) every listener. */
void ce_listeners_watch(ce_loop *l, int on);
/* Stop accepting: close every listener (graceful stop, destroy). */
void ce_listeners_close(ce_loop *l);

/* udp.c */
/* The UDP socket on `fd`, or NULL. */
ce_udp *ce_udp_find(ce_loop *l, int fd);
/* Answer up to CE_UDP_DATAGRAMS_PER_EVENT datagrams waiting on `u`. */
void ce_udp_on_readable(ce_loop *l, ce_udp *u);
/* A deferred reply posted for a datagram of UDP socket `u`. */
void ce_udp_deliver(ce_loop *l, ce_udp *u, const ce_post *p);
/* Stop answering: close every UDP socket (graceful stop, destroy). */
void ce_udp_close_all(ce_loop *l);

/* posts.c */
/* Take what other threads posted, in order (on the loop's thread). */
void ce_posts_deliver(ce_loop *l);
/* The loop has ended: refuse further posts, and deliver (or run) what is queued. */
void ce_posts_close(ce_loop *l);
/* This thread runs loop `l` now (NULL: none): its own posts write no wakeup. */
void ce_posts_running_here(ce_loop *l);

#endif /* CE_LOOP_H */
