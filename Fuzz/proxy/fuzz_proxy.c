/*
 * fuzz_proxy.c -- libFuzzer harness for ce_proxy_parse(), the PROXY protocol header a load
 * balancer writes before a client's bytes: outside input from the network, read before
 * anything else on a connection.
 *
 * The first byte picks the mode. Even: the rest is the bytes as received. Odd: a reference
 * encoder builds a header from the fuzzer's choices (v1 TCP4, TCP6 or UNKNOWN; v2 LOCAL or
 * PROXY, any family and transport, TLVs) followed by the rest as the client's first bytes,
 * and the parse must return exactly what was encoded; with bit 1 set, one byte of the header
 * is then overwritten and only the general properties hold.
 *
 * The general properties, over the whole input and its prefixes (each in a heap block of its
 * exact size, so ASan sees any read past the end): INCOMPLETE only below CE_PROXY_MAX bytes;
 * a header found is found, the same, in every longer prefix and never in a shorter one; once
 * a prefix is INVALID every longer one is; a refusal has a reason and nothing else has; a
 * header fits its version's bound and its addresses are one IP family. Any difference aborts.
 */
#include "cecho_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *what) {
    fprintf(stderr, "fuzz_proxy: property violated: %s\n", what);
    abort();
}

/* The fuzzer's choices, read in order; zeros once they run out. */
typedef struct choices {
    const uint8_t *p;
    size_t n;
} choices;

static uint8_t take(choices *c) {
    if (c->n == 0) return 0;
    c->n--;
    return *c->p++;
}

static void take_bytes(choices *c, uint8_t *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = take(c);
}

/* ---------------------------------------------------------------------------------------- */
/* The reference encoder                                                                    */

typedef struct encoded {
    uint8_t bytes[CE_PROXY_MAX + 16];
    size_t len;
    ce_proxy_header expected; /* what the parser must say about it */
} encoded;

static void expect_endpoint(struct sockaddr_storage *ss, int family, const uint8_t *addr, uint16_t port) {
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        memcpy(&in->sin_addr, addr, 4);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        memcpy(&in6->sin6_addr, addr, 16);
    }
}

static void encode_v1(choices *c, encoded *e) {
    uint8_t kind = take(c) % 3;
    int family = kind == 0 ? AF_INET : AF_INET6;
    uint8_t source[16] = {0}, destination[16] = {0};
    take_bytes(c, source, family == AF_INET ? 4 : 16);
    take_bytes(c, destination, family == AF_INET ? 4 : 16);
    uint16_t sport = (uint16_t)(take(c) << 8 | take(c)), dport = (uint16_t)(take(c) << 8 | take(c));
    char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
    inet_ntop(family, source, s, sizeof s);
    inet_ntop(family, destination, d, sizeof d);
    int n;
    if (kind == 2) { /* UNKNOWN, with printable text the receiver ignores, or without */
        char junk[CE_PROXY_V1_MAX];
        size_t junk_len = take(c) % (CE_PROXY_V1_MAX - 15 + 1); /* up to a 107-byte line */
        for (size_t i = 0; i < junk_len; i++) junk[i] = (char)(0x20 + take(c) % 95);
        n = junk_len ? snprintf((char *)e->bytes, sizeof e->bytes, "PROXY UNKNOWN %.*s\r\n", (int)junk_len - 1, junk)
                     : snprintf((char *)e->bytes, sizeof e->bytes, "PROXY UNKNOWN\r\n");
    } else {
        n = snprintf((char *)e->bytes, sizeof e->bytes, "PROXY %s %s %s %u %u\r\n",
                     kind == 0 ? "TCP4" : "TCP6", s, d, sport, dport);
        e->expected.has_address = 1;
        expect_endpoint(&e->expected.source, family, source, sport);
        expect_endpoint(&e->expected.destination, family, destination, dport);
    }
    e->len = (size_t)n;
    e->expected.version = 1;
    e->expected.length = e->len;
}

