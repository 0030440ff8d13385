/*
 * wire.h -- what each connection sends, and what it expects back, as one endless byte stream.
 *
 * Message m of a connection is its payload (SIZE bytes of a shared pseudo-random pattern,
 * starting where the connection's own offset plus m x SIZE falls) framed as the workload
 * says. Every message differs, so a lost, repeated, reordered or foreign byte shows up.
 */
#ifndef CBENCH_WIRE_H
#define CBENCH_WIRE_H

#include "cbench.h"

#include <stddef.h>
#include <stdint.h>

/* The pattern's period: a prime, so that message boundaries drift through it. */
#define WIRE_PERIOD 1048573u

typedef struct wire {
    cb_framing framing;
    size_t size;            /* payload bytes per message */
    uint64_t message_len;   /* bytes on the wire per message: payload and framing */
    unsigned char header[4];
    unsigned char *sent;    /* WIRE_PERIOD + size bytes, so any payload is contiguous */
    unsigned char *expect;  /* the same, as the server should answer it; may equal `sent` */
} wire;

/* A contiguous run of the stream, as sent and as expected back. */
typedef struct wire_piece {
    const unsigned char *sent;
    const unsigned char *expect;
    size_t len;
} wire_piece;

int wire_init(wire *w, cb_framing framing, cb_expect expect, size_t size, uint64_t seed);
void wire_free(wire *w);

/* Where a connection's message 0 starts in the pattern. */
uint32_t wire_offset_for(uint64_t seed, int conn);

/* The piece of the stream of the connection starting at `offset`, at stream position `pos`:
 * up to the end of the header, payload or terminator that `pos` falls in. */
wire_piece wire_piece_at(const wire *w, uint32_t offset, uint64_t pos);

#endif
