/*
 * proxy.c -- parsing the PROXY protocol header, versions 1 (a text line) and 2 (binary), as
 * HAProxy's doc/proxy-protocol.txt describes them. Pure functions over bytes, no I/O.
 *
 * Strict where the spec is: v1 takes exactly one space between fields, ports and IPv4
 * numbers without leading zeros, and a CRLF within 107 bytes; v2 takes version 2, commands
 * LOCAL and PROXY, the families and transports the spec lists, and an address block at least
 * as long as its family needs. Anything else is refused at the first byte that proves it.
 * Layer: base.
 */
#include "cecho_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static const uint8_t v2_signature[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
static const char v1_signature[] = "PROXY ";

#define V2_FIXED 16       /* signature, version and command, family and transport, length */
#define V2_INET_BLOCK 12  /* two IPv4 addresses, two ports */
#define V2_INET6_BLOCK 36 /* two IPv6 addresses, two ports */
#define V2_UNIX_BLOCK 216 /* two 108-byte socket paths */
#define TLV_HEAD 3        /* type, then a 16-bit length */

static ce_proxy_status invalid(const char **reason, const char *why) {
    *reason = why;
    return CE_PROXY_INVALID;
}

/* ---------------------------------------------------------------------------------------- */
/* Version 1: "PROXY TCP4 1.2.3.4 5.6.7.8 1234 80\r\n"                                       */

/* A decimal number of at most `max_digits` digits, without a leading zero (unless it is 0),
 * at most `max`: the value, or -1. */
static long parse_decimal(const char *s, size_t n, size_t max_digits, long max) {
    if (n == 0 || n > max_digits || (n > 1 && s[0] == '0')) return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v <= max ? v : -1;
}

/* Four decimal numbers 0-255 joined by single dots, no leading zeros: 0, or -1. inet_pton is
 * not used here because some C libraries accept leading zeros (read as octal elsewhere). */
static int parse_ipv4(const char *s, size_t n, uint8_t out[4]) {
    size_t start = 0;
    for (int part = 0; part < 4; part++) {
        size_t end = start;
        while (end < n && s[end] != '.') end++;
        if ((part < 3) != (end < n)) return -1; /* three dots, no more, no fewer */
        long v = parse_decimal(s + start, end - start, 3, 255);
        if (v < 0) return -1;
        out[part] = (uint8_t)v;
        start = end + 1;
    }
    return 0;
}

/* An IPv6 address in any form inet_pton takes: 0, or -1. */
static int parse_ipv6(const char *s, size_t n, uint8_t out[16]) {
    char text[INET6_ADDRSTRLEN];
    if (n == 0 || n >= sizeof text) return -1;
    memcpy(text, s, n);
    text[n] = '\0';
    return inet_pton(AF_INET6, text, out) == 1 ? 0 : -1;
}

/* Store address `addr` of `family` with `port` as a socket address. */
static void set_endpoint(struct sockaddr_storage *ss, int family, const uint8_t *addr, uint16_t port) {
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

/* Split `line[0, n)` at single spaces into at most `max` fields; -1 on an empty field (two
 * spaces, or one at either end) or too many fields, else the count. */
static int split_fields(const char *line, size_t n, const char **fields, size_t *lengths, int max) {
    int count = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && line[i] != ' ') continue;
        if (i == start || count == max) return -1;
        fields[count] = line + start;
        lengths[count++] = i - start;
        start = i + 1;
    }
    return count;
}

/* The whole line `line[0, n)`, CRLF excluded, is known to be printable ASCII. */
static ce_proxy_status parse_v1_line(const char *line, size_t n, ce_proxy_header *out, const char **reason) {
    /* "PROXY UNKNOWN" may carry anything up to the CRLF, which the receiver ignores. */
    static const char unknown[] = "PROXY UNKNOWN";
    size_t unknown_len = sizeof unknown - 1;
    if (n >= unknown_len && memcmp(line, unknown, unknown_len) == 0 && (n == unknown_len || line[unknown_len] == ' '))
        return CE_PROXY_HEADER; /* has_address stays 0 */
    const char *f[6];
    size_t fl[6];
    if (split_fields(line, n, f, fl, 6) != 6) return invalid(reason, "PROXY v1: not six fields separated by single spaces");
    int family;
    if (fl[1] == 4 && memcmp(f[1], "TCP4", 4) == 0) {
        family = AF_INET;
    } else if (fl[1] == 4 && memcmp(f[1], "TCP6", 4) == 0) {
        family = AF_INET6;
    } else {
        return invalid(reason, "PROXY v1: the protocol is not TCP4, TCP6 or UNKNOWN");
    }
    uint8_t source[16] = {0}, destination[16] = {0};
    if (family == AF_INET ? parse_ipv4(f[2], fl[2], source) : parse_ipv6(f[2], fl[2], source))
        return invalid(reason, "PROXY v1: the source address is not one of the protocol's family");
    if (family == AF_INET ? parse_ipv4(f[3], fl[3], destination) : parse_ipv6(f[3], fl[3], destination))
        return invalid(reason, "PROXY v1: the destination address is not one of the protocol's family");
    long source_port = parse_decimal(f[4], fl[4], 5, 65535);
    long destination_port = parse_decimal(f[5], fl[5], 5, 65535);
    if (source_port < 0 || destination_port < 0)
        return invalid(reason, "PROXY v1: a port is not a number from 0 to 65535 without leading zeros");
    out->has_address = 1;
    set_endpoint(&out->source, family, source, (uint16_t)source_port);
    set_endpoint(&out->destination, family, destination, (uint16_t)destination_port);
    return CE_PROXY_HEADER;
}

