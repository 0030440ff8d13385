/*
 * log.c -- core events to the host's log callback. Layer: base.
 *
 * Callers check ce_log_on() first where building the arguments costs anything; formatting
 * happens only for enabled levels.
 */
#include "log.h"

#include <stdio.h>

void ce_vlogf(const ce_logger *g, ce_log_level level, const ce_log_field *fields, size_t nfields,
              const char *fmt, va_list ap) {
    if (!ce_log_on(g, level)) return;
    char message[CE_LOG_MESSAGE_MAX];
    vsnprintf(message, sizeof message, fmt, ap);
    g->fn(g->ctx, level, message, fields, nfields);
}

void ce_logf(const ce_logger *g, ce_log_level level, const ce_log_field *fields, size_t nfields,
             const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    ce_vlogf(g, level, fields, nfields, fmt, ap);
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
