/* The latency histogram: log-linear buckets, a fixed array, no allocation while recording. */
#include "cbench.h"

#include <string.h>

#define SUB_COUNT (1u << CB_HIST_SUB_BITS)

void cb_histogram_reset(cb_histogram *h) {
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

/* Values below 2 * SUB_COUNT get a bucket each. Above, a value with its top bit at position
 * k keeps its top CB_HIST_SUB_BITS + 1 bits: `shift` = k - SUB_BITS drops the rest, and each
 * shift owns SUB_COUNT buckets. The layout is contiguous from 0. */
size_t cb_histogram_bucket(uint64_t value) {
    if (value < 2 * SUB_COUNT) return (size_t)value;
    unsigned top_bit = 63u - (unsigned)__builtin_clzll(value);
    unsigned shift = top_bit - CB_HIST_SUB_BITS;
    return (size_t)shift * SUB_COUNT + (size_t)(value >> shift);
}

uint64_t cb_histogram_bucket_upper(size_t bucket) {
    if (bucket < 2 * SUB_COUNT) return bucket;
    size_t shift = bucket / SUB_COUNT - 1;
    uint64_t top = (uint64_t)(bucket % SUB_COUNT + SUB_COUNT);
    return ((top + 1) << shift) - 1;
}

void cb_histogram_record(cb_histogram *h, uint64_t value) {
    h->counts[cb_histogram_bucket(value)]++;
    h->total++;
    h->sum += value;
    if (value < h->min) h->min = value;
    if (value > h->max) h->max = value;
}

uint64_t cb_histogram_quantile(const cb_histogram *h, double quantile) {
    if (h->total == 0) return 0;
    if (quantile < 0) quantile = 0;
    if (quantile > 1) quantile = 1;
    /* The rank of the value asked for, 1-based: the smallest value with at least that many at
     * or below it. */
    uint64_t rank = (uint64_t)(quantile * (double)h->total + 0.5);
    if (rank < 1) rank = 1;
    if (rank > h->total) rank = h->total;
    uint64_t seen = 0;
    for (size_t bucket = 0; bucket < CB_HIST_BUCKETS; bucket++) {
        seen += h->counts[bucket];
        if (seen >= rank) {
            uint64_t upper = cb_histogram_bucket_upper(bucket);
            if (upper > h->max) upper = h->max;
            if (upper < h->min) upper = h->min;
            return upper;
        }
    }
    return h->max;
}
