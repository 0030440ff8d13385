/*
 * cidr.c -- address ranges: parsing "10.0.0.0/8" strictly, and matching a client address.
 * Pure functions, no I/O: the allow list and the per-address tables are built on these.
 * Layer: base.
 */
#include "access.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Digits only, at most three, at most `max`; -1 otherwise. */
static int parse_prefix(const char *text, unsigned max) {
    size_t n = strlen(text);
    if (n == 0 || n > 3) return -1;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9') return -1;
        v = v * 10 + (unsigned)(text[i] - '0');
    }
    return v <= max ? (int)v : -1;
}

/* 1 when no bit past `prefix` is set in `addr` (`bytes` long). */
static int host_bits_clear(const uint8_t *addr, size_t bytes, unsigned prefix) {
    for (size_t i = 0; i < bytes; i++) {
        unsigned first = (unsigned)i * 8;
        uint8_t mask = prefix >= first + 8 ? 0 : prefix <= first ? 0xff : (uint8_t)(0xff >> (prefix - first));
        if (addr[i] & mask) return 0;
    }
    return 1;
}

int ce_cidr_parse(const char *text, ce_cidr *out) {
    char host[INET6_ADDRSTRLEN];
    const char *slash = text ? strchr(text, '/') : NULL;
    size_t hostlen = text ? (slash ? (size_t)(slash - text) : strlen(text)) : 0;
    if (hostlen == 0 || hostlen >= sizeof host) goto invalid;
    memcpy(host, text, hostlen);
    host[hostlen] = '\0';
    memset(out, 0, sizeof *out);
    unsigned max;
    if (inet_pton(AF_INET, host, out->addr) == 1) {
        out->family = 4, max = 32;
    } else if (inet_pton(AF_INET6, host, out->addr) == 1) {
        out->family = 6, max = 128;
    } else {
        goto invalid;
    }
    int prefix = slash ? parse_prefix(slash + 1, max) : (int)max;
    if (prefix < 0 || !host_bits_clear(out->addr, max / 8, (unsigned)prefix)) goto invalid;
    out->prefix = (unsigned)prefix;
    /* ::ffff:a.b.c.d/N with N >= 96 is an IPv4 range in disguise: keep it as one. */
    if (out->family == 6 && out->prefix >= 96 && memcmp(out->addr, v4_mapped_prefix, 12) == 0) {
        memmove(out->addr, out->addr + 12, 4);
        memset(out->addr + 4, 0, 12);
        out->family = 4;
        out->prefix -= 96;
    }
    return 0;
invalid:
    errno = EINVAL;
    return -1;
}

int ce_ip_of(const struct sockaddr *sa, ce_ip *ip) {
    memset(ip, 0, sizeof *ip);
    if (sa->sa_family == AF_INET) {
        ip->family = 4;
        memcpy(ip->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        if (memcmp(a, v4_mapped_prefix, 12) == 0) { /* a v4 client on a dual-stack socket */
            ip->family = 4;
            memcpy(ip->addr, a + 12, 4);
        } else {
            ip->family = 6;
            memcpy(ip->addr, a, 16);
        }
        return 0;
    }
    return -1; /* Unix sockets and the rest have no IP address */
}

int ce_cidr_contains(const ce_cidr *c, const ce_ip *ip) {
    if (c->family != ip->family) return 0;
    unsigned whole = c->prefix / 8, rest = c->prefix % 8;
    if (memcmp(c->addr, ip->addr, whole) != 0) return 0;
    if (rest == 0) return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (c->addr[whole] & mask) == (ip->addr[whole] & mask);
}
