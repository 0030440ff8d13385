/*
 * uring.c -- one io_uring by raw system calls: setup and mappings, submitting and waiting,
 * registration, provided-buffer rings. Layer: engine (under the completion engine).
 *
 * The memory ordering of the shared queues is spelled out in uring.h.
 */
#if defined(__linux__)

#include "uring.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int sys_setup(unsigned entries, struct io_uring_params *p) {
    return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int sys_enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags, const void *arg,
                     size_t argsz) {
    return (int)syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, arg, argsz);
}

static int sys_register(int fd, unsigned opcode, const void *arg, unsigned nr_args) {
    return (int)syscall(__NR_io_uring_register, fd, opcode, arg, nr_args);
}

int ce_ring_open(ce_ring *r, unsigned entries, unsigned cq_entries, unsigned flags, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    r->fd = -1;
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = flags | IORING_SETUP_CQSIZE;
    p.cq_entries = cq_entries;
    int fd = sys_setup(entries, &p);
    if (fd < 0) {
        int saved = errno;
        if (saved == EPERM || saved == ENOSYS)
            snprintf(err, errlen, "io_uring_setup(): %s (kernel.io_uring_disabled, a seccomp filter, or a kernel without io_uring)",
                     strerror(saved));
        else if (saved == EINVAL)
            snprintf(err, errlen, "io_uring_setup(): flags 0x%x refused (SINGLE_ISSUER and DEFER_TASKRUN need Linux 6.1)",
                     flags);
        else
            snprintf(err, errlen, "io_uring_setup(%u entries): %s", entries, strerror(saved));
        errno = saved;
        return -1;
    }
    r->fd = r->enter_fd = fd;
    r->features = p.features;
    if (!(p.features & IORING_FEAT_SINGLE_MMAP) || !(p.features & IORING_FEAT_EXT_ARG) ||
        !(p.features & IORING_FEAT_NODROP)) {
        snprintf(err, errlen, "io_uring: the kernel lacks a feature the engine needs (features 0x%x)", p.features);
        close(fd);
        r->fd = -1;
        errno = ENOSYS;
        return -1;
    }
    /* One mapping serves both rings (IORING_FEAT_SINGLE_MMAP), as long as the longer. */
    size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    r->sq_map_len = sq_len > cq_len ? sq_len : cq_len;
    r->sq_map = mmap(NULL, r->sq_map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
    r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
    r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
    if (r->sq_map == MAP_FAILED || r->sqes == MAP_FAILED) {
        int saved = errno;
        snprintf(err, errlen, "mmap(io_uring queues): %s", strerror(saved));
        if (r->sq_map == MAP_FAILED) r->sq_map = NULL;
        if (r->sqes == MAP_FAILED) r->sqes = NULL;
        ce_ring_close(r);
        errno = saved;
        return -1;
    }
    char *sq = r->sq_map;
    r->sq_head = (unsigned *)(void *)(sq + p.sq_off.head);
    r->sq_tail = (unsigned *)(void *)(sq + p.sq_off.tail);
    r->sq_flags = (unsigned *)(void *)(sq + p.sq_off.flags);
    r->sq_mask = *(unsigned *)(void *)(sq + p.sq_off.ring_mask);
    r->sq_entries = *(unsigned *)(void *)(sq + p.sq_off.ring_entries);
    r->sq_local_tail = *r->sq_tail;
    /* SQE i always sits in slot i: fill the indirection array once, never again. */
    unsigned *array = (unsigned *)(void *)(sq + p.sq_off.array);
    for (unsigned i = 0; i < r->sq_entries; i++) array[i] = i;
    r->cq_head = (unsigned *)(void *)(sq + p.cq_off.head);
    r->cq_tail = (unsigned *)(void *)(sq + p.cq_off.tail);
    r->cq_mask = *(unsigned *)(void *)(sq + p.cq_off.ring_mask);
    r->cqes = (struct io_uring_cqe *)(void *)(sq + p.cq_off.cqes);
    return 0;
}

void ce_ring_close(ce_ring *r) {
    if (r->sqes) munmap(r->sqes, r->sqes_len);
    if (r->sq_map) munmap(r->sq_map, r->sq_map_len);
    if (r->fd >= 0) close(r->fd);
    memset(r, 0, sizeof *r);
    r->fd = -1;
}

int ce_ring_start(ce_ring *r, int was_disabled) {
    if (was_disabled && sys_register(r->fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0) < 0) return -1;
    /* Optional: without it each enter looks the descriptor up, which is all it saves. */
    struct io_uring_rsrc_update reg = {.offset = -1U, .data = (uint64_t)r->fd};
    if (sys_register(r->fd, IORING_REGISTER_RING_FDS, &reg, 1) == 1) {
        r->enter_fd = (int)reg.offset;
        r->enter_flags = IORING_ENTER_REGISTERED_RING;
    }
    return 0;
}

void ce_ring_stop(ce_ring *r) {
    if (!(r->enter_flags & IORING_ENTER_REGISTERED_RING)) return;
    struct io_uring_rsrc_update reg = {.offset = (unsigned)r->enter_fd};
    (void)sys_register(r->fd, IORING_UNREGISTER_RING_FDS, &reg, 1);
    r->enter_flags = 0;
    r->enter_fd = r->fd;
}

struct io_uring_sqe *ce_ring_sqe(ce_ring *r) {
    unsigned head = __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
    if (r->sq_local_tail - head >= r->sq_entries) return NULL;
    struct io_uring_sqe *sqe = &r->sqes[r->sq_local_tail & r->sq_mask];
    r->sq_local_tail++;
    memset(sqe, 0, sizeof *sqe);
    return sqe;
}

int ce_ring_enter(ce_ring *r, unsigned wait_nr, int timeout_ms) {
    unsigned to_submit = ce_ring_unsubmitted(r);
    /* The entries are written: publish the tail that covers them. */
    __atomic_store_n(r->sq_tail, r->sq_local_tail, __ATOMIC_RELEASE);
    unsigned flags = r->enter_flags;
    struct __kernel_timespec ts;
    struct io_uring_getevents_arg arg;
    memset(&arg, 0, sizeof arg);
    if (wait_nr) {
        flags |= IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG;
        if (timeout_ms >= 0) {
            ts.tv_sec = timeout_ms / 1000;
            ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
            arg.ts = (uint64_t)(uintptr_t)&ts;
        }
    } else if (__atomic_load_n(r->sq_flags, __ATOMIC_RELAXED) & (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN)) {
        flags |= IORING_ENTER_GETEVENTS; /* run deferred work and flush overflowed completions */
    }
    if (to_submit == 0 && !(flags & IORING_ENTER_GETEVENTS)) return 0;
    /* Interrupted before submitting anything, the entries stay queued for the next enter. */
    return sys_enter(r->enter_fd, to_submit, wait_nr, flags, wait_nr ? &arg : NULL, wait_nr ? sizeof arg : 0);
}

int ce_ring_register(ce_ring *r, unsigned opcode, const void *arg, unsigned nr_args) {
    return sys_register(r->fd, opcode, arg, nr_args);
}

int ce_ring_unsupported(ce_ring *r, const unsigned *ops, size_t n) {
    size_t len = sizeof(struct io_uring_probe) + 256 * sizeof(struct io_uring_probe_op);
    struct io_uring_probe *probe = calloc(1, len);
    int missing = n ? (int)ops[0] : -1;
    if (probe && sys_register(r->fd, IORING_REGISTER_PROBE, probe, 256) == 0) {
        missing = -1;
        for (size_t i = 0; i < n && missing < 0; i++)
            if (ops[i] > probe->last_op || !(probe->ops[ops[i]].flags & IO_URING_OP_SUPPORTED)) missing = (int)ops[i];
    }
    free(probe);
    return missing;
}

int ce_buf_ring_open(ce_buf_ring *b, ce_ring *r, uint16_t group, unsigned count, unsigned size,
                     char *err, size_t errlen) {
    memset(b, 0, sizeof *b);
    b->count = count;
    b->size = size;
    b->mask = count - 1;
    b->group = group;
    b->ring_len = count * sizeof(struct io_uring_buf);
    b->ring = mmap(NULL, b->ring_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (b->ring == MAP_FAILED) {
        b->ring = NULL;
        snprintf(err, errlen, "mmap(buffer ring of %u): %s", count, strerror(errno));
        return -1;
    }
    b->base = aligned_alloc(4096, (size_t)count * size);
    if (!b->base) {
        snprintf(err, errlen, "malloc(%u receive buffers of %u bytes): %s", count, size, strerror(ENOMEM));
        ce_buf_ring_close(b, NULL);
        errno = ENOMEM;
        return -1;
    }
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof reg);
    reg.ring_addr = (uint64_t)(uintptr_t)b->ring;
    reg.ring_entries = count;
    reg.bgid = group;
    if (ce_ring_register(r, IORING_REGISTER_PBUF_RING, &reg, 1) < 0) {
        int saved = errno;
        snprintf(err, errlen, "io_uring_register(PBUF_RING, group %u): %s", group, strerror(saved));
        ce_buf_ring_close(b, NULL);
        errno = saved;
        return -1;
    }
    b->ring->tail = 0;
    for (unsigned bid = 0; bid < count; bid++) ce_buf_ring_give(b, bid);
    ce_buf_ring_publish(b);
    return 0;
}

void ce_buf_ring_close(ce_buf_ring *b, ce_ring *r) {
    if (r && b->ring) {
        struct io_uring_buf_reg reg;
        memset(&reg, 0, sizeof reg);
        reg.bgid = b->group;
        (void)ce_ring_register(r, IORING_UNREGISTER_PBUF_RING, &reg, 1);
    }
    if (b->ring) munmap(b->ring, b->ring_len);
    free(b->base);
    memset(b, 0, sizeof *b);
}

#endif /* __linux__ */
