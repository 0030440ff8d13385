/*
 * access.c -- the process-wide access policy: the allow list, TCP connections per client
 * address, and the UDP reply rate per source.
 *
 * One object serves every loop of the process, so the tables take a mutex each, and the allow
 * list a read-write lock (a reload replaces it). Both tables are allocated at their final
 * size: nothing an attacker sends makes them grow, only a reload that raises the limits.
 * Layer: base.
 */
#include "access.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__linux__)
#include <sys/random.h>
#endif

/* UDP rate table: CE_UDP_RATE_SOURCES entries in sets of this many. A source is looked for in
 * one set only, so a lookup costs a few comparisons whatever the table holds. */
#define RATE_WAYS 8
#define RATE_SETS (CE_UDP_RATE_SOURCES / RATE_WAYS)
/* Tokens are counted in thousandths so that refilling stays in integers. */
#define MILLI 1000u
/* A bucket refills from empty to its burst (= the rate) in one second; a source idle this
 * long has a full bucket, so forgetting it loses nothing. */
#define RATE_FULL_AFTER_MS 1000u

typedef struct ip_count {
    ce_ip ip;
    uint32_t count; /* 0: a free slot */
} ip_count;

typedef struct bucket {
    ce_ip ip;
    uint64_t tokens;  /* thousandths of a reply */
    uint64_t last_ms; /* when it was last refilled */
    int used;
} bucket;

struct ce_access {
    pthread_rwlock_t allow_lock;
    ce_cidr *allow;
    size_t nallow;
    ce_cidr *proxy_from;  /* fixed at creation: who may send a PROXY header */
    size_t nproxy_from;
    _Atomic uint32_t max_per_ip; /* read without the lock to skip counting when 0 */
    pthread_mutex_t counts_lock;
    ip_count *counts; /* open addressing, linear probing; at most half full */
    size_t counts_mask;
    size_t counts_used;
    _Atomic uint32_t udp_rate;   /* 0: no UDP is served (no table); else changed under rate_lock */
    pthread_mutex_t rate_lock;
    bucket *buckets;  /* RATE_SETS sets of RATE_WAYS */
    bucket overflow;  /* shared by sources that found no place in their set */
    uint64_t seed;    /* random: a flood cannot aim at one set or one probe chain */
};

static uint64_t random_seed(void) {
    uint64_t seed = 0;
#if defined(__linux__)
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) == (ssize_t)sizeof seed) return seed;
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__)
    arc4random_buf(&seed, sizeof seed);
    return seed;
#endif
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15u ^ (uint64_t)(uintptr_t)&seed;
}

static uint64_t mix(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdu;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53u;
    return h ^ (h >> 33);
}

static uint64_t hash_ip(const ce_access *a, const ce_ip *ip) {
    uint64_t w0, w1;
    memcpy(&w0, ip->addr, 8);
    memcpy(&w1, ip->addr + 8, 8);
    return mix(mix(a->seed ^ w0 ^ (uint64_t)ip->family) ^ w1);
}

static int same_ip(const ce_ip *x, const ce_ip *y) {
    return x->family == y->family && memcmp(x->addr, y->addr, 16) == 0;
}

/* Slots of the per-address table for `max_connections`: every counted address holds a
 * connection, so at most that many are in use, and twice that keeps the probe chains short. */
static size_t counts_size(uint32_t max_connections) {
    size_t size = 64;
    while (size < 2 * (size_t)max_connections) size *= 2;
    return size;
}

ce_access *ce_access_create(const ce_access_config *config, char *err, size_t errlen) {
    ce_access *a = calloc(1, sizeof *a);
    if (!a) goto nomem;
    a->seed = random_seed();
    pthread_rwlock_init(&a->allow_lock, NULL);
    pthread_mutex_init(&a->counts_lock, NULL);
    pthread_mutex_init(&a->rate_lock, NULL);
    if (config->nallow) {
        a->allow = malloc(config->nallow * sizeof *a->allow);
        if (!a->allow) goto nomem;
        memcpy(a->allow, config->allow, config->nallow * sizeof *a->allow);
        a->nallow = config->nallow;
    }
    if (config->nproxy_from) {
        a->proxy_from = malloc(config->nproxy_from * sizeof *a->proxy_from);
        if (!a->proxy_from) goto nomem;
        memcpy(a->proxy_from, config->proxy_from, config->nproxy_from * sizeof *a->proxy_from);
        a->nproxy_from = config->nproxy_from;
    }
    atomic_init(&a->max_per_ip, config->max_per_ip);
    if (config->max_per_ip) {
        size_t size = counts_size(config->max_connections);
        a->counts = calloc(size, sizeof *a->counts);
        if (!a->counts) goto nomem;
        a->counts_mask = size - 1;
    }
    atomic_init(&a->udp_rate, config->udp_rate);
    if (config->udp_rate) {
        a->buckets = calloc(CE_UDP_RATE_SOURCES, sizeof *a->buckets);
        if (!a->buckets) goto nomem;
        a->overflow.tokens = (uint64_t)config->udp_rate * MILLI;
        a->overflow.used = 1;
    }
    return a;
nomem:
    snprintf(err, errlen, "malloc(access tables): %s", strerror(ENOMEM));
    ce_access_destroy(a);
    errno = ENOMEM;
    return NULL;
}

