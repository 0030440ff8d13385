/*
 * message.c -- from framed messages to replies: the built-in echo, the hook call and the
 * reply it writes, replies that come later from other threads. Layer: connection.
 *
 * A hook writes payload only; the core frames the reply like its message (the same line
 * terminator, or a length header) so a hook cannot get framing wrong. Replies go into the
 * connection's output queue if it has one, else into the loop's staging buffer, which
 * conn.c sends once per event: no allocation per message.
 */
#include "conn.h"

#include "clock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LENGTH_HEADER 4

/* Where a reply for `c` is written: its queue if it has one, else the loop's staging. */
static ce_buf *reply_buffer(ce_conns *cs, ce_conn *c) {
    return ce_buf_len(&c->out) > 0 ? &c->out : &cs->staging;
}

/* Drop what a reply wrote, back to `mark`. */
static void truncate_to(ce_buf *b, size_t mark) { b->end = b->start + mark; }

/* Open a reply in `b`: a placeholder header in length framing. Returns the mark to truncate
 * to, or SIZE_MAX without memory. */
static size_t begin_reply(ce_conns *cs, ce_buf *b) {
    size_t mark = ce_buf_len(b);
    static const char zero[LENGTH_HEADER] = {0};
    if (cs->config.framing == CE_FRAMING_LENGTH && ce_buf_append(b, zero, LENGTH_HEADER, cs->output_cap) == -1)
        return SIZE_MAX;
    return mark;
}

/* Close a reply opened at `mark`: the terminator its message had, or the length header.
 * 0, or -1 without memory. */
static int end_reply(ce_conns *cs, ce_buf *b, size_t mark, int terminator) {
    if (cs->config.framing == CE_FRAMING_LENGTH) {
        uint32_t n = (uint32_t)(ce_buf_len(b) - mark - LENGTH_HEADER);
        unsigned char *h = (unsigned char *)b->data + b->start + mark;
        h[0] = (unsigned char)(n >> 24), h[1] = (unsigned char)(n >> 16);
        h[2] = (unsigned char)(n >> 8), h[3] = (unsigned char)n;
        return 0;
    }
    if (terminator == CE_TERMINATOR_LF) return ce_buf_append(b, "\n", 1, cs->output_cap);
    if (terminator == CE_TERMINATOR_CRLF) return ce_buf_append(b, "\r\n", 2, cs->output_cap);
    return 0;
}

/* Something passed `limit`: say so with the limit, and close once the replies before it are
 * out. The caller counts it. */
static void close_over_limit(ce_conns *cs, ce_conn *c, size_t limit, ce_close_reason reason, const char *what) {
    if (ce_log_on(&cs->log, CE_LOG_WARNING)) {
        char text[24];
        snprintf(text, sizeof text, "%zu", limit);
        ce_log_field field = {"limit", text};
        ce_conn_logf(cs, c, CE_LOG_WARNING, &field, 1, "%s: closing after the replies before it", what);
    }
    ce_conn_close_after_flush(cs, c, reason);
}

static void refuse_large_reply(ce_conns *cs, ce_conn *c) {
    CE_COUNT(&cs->counters, replies_too_large, 1);
    close_over_limit(cs, c, cs->config.max_reply, CE_CLOSE_REPLY_TOO_LARGE, "reply over max-reply, not sent");
}

/* The hook failed (`why`, for the log): count it and close once the replies before are sent. */
static void hook_failed(ce_conns *cs, ce_conn *c, const char *why) {
    CE_COUNT(&cs->counters, hook_errors, 1);
    if (ce_log_on(&cs->log, CE_LOG_WARNING)) {
        ce_log_field field = {"error", why[0] ? why : "unknown"};
        ce_conn_logf(cs, c, CE_LOG_WARNING, &field, 1, "hook failed: closing its connection");
    }
    ce_conn_close_after_flush(cs, c, CE_CLOSE_HOOK_ERROR);
}

/* The hook deferred the reply to the message whose line ended with `terminator`: later
 * messages wait until it comes, or until the reply timeout. The deferral gets the next number
 * of its connection's (16 bits: a completion must name one of the last 65 536 deferrals of
 * the same connection to be taken by mistake). */
static void await_reply(ce_conns *cs, ce_conn *c, int terminator) {
    c->awaiting = 1;
    c->awaited_terminator = (unsigned)terminator & 3;
    c->deferrals++;
    if (cs->config.reply_timeout_ms) ce_tlist_touch(&cs->replies, &c->frame_link, cs->now_ms);
}

