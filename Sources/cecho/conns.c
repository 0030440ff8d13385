/*
 * conns.c -- the connections of one loop as a set: what they share, the table that finds one
 * by descriptor, their timers, and closing or draining them all. Layer: connection.
 *
 * Every timeout of one kind has one duration, so each kind is a list ordered by time
 * (tlist.h): touching a connection is O(1), and only the heads are ever looked at.
 */
#include "conn.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The most a connection's output (or the staging buffer) and input may hold. Processing stops
 * once output reaches the limit, so it overshoots by at most one event: a read echoed whole,
 * or one message's reply, framed. The caps never shrink (a reload may lower the limits): an
 * open connection may already hold what the old ones allowed, and a buffer that cannot take
 * what it holds closes its connection, which a reload must not do. A connection over a new,
 * lower limit pauses at its next reply instead. */
static void set_caps(ce_conns *cs) {
    size_t overshoot = CE_READ_CHUNK;
    if (cs->config.max_message + 8 > overshoot) overshoot = cs->config.max_message + 8;
    if (cs->hooks.message && cs->config.max_reply + 8 > overshoot) overshoot = cs->config.max_reply + 8;
    size_t output_cap = cs->config.output_limit + overshoot;
    size_t input_cap = cs->config.max_message + 8 + CE_READ_CHUNK;
    if (output_cap > cs->output_cap) cs->output_cap = output_cap;
    if (input_cap > cs->input_cap) cs->input_cap = input_cap;
}

int ce_conns_init(ce_conns *cs, const ce_loop_config *config, ce_budget *budget, int setsize,
                  char *err, size_t errlen) {
    memset(cs, 0, sizeof *cs);
    cs->config = *config;
    cs->config.hooks = NULL; /* copied: the caller's struct need not outlive the loop */
    if (config->hooks) cs->hooks = *config->hooks;
    cs->fast_echo = cs->config.framing == CE_FRAMING_RAW && !cs->hooks.message;
    set_caps(cs);
    cs->log = (ce_logger){.fn = config->log_fn, .ctx = config->log_ctx, .level = config->log_level};
    cs->budget = budget;
    cs->access = config->access;
    cs->setsize = setsize;
    cs->conn_size = sizeof(ce_conn);
    ce_tlist_init(&cs->idle);
    ce_tlist_init(&cs->writes);
    ce_tlist_init(&cs->frames);
    ce_tlist_init(&cs->lingers);
    ce_tlist_init(&cs->proxies);
    ce_tlist_init(&cs->replies);
    cs->table = calloc((size_t)setsize, sizeof *cs->table);
    cs->scratch = malloc(CE_READ_CHUNK);
    if (!cs->table || !cs->scratch) {
        snprintf(err, errlen, "malloc(loop tables for %d descriptors): %s", setsize, strerror(ENOMEM));
        ce_conns_free(cs);
        return -1;
    }
    return 0;
}

void ce_conns_set_transport(ce_conns *cs, const ce_transport *io, void *engine, size_t conn_size) {
    cs->io = io;
    cs->engine = engine;
    cs->conn_size = conn_size < sizeof(ce_conn) ? sizeof(ce_conn) : conn_size;
}

void ce_conns_free(ce_conns *cs) {
    ce_datagram_forget(cs);
    ce_buf_free(&cs->staging);
    free(cs->table);
    free(cs->scratch);
    cs->table = NULL;
    cs->scratch = NULL;
}

void ce_conns_close_all(ce_conns *cs, ce_close_reason reason) {
    for (int fd = 0; fd < cs->setsize && cs->count > 0; fd++)
        if (cs->table[fd]) ce_conn_close(cs, cs->table[fd], reason, 0);
}

void ce_conns_drain_all(ce_conns *cs) {
    for (int fd = 0; fd < cs->setsize; fd++)
        if (cs->table[fd]) ce_conn_begin_drain(cs, cs->table[fd]);
}

/* Milliseconds until `since + timeout`, 0 if already due. */
static int64_t remaining(uint64_t now, uint64_t since, uint64_t timeout) {
    uint64_t due = since + timeout;
    return due <= now ? 0 : (int64_t)(due - now);
}

/* The oldest entry of `list` (whose timer lasts `timeout`) if it is due at `now`. */
static ce_tlink *due(ce_tlist *list, uint64_t timeout, uint64_t now) {
    ce_tlink *k = ce_tlist_first(list);
    return k && remaining(now, k->since_ms, timeout) == 0 ? k : NULL;
}

int64_t ce_conns_next_timeout(const ce_conns *cs) {
    ce_conns *m = (ce_conns *)cs; /* the lists are only read */
    const ce_loop_config *cfg = &cs->config;
    int64_t t = -1;
    ce_tlink *k;
#define NEAREST(list, timeout)                                                                  \
    if ((timeout) && (k = ce_tlist_first(list))) {                                              \
        int64_t v = remaining(cs->now_ms, k->since_ms, (timeout));                              \
        if (t < 0 || v < t) t = v;                                                              \
    }
    NEAREST(&m->idle, cfg->idle_timeout_ms)
    NEAREST(&m->writes, cfg->write_timeout_ms)
    NEAREST(&m->frames, cfg->frame_timeout_ms)
    NEAREST(&m->lingers, CE_LINGER_MS)
    NEAREST(&m->proxies, cfg->proxy_protocol ? cfg->proxy_timeout_ms : 0)
    NEAREST(&m->replies, cfg->reply_timeout_ms)
#undef NEAREST
    return t;
}

