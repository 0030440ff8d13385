/*
 * counters.h -- the counters of one loop, behind ce_stats. Layer: base.
 *
 * Written only by the loop's thread, read by any (ce_loop_stats), so relaxed atomic loads and
 * stores suffice and compile to plain moves.
 */
#ifndef CE_COUNTERS_H
#define CE_COUNTERS_H

#include "cecho.h"

#include <stdatomic.h>

typedef struct ce_counters {
    _Atomic uint64_t accepted, active, closed;
    _Atomic uint64_t refused_max_connections, refused_fd_setsize, refused_no_descriptors;
    _Atomic uint64_t bytes_in, bytes_out;
    _Atomic uint64_t partial_writes, backpressure_pauses, idle_timeouts, write_timeouts, shutdown_forced;
    _Atomic uint64_t resets, errors;
    _Atomic uint64_t messages, messages_too_large, frame_timeouts, replies_too_large;
    _Atomic uint64_t hook_errors, slow_hooks, late_replies;
    _Atomic uint64_t refused_not_allowed, refused_per_ip;
    _Atomic uint64_t udp_in, udp_out, udp_not_allowed, udp_bad_port, udp_rate_limited;
    _Atomic uint64_t udp_too_large, udp_send_dropped, udp_deferred_refused;
    _Atomic uint64_t refused_proxy_untrusted, proxy_invalid, proxy_timeouts;
    _Atomic uint64_t hook_calls, hook_ns, hook_buckets[CE_HOOK_BUCKETS];
    _Atomic uint64_t dead_peers;
    _Atomic uint64_t reply_timeouts;
} ce_counters;

/* Add `n` to one counter (on the loop's thread only). */
static inline void ce_count(_Atomic uint64_t *counter, uint64_t n) {
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

#define CE_COUNT(counters, field, n) ce_count(&(counters)->field, (uint64_t)(n))
#define CE_UNCOUNT(counters, field, n) ce_count(&(counters)->field, -(uint64_t)(n))

/* One hook call that took `ns` nanoseconds, into the histogram. */
void ce_counters_time_hook(ce_counters *counters, uint64_t ns);

/* A consistent-enough snapshot, from any thread. */
void ce_counters_read(const ce_counters *counters, ce_stats *out);

#endif /* CE_COUNTERS_H */