static void encode_v2(choices *c, encoded *e) {
    static const uint8_t signature[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
    static const size_t blocks[4] = {0, 12, 36, 216};
    uint8_t how = take(c);
    int proxied = how & 1, family = (how >> 1) & 3, transport = (how >> 3) % 3;
    uint8_t *p = e->bytes;
    memcpy(p, signature, 12);
    p[12] = (uint8_t)(0x20 | proxied);
    p[13] = (uint8_t)(family << 4 | transport);
    size_t at = 16;
    size_t block = blocks[family];
    take_bytes(c, p + at, block);
    at += block;
    /* TLVs, each fitting, within the bound. */
    uint8_t tlvs = take(c) % 8;
    for (uint8_t i = 0; i < tlvs; i++) {
        size_t value = (size_t)(take(c) << 8 | take(c)) % 600;
        if (at + 3 + value > CE_PROXY_V2_MAX) break;
        p[at] = take(c);
        p[at + 1] = (uint8_t)(value >> 8);
        p[at + 2] = (uint8_t)value;
        take_bytes(c, p + at + 3, value);
        at += 3 + value;
    }
    p[14] = (uint8_t)((at - 16) >> 8);
    p[15] = (uint8_t)(at - 16);
    e->len = at;
    e->expected.version = 2;
    e->expected.length = at;
    if (proxied && transport != 0 && (family == 1 || family == 2)) {
        int af = family == 1 ? AF_INET : AF_INET6;
        size_t addr = family == 1 ? 4 : 16;
        const uint8_t *a = p + 16;
        e->expected.has_address = 1;
        expect_endpoint(&e->expected.source, af, a, (uint16_t)(a[2 * addr] << 8 | a[2 * addr + 1]));
        expect_endpoint(&e->expected.destination, af, a + addr, (uint16_t)(a[2 * addr + 2] << 8 | a[2 * addr + 3]));
    }
}

/* ---------------------------------------------------------------------------------------- */
/* The properties                                                                           */

/* Parse `data[0, n)` from a heap block of exactly `n` bytes. */
static ce_proxy_status parse_exact(const uint8_t *data, size_t n, ce_proxy_header *h) {
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy) fail("out of memory in the harness");
    memcpy(copy, data, n);
    const char *reason = (const char *)1; /* must be overwritten */
    ce_proxy_status s = ce_proxy_parse(copy, n, h, &reason);
    free(copy);
    if ((s == CE_PROXY_INVALID) != (reason != NULL)) fail("a reason without a refusal, or a refusal without one");
    if (s == CE_PROXY_INVALID && reason[0] == '\0') fail("an empty reason");
    if (s == CE_PROXY_INCOMPLETE && n >= CE_PROXY_MAX) fail("still incomplete at CE_PROXY_MAX bytes");
    if (s == CE_PROXY_HEADER) {
        size_t bound = h->version == 1 ? CE_PROXY_V1_MAX : h->version == 2 ? CE_PROXY_V2_MAX : 0;
        if (h->length == 0 || h->length > bound || h->length > n) fail("a header longer than its bound or its input");
        int sf = h->source.ss_family, df = h->destination.ss_family;
        if (h->has_address && (sf != df || (sf != AF_INET && sf != AF_INET6))) fail("an address of no IP family, or two");
        if (!h->has_address && (sf != 0 || df != 0)) fail("addresses for a header without any");
    }
    return s;
}

static int same_header(const ce_proxy_header *a, const ce_proxy_header *b) {
    return memcmp(a, b, sizeof *a) == 0; /* the parser zeroes it first: padding compares too */
}

/* The whole input and its prefixes agree, as the header comment says. */
static void check_prefixes(const uint8_t *data, size_t len) {
    ce_proxy_header full;
    ce_proxy_status whole = parse_exact(data, len, &full);
    size_t lengths[64];
    size_t count = 0;
    for (size_t n = 0; n < len && n < 40; n++) lengths[count++] = n;
    if (whole == CE_PROXY_HEADER) {
        size_t l = full.length;
        if (l > 40) lengths[count++] = l - 1;
        if (l >= 40) lengths[count++] = l;
        if (l + 1 < len) lengths[count++] = l + 1;
    }
    if (len > 80) lengths[count++] = len / 2, lengths[count++] = len - 1;
    int refused = 0;
    for (size_t i = 0; i < count; i++) {
        size_t n = lengths[i];
        ce_proxy_header h;
        ce_proxy_status s = parse_exact(data, n, &h);
        if (refused && s != CE_PROXY_INVALID) fail("a prefix refused, a longer one not");
        refused |= s == CE_PROXY_INVALID;
        switch (whole) {
        case CE_PROXY_HEADER:
            if (n < full.length && s != CE_PROXY_INCOMPLETE) fail("a prefix of a header is not incomplete");
            if (n >= full.length && (s != CE_PROXY_HEADER || !same_header(&h, &full)))
                fail("a header in a prefix differs from the whole input's");
            break;
        case CE_PROXY_INVALID:
            if (s == CE_PROXY_HEADER) fail("a header in a prefix of a refused input");
            break;
        case CE_PROXY_INCOMPLETE:
            if (s != CE_PROXY_INCOMPLETE) fail("a prefix of an incomplete input is not incomplete");
            break;
        }
    }
    if (refused && whole != CE_PROXY_INVALID) fail("a prefix refused, the whole input not");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    uint8_t mode = data[0];
    choices c = {data + 1, size - 1};
    if (!(mode & 1)) {
        check_prefixes(c.p, c.n);
        return 0;
    }
    static encoded e;
    memset(&e, 0, sizeof e);
    if (take(&c) & 1) encode_v2(&c, &e);
    else encode_v1(&c, &e);
    size_t mutate_at = (size_t)take(&c) << 8 | take(&c);
    uint8_t mutate_to = take(&c);
    /* The client's first bytes follow the header and must not change what it says. */
    size_t rest = c.n < sizeof e.bytes - e.len ? c.n : sizeof e.bytes - e.len;
    memcpy(e.bytes + e.len, c.p, rest);
    size_t total = e.len + rest;
    if (mode & 2) {
        e.bytes[mutate_at % e.len] = mutate_to;
    } else {
        ce_proxy_header h;
        if (parse_exact(e.bytes, total, &h) != CE_PROXY_HEADER) fail("an encoded header is not read");
        if (!same_header(&h, &e.expected)) fail("an encoded header reads back differently");
    }
    check_prefixes(e.bytes, total);
    return 0;
}