void ce_access_destroy(ce_access *a) {
    if (!a) return;
    pthread_rwlock_destroy(&a->allow_lock);
    pthread_mutex_destroy(&a->counts_lock);
    pthread_mutex_destroy(&a->rate_lock);
    free(a->allow);
    free(a->proxy_from);
    free(a->counts);
    free(a->buckets);
    free(a);
}

/* 1 when a range of `ranges[0, n)` holds `ip`. */
static int any_contains(const ce_cidr *ranges, size_t n, const ce_ip *ip) {
    for (size_t i = 0; i < n; i++)
        if (ce_cidr_contains(&ranges[i], ip)) return 1;
    return 0;
}

int ce_access_allows(const ce_access *a, const ce_ip *ip) {
    ce_access *m = (ce_access *)a; /* the lock is taken, the policy only read */
    pthread_rwlock_rdlock(&m->allow_lock);
    int allowed = !a->nallow || any_contains(a->allow, a->nallow, ip);
    pthread_rwlock_unlock(&m->allow_lock);
    return allowed;
}

int ce_access_trusts_proxy(const ce_access *a, const ce_ip *ip) {
    return any_contains(a->proxy_from, a->nproxy_from, ip);
}

/* ---- Connections per address ------------------------------------------------------------ */

int ce_access_counts_connections(const ce_access *a) {
    return atomic_load_explicit(&((ce_access *)a)->max_per_ip, memory_order_relaxed) > 0;
}

/* The slot holding `ip`, or the free slot where it would go. Never loops forever: the table
 * always keeps free slots (see acquire). */
static ip_count *find_count(ce_access *a, const ce_ip *ip) {
    size_t i = (size_t)hash_ip(a, ip) & a->counts_mask;
    while (a->counts[i].count && !same_ip(&a->counts[i].ip, ip)) i = (i + 1) & a->counts_mask;
    return &a->counts[i];
}

int ce_access_conn_acquire(ce_access *a, const ce_ip *ip) {
    int rc = 0;
    pthread_mutex_lock(&a->counts_lock);
    ip_count *slot = find_count(a, ip);
    /* 0: a reload turned the limit off since the caller looked; counted all the same, since
     * the caller will release it (the table stays once made). */
    uint32_t max = atomic_load_explicit(&a->max_per_ip, memory_order_relaxed);
    if (max && slot->count >= max) {
        rc = -1;
    } else if (slot->count == 0 && a->counts_used + 1 > (a->counts_mask + 1) / 2) {
        rc = -1; /* more addresses than connections allowed: cannot happen, refuse anyway */
    } else {
        if (slot->count++ == 0) {
            slot->ip = *ip;
            a->counts_used++;
        }
    }
    pthread_mutex_unlock(&a->counts_lock);
    return rc;
}

/* Linear probing without tombstones: after emptying slot `i`, move later entries of its
 * chain back so that no lookup stops early at the hole. */
static void close_gap(ce_access *a, size_t i) {
    size_t j = i;
    for (;;) {
        j = (j + 1) & a->counts_mask;
        if (!a->counts[j].count) return;
        size_t home = (size_t)hash_ip(a, &a->counts[j].ip) & a->counts_mask;
        /* j may move to i unless its home lies cyclically in (i, j]. */
        int stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays) continue;
        a->counts[i] = a->counts[j];
        a->counts[j].count = 0;
        i = j;
    }
}

void ce_access_conn_release(ce_access *a, const ce_ip *ip) {
    pthread_mutex_lock(&a->counts_lock);
    ip_count *slot = find_count(a, ip);
    if (slot->count && --slot->count == 0) {
        a->counts_used--;
        close_gap(a, (size_t)(slot - a->counts));
    }
    pthread_mutex_unlock(&a->counts_lock);
}

/* ---- UDP replies per source --------------------------------------------------------------- */

int ce_access_limits_udp(const ce_access *a) {
    return atomic_load_explicit(&((ce_access *)a)->udp_rate, memory_order_relaxed) > 0;
}

