/*
 * buffer.c -- growable byte buffer with read/write cursors, compaction and a hard cap.
 *
 * Growth doubles from CE_BUF_MIN_CAP so a stream of appends costs amortised O(1); space
 * already consumed at the front is reclaimed by one memmove before the buffer grows.
 * Layer: base.
 */
#include "cecho_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CE_BUF_MIN_CAP 4096

int ce_buf_reserve(ce_buf *b, size_t n, size_t limit) {
    size_t len = ce_buf_len(b);
    if (n > limit || len > limit - n) {
        errno = ENOBUFS;
        return -1;
    }
    if (b->cap - b->end >= n) return 0;
    if (b->cap - len >= n) { /* enough room once the consumed front is reclaimed */
        memmove(b->data, b->data + b->start, len);
        b->start = 0;
        b->end = len;
        return 0;
    }
    size_t cap = b->cap ? b->cap : CE_BUF_MIN_CAP;
    while (cap - len < n) cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
    if (cap > limit) cap = limit; /* never allocate past the cap (limit >= len + n here) */
    char *data = malloc(cap);
    if (!data) {
        errno = ENOMEM;
        return -1;
    }
    if (len) memcpy(data, b->data + b->start, len);
    free(b->data);
    b->data = data;
    b->start = 0;
    b->end = len;
    b->cap = cap;
    return 0;
}

int ce_buf_append(ce_buf *b, const void *p, size_t n, size_t limit) {
    if (n == 0) return 0;
    if (ce_buf_reserve(b, n, limit) == -1) return -1;
    memcpy(b->data + b->end, p, n);
    b->end += n;
    return 0;
}

void ce_buf_consume(ce_buf *b, size_t n) {
    b->start += n;
    if (b->start == b->end) b->start = b->end = 0;
}

void ce_buf_free(ce_buf *b) {
    free(b->data);
    b->data = NULL;
    b->start = b->end = b->cap = 0;
}
