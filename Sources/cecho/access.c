/*
 * access.c -- the process-wide access policy: the allow list, TCP connections per client
 * address, and the UDP reply rate per source.
 *
 * One object serves every loop of the process, so the tables take a mutex each; the allow list
 * never changes after creation and is read without one. Both tables are allocated once, at
 * their final size: nothing an attacker sends makes them grow.
 * Layer: base.
 */
#include "access.h"

#include <errno.h>
#include <pthread.h>
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
    ce_cidr *allow;
    size_t nallow;
    ce_cidr *proxy_from;
    size_t nproxy_from;
    uint32_t max_per_ip;
    pthread_mutex_t counts_lock;
    ip_count *counts; /* open addressing, linear probing; at most half full */
    size_t counts_mask;
    size_t counts_used;
    uint32_t udp_rate;
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

ce_access *ce_access_create(const ce_access_config *config, char *err, size_t errlen) {
    ce_access *a = calloc(1, sizeof *a);
    if (!a) goto nomem;
    a->seed = random_seed();
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
    a->max_per_ip = config->max_per_ip;
    if (a->max_per_ip) {
        /* Every counted address holds a connection, so at most max_connections are in use:
         * twice that keeps the probe chains short. */
        size_t size = 64;
        while (size < 2 * (size_t)config->max_connections) size *= 2;
        a->counts = calloc(size, sizeof *a->counts);
        if (!a->counts) goto nomem;
        a->counts_mask = size - 1;
    }
    a->udp_rate = config->udp_rate;
    if (a->udp_rate) {
        a->buckets = calloc(CE_UDP_RATE_SOURCES, sizeof *a->buckets);
        if (!a->buckets) goto nomem;
        a->overflow.tokens = (uint64_t)a->udp_rate * MILLI;
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
    return !a->nallow || any_contains(a->allow, a->nallow, ip);
}

int ce_access_trusts_proxy(const ce_access *a, const ce_ip *ip) {
    return any_contains(a->proxy_from, a->nproxy_from, ip);
}

/* ---- Connections per address ------------------------------------------------------------ */

int ce_access_counts_connections(const ce_access *a) { return a->max_per_ip > 0; }

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
    if (slot->count >= a->max_per_ip) {
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

int ce_access_limits_udp(const ce_access *a) { return a->udp_rate > 0; }

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
    stalest->tokens = (uint64_t)a->udp_rate * MILLI;
    stalest->last_ms = now_ms;
    return stalest;
}

int ce_access_udp_take(ce_access *a, const ce_ip *ip, uint64_t now_ms) {
    ce_ip key = *ip;
    /* One IPv6 host usually owns a whole /64: limit the /64, not each of its addresses. */
    if (key.family == 6) memset(key.addr + 8, 0, 8);
    uint64_t cap = (uint64_t)a->udp_rate * MILLI;
    pthread_mutex_lock(&a->rate_lock);
    bucket *b = find_bucket(a, &key, now_ms);
    uint64_t elapsed = now_ms > b->last_ms ? now_ms - b->last_ms : 0;
    if (elapsed > RATE_FULL_AFTER_MS) elapsed = RATE_FULL_AFTER_MS;
    b->tokens += elapsed * a->udp_rate; /* rate per second = rate thousandths per ms */
    if (b->tokens > cap) b->tokens = cap;
    if (now_ms > b->last_ms) b->last_ms = now_ms;
    int ok = b->tokens >= MILLI;
    if (ok) b->tokens -= MILLI;
    pthread_mutex_unlock(&a->rate_lock);
    return ok;
}
