/*
 * proxy.h -- the PROXY protocol (HAProxy's, versions 1 and 2): what a load balancer writes at
 * the start of a connection to say whose connection it really is. A pure parser over bytes
 * (proxy.c): it knows no socket, loop or connection, so it can be fuzzed on its own.
 * Layer: base.
 */
#ifndef CE_PROXY_H
#define CE_PROXY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

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

#endif /* CE_PROXY_H */
