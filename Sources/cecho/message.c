/*
 * message.c -- from framed messages to replies: the built-in echo, the hook call and the
 * reply it writes, replies that come later from other threads.
 *
 * A hook writes payload only; the core frames the reply like its message (the same line
 * terminator, or a length header) so a hook cannot get framing wrong. Replies go into the
 * connection's output queue if it has one, else into the loop's staging buffer, which
 * conn.c sends once per event: no allocation per message.
 */
#include "loop.h"
#include "net.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LENGTH_HEADER 4

ce_buf *ce_reply_buffer(ce_loop *l, ce_conn *c) {
    return ce_buf_len(&c->out) > 0 ? &c->out : &l->staging;
}

/* Drop what a reply wrote, back to `mark`. */
static void truncate_to(ce_buf *b, size_t mark) { b->end = b->start + mark; }

/* Open a reply in `b`: a placeholder header in length framing. Returns the mark to truncate
 * to, or SIZE_MAX without memory. */
static size_t begin_reply(ce_loop *l, ce_buf *b) {
    size_t mark = ce_buf_len(b);
    static const char zero[LENGTH_HEADER] = {0};
    if (l->config.framing == CE_FRAMING_LENGTH && ce_buf_append(b, zero, LENGTH_HEADER, l->output_cap) == -1)
        return SIZE_MAX;
    return mark;
}

/* Close a reply opened at `mark`: the terminator its message had, or the length header.
 * 0, or -1 without memory. */
static int end_reply(ce_loop *l, ce_buf *b, size_t mark, int terminator) {
    if (l->config.framing == CE_FRAMING_LENGTH) {
        uint32_t n = (uint32_t)(ce_buf_len(b) - mark - LENGTH_HEADER);
        unsigned char *h = (unsigned char *)b->data + b->start + mark;
        h[0] = (unsigned char)(n >> 24), h[1] = (unsigned char)(n >> 16);
        h[2] = (unsigned char)(n >> 8), h[3] = (unsigned char)n;
        return 0;
    }
    if (terminator == CE_TERMINATOR_LF) return ce_buf_append(b, "\n", 1, l->output_cap);
    if (terminator == CE_TERMINATOR_CRLF) return ce_buf_append(b, "\r\n", 2, l->output_cap);
    return 0;
}

/* Something passed `limit`: say so with the limit, and close once the replies before it are
 * out. The caller counts it. */
static void close_over_limit(ce_loop *l, ce_conn *c, size_t limit, ce_close_reason reason, const char *what) {
    if (ce_log_on(l, CE_LOG_WARNING)) {
        char text[24];
        snprintf(text, sizeof text, "%zu", limit);
        ce_log_field field = {"limit", text};
        ce_conn_logf(l, c, CE_LOG_WARNING, &field, 1, "%s: closing after the replies before it", what);
    }
    ce_conn_close_after_flush(l, c, reason);
}

static void refuse_large_reply(ce_loop *l, ce_conn *c) {
    CE_COUNT(l, replies_too_large, 1);
    close_over_limit(l, c, l->config.max_reply, CE_CLOSE_REPLY_TOO_LARGE, "reply over max-reply, not sent");
}

/* What the hook's action means for the reply opened at `mark` and for the connection. */
static void settle(ce_loop *l, ce_conn *c, ce_buf *b, size_t mark, ce_action action, int terminator) {
    ce_reply *r = &l->reply;
    switch (action) {
    case CE_ACTION_REPLY:
    case CE_ACTION_REPLY_AND_CLOSE:
        if (r->overflow) {
            truncate_to(b, mark);
            refuse_large_reply(l, c);
            return;
        }
        if (end_reply(l, b, mark, terminator) == -1) {
            truncate_to(b, mark);
            ce_conn_close_after_flush(l, c, CE_CLOSE_ERROR);
            return;
        }
        if (action == CE_ACTION_REPLY_AND_CLOSE) ce_conn_close_after_flush(l, c, CE_CLOSE_BY_HOOK);
        return;
    case CE_ACTION_DECLINE:
        truncate_to(b, mark);
        return;
    case CE_ACTION_CLOSE:
        truncate_to(b, mark);
        ce_conn_close_after_flush(l, c, CE_CLOSE_BY_HOOK);
        return;
    case CE_ACTION_DEFER:
        truncate_to(b, mark); /* the reply comes later, in its place in the order */
        c->awaiting = 1;
        c->awaited_terminator = (uint8_t)terminator;
        return;
    case CE_ACTION_FAIL:
    default:
        truncate_to(b, mark);
        CE_COUNT(l, hook_errors, 1);
        if (ce_log_on(l, CE_LOG_WARNING)) {
            ce_log_field field = {"error", r->failure[0] ? r->failure : "unknown"};
            ce_conn_logf(l, c, CE_LOG_WARNING, &field, 1, "hook failed: closing its connection");
        }
        ce_conn_close_after_flush(l, c, CE_CLOSE_HOOK_ERROR);
        return;
    }
}

