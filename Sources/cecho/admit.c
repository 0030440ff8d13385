/*
 * admit.c -- whether a connection is served: the allow list, the engine's descriptor bound
 * (select's FD_SETSIZE), the shared connection cap and the per-address limit, in order of
 * cost; a refusal is closed, counted and logged, never a reason to spin. Layer: connection.
 */
#include "conn.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void ce_conns_refuse(ce_conns *cs, int fd, const ce_sockaddr *peer, _Atomic uint64_t *counter,
                     const char *why, ce_log_level level, ce_ratelimit *limiter) {
    /* Count first: once the client sees the close, the counter must already say why. */
    ce_count(counter, 1);
    uint64_t suppressed;
    if (!ce_log_on(&cs->log, level) || !ce_ratelimit_allow(limiter, cs->now_ms, &suppressed)) {
        close(fd);
        return;
    }
    char where[CE_ENDPOINT_LEN], more[48] = "";
    if (peer) ce_net_format_peer(fd, &peer->sa, where, sizeof where); /* a Unix peer needs fd open */
    else snprintf(where, sizeof where, "(unknown)");
    close(fd);
    if (suppressed) snprintf(more, sizeof more, " (%" PRIu64 " more refusals not logged)", suppressed);
    ce_log_field fields[2] = {{"peer.address", where}, {"reason", why}};
    ce_logf(&cs->log, level, fields, 2, "refused connection: %s%s", why, more);
}

/* A refusal of the server's own limits: a warning, for the operator may need to raise one. */
static void refuse(ce_conns *cs, int fd, const ce_sockaddr *peer, _Atomic uint64_t *counter, const char *why) {
    ce_conns_refuse(cs, fd, peer, counter, why, CE_LOG_WARNING, &cs->refusal_log);
}

ce_conn *ce_conns_admit(ce_conns *cs, int fd, const ce_sockaddr *peer, int fd_bound) {
    ce_counters *n = &cs->counters;
    /* The allow list first: who the operator did not let in costs nothing else (a notice:
     * refusing them is the policy working). Behind a balancer the peer is the balancer: it
     * must be one we trust to name the client, who is checked once its header names it. */
    ce_access *access = cs->access;
    ce_ip ip;
    int has_ip = access && ce_ip_of(&peer->sa, &ip) == 0; /* Unix clients are not checked */
    int proxied = cs->config.proxy_protocol;
    if (proxied && has_ip && !ce_access_trusts_proxy(access, &ip)) {
        ce_conns_refuse(cs, fd, peer, &n->refused_proxy_untrusted,
                        "a PROXY header is expected, from an address outside --proxy-from", CE_LOG_NOTICE,
                        &cs->access_log);
        return NULL;
    }
    if (!proxied && has_ip && !ce_access_allows(access, &ip)) {
        ce_conns_refuse(cs, fd, peer, &n->refused_not_allowed, "address not allowed", CE_LOG_NOTICE,
                        &cs->access_log);
        return NULL;
    }
    if (fd >= fd_bound) { /* select: FD_SET must never see it */
        refuse(cs, fd, peer, &n->refused_fd_setsize, "descriptor above the select() limit FD_SETSIZE");
        return NULL;
    }
    if (fd >= cs->setsize) {
        refuse(cs, fd, peer, &n->refused_no_descriptors, "descriptor beyond the loop's table");
        return NULL;
    }
    /* A slot of the shared cap is taken last but one: every refusal after it gives it back. */
    if (!ce_budget_take(cs->budget)) {
        refuse(cs, fd, peer, &n->refused_max_connections, "max connections reached");
        return NULL;
    }
    /* Counted per address last, so that nothing refuses after it counted. */
    int counted = 0;
    if (!proxied && has_ip && ce_access_counts_connections(access)) {
        if (ce_access_conn_acquire(access, &ip) == -1) {
            ce_budget_give_back(cs->budget);
            ce_conns_refuse(cs, fd, peer, &n->refused_per_ip, "too many connections from this address",
                            CE_LOG_NOTICE, &cs->access_log);
            return NULL;
        }
        counted = 1;
    }
    ce_net_tune_connection(fd, peer->sa.sa_family);
    ce_conns_arm_dead_peer(cs, fd, peer->sa.sa_family);
    ce_conn *c = ce_conn_open(cs, fd, peer);
    if (!c) {
        int err = errno;
        ce_budget_give_back(cs->budget);
        if (counted) ce_access_conn_release(access, &ip);
        refuse(cs, fd, peer, &n->errors, strerror(err));
        return NULL;
    }
    c->ip_counted = (uint8_t)counted;
    return c;
}

int ce_conn_admit_client(ce_conns *cs, ce_conn *c) {
    ce_access *access = cs->access;
    ce_ip ip;
    /* A proxied connection's peer is the client its header named, or for LOCAL and UNKNOWN
     * the balancer itself, checked as any client; a Unix peer has no address to check. */
    if (!access || ce_ip_of(&c->peer.sa, &ip) == -1) return 0;
    _Atomic uint64_t *counter;
    const char *why;
    if (!ce_access_allows(access, &ip)) {
        counter = &cs->counters.refused_not_allowed, why = "address not allowed";
    } else if (!ce_access_counts_connections(access)) {
        return 0;
    } else if (ce_access_conn_acquire(access, &ip) == -1) {
        counter = &cs->counters.refused_per_ip, why = "too many connections from this address";
    } else {
        c->ip_counted = 1;
        return 0;
    }
    ce_count(counter, 1); /* first, as at accept */
    ce_conn_notice(cs, c, &cs->access_log, "refused connection", why);
    ce_conn_close(cs, c, CE_CLOSE_REFUSED, 0);
    return -1;
}

void ce_conn_notice(ce_conns *cs, const ce_conn *c, ce_ratelimit *limiter, const char *what, const char *why) {
    uint64_t suppressed;
    if (!ce_log_on(&cs->log, CE_LOG_NOTICE) || !ce_ratelimit_allow(limiter, cs->now_ms, &suppressed)) return;
    char more[48] = "";
    if (suppressed) snprintf(more, sizeof more, " (%" PRIu64 " more not logged)", suppressed);
    ce_log_field field = {"reason", why};
    ce_conn_logf(cs, c, CE_LOG_NOTICE, &field, 1, "%s: %s%s", what, why, more);
}
