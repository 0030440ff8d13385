/*
 * backend.c -- the backends compiled on this platform, in order of preference (libevent's
 * eventop table): the first entry is what "auto" picks. Layer: engine.
 */
#include "engine.h"
#include "poller.h"

#include <limits.h>
#include <string.h>
#include <sys/select.h>

extern const ce_engine_ops ce_engine_ready;
#if defined(__linux__)
extern const ce_engine_ops ce_engine_uring;
#endif

#define READINESS(name, fd_bound, poller) {name, fd_bound, &ce_engine_ready, &poller, 0}

static const ce_backend backends[] = {
#if defined(__linux__)
    READINESS("epoll", INT_MAX, ce_poller_epoll),
#endif
#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__) || \
    defined(__DragonFly__)
    READINESS("kqueue", INT_MAX, ce_poller_kqueue),
#endif
    READINESS("poll", INT_MAX, ce_poller_poll),
    READINESS("select", FD_SETSIZE, ce_poller_select),
#if defined(__linux__)
    {"io_uring", INT_MAX, &ce_engine_uring, NULL, 1}, /* not first: see README, "Backends" */
#endif
};

const ce_backend *ce_backend_find(const char *name) {
    if (!name || strcmp(name, "auto") == 0) return &backends[0];
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (strcmp(backends[i].name, name) == 0) return &backends[i];
    return NULL;
}

const ce_backend *ce_backend_fallback(const ce_backend *b) {
    size_t n = sizeof backends / sizeof backends[0];
    return b->refusable && b + 1 < backends + n ? b + 1 : NULL;
}

int ce_backend_available(const char *name) { return ce_backend_find(name) != NULL; }

const char *ce_backend_default(void) { return backends[0].name; }

int32_t ce_backend_fd_bound(const char *name) {
    const ce_backend *b = ce_backend_find(name);
    return b && b->fd_bound < INT32_MAX ? (int32_t)b->fd_bound : INT32_MAX;
}