ce_action ce_hook_invoke(ce_loop *l, ce_conn *c, ce_buf *b, size_t max_reply, const char *payload,
                         size_t len) {
    ce_reply *r = &l->reply;
    r->conn = c;
    r->buf = b;
    r->max_reply = max_reply;
    r->cap = l->output_cap;
    r->start = ce_buf_len(b);
    r->overflow = 0;
    r->failure[0] = '\0';
    uint64_t started = l->config.slow_hook_ms ? ce_now_ms() : 0;
    ce_action action = l->hooks.message(l->hooks.ctx, c->user, payload, len, r);
    if (l->config.slow_hook_ms) {
        uint64_t took = ce_now_ms() - started;
        if (took >= l->config.slow_hook_ms) CE_COUNT(l, slow_hooks, 1);
        if (took >= l->config.slow_hook_ms && ce_log_on(l, CE_LOG_WARNING)) {
            char ms[24];
            snprintf(ms, sizeof ms, "%" PRIu64, took);
            ce_log_field field = {"duration.ms", ms};
            ce_conn_logf(l, c, CE_LOG_WARNING, &field, 1,
                         "slow hook: %" PRIu64 " ms for one message stalls every connection of its loop",
                         took);
        }
    }
    r->conn = NULL;
    return action;
}

/* Call the hook for one message and frame what it writes. */
static void call_hook(ce_loop *l, ce_conn *c, const char *payload, size_t len, int terminator) {
    ce_buf *b = ce_reply_buffer(l, c);
    size_t mark = begin_reply(l, b);
    if (mark == SIZE_MAX) {
        ce_conn_close_after_flush(l, c, CE_CLOSE_ERROR);
        return;
    }
    ce_action action = ce_hook_invoke(l, c, b, l->config.max_reply, payload, len);
    settle(l, c, b, mark, action, terminator);
}

/* Answer the message at `msg`: the built-in echo copies it whole (payload and framing, so
 * the echo is byte-exact), a hook writes its own reply. */
static void answer(ce_loop *l, ce_conn *c, const char *msg, const ce_frame *f) {
    CE_COUNT(l, messages, 1);
    if (!l->hooks.message) {
        if (ce_buf_append(ce_reply_buffer(l, c), msg, f->consumed, l->output_cap) == -1)
            ce_conn_close_after_flush(l, c, CE_CLOSE_ERROR);
        return;
    }
    call_hook(l, c, msg + f->offset, f->length, f->terminator);
}

static void refuse_large_message(ce_loop *l, ce_conn *c) {
    CE_COUNT(l, messages_too_large, 1);
    close_over_limit(l, c, l->config.max_message, CE_CLOSE_MESSAGE_TOO_LARGE, "message over max-message");
}

size_t ce_messages_process(ce_loop *l, ce_conn *c, const char *data, size_t len, int *incomplete) {
    size_t used = 0;
    *incomplete = 0;
    while (used < len && !c->awaiting && !c->closing) {
        if (ce_buf_len(ce_reply_buffer(l, c)) >= l->config.output_limit) {
            ce_conn_pause(l, c); /* the rest waits, unread replies must not pile up */
            break;
        }
        ce_frame f;
        ce_frame_status status =
            ce_frame_next(l->config.framing, data + used, len - used, l->config.max_message, &c->scanned, &f);
        if (status == CE_FRAME_INCOMPLETE) {
            *incomplete = 1;
            break;
        }
        if (status == CE_FRAME_TOO_LARGE) {
            refuse_large_message(l, c);
            return len;
        }
        c->scanned = 0;
        answer(l, c, data + used, &f);
        used += f.consumed;
    }
    return used;
}

void ce_messages_flush_final(ce_loop *l, ce_conn *c) {
    size_t len = ce_buf_len(&c->in);
    if (l->config.framing == CE_FRAMING_LINE && len > 0 && !c->closing) {
        if (len > l->config.max_message) {
            refuse_large_message(l, c);
        } else {
            ce_frame f = {.offset = 0, .length = len, .consumed = len, .terminator = CE_TERMINATOR_NONE};
            answer(l, c, c->in.data + c->in.start, &f);
        }
    }
    /* An incomplete length frame at EOF is dropped: there is no message to answer. */
    ce_buf_consume(&c->in, ce_buf_len(&c->in));
    c->scanned = 0;
}

