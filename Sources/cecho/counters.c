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
    LOAD(hook_calls);
    LOAD(hook_ns);
    for (size_t i = 0; i < CE_HOOK_BUCKETS; i++) LOAD(hook_buckets[i]);
    LOAD(dead_peers);
    LOAD(reply_timeouts);
#undef LOAD
}

/* From a few microseconds (a transform) to a second (a hook that blocks its loop). */
static const uint64_t hook_bounds_us[CE_HOOK_BUCKETS] = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000, 25000, 100000, 1000000, UINT64_MAX,
};
_Static_assert(sizeof ((ce_stats *)0)->hook_buckets / sizeof(uint64_t) == CE_HOOK_BUCKETS,
               "ce_stats.hook_buckets holds CE_HOOK_BUCKETS buckets");

uint64_t ce_hook_bucket_bound_us(size_t i) { return i < CE_HOOK_BUCKETS ? hook_bounds_us[i] : UINT64_MAX; }

void ce_counters_time_hook(ce_counters *counters, uint64_t ns) {
    size_t i = 0;
    while (i + 1 < CE_HOOK_BUCKETS && ns > hook_bounds_us[i] * 1000) i++; /* the last bucket takes the rest */
    ce_count(&counters->hook_buckets[i], 1);
    ce_count(&counters->hook_calls, 1);
    ce_count(&counters->hook_ns, ns);
}

void ce_stats_add(ce_stats *sum, const ce_stats *more) {
    /* Every field is a uint64_t counter, so the struct adds up as an array: a counter added
     * later is summed without anyone remembering to. */
    _Static_assert(sizeof(ce_stats) % sizeof(uint64_t) == 0, "ce_stats holds uint64_t counters only");
    uint64_t *to = (uint64_t *)(void *)sum;
    const uint64_t *from = (const uint64_t *)(const void *)more;
    for (size_t i = 0; i < sizeof(ce_stats) / sizeof(uint64_t); i++) to[i] += from[i];
}
