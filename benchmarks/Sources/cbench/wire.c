/* The byte stream each load connection sends and checks: see wire.h. */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

static const unsigned char newline[1] = {'\n'};

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* One pattern byte: any value for raw and length framing; never a newline or carriage return
 * for lines (a payload byte must not end the message); a lower-case letter when the server
 * is expected to upper-case it. */
static unsigned char pattern_byte(uint64_t random, cb_framing framing, cb_expect expect) {
    if (expect == CB_EXPECT_UPPER) return (unsigned char)('a' + random % 26);
    unsigned char byte = (unsigned char)random;
    if (framing == CB_FRAMING_LINE && (byte == '\n' || byte == '\r')) byte ^= 0x80;
    return byte;
}

int wire_init(wire *w, cb_framing framing, cb_expect expect, size_t size, uint64_t seed) {
    memset(w, 0, sizeof *w);
    w->framing = framing;
    w->size = size;
    w->message_len = size + (framing == CB_FRAMING_LINE ? 1 : framing == CB_FRAMING_LENGTH ? 4 : 0);
    uint32_t len32 = (uint32_t)size;
    w->header[0] = (unsigned char)(len32 >> 24);
    w->header[1] = (unsigned char)(len32 >> 16);
    w->header[2] = (unsigned char)(len32 >> 8);
    w->header[3] = (unsigned char)len32;

    size_t total = (size_t)WIRE_PERIOD + size;
    w->sent = malloc(total);
    if (!w->sent) return -1;
    uint64_t state = seed;
    for (size_t i = 0; i < WIRE_PERIOD; i++) w->sent[i] = pattern_byte(splitmix64(&state), framing, expect);
    for (size_t i = WIRE_PERIOD; i < total; i++) w->sent[i] = w->sent[i - WIRE_PERIOD];

    if (expect == CB_EXPECT_ECHO) {
        w->expect = w->sent;
        return 0;
    }
    w->expect = malloc(total);
    if (!w->expect) {
        wire_free(w);
        return -1;
    }
    for (size_t i = 0; i < total; i++) w->expect[i] = (unsigned char)(w->sent[i] - 'a' + 'A');
    return 0;
}

void wire_free(wire *w) {
    if (w->expect != w->sent) free(w->expect);
    free(w->sent);
    w->sent = w->expect = NULL;
}

uint32_t wire_offset_for(uint64_t seed, int conn) {
    uint64_t state = seed ^ ((uint64_t)(unsigned)conn * 0x2545f4914f6cdd1dull);
    return (uint32_t)(splitmix64(&state) % WIRE_PERIOD);
}

wire_piece wire_piece_at(const wire *w, uint32_t offset, uint64_t pos) {
    uint64_t message = pos / w->message_len;
    uint64_t within = pos % w->message_len;
    if (w->framing == CB_FRAMING_LENGTH) {
        if (within < 4) return (wire_piece){w->header + within, w->header + within, (size_t)(4 - within)};
        within -= 4;
    }
    if (within == w->size) return (wire_piece){newline, newline, 1}; /* line framing's end */
    uint64_t start = (offset + message * (uint64_t)w->size) % WIRE_PERIOD + within;
    return (wire_piece){w->sent + start, w->expect + start, (size_t)(w->size - within)};
}
