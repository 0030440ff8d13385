/*
 * cecho_internal.h -- the C core's pieces that its own files, its tests, its fuzzers and the
 * benchmark runner's microbenchmarks reach, but an embedder has no use for: the byte buffer,
 * the framer, and a socket helper. The Swift layer imports only cecho.h; tests and echo-bench
 * import this as the module `cecho_internal`.
 * Layer: public (the face of every layer; includes no private header).
 */
#ifndef CECHO_INTERNAL_H
#define CECHO_INTERNAL_H

#include "cecho.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------- */
/* Byte buffer: one allocation with a read cursor (start) and a write cursor (end).          */

typedef struct ce_buf {
    char *data;   /* NULL until the first byte is stored */
    size_t start; /* first unconsumed byte */
    size_t end;   /* one past the last stored byte */
    size_t cap;   /* bytes allocated */
} ce_buf;

static inline size_t ce_buf_len(const ce_buf *b) { return b->end - b->start; }

/* Make room for `n` more bytes after `end`, compacting or growing, never beyond `limit`
 * bytes stored in all. Returns 0, or -1 with errno ENOBUFS (over the limit) or ENOMEM. */
int ce_buf_reserve(ce_buf *b, size_t n, size_t limit);
/* Append `n` bytes; same failures as ce_buf_reserve(). */
int ce_buf_append(ce_buf *b, const void *p, size_t n, size_t limit);
/* Drop `n` bytes from the front (n <= length). An emptied buffer rewinds its cursors. */
void ce_buf_consume(ce_buf *b, size_t n);
/* Release the allocation; the buffer is empty and reusable afterwards. */
void ce_buf_free(ce_buf *b);

/* ---------------------------------------------------------------------------------------- */
/* Framing: where one message ends. Pure functions over bytes, no I/O.                       */

typedef enum ce_frame_status {
    CE_FRAME_INCOMPLETE = 0, /* no whole message yet: wait for more bytes */
    CE_FRAME_MESSAGE,        /* `frame` describes the first message */
    CE_FRAME_TOO_LARGE,      /* the first message's payload is over the maximum */
} ce_frame_status;

/* How the terminator of a line ended, so a reply can end the same way. */
#define CE_TERMINATOR_NONE 0 /* raw, length, or a last line cut short by the peer's FIN */
#define CE_TERMINATOR_LF 1
#define CE_TERMINATOR_CRLF 2

typedef struct ce_frame {
    size_t offset;      /* where the payload starts */
    size_t length;      /* payload bytes */
    size_t consumed;    /* bytes the whole message takes, header or terminator included */
    int terminator;     /* CE_TERMINATOR_* */
} ce_frame;

/* Find the first message in `data[0, len)` whose payload is at most `max_message` bytes (raw
 * mode: all of `data`, if any). `*scanned` lets a line search resume where it stopped: set it
 * to 0 for new data; it is updated when the result is CE_FRAME_INCOMPLETE. A line is too
 * large as soon as more than `max_message` bytes arrive without its terminator. */
ce_frame_status ce_frame_next(ce_framing mode, const char *data, size_t len, size_t max_message,
                              size_t *scanned, ce_frame *frame);

/* ---------------------------------------------------------------------------------------- */
/* Sockets                                                                                  */

/* The local port of socket `fd`, or -1. */
int ce_net_local_port(int fd);

#ifdef __cplusplus
}
#endif

#endif /* CECHO_INTERNAL_H */
