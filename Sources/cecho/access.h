/*
 * access.h -- the access policy's private face: client addresses as keys, and the checks the
 * loops make at accept and for each datagram (cidr.c, access.c).
 * Layer: base.
 */
#ifndef CE_ACCESS_H
#define CE_ACCESS_H

#include "cecho.h"

#include <sys/socket.h>

/* A client's IP address; an IPv4-mapped IPv6 address is stored as the IPv4 one, so both
 * forms of one client are one key. */
typedef struct ce_ip {
    int family;       /* 4 or 6 */
    uint8_t addr[16]; /* IPv4 in the first 4 bytes, the rest zero */
} ce_ip;

/* The IP address of `sa`: 0, or -1 for families without one (Unix sockets). */
int ce_ip_of(const struct sockaddr *sa, ce_ip *ip);
/* 1 when `ip` is inside range `c`. */
int ce_cidr_contains(const ce_cidr *c, const ce_ip *ip);

/* 1 when `ip` may send a PROXY header: a range of proxy_from holds it. */
int ce_access_trusts_proxy(const ce_access *a, const ce_ip *ip);
/* 1 when `ip` may connect or send: no allow list, or a range of it holds the address. */
int ce_access_allows(const ce_access *a, const ce_ip *ip);
/* Whether TCP connections are counted per address (max_per_ip > 0). */
int ce_access_counts_connections(const ce_access *a);
/* Count one more connection from `ip`: 0, or -1 when it holds max_per_ip already (or the
 * table is full, which cannot happen within max_connections: refused all the same). */
int ce_access_conn_acquire(ce_access *a, const ce_ip *ip);
/* A connection counted by ce_access_conn_acquire() closed. */
void ce_access_conn_release(ce_access *a, const ce_ip *ip);
/* Whether UDP replies are rate-limited (udp_rate > 0). */
int ce_access_limits_udp(const ce_access *a);
/* Take one reply token for source `ip` at `now_ms` (monotonic): 1, or 0 when its bucket is
 * empty. */
int ce_access_udp_take(ce_access *a, const ce_ip *ip, uint64_t now_ms);

#endif /* CE_ACCESS_H */
