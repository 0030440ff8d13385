/*
 * reply.c -- the reply a hook writes: bounded by max_reply, written in place into the
 * connection's output (or the loop's staging buffer), and replies outside any loop for
 * benchmarks and hook tests (ce_reply_create). Layer: connection.
 */
#include "conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* Whether `more` bytes still fit under max_reply; marks the overflow when not. */
static int fits(ce_reply *r, size_t more) {
    if (!r->overflow && ce_reply_length(r) + more <= r->max_reply) return 1;
    r->overflow = 1;
    errno = ENOBUFS;
    return 0;
}

int ce_reply_write(ce_reply *r, const void *data, size_t len) {
    if (!fits(r, len)) return -1;
    if (ce_buf_append(r->buf, data, len, r->cap) == -1) {
        r->overflow = 1;
        return -1;
    }
    return 0;
}

void *ce_reply_reserve(ce_reply *r, size_t max) {
    if (!fits(r, max)) return NULL;
    if (ce_buf_reserve(r->buf, max, r->cap) == -1) {
        r->overflow = 1;
        return NULL;
    }
    return r->buf->data + r->buf->end;
}

void ce_reply_commit(ce_reply *r, size_t len) {
    size_t room = r->buf->cap - r->buf->end;
    r->buf->end += len < room ? len : room;
}

size_t ce_reply_length(const ce_reply *r) { return ce_buf_len(r->buf) - r->start; }

int ce_reply_over_limit(const ce_reply *r) { return r->overflow; }

void ce_reply_fail(ce_reply *r, const char *why) { snprintf(r->failure, sizeof r->failure, "%s", why ? why : ""); }

int ce_reply_conn_fd(const ce_reply *r) { return r->conn ? r->conn->fd : -1; }

uint64_t ce_reply_conn_id(const ce_reply *r) { return r->conn ? r->conn->id : 0; }

uint64_t ce_reply_deferral(const ce_reply *r) { return r->conn ? r->deferral : 0; }

/* ---- Replies outside a loop ---------------------------------------------------------- */

/* The reply and the buffer it writes to, in one allocation. */
typedef struct standalone_reply {
    ce_reply reply;
    ce_buf buffer;
} standalone_reply;

ce_reply *ce_reply_create(size_t max_reply) {
    standalone_reply *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->reply.buf = &s->buffer;
    s->reply.max_reply = max_reply;
    s->reply.cap = max_reply;
    return &s->reply;
}

const char *ce_reply_take(ce_reply *r, size_t *len) {
    *len = ce_buf_len(r->buf);
    const char *bytes = r->buf->data ? r->buf->data + r->buf->start : "";
    /* Emptied in place: the bytes stay readable until the next write. */
    r->buf->start = r->buf->end = 0;
    r->start = 0;
    r->overflow = 0;
    r->failure[0] = '\0';
    return bytes;
}

void ce_reply_destroy(ce_reply *r) {
    if (!r) return;
    ce_buf_free(r->buf);
    free((standalone_reply *)r);
}
