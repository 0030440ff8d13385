/*
 * fuzz_framing.c -- libFuzzer harness for ce_frame_next() in raw, line and length framing.
 *
 * The stream is fed the way conn.c and message.c feed it: each read lands in a scratch
 * buffer and is framed in place; a message cut by the end of a read is copied into the
 * connection's input buffer (a ce_buf capped like the real one), the next read is appended
 * there and framing resumes with the saved `scanned`. The fuzzer chooses the read sizes,
 * reads whose processing stops early (a paused connection), reads that land while held-back
 * messages wait (a connection waiting for a deferred reply), and max_message.
 *
 * The property: the messages found, their terminators and the too-large outcome are the same
 * as those of a trivial reference model of each framing over the whole input, whatever the
 * split; framing the whole input in one go agrees too. Any difference aborts.
 *
 * Input layout: mode, two bytes of max_message, a read count k, k pairs (read size; flags:
 * 0x80 stop after (flags & 3) messages, 0x40 keep waiting), then the stream itself.
 */
#include "cecho_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fake read size. The real one is 64 KiB; a small one makes the input cap (max_message +
 * 8 + one read, as loop.c sets it) tight enough to be tested by small inputs. */
#define FAKE_READ_CHUNK 64
#define MAX_READS 32
#define UNLIMITED SIZE_MAX

/* What a framing run found: the messages (payloads back to back plus their lengths and
 * terminators) and how the stream ended. */
typedef struct outcome {
    unsigned char *bytes;
    size_t bytes_len, bytes_cap;
    size_t *lengths;
    int *terminators;
    size_t count, cap;
    int too_large;
} outcome;

static void fail(const char *what) {
    fprintf(stderr, "fuzz_framing: property violated: %s\n", what);
    abort();
}

static void *grow(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) fail("out of memory in the harness");
    return q;
}

static void record(outcome *o, const char *payload, size_t len, int terminator) {
    if (o->count == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 16;
        o->lengths = grow(o->lengths, o->cap * sizeof *o->lengths);
        o->terminators = grow(o->terminators, o->cap * sizeof *o->terminators);
    }
    if (o->bytes_cap - o->bytes_len < len) {
        while (o->bytes_cap - o->bytes_len < len) o->bytes_cap = o->bytes_cap ? o->bytes_cap * 2 : 256;
        o->bytes = grow(o->bytes, o->bytes_cap);
    }
    if (len) memcpy(o->bytes + o->bytes_len, payload, len);
    o->bytes_len += len;
    o->lengths[o->count] = len;
    o->terminators[o->count] = terminator;
    o->count++;
}

static void outcome_free(outcome *o) {
    free(o->bytes);
    free(o->lengths);
    free(o->terminators);
}

static void expect_same(const outcome *a, const outcome *b, const char *what) {
    if (a->too_large != b->too_large) fail(what);
    if (a->count != b->count || a->bytes_len != b->bytes_len) fail(what);
    if (a->bytes_len && memcmp(a->bytes, b->bytes, a->bytes_len) != 0) fail(what);
    for (size_t i = 0; i < a->count; i++)
        if (a->lengths[i] != b->lengths[i] || a->terminators[i] != b->terminators[i]) fail(what);
}

/* ---- The connection, as conn.c + message.c drive the framing ---------------------------- */

typedef struct fake_conn {
    ce_framing mode;
    size_t max_message;
    size_t input_cap;
    ce_buf in;
    size_t scanned;
    int closed; /* a message was too large: nothing more is framed */
    outcome *out;
} fake_conn;

/* ce_messages_process(): frame and answer up to `budget` messages of data[0, len). Returns
 * the bytes used; *incomplete is set when the rest is a message still arriving. */
