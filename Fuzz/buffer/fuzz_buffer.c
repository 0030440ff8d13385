/*
 * fuzz_buffer.c -- libFuzzer harness for ce_buf: reserve, append, consume, free and the
 * compaction inside reserve, checked against a plain array after every step.
 *
 * The input is a list of operations, each an opcode byte and two argument bytes. The limits
 * are chosen by the fuzzer too, small enough to be hit and SIZE_MAX. After each step the
 * buffer must hold exactly the model's bytes, keep start <= end <= cap, never allocate past
 * the limit of the call that grew it, and fail (ENOBUFS, nothing changed) exactly when the
 * limit says so. Any difference aborts.
 */
#include "cecho_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MODEL (1u << 20) /* the model's own bound: every limit below keeps it */

typedef struct model {
    unsigned char *bytes;
    size_t len;
} model;

static void fail(const char *what, size_t step) {
    fprintf(stderr, "fuzz_buffer: property violated at step %zu: %s\n", step, what);
    abort();
}

/* The bytes an append writes: different from step to step, so a misplaced copy shows. */
static void pattern(unsigned char *out, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) out[i] = (unsigned char)(seed + i * 131 + (i >> 8));
}

/* A size from two bytes: mostly small, sometimes across the 4 KiB first allocation and its
 * doublings. */
static size_t size_of(uint8_t a, uint8_t b) {
    unsigned v = (unsigned)a | (unsigned)b << 8;
    return v & 0x8000 ? (v & 0x7fff) : (v & 0xff);
}

/* A limit: a small one that appends reach, one near the first allocation, or none. */
static size_t limit_of(uint8_t a) {
    switch (a >> 6) {
    case 0: return (size_t)(a & 0x3f) * 97;
    case 1: return 4096 + (size_t)(a & 0x3f) * 3 - 96;
    case 2: return (size_t)(a & 0x3f) * 1024 + 8192;
    default: return SIZE_MAX;
    }
}

static void check(const ce_buf *b, const model *m, size_t step) {
    if (b->start > b->end || b->end > b->cap) fail("cursors out of order", step);
    if (b->cap > 0 && !b->data) fail("capacity without storage", step);
    if (ce_buf_len(b) != m->len) fail("length differs from the model", step);
    if (m->len && memcmp(b->data + b->start, m->bytes, m->len) != 0) fail("bytes differ from the model", step);
}

static void check_rewound(const ce_buf *b, size_t step) {
    if (b->start == b->end && b->start != 0) fail("a consume that emptied the buffer did not rewind", step);
}

/* Reserve `n` under `limit` and check the outcome against the model's arithmetic. */
static int reserve(ce_buf *b, const model *m, size_t n, size_t limit, size_t step) {
    size_t old_cap = b->cap;
    char *old_data = b->data;
    int should_fit = n <= limit && m->len <= limit - n;
    errno = 0;
    int rc = ce_buf_reserve(b, n, limit);
    if (should_fit && rc != 0) fail("a reserve within the limit failed", step);
    if (!should_fit) {
        if (rc != -1 || errno != ENOBUFS) fail("a reserve over the limit did not fail with ENOBUFS", step);
        if (b->cap != old_cap || b->data != old_data) fail("a refused reserve changed the storage", step);
        return -1;
    }
    if (b->cap - b->end < n) fail("reserve left less room than asked", step);
    if (b->cap != old_cap && b->cap > limit) fail("reserve allocated past the limit", step);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static unsigned char model_bytes[MAX_MODEL], chunk[0x8000];
    ce_buf b = {0};
    model m = {model_bytes, 0};
    for (size_t i = 0, step = 0; i + 3 <= size; i += 3, step++) {
        uint8_t op = data[i], x = data[i + 1], y = data[i + 2];
        size_t limit = limit_of((uint8_t)(op ^ y));
        switch (op % 6) {
        case 0: { /* append */
            size_t n = size_of(x, y);
            if (limit == SIZE_MAX && m.len + n > MAX_MODEL) break;
            pattern(chunk, n, (unsigned)step);
            int should_fit = n <= limit && m.len <= limit - n;
            errno = 0;
            int rc = ce_buf_append(&b, chunk, n, limit);
            if (n == 0 && rc != 0) fail("an empty append failed", step);
            if (n > 0 && should_fit != (rc == 0)) fail("append disagrees with the limit", step);
            if (rc == -1 && errno != ENOBUFS) fail("a refused append set no ENOBUFS", step);
            if (rc == 0) {
                memcpy(m.bytes + m.len, chunk, n);
                m.len += n;
            }
            break;
        }
        case 1: { /* consume part of what is stored */
            size_t n = m.len ? size_of(x, y) % (m.len + 1) : 0;
            ce_buf_consume(&b, n);
            memmove(m.bytes, m.bytes + n, m.len - n);
            m.len -= n;
            check_rewound(&b, step);
            break;
        }
        case 2: /* consume everything */
            ce_buf_consume(&b, m.len);
            m.len = 0;
            check_rewound(&b, step);
            break;
        case 3: { /* reserve, write some in place and commit it (a reply written in place) */
            size_t n = size_of(x, y);
            if (limit == SIZE_MAX && m.len + n > MAX_MODEL) break;
            if (reserve(&b, &m, n, limit, step) == -1) break;
            size_t k = n ? (size_t)(x ^ y) % (n + 1) : 0;
            if (k == 0) break; /* an empty reserve may leave an unallocated buffer (data NULL) */
            pattern((unsigned char *)b.data + b.end, k, (unsigned)step * 7);
            memcpy(m.bytes + m.len, b.data + b.end, k);
            b.end += k;
            m.len += k;
            break;
        }
        case 4: { /* drop the end back to a mark (a declined reply) */
            size_t mark = m.len ? (size_t)x % (m.len + 1) : 0;
            b.end = b.start + mark;
            m.len = mark;
            break;
        }
        default: /* free */
            ce_buf_free(&b);
            if (b.data || b.cap || b.start || b.end) fail("free left state behind", step);
            m.len = 0;
            break;
        }
        check(&b, &m, step);
    }
    ce_buf_free(&b);
    return 0;
}
