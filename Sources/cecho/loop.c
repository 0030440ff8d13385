/*
 * loop.c -- the event loop: create and destroy, the turns, timers, stop and drain, counters.
 * Layer: loop.
 *
 * One turn: the engine waits (timeout = the nearest timer), carries out the connections' I/O
 * and hands back the loop's own descriptors that are ready (the wakeup, listeners, UDP
 * sockets), which the loop serves; then timers expire. Everything runs on the loop's thread;
 * other threads only set stop_request, post, and write the wakeup descriptor.
 */
#include "loop.h"

#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Descriptors the loop's tables cover: the open-files limit, within CE_MAX_SETSIZE. */
static int table_size(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur > CE_MAX_SETSIZE)
        return CE_MAX_SETSIZE;
    return rl.rlim_cur < 64 ? 64 : (int)rl.rlim_cur;
}

ce_loop *ce_loop_create(const ce_loop_config *config, char *err, size_t errlen) {
    const ce_backend *backend = ce_backend_find(config->backend);
    if (!backend) {
        snprintf(err, errlen, "backend '%s' is not available on this platform",
                 config->backend ? config->backend : "(null)");
        errno = EINVAL;
        return NULL;
    }
    ce_loop *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "malloc(loop): %s", strerror(ENOMEM));
        return NULL;
    }
    l->backend = backend;
    l->spare_fd = -1;
    l->wakeup.read_fd = l->wakeup.write_fd = -1;
    pthread_mutex_init(&l->post_lock, NULL);
    ce_budget *budget = config->budget;
    if (!budget && !(budget = l->own_budget = ce_budget_create(config->max_connections))) {
        snprintf(err, errlen, "malloc(connection budget): %s", strerror(ENOMEM));
        goto fail;
    }
    int setsize = table_size();
    if (ce_conns_init(&l->conns, config, budget, setsize, err, errlen) == -1) goto fail;
    l->conns.config.budget = NULL;
    /* "auto" does not insist on a backend the kernel refuses: it says why and takes the next. */
    int automatic = !config->backend || strcmp(config->backend, "auto") == 0;
    const ce_backend *next;
    while (!(l->engine = backend->engine->create(&l->conns, backend, setsize, err, errlen)) && automatic &&
           (next = ce_backend_fallback(backend))) {
        ce_log_field field = {"reason", err};
        ce_logf(&l->conns.log, CE_LOG_NOTICE, &field, 1, "backend %s cannot run here, using %s", backend->name,
                next->name);
        backend = l->backend = next;
    }
    if (!l->engine) goto fail;
    if (ce_wakeup_open(&l->wakeup, err, errlen) == -1) goto fail;
    if (l->wakeup.read_fd >= backend->fd_bound || l->wakeup.read_fd >= setsize) {
        snprintf(err, errlen, "wakeup descriptor %d is beyond what the %s backend can watch",
                 l->wakeup.read_fd, backend->name);
        goto fail;
    }
    if (backend->engine->watch(l->engine, l->wakeup.read_fd, 0, CE_READABLE) == -1) {
        snprintf(err, errlen, "watching the wakeup descriptor: %s", strerror(errno));
        goto fail;
    }
    /* Not fatal when missing: exhaustion then falls back to resting the listeners. */
    l->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return l;
fail:
    ce_loop_destroy(l);
    return NULL;
}

/* Graceful stop: no new connections; each connection flushes what was read, shuts down its
 * write side and lingers until its peer closes, within the shutdown deadline. */
static void begin_shutdown(ce_loop *l) {
    ce_conns *cs = &l->conns;
    l->stopping = 1;
    l->deadline_ms = cs->now_ms + cs->config.shutdown_timeout_ms;
    ce_listeners_close(l);
    ce_logf(&cs->log, CE_LOG_INFO, NULL, 0, "stopping: draining %" PRIu32 " connection(s)", cs->count);
    ce_conns_drain_all(cs);
}

static void expire_deadline(ce_loop *l) {
    uint32_t left = l->conns.count;
    ce_conns_close_all(&l->conns, CE_CLOSE_SHUTDOWN_FORCED);
    if (left)
        ce_logf(&l->conns.log, CE_LOG_WARNING, NULL, 0,
                "shutdown deadline reached: closed %" PRIu32 " connection(s) still open", left);
}

/* Milliseconds until `due`, 0 if already due. */
static int64_t until(uint64_t now, uint64_t due) { return due <= now ? 0 : (int64_t)(due - now); }

/* The engine's timeout: until the nearest timer, -1 when there is none. */
static int next_timeout(ce_loop *l) {
    uint64_t now = l->conns.now_ms;
    int64_t t = ce_conns_next_timeout(&l->conns);
    if (l->stopping && (t < 0 || until(now, l->deadline_ms) < t)) t = until(now, l->deadline_ms);
    if (l->listeners_paused && (t < 0 || until(now, l->accept_retry_ms) < t)) t = until(now, l->accept_retry_ms);
    return t > INT_MAX ? INT_MAX : (int)t;
}

