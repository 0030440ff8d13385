/*
 * poller.c -- the table of backends compiled on this platform, in order of preference
 * (libevent's eventop table): the first entry is what "auto" picks.
 */
#include "cecho.h"
#include "poller.h"

#include <limits.h>
#include <string.h>

extern const ce_poller_ops ce_poller_epoll;
extern const ce_poller_ops ce_poller_kqueue;
extern const ce_poller_ops ce_poller_poll;
extern const ce_poller_ops ce_poller_select;

static const ce_poller_ops *const backends[] = {
#if defined(__linux__)
    &ce_poller_epoll,
#endif
#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__) || \
    defined(__DragonFly__)
    &ce_poller_kqueue,
#endif
    &ce_poller_poll,
    &ce_poller_select,
};

const ce_poller_ops *ce_poller_find(const char *name) {
    if (!name || strcmp(name, "auto") == 0) return backends[0];
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (strcmp(backends[i]->name, name) == 0) return backends[i];
    return NULL;
}

int ce_backend_available(const char *name) { return ce_poller_find(name) != NULL; }

const char *ce_backend_default(void) { return backends[0]->name; }

int32_t ce_backend_fd_bound(const char *name) {
    const ce_poller_ops *ops = ce_poller_find(name);
    return ops && ops->fd_bound < INT32_MAX ? (int32_t)ops->fd_bound : INT32_MAX;
}