static size_t process(fake_conn *c, const char *data, size_t len, size_t budget, int *incomplete) {
    size_t used = 0;
    *incomplete = 0;
    while (used < len && !c->closed) {
        if (budget == 0) break; /* paused or waiting for a deferred reply: the rest waits */
        ce_frame f;
        ce_frame_status status = ce_frame_next(c->mode, data + used, len - used, c->max_message, &c->scanned, &f);
        if (status == CE_FRAME_INCOMPLETE) {
            if (c->scanned > len - used) fail("scanned points past the data");
            *incomplete = 1;
            break;
        }
        if (status == CE_FRAME_TOO_LARGE) {
            c->closed = 1;
            c->out->too_large = 1;
            return len;
        }
        if (status != CE_FRAME_MESSAGE) fail("unknown frame status");
        if (f.consumed == 0 || f.consumed > len - used) fail("consumed outside the data");
        if (f.offset > f.consumed || f.length > f.consumed - f.offset) fail("payload outside the message");
        if (c->mode != CE_FRAMING_RAW && f.length > c->max_message) fail("a message over max_message");
        c->scanned = 0;
        record(c->out, data + used + f.offset, f.length, f.terminator);
        used += f.consumed;
        if (budget != UNLIMITED) budget--;
    }
    return used;
}

/* process_buffered(): answer what the input buffer holds. */
static void process_buffered(fake_conn *c, size_t budget) {
    int incomplete;
    size_t used = process(c, c->in.data + c->in.start, ce_buf_len(&c->in), budget, &incomplete);
    ce_buf_consume(&c->in, used);
    if (ce_buf_len(&c->in) == 0) {
        ce_buf_free(&c->in);
        c->scanned = 0;
    }
}

/* framed_readable(): one read of `n` bytes, processed up to `budget` messages. */
static void on_read(fake_conn *c, const unsigned char *bytes, size_t n, size_t budget) {
    if (ce_buf_len(&c->in) > 0) {
        /* conn.c reads into a buffer only while a read still fits under the cap. */
        if (ce_buf_reserve(&c->in, FAKE_READ_CHUNK, c->input_cap) == -1) fail("the input cap refused a read");
        memcpy(c->in.data + c->in.end, bytes, n);
        c->in.end += n;
        process_buffered(c, budget);
        return;
    }
    char *scratch = malloc(n); /* exactly the read, so a read past it is caught */
    if (!scratch) fail("out of memory in the harness");
    memcpy(scratch, bytes, n);
    int incomplete;
    size_t used = process(c, scratch, n, budget, &incomplete);
    if (used < n && !c->closed && ce_buf_append(&c->in, scratch + used, n - used, c->input_cap) == -1)
        fail("the input cap refused the rest of a read");
    free(scratch);
}

/* ce_messages_flush_final(): at the peer's EOF a last unterminated line is a message; an
 * incomplete length frame is dropped. */
static void on_eof(fake_conn *c) {
    process_buffered(c, UNLIMITED);
    size_t len = ce_buf_len(&c->in);
    if (c->mode == CE_FRAMING_LINE && len > 0 && !c->closed) {
        if (len > c->max_message) c->out->too_large = 1;
        else record(c->out, c->in.data + c->in.start, len, CE_TERMINATOR_NONE);
    }
    ce_buf_free(&c->in);
}

/* ---- The reference models --------------------------------------------------------------- */

static void reference_line(const unsigned char *s, size_t len, size_t max, outcome *o) {
    size_t start = 0;
    while (start < len) {
        size_t end = start;
        while (end < len && s[end] != '\n') end++;
        if (end == len) { /* the last line, cut short by EOF: its bytes as they are */
            if (len - start > max) o->too_large = 1;
            else record(o, (const char *)s + start, len - start, CE_TERMINATOR_NONE);
            return;
        }
        int crlf = end > start && s[end - 1] == '\r';
        size_t payload = end - start - (size_t)crlf;
        if (payload > max) {
            o->too_large = 1;
            return;
        }
        record(o, (const char *)s + start, payload, crlf ? CE_TERMINATOR_CRLF : CE_TERMINATOR_LF);
        start = end + 1;
    }
}

static void reference_length(const unsigned char *s, size_t len, size_t max, outcome *o) {
    size_t at = 0;
    while (len - at >= 4) {
        uint64_t payload = (uint64_t)s[at] << 24 | (uint64_t)s[at + 1] << 16 | (uint64_t)s[at + 2] << 8 | s[at + 3];
        if (payload > max) {
            o->too_large = 1;
            return;
        }
        if (len - at - 4 < payload) return; /* incomplete at EOF: dropped */
        record(o, (const char *)s + at + 4, (size_t)payload, CE_TERMINATOR_NONE);
        at += 4 + (size_t)payload;
    }
}

