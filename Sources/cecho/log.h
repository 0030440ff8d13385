/*
 * log.h -- core events to the host's log callback, and rate limits for events that can repeat
 * at the rate of an attack. Layer: base.
 */
#ifndef CE_LOG_H
#define CE_LOG_H

#include "cecho.h"

#include <stdarg.h>

/* Where a loop's events go, and from which level on. */
typedef struct ce_logger {
    ce_log_fn fn;      /* NULL: nowhere */
    void *ctx;
    ce_log_level level; /* events below it are not even formatted */
} ce_logger;

/* Callers check this first where building the arguments costs anything. */
static inline int ce_log_on(const ce_logger *g, ce_log_level level) { return g->fn && level >= g->level; }

#if defined(__GNUC__)
#define CE_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CE_PRINTF(f, a)
#endif

void ce_logf(const ce_logger *g, ce_log_level level, const ce_log_field *fields, size_t nfields,
             const char *fmt, ...) CE_PRINTF(5, 6);
/* ce_logf() for callers that add fields of their own first. */
void ce_vlogf(const ce_logger *g, ce_log_level level, const ce_log_field *fields, size_t nfields,
              const char *fmt, va_list ap);

/* Longest message and most fields of one line; longer messages are cut, never overrun. */
#define CE_LOG_MESSAGE_MAX 512
#define CE_LOG_FIELDS_MAX 8

/* One log line a second at most for an event that can repeat at the rate of an attack. */
typedef struct ce_ratelimit {
    uint64_t last_ms;
    uint64_t suppressed;
    int used;
} ce_ratelimit;

/* 1 when a rate-limited line may be logged now; `*suppressed` gets how many were not. */
int ce_ratelimit_allow(ce_ratelimit *r, uint64_t now_ms, uint64_t *suppressed);

#endif /* CE_LOG_H */