static void expire_timers(ce_loop *l) {
    ce_conns_expire(&l->conns);
    uint64_t now = l->conns.now_ms;
    if (l->listeners_paused && now >= l->accept_retry_ms) {
        l->listeners_paused = 0;
        ce_listeners_watch(l, 1);
    }
    if (l->stopping && l->conns.count > 0 && now >= l->deadline_ms) expire_deadline(l);
}

/* Serve the loop's own descriptors the engine found ready. A descriptor closed earlier in the
 * turn matches none of them any more: check before acting. */
static void dispatch(ce_loop *l, int n) {
    for (int i = 0; i < n; i++) {
        int fd = l->events[i].fd;
        if (fd == l->wakeup.read_fd) {
            ce_wakeup_drain(&l->wakeup);
            ce_posts_deliver(l);
            continue;
        }
        ce_udp *u = ce_udp_find(l, fd);
        if (u) {
            ce_udp_on_readable(l, u);
            continue;
        }
        for (size_t j = 0; j < l->nlisteners; j++)
            if (l->listeners[j].fd == fd && l->listeners[j].mask) {
                ce_accept_on_readable(l, &l->listeners[j]);
                break;
            }
    }
}

int ce_loop_run(ce_loop *l, char *err, size_t errlen) {
    ce_conns *cs = &l->conns;
    const ce_engine_ops *engine = l->backend->engine;
    cs->now_ms = ce_now_ms();
    int rc = engine->start ? engine->start(l->engine, err, errlen) : 0;
    ce_posts_running_here(l);
    while (rc == 0) {
        int request = atomic_load_explicit(&l->stop_request, memory_order_acquire);
        if (request == 2) break;
        if (request == 1 && !l->stopping) begin_shutdown(l);
        if (l->stopping && cs->count == 0) break;
        /* Posts of this thread's own wrote no wakeup: serve them first, without waiting. */
        int n = engine->turn(l->engine, l->posts_own ? 0 : next_timeout(l), l->events, CE_MAX_EVENTS);
        if (n == -1) {
            snprintf(err, errlen, "%s wait: %s", l->backend->name, strerror(errno));
            rc = -1;
            break;
        }
        dispatch(l, n);
        /* What the turn's own work posted (a job, the reply it makes, the job after that)
         * is served now, a few rounds deep, rather than one round per turn. */
        for (int round = 0; l->posts_own && round < CE_OWN_POST_ROUNDS; round++) {
            l->posts_own = 0;
            ce_posts_deliver(l);
        }
        expire_timers(l);
    }
    l->stopping = 1; /* what is still posted finds the loop ended: connections are refused */
    ce_listeners_close(l);
    uint32_t left = cs->count;
    ce_conns_close_all(cs, rc == -1 ? CE_CLOSE_ERROR : CE_CLOSE_SHUTDOWN_FORCED);
    if (left && rc == 0)
        ce_logf(&cs->log, CE_LOG_NOTICE, NULL, 0, "stopped at once: closed %" PRIu32 " connection(s)", left);
    ce_posts_close(l);
    if (engine->finish) engine->finish(l->engine);
    ce_posts_running_here(NULL);
    return rc;
}

int ce_backend_probe(const char *name, char *err, size_t errlen) {
    ce_loop_config config = {.backend = name, .max_connections = 1, .output_limit = 1, .max_message = 1,
                             .max_reply = 1, .log_level = CE_LOG_CRITICAL};
    ce_loop *l = ce_loop_create(&config, err, errlen);
    if (!l) return -1;
    ce_loop_destroy(l);
    return 0;
}

void ce_loop_stop(ce_loop *l, int graceful) {
    int want = graceful ? 1 : 2, current = 0;
    /* Only ever move towards "immediate": a graceful request never undoes an immediate one. */
    while (!atomic_compare_exchange_weak(&l->stop_request, &current, want))
        if (current >= want) return;
    ce_wakeup_signal(&l->wakeup);
}

void ce_loop_stats(const ce_loop *l, ce_stats *out) { ce_counters_read(&l->conns.counters, out); }

const char *ce_loop_backend(const ce_loop *l) { return l->backend->name; }

void ce_loop_destroy(ce_loop *l) {
    if (!l) return;
    if (l->engine) {
        l->stopping = 1; /* a loop that never ran refuses what was handed to it, as an ended one */
        ce_listeners_close(l);
        ce_conns_close_all(&l->conns, CE_CLOSE_SHUTDOWN_FORCED);
        ce_udp_close_all(l);
        ce_posts_close(l); /* a loop that never ran still runs the calls posted to it */
        l->backend->engine->destroy(l->engine);
    }
    ce_conns_free(&l->conns);
    ce_wakeup_close(&l->wakeup);
    if (l->spare_fd != -1) close(l->spare_fd);
    pthread_mutex_destroy(&l->post_lock);
    ce_budget_destroy(l->own_budget);
    free(l->group);
    free(l);
}