/* Version 1: find the CRLF within CE_PROXY_V1_MAX bytes, refusing early what cannot be a
 * line (a byte that is not printable ASCII, a CR or LF alone), then parse the line. */
static ce_proxy_status parse_v1(const uint8_t *data, size_t len, ce_proxy_header *out, const char **reason) {
    size_t sig = sizeof v1_signature - 1;
    if (memcmp(data, v1_signature, len < sig ? len : sig) != 0)
        return invalid(reason, "PROXY v1: the line does not start with \"PROXY \"");
    size_t scan = len < CE_PROXY_V1_MAX ? len : CE_PROXY_V1_MAX;
    for (size_t i = 0; i < scan; i++) {
        uint8_t c = data[i];
        if (c == '\r') {
            if (i + 1 == len) return CE_PROXY_INCOMPLETE;
            if (data[i + 1] != '\n' || i + 1 == CE_PROXY_V1_MAX)
                return invalid(reason, i + 1 == CE_PROXY_V1_MAX ? "PROXY v1: no CRLF within 107 bytes"
                                                                : "PROXY v1: a CR not followed by LF");
            out->version = 1;
            out->length = i + 2;
            return parse_v1_line((const char *)data, i, out, reason);
        }
        if (c == '\n') return invalid(reason, "PROXY v1: a LF without its CR");
        if (c < 0x20 || c > 0x7e) return invalid(reason, "PROXY v1: a byte that is not printable ASCII");
    }
    if (len >= CE_PROXY_V1_MAX) return invalid(reason, "PROXY v1: no CRLF within 107 bytes");
    return CE_PROXY_INCOMPLETE;
}

/* ---------------------------------------------------------------------------------------- */
/* Version 2: a 16-byte head, then addresses and TLVs                                        */

/* The TLVs in `p[0, n)`: each type, 16-bit length and value must fit. 0, or -1. */
static int walk_tlvs(const uint8_t *p, size_t n) {
    size_t at = 0;
    while (at < n) {
        if (n - at < TLV_HEAD) return -1;
        size_t value = (size_t)p[at + 1] << 8 | p[at + 2];
        if (n - at - TLV_HEAD < value) return -1;
        at += TLV_HEAD + value;
    }
    return 0;
}

static ce_proxy_status parse_v2(const uint8_t *data, size_t len, ce_proxy_header *out, const char **reason) {
    size_t known = len < sizeof v2_signature ? len : sizeof v2_signature;
    if (memcmp(data, v2_signature, known) != 0) return invalid(reason, "PROXY v2: the signature is wrong");
    if (len > 12 && data[12] >> 4 != 2) return invalid(reason, "PROXY v2: the version is not 2");
    if (len > 12 && (data[12] & 0x0f) > 1) return invalid(reason, "PROXY v2: the command is neither LOCAL nor PROXY");
    if (len > 13 && (data[13] >> 4 > 3 || (data[13] & 0x0f) > 2))
        return invalid(reason, "PROXY v2: unknown address family or transport");
    if (len < V2_FIXED) return CE_PROXY_INCOMPLETE;
    size_t total = V2_FIXED + ((size_t)data[14] << 8 | data[15]);
    if (total > CE_PROXY_V2_MAX) return invalid(reason, "PROXY v2: the header is longer than 4096 bytes");
    if (len < total) return CE_PROXY_INCOMPLETE;

    out->version = 2;
    out->length = total;
    int proxied = (data[12] & 0x0f) == 1, family = data[13] >> 4, transport = data[13] & 0x0f;
    size_t body = total - V2_FIXED;
    const uint8_t *p = data + V2_FIXED;
    /* LOCAL, and an unspecified family or transport: the addresses are to be ignored, and
     * where the TLVs would start is not known, so the block is skipped whole. */
    if (!proxied || family == 0 || transport == 0) return CE_PROXY_HEADER;
    size_t block = family == 1 ? V2_INET_BLOCK : family == 2 ? V2_INET6_BLOCK : V2_UNIX_BLOCK;
    if (body < block) return invalid(reason, "PROXY v2: the address block is shorter than its family needs");
    if (walk_tlvs(p + block, body - block) != 0) return invalid(reason, "PROXY v2: a TLV runs past the header's end");
    if (family == 3) return CE_PROXY_HEADER; /* a Unix-socket client has no IP address */
    size_t addr = family == 1 ? 4 : 16;
    uint16_t source_port = (uint16_t)(p[2 * addr] << 8 | p[2 * addr + 1]);
    uint16_t destination_port = (uint16_t)(p[2 * addr + 2] << 8 | p[2 * addr + 3]);
    int af = family == 1 ? AF_INET : AF_INET6;
    out->has_address = 1;
    set_endpoint(&out->source, af, p, source_port);
    set_endpoint(&out->destination, af, p + addr, destination_port);
    return CE_PROXY_HEADER;
}

ce_proxy_status ce_proxy_parse(const void *data, size_t len, ce_proxy_header *out, const char **reason) {
    const uint8_t *bytes = data;
    memset(out, 0, sizeof *out);
    *reason = NULL;
    if (len == 0) return CE_PROXY_INCOMPLETE;
    if (bytes[0] == v2_signature[0]) return parse_v2(bytes, len, out, reason);
    if (bytes[0] == (uint8_t)v1_signature[0]) return parse_v1(bytes, len, out, reason);
    return invalid(reason, "no PROXY header: the connection must start with a v1 or v2 signature");
}
