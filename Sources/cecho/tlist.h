/*
 * tlist.h -- intrusive list ordered by a time stamp, for timeouts that all connections
 * share (idle, write). Every timeout has one duration, so appending at the tail with the
 * current time keeps the list sorted: touching a connection is O(1), and the loop only
 * ever looks at the head to find the next expiry. No heap or wheel is needed.
 * Layer: base.
 */
#ifndef CE_TLIST_H
#define CE_TLIST_H

#include <stddef.h>
#include <stdint.h>

typedef struct ce_tlink {
    struct ce_tlink *prev, *next; /* NULL when not in a list */
    uint64_t since_ms;            /* when the connection entered or last touched the list */
} ce_tlink;

typedef struct ce_tlist {
    ce_tlink head; /* sentinel of a circular list */
} ce_tlist;

static inline void ce_tlist_init(ce_tlist *l) { l->head.prev = l->head.next = &l->head; }

static inline int ce_tlink_linked(const ce_tlink *k) { return k->next != NULL; }

static inline void ce_tlink_remove(ce_tlink *k) {
    if (!k->next) return;
    k->prev->next = k->next;
    k->next->prev = k->prev;
    k->prev = k->next = NULL;
}

/* Move `k` to the tail, stamped `now_ms` (inserting it if it was not linked). */
static inline void ce_tlist_touch(ce_tlist *l, ce_tlink *k, uint64_t now_ms) {
    ce_tlink_remove(k);
    k->since_ms = now_ms;
    k->prev = l->head.prev;
    k->next = &l->head;
    l->head.prev->next = k;
    l->head.prev = k;
}

/* The oldest link, or NULL when the list is empty. */
static inline ce_tlink *ce_tlist_first(ce_tlist *l) {
    return l->head.next == &l->head ? NULL : l->head.next;
}

#define CE_CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#endif /* CE_TLIST_H */
