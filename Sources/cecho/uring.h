/*
 * uring.h -- one io_uring, by raw system calls (no liburing): set up, submission queue,
 * completion queue, and provided-buffer rings. Layer: engine (under the completion engine).
 *
 * The queues are memory shared with the kernel. We own the submission tail and the completion
 * head; the kernel owns the submission head and the completion tail. So: SQEs are written,
 * then the tail is published with a release store (the kernel must see the entries before the
 * tail that covers them); the completion tail is read with an acquire load (the entries below
 * it are complete before we read them), and the head we have consumed up to is published with
 * a release store (the kernel may then overwrite those entries). A provided-buffer ring is the
 * same: entries first, then its tail with a release store.
 */
#ifndef CE_URING_H
#define CE_URING_H

#if defined(__linux__)

#include <linux/io_uring.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ce_ring {
    int fd;
    unsigned enter_flags;      /* IORING_ENTER_REGISTERED_RING once the ring fd is registered */
    int enter_fd;              /* fd, or its registered index */
    unsigned features;         /* IORING_FEAT_* */
    /* submission queue */
    unsigned *sq_head, *sq_tail, *sq_flags;
    unsigned sq_mask, sq_entries;
    unsigned sq_local_tail;    /* SQEs filled, published to *sq_tail at submit */
    struct io_uring_sqe *sqes;
    /* completion queue */
    unsigned *cq_head, *cq_tail;
    unsigned cq_mask;
    struct io_uring_cqe *cqes;
    /* the mappings, for unmapping */
    void *sq_map;
    size_t sq_map_len, sqes_len;
} ce_ring;

/* Create a ring of `entries` SQEs and `cq_entries` CQEs with setup `flags`. 0, or -1 with
 * errno and `err` filled, naming the likely cause where io_uring_setup refused (disabled,
 * filtered, or a flag this kernel lacks). */
int ce_ring_open(ce_ring *r, unsigned entries, unsigned cq_entries, unsigned flags, char *err, size_t errlen);
void ce_ring_close(ce_ring *r);
/* On the thread that will submit (IORING_SETUP_SINGLE_ISSUER): enable a ring created
 * disabled, and register its descriptor so that each enter skips the descriptor lookup. */
int ce_ring_start(ce_ring *r, int was_disabled);
/* On the same thread, once done submitting: drop the descriptor's registration, which holds
 * the ring open for as long as that thread lives (a close would not end it). */
void ce_ring_stop(ce_ring *r);
/* A zeroed SQE to fill, or NULL when the submission queue is full (submit first). */
struct io_uring_sqe *ce_ring_sqe(ce_ring *r);
/* SQEs filled that the kernel has not consumed yet. */
static inline unsigned ce_ring_unsubmitted(const ce_ring *r) {
    return r->sq_local_tail - __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
}
/* Submit what is filled and wait until at least `wait_nr` completions are there, or
 * `timeout_ms` passed (-1: no limit). Returns the SQEs submitted, or -1 with errno (EINTR and
 * ETIME are not failures: the caller reads what completed). */
int ce_ring_enter(ce_ring *r, unsigned wait_nr, int timeout_ms);
/* Completions ready to read. */
static inline unsigned ce_ring_cq_ready(const ce_ring *r) {
    return __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE) - *r->cq_head;
}
/* The `i`th ready completion from the head. */
static inline const struct io_uring_cqe *ce_ring_cqe(const ce_ring *r, unsigned i) {
    return &r->cqes[(*r->cq_head + i) & r->cq_mask];
}
/* Hand `n` read completions back to the kernel. */
static inline void ce_ring_cq_advance(ce_ring *r, unsigned n) {
    __atomic_store_n(r->cq_head, *r->cq_head + n, __ATOMIC_RELEASE);
}
/* io_uring_register(2). Returns its result, or -1 with errno. */
int ce_ring_register(ce_ring *r, unsigned opcode, const void *arg, unsigned nr_args);
/* The first of `ops[0, n)` the kernel does not support (IORING_REGISTER_PROBE), or -1. */
int ce_ring_unsupported(ce_ring *r, const unsigned *ops, size_t n);

/* A ring of `count` (a power of two) buffers of `size` bytes each, in group `group`, which the
 * kernel picks from for receives. */
typedef struct ce_buf_ring {
    struct io_uring_buf_ring *ring;
    char *base;                /* count * size bytes */
    unsigned count, size, mask;
    uint16_t tail;             /* entries added, published at ce_buf_ring_publish() */
    uint16_t group;
    size_t ring_len;
} ce_buf_ring;

/* Allocate, fill with every buffer and register with ring `r`. 0, or -1 with `err` filled. */
int ce_buf_ring_open(ce_buf_ring *b, ce_ring *r, uint16_t group, unsigned count, unsigned size,
                     char *err, size_t errlen);
/* Unregister (while `r` is open) and free. */
void ce_buf_ring_close(ce_buf_ring *b, ce_ring *r);
/* Buffer `bid`'s memory. */
static inline char *ce_buf_ring_data(const ce_buf_ring *b, unsigned bid) { return b->base + (size_t)bid * b->size; }
/* Give buffer `bid` back; the kernel sees it after ce_buf_ring_publish(). */
static inline void ce_buf_ring_give(ce_buf_ring *b, unsigned bid) {
    struct io_uring_buf *e = &b->ring->bufs[b->tail & b->mask];
    e->addr = (uint64_t)(uintptr_t)ce_buf_ring_data(b, bid);
    e->len = b->size;
    e->bid = (uint16_t)bid;
    b->tail++;
}
static inline void ce_buf_ring_publish(ce_buf_ring *b) {
    __atomic_store_n(&b->ring->tail, b->tail, __ATOMIC_RELEASE);
}

#endif /* __linux__ */
#endif /* CE_URING_H */