/* The bucket for `key`: its own, a recycled one, or the shared overflow bucket. */
static bucket *find_bucket(ce_access *a, const ce_ip *key, uint64_t now_ms) {
    bucket *set = &a->buckets[(hash_ip(a, key) % RATE_SETS) * RATE_WAYS];
    bucket *stalest = &set[0];
    for (int w = 0; w < RATE_WAYS; w++) {
        if (set[w].used && same_ip(&set[w].ip, key)) return &set[w];
        if (!set[w].used || (stalest->used && set[w].last_ms < stalest->last_ms)) stalest = &set[w];
    }
    if (stalest->used && stalest->last_ms + RATE_FULL_AFTER_MS > now_ms) return &a->overflow;
    stalest->ip = *key;
    stalest->used = 1;
    stalest->tokens = (uint64_t)atomic_load_explicit(&a->udp_rate, memory_order_relaxed) * MILLI;
    stalest->last_ms = now_ms;
    return stalest;
}

int ce_access_udp_take(ce_access *a, const ce_ip *ip, uint64_t now_ms) {
    ce_ip key = *ip;
    /* One IPv6 host usually owns a whole /64: limit the /64, not each of its addresses. */
    if (key.family == 6) memset(key.addr + 8, 0, 8);
    pthread_mutex_lock(&a->rate_lock);
    uint32_t rate = atomic_load_explicit(&a->udp_rate, memory_order_relaxed);
    uint64_t cap = (uint64_t)rate * MILLI;
    bucket *b = find_bucket(a, &key, now_ms);
    uint64_t elapsed = now_ms > b->last_ms ? now_ms - b->last_ms : 0;
    if (elapsed > RATE_FULL_AFTER_MS) elapsed = RATE_FULL_AFTER_MS;
    b->tokens += elapsed * rate; /* rate per second = rate thousandths per ms */
    if (b->tokens > cap) b->tokens = cap;
    if (now_ms > b->last_ms) b->last_ms = now_ms;
    int ok = b->tokens >= MILLI;
    if (ok) b->tokens -= MILLI;
    pthread_mutex_unlock(&a->rate_lock);
    return ok;
}

/* ---- A reload ------------------------------------------------------------------------------ */

int ce_access_update(ce_access *a, const ce_access_config *config, char *err, size_t errlen) {
    /* Allocate first, so that running out of memory changes nothing. */
    ce_cidr *allow = NULL;
    ip_count *table = NULL;
    size_t size = config->max_per_ip ? counts_size(config->max_connections) : 0;
    pthread_mutex_lock(&a->counts_lock);
    size_t have = a->counts ? a->counts_mask + 1 : 0;
    pthread_mutex_unlock(&a->counts_lock);
    if ((config->nallow && !(allow = malloc(config->nallow * sizeof *allow))) ||
        (size > have && !(table = calloc(size, sizeof *table)))) {
        free(allow);
        snprintf(err, errlen, "malloc(access tables): %s", strerror(ENOMEM));
        errno = ENOMEM;
        return -1;
    }
    if (config->nallow) memcpy(allow, config->allow, config->nallow * sizeof *allow);
    pthread_rwlock_wrlock(&a->allow_lock);
    ce_cidr *old = a->allow;
    a->allow = allow;
    a->nallow = config->nallow;
    pthread_rwlock_unlock(&a->allow_lock);
    free(old);
    /* A larger table takes over the open connections' counts; a smaller one is never made,
     * so the counts of every connection still open stay where their release will look. */
    if (table) {
        pthread_mutex_lock(&a->counts_lock);
        ip_count *previous = a->counts;
        size_t slots = a->counts ? a->counts_mask + 1 : 0;
        a->counts = table;
        a->counts_mask = size - 1;
        for (size_t i = 0; i < slots; i++)
            if (previous[i].count) *find_count(a, &previous[i].ip) = previous[i];
        pthread_mutex_unlock(&a->counts_lock);
        free(previous);
    }
    /* After the table: whoever reads a limit above 0 finds a table behind the lock. */
    atomic_store_explicit(&a->max_per_ip, config->max_per_ip, memory_order_relaxed);
    /* Buckets exist only where UDP was served from the start; each is capped anew as used. */
    pthread_mutex_lock(&a->rate_lock);
    if (atomic_load_explicit(&a->udp_rate, memory_order_relaxed) && config->udp_rate)
        atomic_store_explicit(&a->udp_rate, config->udp_rate, memory_order_relaxed);
    pthread_mutex_unlock(&a->rate_lock);
    return 0;
}
