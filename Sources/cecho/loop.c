/*
 * loop.c -- the event loop: create and destroy, the run loop, timers, stop and drain.
 *
 * One round: wait on the poller (timeout = the nearest timer), read the clock once, dispatch
 * every ready descriptor, expire timers. Everything runs on the loop's thread; other threads
 * only set stop_request and write the wakeup descriptor.
 */
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

uint64_t ce_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Descriptors the loop's tables cover: the open-files limit, within CE_MAX_SETSIZE. */
static int table_size(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur > CE_MAX_SETSIZE)
        return CE_MAX_SETSIZE;
    return rl.rlim_cur < 64 ? 64 : (int)rl.rlim_cur;
}

ce_loop *ce_loop_create(const ce_loop_config *config, char *err, size_t errlen) {
    const ce_poller_ops *poller = ce_poller_find(config->backend);
    if (!poller) {
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
    l->config = *config;
    l->config.hooks = NULL; /* copied below: the caller's struct need not outlive the loop */
    if (config->hooks) l->hooks = *config->hooks;
    l->fast_echo = l->config.framing == CE_FRAMING_RAW && !l->hooks.message;
    /* Processing stops once output reaches the limit, so it overshoots by at most one event:
     * a read echoed whole, or one message's reply, framed. */
    size_t overshoot = CE_READ_CHUNK;
    if (l->config.max_message + 8 > overshoot) overshoot = l->config.max_message + 8;
    if (l->hooks.message && l->config.max_reply + 8 > overshoot) overshoot = l->config.max_reply + 8;
    l->output_cap = l->config.output_limit + overshoot;
    l->input_cap = l->config.max_message + 8 + CE_READ_CHUNK;
    pthread_mutex_init(&l->post_lock, NULL);
    l->poller = poller;
    l->setsize = table_size();
    l->config.budget = NULL;
    l->budget = config->budget;
    if (!l->budget) l->budget = l->own_budget = ce_budget_create(config->max_connections);
    l->wake_read_fd = l->wake_write_fd = l->spare_fd = -1;
    ce_tlist_init(&l->idle);
    ce_tlist_init(&l->writes);
    ce_tlist_init(&l->frames);
    ce_tlist_init(&l->lingers);
    l->conns = calloc((size_t)l->setsize, sizeof *l->conns);
    l->scratch = malloc(CE_READ_CHUNK);
    if (!l->conns || !l->scratch || !l->budget) {
        snprintf(err, errlen, "malloc(loop tables for %d descriptors): %s", l->setsize, strerror(ENOMEM));
        goto fail;
    }
    l->poller_state = poller->create(l->setsize, err, errlen);
    if (!l->poller_state) goto fail;
    if (ce_wakeup_open(l, err, errlen) == -1) goto fail;
    if (l->wake_read_fd >= poller->fd_bound || l->wake_read_fd >= l->setsize) {
        snprintf(err, errlen, "wakeup descriptor %d is beyond what the %s backend can watch",
                 l->wake_read_fd, poller->name);
        goto fail;
    }
    if (poller->set(l->poller_state, l->wake_read_fd, 0, CE_READABLE) == -1) {
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

static int add_listener(ce_loop *l, int fd, int hand_off, char *err, size_t errlen) {
    if (l->nlisteners == CE_MAX_LISTENERS) {
        snprintf(err, errlen, "more than %d listeners", CE_MAX_LISTENERS);
        close(fd);
        errno = ENOSPC;
        return -1;
    }
    if (fd >= l->poller->fd_bound || fd >= l->setsize) {
        snprintf(err, errlen, "listening descriptor %d is beyond what the %s backend can watch",
                 fd, l->poller->name);
        close(fd);
        errno = EBADF;
        return -1;
    }
    if (l->poller->set(l->poller_state, fd, 0, CE_READABLE) == -1) {
        int saved = errno;
        snprintf(err, errlen, "watching listener %d: %s", fd, strerror(saved));
        close(fd);
        errno = saved;
        return -1;
    }
    l->listeners[l->nlisteners].fd = fd;
    l->listeners[l->nlisteners].mask = CE_READABLE;
    l->listeners[l->nlisteners].hand_off = hand_off;
    l->nlisteners++;
    return 0;
}

int ce_loop_add_listener(ce_loop *l, int fd, char *err, size_t errlen) {
    return add_listener(l, fd, 0, err, errlen);
}

int ce_loop_add_handoff_listener(ce_loop *l, int fd, char *err, size_t errlen) {
    return add_listener(l, fd, 1, err, errlen);
}

int ce_loop_set_group(ce_loop *l, ce_loop *const *group, size_t count, char *err, size_t errlen) {
    ce_loop **copy = count ? malloc(count * sizeof *copy) : NULL;
    if (count && !copy) {
        snprintf(err, errlen, "malloc(group of %zu loops): %s", count, strerror(ENOMEM));
        errno = ENOMEM;
        return -1;
    }
    for (size_t i = 0; i < count; i++) copy[i] = group[i];
    free(l->group);
    l->group = copy;
    l->ngroup = count;
    l->next_in_group = 0;
    return 0;
}

static void close_listeners(ce_loop *l) {
    ce_listeners_watch(l, 0);
    for (size_t i = 0; i < l->nlisteners; i++) close(l->listeners[i].fd);
    l->nlisteners = 0;
    l->listeners_paused = 0;
    ce_udp_close_all(l); /* a stopping server takes no more datagrams either */
}

/* Close every connection still open, for `reason`. */
static void close_all(ce_loop *l, ce_close_reason reason) {
    for (int fd = 0; fd < l->setsize && l->nconns > 0; fd++)
        if (l->conns[fd]) ce_conn_close(l, l->conns[fd], reason, 0);
}

/* Graceful stop: no new connections; each connection flushes what was read, shuts down its
 * write side and lingers until its peer closes, within the shutdown deadline. */
static void begin_shutdown(ce_loop *l) {
    l->stopping = 1;
    l->deadline_ms = l->now_ms + l->config.shutdown_timeout_ms;
    close_listeners(l);
    ce_logf(l, CE_LOG_INFO, NULL, 0, "stopping: draining %" PRIu32 " connection(s)", l->nconns);
    for (int fd = 0; fd < l->setsize; fd++)
        if (l->conns[fd]) ce_conn_begin_drain(l, l->conns[fd]);
}

static void expire_deadline(ce_loop *l) {
    uint32_t left = l->nconns;
    close_all(l, CE_CLOSE_SHUTDOWN_FORCED);
    if (left)
        ce_logf(l, CE_LOG_WARNING, NULL, 0,
                "shutdown deadline reached: closed %" PRIu32 " connection(s) still open", left);
}

/* Milliseconds until `since + timeout`, 0 if already due. */
static int64_t remaining(uint64_t now, uint64_t since, uint64_t timeout) {
    uint64_t due = since + timeout;
    return due <= now ? 0 : (int64_t)(due - now);
}

/* The poller timeout: until the nearest timer, -1 when there is none. */
static int next_timeout(ce_loop *l) {
    int64_t t = -1;
    ce_tlink *k;
#define NEAREST(x) do { int64_t v_ = (x); if (t < 0 || v_ < t) t = v_; } while (0)
    if (l->config.idle_timeout_ms && (k = ce_tlist_first(&l->idle)))
        NEAREST(remaining(l->now_ms, k->since_ms, l->config.idle_timeout_ms));
    if (l->config.write_timeout_ms && (k = ce_tlist_first(&l->writes)))
        NEAREST(remaining(l->now_ms, k->since_ms, l->config.write_timeout_ms));
    if (l->config.frame_timeout_ms && (k = ce_tlist_first(&l->frames)))
        NEAREST(remaining(l->now_ms, k->since_ms, l->config.frame_timeout_ms));
    if ((k = ce_tlist_first(&l->lingers))) NEAREST(remaining(l->now_ms, k->since_ms, CE_LINGER_MS));
    if (l->stopping) NEAREST(remaining(l->now_ms, l->deadline_ms, 0));
    if (l->listeners_paused) NEAREST(remaining(l->now_ms, l->accept_retry_ms, 0));
#undef NEAREST
    return t > INT_MAX ? INT_MAX : (int)t;
}

static void expire_timers(ce_loop *l) {
    ce_tlink *k;
    if (l->config.idle_timeout_ms)
        while ((k = ce_tlist_first(&l->idle)) && remaining(l->now_ms, k->since_ms, l->config.idle_timeout_ms) == 0)
            ce_conn_close(l, CE_CONTAINER_OF(k, ce_conn, idle_link), CE_CLOSE_IDLE_TIMEOUT, 0);
    if (l->config.write_timeout_ms)
        while ((k = ce_tlist_first(&l->writes)) && remaining(l->now_ms, k->since_ms, l->config.write_timeout_ms) == 0)
            ce_conn_close(l, CE_CONTAINER_OF(k, ce_conn, write_link), CE_CLOSE_WRITE_TIMEOUT, 0);
    if (l->config.frame_timeout_ms)
        while ((k = ce_tlist_first(&l->frames)) && remaining(l->now_ms, k->since_ms, l->config.frame_timeout_ms) == 0)
            ce_conn_close(l, CE_CONTAINER_OF(k, ce_conn, frame_link), CE_CLOSE_FRAME_TIMEOUT, 0);
    while ((k = ce_tlist_first(&l->lingers)) && remaining(l->now_ms, k->since_ms, CE_LINGER_MS) == 0) {
        ce_conn *c = CE_CONTAINER_OF(k, ce_conn, frame_link);
        ce_conn_close(l, c, (ce_close_reason)c->close_reason, 0);
    }
    if (l->listeners_paused && l->now_ms >= l->accept_retry_ms) {
        l->listeners_paused = 0;
        ce_listeners_watch(l, 1);
    }
    if (l->stopping && l->nconns > 0 && l->now_ms >= l->deadline_ms) expire_deadline(l);
}

static void dispatch(ce_loop *l, int nfired) {
    for (int i = 0; i < nfired; i++) {
        int fd = l->fired[i].fd;
        if (fd < 0 || fd >= l->setsize) continue;
        ce_conn *c = l->conns[fd];
        if (c) {
            ce_conn_on_event(l, c, l->fired[i].mask);
            continue;
        }
        if (fd == l->wake_read_fd) {
            ce_wakeup_drain(l);
            ce_posts_deliver(l);
            continue;
        }
        ce_udp *u = ce_udp_find(l, fd);
        if (u) {
            ce_udp_on_readable(l, u);
            continue;
        }
        /* A listener, or a descriptor closed earlier in this round: check before acting. */
        for (size_t j = 0; j < l->nlisteners; j++)
            if (l->listeners[j].fd == fd && l->listeners[j].mask) {
                ce_accept_on_readable(l, &l->listeners[j]);
                break;
            }
    }
}

int ce_loop_run(ce_loop *l, char *err, size_t errlen) {
    l->now_ms = ce_now_ms();
    for (;;) {
        int request = atomic_load_explicit(&l->stop_request, memory_order_acquire);
        if (request == 2) break;
        if (request == 1 && !l->stopping) begin_shutdown(l);
        if (l->stopping && l->nconns == 0) break;
        int n = l->poller->wait(l->poller_state, next_timeout(l), l->fired, CE_MAX_FIRED);
        if (n == -1) {
            snprintf(err, errlen, "%s wait: %s", l->poller->name, strerror(errno));
            close_listeners(l);
            close_all(l, CE_CLOSE_ERROR);
            return -1;
        }
        l->now_ms = ce_now_ms();
        dispatch(l, n);
        expire_timers(l);
    }
    close_listeners(l);
    uint32_t left = l->nconns;
    close_all(l, CE_CLOSE_SHUTDOWN_FORCED);
    if (left) ce_logf(l, CE_LOG_NOTICE, NULL, 0, "stopped at once: closed %" PRIu32 " connection(s)", left);
    return 0;
}

void ce_loop_stop(ce_loop *l, int graceful) {
    int want = graceful ? 1 : 2, current = 0;
    /* Only ever move towards "immediate": a graceful request never undoes an immediate one. */
    while (!atomic_compare_exchange_weak(&l->stop_request, &current, want))
        if (current >= want) return;
    ce_wakeup_signal(l);
}

void ce_loop_stats(const ce_loop *l, ce_stats *out) {
    ce_counters *c = (ce_counters *)&l->counters; /* C11 atomic loads take non-const pointers */
#define LOAD(field) atomic_load_explicit(&c->field, memory_order_relaxed)
    out->accepted = LOAD(accepted);
    out->active = LOAD(active);
    out->closed = LOAD(closed);
    out->refused_max_connections = LOAD(refused_max_connections);
    out->refused_fd_setsize = LOAD(refused_fd_setsize);
    out->refused_no_descriptors = LOAD(refused_no_descriptors);
    out->bytes_in = LOAD(bytes_in);
    out->bytes_out = LOAD(bytes_out);
    out->partial_writes = LOAD(partial_writes);
    out->backpressure_pauses = LOAD(backpressure_pauses);
    out->idle_timeouts = LOAD(idle_timeouts);
    out->write_timeouts = LOAD(write_timeouts);
    out->shutdown_forced = LOAD(shutdown_forced);
    out->resets = LOAD(resets);
    out->errors = LOAD(errors);
    out->messages = LOAD(messages);
    out->messages_too_large = LOAD(messages_too_large);
    out->frame_timeouts = LOAD(frame_timeouts);
    out->replies_too_large = LOAD(replies_too_large);
    out->hook_errors = LOAD(hook_errors);
    out->slow_hooks = LOAD(slow_hooks);
    out->late_replies = LOAD(late_replies);
    out->refused_not_allowed = LOAD(refused_not_allowed);
    out->refused_per_ip = LOAD(refused_per_ip);
    out->udp_in = LOAD(udp_in);
    out->udp_out = LOAD(udp_out);
    out->udp_not_allowed = LOAD(udp_not_allowed);
    out->udp_bad_port = LOAD(udp_bad_port);
    out->udp_rate_limited = LOAD(udp_rate_limited);
    out->udp_too_large = LOAD(udp_too_large);
    out->udp_send_dropped = LOAD(udp_send_dropped);
    out->udp_deferred_refused = LOAD(udp_deferred_refused);
#undef LOAD
}

void ce_stats_add(ce_stats *sum, const ce_stats *more) {
    /* Every field is a uint64_t counter, so the struct adds up as an array: a counter added
     * later is summed without anyone remembering to. */
    _Static_assert(sizeof(ce_stats) % sizeof(uint64_t) == 0, "ce_stats holds uint64_t counters only");
    uint64_t *to = (uint64_t *)(void *)sum;
    const uint64_t *from = (const uint64_t *)(const void *)more;
    for (size_t i = 0; i < sizeof(ce_stats) / sizeof(uint64_t); i++) to[i] += from[i];
}

const char *ce_loop_backend(const ce_loop *l) { return l->poller->name; }

void ce_loop_destroy(ce_loop *l) {
    if (!l) return;
    if (l->conns) {
        close_listeners(l);
        close_all(l, CE_CLOSE_SHUTDOWN_FORCED);
    }
    ce_udp_close_all(l);
    if (l->poller_state) l->poller->destroy(l->poller_state);
    ce_wakeup_close(l);
    if (l->spare_fd != -1) close(l->spare_fd);
    ce_posts_free(l);
    pthread_mutex_destroy(&l->post_lock);
    ce_budget_destroy(l->own_budget);
    free(l->group);
    ce_buf_free(&l->staging);
    free(l->conns);
    free(l->scratch);
    free(l);
}