/* What the hook's action means for the reply opened at `mark` and for the connection. */
static void settle(ce_conns *cs, ce_conn *c, ce_buf *b, size_t mark, ce_action action, int terminator) {
    ce_reply *r = &cs->reply;
    switch (action) {
    case CE_ACTION_REPLY:
    case CE_ACTION_REPLY_AND_CLOSE:
        if (r->overflow) {
            truncate_to(b, mark);
            refuse_large_reply(cs, c);
            return;
        }
        if (end_reply(cs, b, mark, terminator) == -1) {
            truncate_to(b, mark);
            ce_conn_close_after_flush(cs, c, CE_CLOSE_ERROR);
            return;
        }
        if (action == CE_ACTION_REPLY_AND_CLOSE) ce_conn_close_after_flush(cs, c, CE_CLOSE_BY_HOOK);
        return;
    case CE_ACTION_DECLINE:
        truncate_to(b, mark);
        return;
    case CE_ACTION_CLOSE:
        truncate_to(b, mark);
        ce_conn_close_after_flush(cs, c, CE_CLOSE_BY_HOOK);
        return;
    case CE_ACTION_DEFER:
        truncate_to(b, mark); /* the reply comes later, in its place in the order */
        await_reply(cs, c, terminator);
        return;
    case CE_ACTION_FAIL:
    default:
        truncate_to(b, mark);
        hook_failed(cs, c, r->failure);
        return;
    }
}

ce_action ce_hook_invoke(ce_conns *cs, ce_conn *c, ce_buf *b, size_t max_reply, const char *payload,
                         size_t len) {
    ce_reply *r = &cs->reply;
    r->conn = c;
    r->buf = b;
    r->max_reply = max_reply;
    r->cap = cs->output_cap;
    r->start = ce_buf_len(b);
    r->overflow = 0;
    r->failure[0] = '\0';
    int timed = cs->config.slow_hook_ms || cs->config.time_hooks;
    r->deferral = (uint16_t)(c->deferrals + 1);
    uint64_t started = timed ? ce_now_ns() : 0;
    ce_action action = cs->hooks.message(cs->hooks.ctx, c->user, payload, len, r);
    uint64_t took_ns = timed ? ce_now_ns() - started : 0;
    if (cs->config.time_hooks) ce_counters_time_hook(&cs->counters, took_ns);
    if (cs->config.slow_hook_ms) {
        uint64_t took = took_ns / 1000000;
        if (took >= cs->config.slow_hook_ms) CE_COUNT(&cs->counters, slow_hooks, 1);
        if (took >= cs->config.slow_hook_ms && ce_log_on(&cs->log, CE_LOG_WARNING)) {
            char ms[24];
            snprintf(ms, sizeof ms, "%" PRIu64, took);
            ce_log_field field = {"duration.ms", ms};
            ce_conn_logf(cs, c, CE_LOG_WARNING, &field, 1,
                         "slow hook: %" PRIu64 " ms for one message stalls every connection of its loop",
                         took);
        }
    }
    r->conn = NULL;
    return action;
}

/* Call the hook for one message and frame what it writes. */
static void call_hook(ce_conns *cs, ce_conn *c, const char *payload, size_t len, int terminator) {
    ce_buf *b = reply_buffer(cs, c);
    size_t mark = begin_reply(cs, b);
    if (mark == SIZE_MAX) {
        ce_conn_close_after_flush(cs, c, CE_CLOSE_ERROR);
        return;
    }
    ce_action action = ce_hook_invoke(cs, c, b, cs->config.max_reply, payload, len);
    settle(cs, c, b, mark, action, terminator);
}

/* Answer the message at `msg`: the built-in echo copies it whole (payload and framing, so
 * the echo is byte-exact), a hook writes its own reply. */
static void answer(ce_conns *cs, ce_conn *c, const char *msg, const ce_frame *f) {
    CE_COUNT(&cs->counters, messages, 1);
    if (!cs->hooks.message) {
        if (ce_buf_append(reply_buffer(cs, c), msg, f->consumed, cs->output_cap) == -1)
            ce_conn_close_after_flush(cs, c, CE_CLOSE_ERROR);
        return;
    }
    call_hook(cs, c, msg + f->offset, f->length, f->terminator);
}

static void refuse_large_message(ce_conns *cs, ce_conn *c) {
    CE_COUNT(&cs->counters, messages_too_large, 1);
    close_over_limit(cs, c, cs->config.max_message, CE_CLOSE_MESSAGE_TOO_LARGE, "message over max-message");
}

