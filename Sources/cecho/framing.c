/*
 * framing.c -- finding message boundaries in received bytes: raw chunks, lines, or
 * length-prefixed frames. Pure functions, so they can be fuzzed without sockets.
 * Layer: base.
 */
#include "cecho_internal.h"

#include <string.h>

#define LENGTH_HEADER 4

static ce_frame_status next_line(const char *data, size_t len, size_t max_message,
                                 size_t *scanned, ce_frame *frame) {
    size_t from = *scanned < len ? *scanned : len;
    const char *nl = memchr(data + from, '\n', len - from);
    if (!nl) {
        /* Up to max_message payload bytes may wait for their terminator, plus the '\r' of a
         * "\r\n" that has not arrived whole yet. */
        int cr_pending = len > 0 && data[len - 1] == '\r';
        if (len - (size_t)cr_pending > max_message) return CE_FRAME_TOO_LARGE;
        *scanned = len;
        return CE_FRAME_INCOMPLETE;
    }
    size_t end = (size_t)(nl - data);
    int crlf = end > 0 && data[end - 1] == '\r';
    frame->offset = 0;
    frame->length = end - (size_t)crlf;
    frame->consumed = end + 1;
    frame->terminator = crlf ? CE_TERMINATOR_CRLF : CE_TERMINATOR_LF;
    return frame->length > max_message ? CE_FRAME_TOO_LARGE : CE_FRAME_MESSAGE;
}

static ce_frame_status next_length(const unsigned char *data, size_t len, size_t max_message,
                                   ce_frame *frame) {
    if (len < LENGTH_HEADER) return CE_FRAME_INCOMPLETE;
    uint32_t payload = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3];
    if (payload > max_message) return CE_FRAME_TOO_LARGE; /* known from the header alone */
    if (len - LENGTH_HEADER < payload) return CE_FRAME_INCOMPLETE;
    frame->offset = LENGTH_HEADER;
    frame->length = payload;
    frame->consumed = LENGTH_HEADER + (size_t)payload;
    frame->terminator = CE_TERMINATOR_NONE;
    return CE_FRAME_MESSAGE;
}

ce_frame_status ce_frame_next(ce_framing mode, const char *data, size_t len, size_t max_message,
                              size_t *scanned, ce_frame *frame) {
    switch (mode) {
    case CE_FRAMING_LINE: return next_line(data, len, max_message, scanned, frame);
    case CE_FRAMING_LENGTH: return next_length((const unsigned char *)data, len, max_message, frame);
    case CE_FRAMING_RAW:
    default:
        if (len == 0) return CE_FRAME_INCOMPLETE;
        frame->offset = 0;
        frame->length = len;
        frame->consumed = len;
        frame->terminator = CE_TERMINATOR_NONE;
        return CE_FRAME_MESSAGE;
    }
}