/* ---- The harness ------------------------------------------------------------------------ */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4) return 0;
    ce_framing mode = (ce_framing)(data[0] % 3);
    unsigned selector = (unsigned)data[1] | (unsigned)data[2] << 8;
    /* Mostly small limits, which the input can reach; sometimes the largest allowed (1 GiB). */
    size_t max_message = selector & 0x8000 ? (size_t)1 << 30 : selector % 300 + 1;
    size_t reads = data[3] % (MAX_READS + 1);
    size_t at = 4;
    if (size - at < reads * 2) return 0;
    const uint8_t *plan = data + at;
    at += reads * 2;
    const uint8_t *stream = data + at;
    size_t len = size - at;

    /* Split into fuzzer-chosen reads. */
    outcome split = {0};
    fake_conn c = {.mode = mode, .max_message = max_message, .out = &split};
    c.input_cap = max_message + 8 + FAKE_READ_CHUNK;
    size_t pos = 0;
    size_t *read_ends = malloc((len + 1) * sizeof *read_ends); /* where each read ended */
    size_t read_count = 0;
    if (!read_ends) fail("out of memory in the harness");
    int merged = 0; /* a read landed after held-back bytes: raw messages may span reads */
    for (size_t i = 0; pos < len && !c.closed; i++) {
        size_t n = FAKE_READ_CHUNK, budget = UNLIMITED;
        int waiting = 0;
        if (i < reads) {
            n = plan[2 * i] % FAKE_READ_CHUNK + 1;
            if (plan[2 * i + 1] & 0x80) budget = plan[2 * i + 1] & 3;
            waiting = plan[2 * i + 1] & 0x40;
        }
        if (n > len - pos) n = len - pos;
        /* A paused connection reads nothing until what it holds is answered; one waiting for a
         * deferred reply goes on reading while a read fits under the input cap (conn.c's
         * wants_read), and answers what it holds together with the new bytes. */
        if (ce_buf_len(&c.in) > 0 && (!waiting || ce_buf_len(&c.in) + FAKE_READ_CHUNK > c.input_cap))
            process_buffered(&c, UNLIMITED);
        if (ce_buf_len(&c.in) > 0) merged = 1;
        on_read(&c, stream + pos, n, budget);
        pos += n;
        read_ends[read_count++] = pos;
    }
    if (!c.closed) on_eof(&c);
    ce_buf_free(&c.in);

    /* One read holding everything. */
    outcome whole = {0};
    fake_conn w = {.mode = mode, .max_message = max_message, .out = &whole};
    if (len > 0) {
        int incomplete;
        w.in.data = malloc(len);
        if (!w.in.data) fail("out of memory in the harness");
        memcpy(w.in.data, stream, len);
        w.in.end = w.in.cap = len;
        size_t used = process(&w, w.in.data, len, UNLIMITED, &incomplete);
        ce_buf_consume(&w.in, used);
        if (!w.closed) on_eof(&w);
        ce_buf_free(&w.in);
    }

    outcome model = {0};
    if (mode == CE_FRAMING_LINE) {
        reference_line(stream, len, max_message, &model);
    } else if (mode == CE_FRAMING_LENGTH) {
        reference_length(stream, len, max_message, &model);
    } else {
        /* Raw: every read is one message, whatever max_message says; bytes held back while a
         * connection waited make one message with the reads after them. */
        size_t from = 0;
        for (size_t i = 0; i < read_count; i++) {
            record(&model, (const char *)stream + from, read_ends[i] - from, CE_TERMINATOR_NONE);
            from = read_ends[i];
        }
        if (!merged) expect_same(&split, &model, "raw framing did not find one message per read");
        if (split.bytes_len != len || (len && memcmp(split.bytes, stream, len) != 0))
            fail("raw framing lost, added or reordered bytes");
        for (size_t m = 0, end = 0, r = 0; m < split.count; m++) {
            if (split.lengths[m] == 0) fail("raw framing found an empty message");
            end += split.lengths[m];
            while (r < read_count && read_ends[r] < end) r++;
            if (r == read_count || read_ends[r] != end) fail("a raw message ended inside a read");
        }
        if (whole.count > 1 || whole.bytes_len != len) fail("raw framing split one read");
    }
    if (mode != CE_FRAMING_RAW) {
        expect_same(&split, &model, "split reads and the reference model disagree");
        expect_same(&whole, &model, "one read and the reference model disagree");
    }
    free(read_ends);
    outcome_free(&split);
    outcome_free(&whole);
    outcome_free(&model);
    return 0;
}