size_t ce_messages_process(ce_conns *cs, ce_conn *c, const char *data, size_t len, int *incomplete) {
    size_t used = 0;
    *incomplete = 0;
    while (used < len && !c->awaiting && !c->closing) {
        if (ce_buf_len(reply_buffer(cs, c)) >= cs->config.output_limit) {
            ce_conn_pause(cs, c); /* the rest waits, unread replies must not pile up */
            break;
        }
        ce_frame f;
        ce_frame_status status =
            ce_frame_next(cs->config.framing, data + used, len - used, cs->config.max_message, &c->scanned, &f);
        if (status == CE_FRAME_INCOMPLETE) {
            *incomplete = 1;
            break;
        }
        if (status == CE_FRAME_TOO_LARGE) {
            refuse_large_message(cs, c);
            return len;
        }
        c->scanned = 0;
        answer(cs, c, data + used, &f);
        used += f.consumed;
    }
    return used;
}

void ce_messages_flush_final(ce_conns *cs, ce_conn *c) {
    size_t len = ce_buf_len(&c->in);
    if (cs->config.framing == CE_FRAMING_LINE && len > 0 && !c->closing) {
        if (len > cs->config.max_message) {
            refuse_large_message(cs, c);
        } else {
            ce_frame f = {.offset = 0, .length = len, .consumed = len, .terminator = CE_TERMINATOR_NONE};
            answer(cs, c, c->in.data + c->in.start, &f);
        }
    }
    /* An incomplete length frame at EOF is dropped: there is no message to answer. */
    ce_buf_consume(&c->in, ce_buf_len(&c->in));
    c->scanned = 0;
}

/* A deferred reply arrives: frame it in the place its message left, then let the connection
 * answer what it held back meanwhile. Only the completion of the deferral the connection
 * awaits is taken: one for a closed connection, or for another message, is late. */
void ce_conns_deliver_reply(ce_conns *cs, int fd, uint64_t id, uint64_t seq, ce_action action, const char *data,
                            size_t len) {
    ce_conn *c = ce_conns_find(cs, fd);
    if (!c || c->id != id || !c->awaiting || seq != c->deferrals) {
        CE_COUNT(&cs->counters, late_replies, 1);
        if (!ce_log_on(&cs->log, CE_LOG_DEBUG)) return; /* no line to format */
        char text[24];
        snprintf(text, sizeof text, "%" PRIu64, id);
        ce_log_field field = {"conn.id", text};
        ce_logf(&cs->log, CE_LOG_DEBUG, &field, 1,
                c && c->id == id ? "deferred reply for a message no longer awaiting one: dropped"
                                 : "deferred reply for a closed connection: dropped");
        return;
    }
    int terminator = c->awaited_terminator;
    ce_conn_end_await(c);
    int sends = action == CE_ACTION_REPLY || action == CE_ACTION_REPLY_AND_CLOSE;
    if (action == CE_ACTION_FAIL) { /* `data` says why, unterminated */
        char why[sizeof cs->reply.failure];
        size_t n = len < sizeof why - 1 ? len : sizeof why - 1;
        memcpy(why, data, n);
        why[n] = '\0';
        hook_failed(cs, c, why);
    } else if (sends && len > cs->config.max_reply) {
        refuse_large_reply(cs, c);
    } else if (sends) {
        ce_buf *b = reply_buffer(cs, c);
        size_t mark = begin_reply(cs, b);
        if (mark == SIZE_MAX || ce_buf_append(b, data, len, cs->output_cap) == -1 ||
            end_reply(cs, b, mark, terminator) == -1) {
            if (mark != SIZE_MAX) truncate_to(b, mark);
            ce_conn_close_after_flush(cs, c, CE_CLOSE_ERROR);
        }
    }
    if (action == CE_ACTION_REPLY_AND_CLOSE || action == CE_ACTION_CLOSE)
        ce_conn_close_after_flush(cs, c, CE_CLOSE_BY_HOOK);
    (void)ce_conn_advance(cs, c);
}

void ce_messages_reply_timed_out(ce_conns *cs, ce_conn *c) {
    ce_conn_end_await(c);
    CE_COUNT(&cs->counters, reply_timeouts, 1);
    close_over_limit(cs, c, cs->config.reply_timeout_ms, CE_CLOSE_REPLY_TIMEOUT,
                     "deferred reply not ready within reply-timeout (ms)");
    if (cs->hooks.abandoned) cs->hooks.abandoned(cs->hooks.ctx, c->user);
    (void)ce_conn_advance(cs, c);
}
