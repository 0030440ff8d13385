/*
 * deadpeer.c -- the socket options that let the kernel find a TCP peer that vanished.
 * Layer: base.
 *
 * A peer whose host lost power, or whose path forgot the flow, sends nothing: no FIN, no
 * reset. Two kernel timers find it. Keepalive probes an idle connection; TCP_USER_TIMEOUT
 * bounds how long data sent may stay unacknowledged (keepalive is silent while data is in
 * flight, and retransmissions alone give up only after about 15 minutes). Either ends the
 * connection with ETIMEDOUT, which the connection reports as a dead peer.
 */
#include "cecho.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

/* The kernel's upper bounds for the idle time and the interval (Linux MAX_TCP_KEEPIDLE). */
#define CE_KEEPALIVE_MAX_S 32767
/* Unanswered probes after which the peer is dead. */
#define CE_KEEPALIVE_PROBES 3

/* The TCP_USER_TIMEOUT that goes with a write timeout: a little longer, so that where both
 * apply (since Linux 5.11 the user timeout also ends a connection whose peer keeps a zero
 * window, a client that does not read) the loop's own write timeout fires first and keeps
 * its meaning. The kernel's clock for that case starts at its first window probe, and the
 * loop's at the last byte the kernel took, which may come later (the send buffer can grow
 * on a probe's answer), and the loop may be late to its timer on a busy machine, while the
 * kernel is not: a quarter more, and at least 2 s. 0 (off) for a write timeout of 0. */
uint32_t ce_dead_peer_user_timeout_ms(uint64_t write_timeout_ms) {
    if (write_timeout_ms == 0) return 0;
    uint64_t margin = write_timeout_ms / 4 > 2000 ? write_timeout_ms / 4 : 2000;
    uint64_t ms = write_timeout_ms + margin;
    return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

static int set_int(int fd, int level, int name, int value) {
    return setsockopt(fd, level, name, &value, sizeof value);
}

/* Arm (or, with zeros, disarm) keepalive and the user timeout on `fd`: see cecho.h. Every
 * option is set each time, so that a reload turns off what it no longer wants. */
int ce_net_set_dead_peer(int fd, uint32_t keepalive_s, uint64_t write_timeout_ms) {
    if (keepalive_s > CE_KEEPALIVE_MAX_S) keepalive_s = CE_KEEPALIVE_MAX_S;
    if (set_int(fd, SOL_SOCKET, SO_KEEPALIVE, keepalive_s ? 1 : 0) == -1) return -1;
    if (keepalive_s) {
        int interval = keepalive_s / 3 ? (int)keepalive_s / 3 : 1;
#if defined(TCP_KEEPIDLE)
        if (set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, (int)keepalive_s) == -1) return -1;
#elif defined(TCP_KEEPALIVE) /* macOS names the idle time so */
        if (set_int(fd, IPPROTO_TCP, TCP_KEEPALIVE, (int)keepalive_s) == -1) return -1;
#endif
#if defined(TCP_KEEPINTVL) && defined(TCP_KEEPCNT)
        if (set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, interval) == -1) return -1;
        if (set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, CE_KEEPALIVE_PROBES) == -1) return -1;
#else
        (void)interval;
#endif
    }
#if defined(TCP_USER_TIMEOUT)
    uint32_t user_timeout = ce_dead_peer_user_timeout_ms(write_timeout_ms);
    if (set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, user_timeout > INT32_MAX ? INT32_MAX : (int)user_timeout) == -1)
        return -1;
#else
    (void)write_timeout_ms;
#endif
    return 0;
}
