/*
 * counters.c -- reading a loop's counters from any thread, and adding them up. Layer: base.
 */
#include "counters.h"

void ce_counters_read(const ce_counters *counters, ce_stats *out) {
    ce_counters *c = (ce_counters *)counters; /* C11 atomic loads take non-const pointers */
#define LOAD(field) out->field = atomic_load_explicit(&c->field, memory_order_relaxed)
    LOAD(accepted);
    LOAD(active);
    LOAD(closed);
    LOAD(refused_max_connections);
    LOAD(refused_fd_setsize);
    LOAD(refused_no_descriptors);
    LOAD(bytes_in);
    LOAD(bytes_out);
    LOAD(partial_writes);
    LOAD(backpressure_pauses);
    LOAD(idle_timeouts);
    LOAD(write_timeouts);
    LOAD(shutdown_forced);
    LOAD(resets);
    LOAD(errors);
    LOAD(messages);
    LOAD(messages_too_large);
    LOAD(frame_timeouts);
    LOAD(replies_too_large);
    LOAD(hook_errors);
    LOAD(slow_hooks);
    LOAD(late_replies);
    LOAD(refused_not_allowed);
    LOAD(refused_per_ip);
    LOAD(udp_in);
    LOAD(udp_out);
    LOAD(udp_not_allowed);
    LOAD(udp_bad_port);
    LOAD(udp_rate_limited);
    LOAD(udp_too_large);
    LOAD(udp_send_dropped);
    LOAD(udp_deferred_refused);
    LOAD(refused_proxy_untrusted);
    LOAD(proxy_invalid);
    LOAD(proxy_timeouts);
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
