/*
 * fuzz_cidr.c -- libFuzzer harness for ce_cidr_parse() and ce_cidr_contains(), what --allow
 * reads from operators and then matches every client against.
 *
 * The input is the text, cut at its first NUL. A refused text must leave errno EINVAL. An
 * accepted range must be well formed (family 4 or 6, prefix within it, no bit set past the
 * prefix), must contain its own network address and, when the prefix leaves room, its last
 * address, but not the address just past it; and it must print back (inet_ntop + "/prefix")
 * to text that parses to the same range. Any difference aborts.
 */
#include "../../Sources/cecho/access.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *what, const char *text) {
    fprintf(stderr, "fuzz_cidr: property violated for \"%s\": %s\n", text, what);
    abort();
}

/* `c`'s network address with every bit past the prefix set (the range's last address). */
static ce_ip last_of(const ce_cidr *c) {
    ce_ip ip = {.family = c->family};
    memcpy(ip.addr, c->addr, 16);
    unsigned bits = c->family == 4 ? 32 : 128;
    for (unsigned b = c->prefix; b < bits; b++) ip.addr[b / 8] |= (uint8_t)(0x80 >> (b % 8));
    return ip;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char text[256];
    size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    ce_cidr c;
    errno = 0;
    if (ce_cidr_parse(text, &c) == -1) {
        if (errno != EINVAL) fail("refused without EINVAL", text);
        return 0;
    }
    unsigned bits = c.family == 4 ? 32 : c.family == 6 ? 128 : 0;
    if (!bits) fail("family is neither 4 nor 6", text);
    if (c.prefix > bits) fail("prefix past the address", text);
    ce_ip net = {.family = c.family};
    memcpy(net.addr, c.addr, 16);
    if (!ce_cidr_contains(&c, &net)) fail("does not contain its network address", text);
    ce_ip last = last_of(&c);
    if (!ce_cidr_contains(&c, &last)) fail("does not contain its last address", text);
    for (unsigned b = c.prefix; b < bits; b++)
        if (c.addr[b / 8] & (0x80 >> (b % 8))) fail("a bit past the prefix is set", text);
    for (unsigned i = bits / 8; i < 16; i++)
        if (c.addr[i]) fail("bytes past an IPv4 address are set", text);
    if (c.prefix > 0) { /* one past the end: the last address plus one, unless it wraps */
        ce_ip next = last;
        int i = (int)bits / 8 - 1;
        while (i >= 0 && ++next.addr[i] == 0) i--;
        if (i >= 0 && ce_cidr_contains(&c, &next)) fail("contains the address past its end", text);
        ce_ip other = {.family = c.family == 4 ? 6 : 4};
        memcpy(other.addr, c.addr, 16);
        if (ce_cidr_contains(&c, &other)) fail("matches the other family", text);
    }
    char host[INET6_ADDRSTRLEN], again[INET6_ADDRSTRLEN + 8];
    inet_ntop(c.family == 4 ? AF_INET : AF_INET6, c.addr, host, sizeof host);
    snprintf(again, sizeof again, "%s/%u", host, c.prefix);
    ce_cidr d;
    if (ce_cidr_parse(again, &d) == -1) fail("its printed form is refused", text);
    if (d.family != c.family || d.prefix != c.prefix || memcmp(d.addr, c.addr, 16) != 0)
        fail("its printed form parses to another range", text);
    return 0;
}
