/*
 * reply_standalone.c -- replies outside a loop: see ce_reply_create() in cecho.h.
 */
#include "loop.h"

#include <stdlib.h>

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
