/*
 * engine.h -- the contract every engine keeps: what moves the bytes of a loop's connections.
 * Layer: engine.
 *
 * An engine carries its connections' I/O (receiving, sending, shutting down, closing) and
 * reports what happened to the connection layer (conn.h), through whose ce_transport it is
 * driven in turn. It also watches the loop's own descriptors (the wakeup, listeners, UDP
 * sockets) and hands back the ones that are ready: those are the loop's to serve. Two kinds:
 * the readiness engine (engine_ready.c), over a poller (select, poll, epoll, kqueue) that says
 * when a descriptor is ready, and the completion engine (engine_uring.c, io_uring), which says
 * when an operation is done.
 */
#ifndef CE_ENGINE_H
#define CE_ENGINE_H

#include "conn.h"

#define CE_READABLE 1
#define CE_WRITABLE 2

/* A descriptor of the loop's own that is ready. */
typedef struct ce_event {
    int fd;
    int mask; /* CE_READABLE | CE_WRITABLE */
} ce_event;

typedef struct ce_backend ce_backend;

typedef struct ce_engine_ops {
    /* Make an engine for connections `cs` (installing its transport there), tracking
     * descriptors below `setsize`, as `backend` says (its variant: the readiness engine's
     * poller). NULL with `err` filled on failure. */
    void *(*create)(ce_conns *cs, const ce_backend *backend, int setsize, char *err, size_t errlen);
    /* After every connection was closed. */
    void (*destroy)(void *engine);
    /* Optional: on the loop's thread, before its first turn. 0, or -1 with `err` filled. */
    int (*start)(void *engine, char *err, size_t errlen);
    /* Watch descriptor `fd` of the loop's own for `newmask` (0: no longer), `oldmask` being
     * what it watched so far. 0, or -1 with errno. */
    int (*watch)(void *engine, int fd, int oldmask, int newmask);
    /* One turn: wait up to `timeout_ms` (-1: no limit) for something to happen, set
     * cs->now_ms, carry out the connections' I/O, and return the loop's own descriptors that
     * are ready (at most `max`, in `events`). -1 with errno when waiting failed. */
    int (*turn)(void *engine, int timeout_ms, ce_event *events, int max);
    /* Optional: on the loop's thread after its last turn, every connection closed: wait until
     * the kernel holds nothing of theirs. */
    void (*finish)(void *engine);
} ce_engine_ops;

/* What `--backend NAME` runs: an engine, and what it is given. */
struct ce_backend {
    const char *name;
    int fd_bound; /* descriptors >= this cannot be watched (select); INT_MAX otherwise */
    const ce_engine_ops *engine;
    const void *variant;
    int refusable; /* the kernel may refuse it (seccomp, a sysctl): "auto" then takes the next */
};

/* The backend called `name`, "auto" for the platform's best; NULL if not available here. */
const ce_backend *ce_backend_find(const char *name);
/* What "auto" takes when backend `b` (refusable) cannot run: the next in preference. */
const ce_backend *ce_backend_fallback(const ce_backend *b);

#endif /* CE_ENGINE_H */
