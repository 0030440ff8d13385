/*
 * budget.c -- the connection cap, shared by every loop of a server: each loop takes a slot
 * before it serves a connection and gives it back when the connection closes, so
 * --max-connections holds for the process however the connections spread over the loops.
 * Layer: base.
 */
#include "budget.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

struct ce_budget {
    _Atomic uint32_t used;
    _Atomic uint32_t max; /* a reload may change it while the loops take slots */
};

ce_budget *ce_budget_create(uint32_t max) {
    ce_budget *b = calloc(1, sizeof *b);
    if (!b) {
        errno = ENOMEM;
        return NULL;
    }
    atomic_init(&b->used, 0);
    atomic_init(&b->max, max ? max : 1);
    return b;
}

void ce_budget_destroy(ce_budget *b) { free(b); }

void ce_budget_set_max(ce_budget *b, uint32_t max) {
    atomic_store_explicit(&b->max, max ? max : 1, memory_order_relaxed);
}

int ce_budget_take(ce_budget *b) {
    uint32_t used = atomic_load_explicit(&b->used, memory_order_relaxed);
    do {
        if (used >= atomic_load_explicit(&b->max, memory_order_relaxed)) return 0;
    } while (!atomic_compare_exchange_weak_explicit(&b->used, &used, used + 1, memory_order_relaxed,
                                                    memory_order_relaxed));
    return 1;
}

void ce_budget_give_back(ce_budget *b) { atomic_fetch_sub_explicit(&b->used, 1, memory_order_relaxed); }

uint32_t ce_budget_max(const ce_budget *b) { return b->max; }