/* ---- The reply API hooks call ---------------------------------------------------------- */

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

/* ---- Posts from other threads: deferred replies, handed-over connections ------------- */

/* Append `p` to the loop's queue and wake the loop; any thread. */
static void enqueue(ce_loop *l, ce_post *p) {
    pthread_mutex_lock(&l->post_lock);
    if (l->posts_tail) l->posts_tail->next = p;
    else l->posts = p;
    l->posts_tail = p;
    pthread_mutex_unlock(&l->post_lock);
    ce_wakeup_signal(l);
}

int ce_loop_post_reply(ce_loop *l, int fd, uint64_t id, const void *data, size_t len, ce_action action) {
    ce_post *p = malloc(sizeof *p + len);
    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    p->next = NULL;
    p->kind = CE_POST_REPLY;
    p->fd = fd;
    p->id = id;
    p->action = action;
    p->len = len;
    if (len) memcpy(p->data, data, len);
    enqueue(l, p);
    return 0;
}

int ce_loop_post_connection(ce_loop *l, int fd, const void *peer, size_t peer_len) {
    ce_post *p = malloc(sizeof *p + sizeof(ce_sockaddr));
    if (!p) {
        close(fd);
        errno = ENOMEM;
        return -1;
    }
    memset(p, 0, sizeof *p + sizeof(ce_sockaddr));
    p->kind = CE_POST_CONNECTION;
    p->fd = fd;
    p->len = sizeof(ce_sockaddr);
    if (peer) memcpy(p->data, peer, peer_len < sizeof(ce_sockaddr) ? peer_len : sizeof(ce_sockaddr));
    enqueue(l, p);
    return 0;
}

/* One deferred reply arrives: frame it in the place its message left, then let the
 * connection answer what it held back meanwhile. */
static void deliver(ce_loop *l, const ce_post *p) {
    ce_udp *u = ce_udp_find(l, p->fd);
    if (u) {
        ce_udp_deliver(l, u, p);
        return;
    }
    ce_conn *c = p->fd >= 0 && p->fd < l->setsize ? l->conns[p->fd] : NULL;
    if (!c || c->id != p->id || !c->awaiting) {
        CE_COUNT(l, late_replies, 1);
        char id[24];
        snprintf(id, sizeof id, "%" PRIu64, p->id);
        ce_log_field field = {"conn.id", id};
        ce_logf(l, CE_LOG_DEBUG, &field, 1, "deferred reply for a closed connection: dropped");
        return;
    }
    c->awaiting = 0;
    int sends = p->action == CE_ACTION_REPLY || p->action == CE_ACTION_REPLY_AND_CLOSE;
    if (sends && p->len > l->config.max_reply) {
        refuse_large_reply(l, c);
    } else if (sends) {
        ce_buf *b = ce_reply_buffer(l, c);
        size_t mark = begin_reply(l, b);
        if (mark == SIZE_MAX || ce_buf_append(b, p->data, p->len, l->output_cap) == -1 ||
            end_reply(l, b, mark, c->awaited_terminator) == -1) {
            if (mark != SIZE_MAX) truncate_to(b, mark);
            ce_conn_close_after_flush(l, c, CE_CLOSE_ERROR);
        }
    }
    if (p->action == CE_ACTION_REPLY_AND_CLOSE || p->action == CE_ACTION_CLOSE)
        ce_conn_close_after_flush(l, c, CE_CLOSE_BY_HOOK);
    ce_conn_advance(l, c);
}

void ce_posts_deliver(ce_loop *l) {
    pthread_mutex_lock(&l->post_lock);
    ce_post *p = l->posts;
    l->posts = l->posts_tail = NULL;
    pthread_mutex_unlock(&l->post_lock);
    while (p) {
        ce_post *next = p->next;
        if (p->kind == CE_POST_CONNECTION) {
            ce_sockaddr peer;
            memcpy(&peer, p->data, sizeof peer); /* data[] need not be aligned for it */
            ce_accept_admit(l, p->fd, &peer);
        } else {
            deliver(l, p);
        }
        free(p);
        p = next;
    }
}

void ce_posts_free(ce_loop *l) {
    ce_post *p = l->posts;
    while (p) {
        ce_post *next = p->next;
        if (p->kind == CE_POST_CONNECTION) close(p->fd); /* handed over as the loop ended */
        free(p);
        p = next;
    }
    l->posts = l->posts_tail = NULL;
}
