/*
 * cecho_internal.h -- the C core's pieces that its own files, its tests, its fuzzers and the
 * benchmark runner's microbenchmarks reach, but an embedder has no use for: the byte buffer,
 * the framer, the PROXY protocol parser, and a socket helper. The Swift layer imports only cecho.h; tests and echo-bench
 * import this as the module `cecho_internal`.
 * Layer: public (the face of every layer; includes no private header).
 */
#ifndef CECHO_INTERNAL_H
#define CECHO_INTERNAL_H

#include "cecho.h"

#include <sys/socket.h>

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
/* The PROXY protocol (HAProxy's, v1 and v2): what a load balancer writes at the start of a    */
/* connection to say whose connection it is. A pure parser over bytes (proxy.c).             */

/* Longest v1 line, CRLF included ("PROXY UNKNOWN" with two full IPv6 addresses and ports). */
#define CE_PROXY_V1_MAX 107
/* Longest v2 header we accept, its 16 fixed bytes included. The spec allows 16 + 65535; real
 * senders write addresses and a few TLVs (a few hundred bytes at most), and a connection holds
 * an incomplete header in memory, so the bound is ours. */
#define CE_PROXY_V2_MAX 4096
/* Longest header of either version: what a connection may hold before it knows. */
#define CE_PROXY_MAX CE_PROXY_V2_MAX

typedef enum ce_proxy_status {
    CE_PROXY_INCOMPLETE = 0, /* a valid start of a header: wait for more bytes */
    CE_PROXY_HEADER,         /* a whole header; what it says is in the ce_proxy_header */
    CE_PROXY_INVALID,        /* not a header, and no more bytes can make it one */
} ce_proxy_status;

/* What a whole header says. */
typedef struct ce_proxy_header {
    size_t length;                       /* bytes the header takes, TLVs included; the
                                            connection's own bytes start after them */
    int version;                         /* 1 (text) or 2 (binary) */
    int has_address;                     /* 0: v2 LOCAL (the balancer's own health check), v1
                                            UNKNOWN, or a family without an IP address: serve
                                            the connection with its own peer address */
    struct sockaddr_storage source;      /* the client (AF_INET or AF_INET6, with its port),
                                            when has_address */
    struct sockaddr_storage destination; /* the address the client connected to, likewise */
} ce_proxy_header;

/* Read the PROXY header at the start of `data[0, len)`, v1 or v2 told apart by their
 * signatures. CE_PROXY_HEADER fills `*out` (zeroed first, so equal headers compare equal);
 * CE_PROXY_INVALID points `*reason` at a static sentence naming what is wrong. The verdict is
 * reached as early as the bytes allow: INCOMPLETE only while `data` can still become a valid
 * header, so at most CE_PROXY_MAX bytes are ever worth waiting for; the header found in a
 * prefix is the one found in any longer input. TLVs are walked (each must fit) and skipped. */
ce_proxy_status ce_proxy_parse(const void *data, size_t len, ce_proxy_header *out,
                               const char **reason);

/* ---------------------------------------------------------------------------------------- */
/* Sockets                                                                                  */

/* The local port of socket `fd`, or -1. */
int ce_net_local_port(int fd);

#ifdef __cplusplus
}
#endif

#endif /* CECHO_INTERNAL_H */