void ce_conns_expire(ce_conns *cs) {
    const ce_loop_config *cfg = &cs->config;
    uint64_t now = cs->now_ms;
    ce_tlink *k;
    if (cfg->idle_timeout_ms)
        while ((k = due(&cs->idle, cfg->idle_timeout_ms, now)))
            ce_conn_close(cs, CE_CONTAINER_OF(k, ce_conn, idle_link), CE_CLOSE_IDLE_TIMEOUT, 0);
    if (cfg->write_timeout_ms)
        while ((k = due(&cs->writes, cfg->write_timeout_ms, now)))
            ce_conn_close(cs, CE_CONTAINER_OF(k, ce_conn, write_link), CE_CLOSE_WRITE_TIMEOUT, 0);
    if (cfg->frame_timeout_ms)
        while ((k = due(&cs->frames, cfg->frame_timeout_ms, now)))
            ce_conn_close(cs, CE_CONTAINER_OF(k, ce_conn, frame_link), CE_CLOSE_FRAME_TIMEOUT, 0);
    if (cfg->proxy_protocol && cfg->proxy_timeout_ms)
        while ((k = due(&cs->proxies, cfg->proxy_timeout_ms, now)))
            ce_conn_proxy_give_up(cs, CE_CONTAINER_OF(k, ce_conn, frame_link), CE_CLOSE_PROXY_TIMEOUT,
                                  "no whole PROXY header within --proxy-timeout");
    if (cfg->reply_timeout_ms)
        while ((k = due(&cs->replies, cfg->reply_timeout_ms, now)))
            ce_messages_reply_timed_out(cs, CE_CONTAINER_OF(k, ce_conn, frame_link));
    while ((k = due(&cs->lingers, CE_LINGER_MS, now))) {
        ce_conn *c = CE_CONTAINER_OF(k, ce_conn, frame_link);
        ce_conn_close(cs, c, (ce_close_reason)c->close_reason, 0);
    }
}

void ce_conns_arm_dead_peer(const ce_conns *cs, int fd, int family) {
    if (family == AF_INET || family == AF_INET6)
        (void)ce_net_set_dead_peer(fd, cs->config.keepalive_s, cs->config.write_timeout_ms);
}

/* The address family of `c`'s socket: its peer's, unless a PROXY header replaced that peer
 * with the client behind the balancer (a Unix socket may carry an IPv4 client). */
static int socket_family(const ce_conn *c) {
    if (!c->proxied) return c->peer.sa.sa_family;
    ce_sockaddr local;
    socklen_t len = sizeof local;
    return getsockname(c->fd, &local.sa, &len) == 0 ? local.sa.sa_family : AF_UNSPEC;
}

/* Empty `list`: a timer turned off must not leave entries that would look old when it is
 * turned on again (the frame list is only kept up to date while its timer runs). */
static void unlink_all(ce_tlist *list) {
    ce_tlink *k;
    while ((k = ce_tlist_first(list))) ce_tlink_remove(k);
}

/* On the loop's thread, between two turns. Everything reads cs->config when it acts, so new
 * connections and open ones follow at once: limits from their next message or read, timeouts
 * measured from their last activity as before. What needs more than that: a timer turned on
 * starts counting now for every connection it covers (none was stamped while it was off),
 * and when keepalive or the write timeout (and so the user timeout) changed, every open TCP
 * connection is re-armed: O(connections), once per reload. */
void ce_conns_reconfigure(ce_conns *cs, const ce_loop_config *next) {
    ce_loop_config *cfg = &cs->config;
    int idle_on = !cfg->idle_timeout_ms && next->idle_timeout_ms;
    int writes_on = !cfg->write_timeout_ms && next->write_timeout_ms;
    int frames_on = !cfg->frame_timeout_ms && next->frame_timeout_ms;
    int replies_on = !cfg->reply_timeout_ms && next->reply_timeout_ms;
    if (cfg->frame_timeout_ms && !next->frame_timeout_ms) unlink_all(&cs->frames);
    if (cfg->reply_timeout_ms && !next->reply_timeout_ms) unlink_all(&cs->replies);
    int rearm = cfg->keepalive_s != next->keepalive_s || cfg->write_timeout_ms != next->write_timeout_ms;
    cfg->output_limit = next->output_limit;
    cfg->write_timeout_ms = next->write_timeout_ms;
    cfg->idle_timeout_ms = next->idle_timeout_ms;
    cfg->shutdown_timeout_ms = next->shutdown_timeout_ms;
    cfg->max_message = next->max_message;
    cfg->frame_timeout_ms = next->frame_timeout_ms;
    cfg->max_reply = next->max_reply;
    cfg->slow_hook_ms = next->slow_hook_ms;
    cfg->reply_timeout_ms = next->reply_timeout_ms;
    cfg->keepalive_s = next->keepalive_s;
    cfg->log_level = cs->log.level = next->log_level;
    set_caps(cs);
    if (!idle_on && !writes_on && !frames_on && !replies_on && !rearm) return;
    for (int fd = 0, seen = 0; fd < cs->setsize && (uint32_t)seen < cs->count; fd++) {
        ce_conn *c = cs->table[fd];
        if (!c) continue;
        seen++;
        if (idle_on) ce_tlist_touch(&cs->idle, &c->idle_link, cs->now_ms);
        if (writes_on && ce_conn_pending(c)) ce_tlist_touch(&cs->writes, &c->write_link, cs->now_ms);
        if (frames_on && ce_buf_len(&c->in) && !c->awaiting && c->state != CONN_LINGERING &&
            !ce_tlink_linked(&c->frame_link))
            ce_tlist_touch(&cs->frames, &c->frame_link, cs->now_ms);
        if (replies_on && c->awaiting) ce_tlist_touch(&cs->replies, &c->frame_link, cs->now_ms);
        if (rearm) ce_conns_arm_dead_peer(cs, fd, socket_family(c));
    }
}
