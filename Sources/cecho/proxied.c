/*
 * proxied.c -- a connection behind a load balancer (proxy_protocol): its PROXY header, read
 * before anything else, names the client, who then stands for the peer everywhere: the allow
 * list, the per-address limit, logs and hooks. Layer: connection.
 *
 * Until the header is whole the connection is neither served nor told to the hook; bad input,
 * a FIN or proxy_timeout_ms without a whole header close it, counted and logged (at most
 * once a second). What follows the header in the same read is the first message.
 */
#include "conn.h"

#include <errno.h>
#include <string.h>

void ce_conn_proxy_give_up(ce_conns *cs, ce_conn *c, ce_close_reason reason, const char *why) {
    ce_conn_notice(cs, c, &cs->proxy_log, "closing connection", why);
    ce_conn_close(cs, c, reason, 0);
}

/* The client the header names takes the peer's place (the socket still knows the balancer). */
static void adopt(ce_conn *c, const ce_proxy_header *h) {
    c->proxied = 1;
    memset(&c->peer, 0, sizeof c->peer);
    memcpy(&c->peer, &h->source,
           h->source.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
}

/* The header was read: the client is admitted, the hook told, and `rest` delivered. */
static int serve(ce_conns *cs, ce_conn *c, const ce_proxy_header *h) {
    if (h->has_address) adopt(c, h);
    if (ce_conn_admit_client(cs, c) == -1) return -1;
    ce_tlink_remove(&c->frame_link); /* the header's timer */
    c->proxy_wait = 0;
    if (ce_log_on(&cs->log, CE_LOG_DEBUG)) {
        ce_log_field field = {"proxy.version", h->version == 1 ? "1" : "2"};
        ce_conn_logf(cs, c, CE_LOG_DEBUG, &field, 1, "PROXY header: %s", h->has_address ? "client named" : "the balancer's own");
    }
    ce_conn_announce(cs, c);
    return 0;
}

int ce_conn_proxy_received(ce_conns *cs, ce_conn *c, char *p, size_t n) {
    /* A header that came whole is read where it arrived; only one cut by the end of a read
     * waits in the input buffer for the rest. */
    int buffered = ce_buf_len(&c->in) > 0;
    if (buffered) {
        if (p == c->in.data + c->in.end) {
            c->in.end += n;
        } else if (ce_buf_append(&c->in, p, n, cs->input_cap) == -1) {
            ce_conn_close(cs, c, CE_CLOSE_ERROR, errno);
            return -1;
        }
    }
    const char *data = buffered ? c->in.data + c->in.start : p;
    size_t len = buffered ? ce_buf_len(&c->in) : n;
    ce_proxy_header h;
    const char *why;
    switch (ce_proxy_parse(data, len, &h, &why)) {
    case CE_PROXY_INCOMPLETE: /* at most CE_PROXY_MAX bytes wait: the parser says so */
        if (!buffered && ce_buf_append(&c->in, p, n, cs->input_cap) == -1) {
            ce_conn_close(cs, c, CE_CLOSE_ERROR, errno);
            return -1;
        }
        return ce_conn_advance(cs, c);
    case CE_PROXY_INVALID:
        ce_conn_proxy_give_up(cs, c, CE_CLOSE_PROXY_INVALID, why);
        return -1;
    case CE_PROXY_HEADER:
        break;
    }
    if (serve(cs, c, &h) == -1) return -1;
    if (!buffered) return n > h.length ? ce_conn_deliver(cs, c, p + h.length, n - h.length) : ce_conn_advance(cs, c);
    ce_buf_consume(&c->in, h.length);
    if (!cs->fast_echo || ce_buf_len(&c->in) == 0) return ce_conn_advance(cs, c); /* framing answers `in` */
    /* The echo takes its bytes from a read, not from `in`: hand over what followed the header. */
    ce_buf rest = c->in;
    memset(&c->in, 0, sizeof c->in);
    int rc = ce_conn_deliver(cs, c, rest.data + rest.start, ce_buf_len(&rest));
    ce_buf_free(&rest);
    return rc;
}
