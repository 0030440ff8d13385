/*
 * log.c -- core events to the host's log callback. Callers check ce_log_on() first where
 * building the arguments costs anything; formatting happens only for enabled levels.
 */
#include "loop.h"
#include "net.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

/* Longest message and most fields of one line; longer messages are cut, never overrun. */
#define CE_LOG_MESSAGE_MAX 512
#define CE_LOG_FIELDS_MAX 8

static void emit(ce_loop *l, ce_log_level level, const ce_log_field *fields, size_t nfields,
                 const char *fmt, va_list ap) {
    char message[CE_LOG_MESSAGE_MAX];
    vsnprintf(message, sizeof message, fmt, ap);
    l->config.log_fn(l->config.log_ctx, level, message, fields, nfields);
}

void ce_logf(ce_loop *l, ce_log_level level, const ce_log_field *fields, size_t nfields,
             const char *fmt, ...) {
    if (!ce_log_on(l, level)) return;
    va_list ap;
    va_start(ap, fmt);
    emit(l, level, fields, nfields, fmt, ap);
    va_end(ap);
}

void ce_conn_logf(ce_loop *l, const ce_conn *c, ce_log_level level, const ce_log_field *fields,
                  size_t nfields, const char *fmt, ...) {
    if (!ce_log_on(l, level)) return;
    char id[24], peer[CE_ENDPOINT_LEN];
    snprintf(id, sizeof id, "%" PRIu64, c->id);
    ce_net_format_peer(c->fd, &c->peer.sa, peer, sizeof peer);
    ce_log_field all[CE_LOG_FIELDS_MAX] = {{"conn.id", id}, {"peer.address", peer}};
    size_t n = 2;
    for (size_t i = 0; i < nfields && n < CE_LOG_FIELDS_MAX; i++) all[n++] = fields[i];
    va_list ap;
    va_start(ap, fmt);
    emit(l, level, all, n, fmt, ap);
    va_end(ap);
}

int ce_ratelimit_allow(ce_ratelimit *r, uint64_t now_ms, uint64_t *suppressed) {
    if (r->used && now_ms - r->last_ms < 1000) {
        r->suppressed++;
        return 0;
    }
    *suppressed = r->suppressed;
    r->suppressed = 0;
    r->last_ms = now_ms;
    r->used = 1;
    return 1;
}
