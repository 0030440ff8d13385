/*
 * net.c -- resolve, bind and listen over TCP; accept; format addresses (Unix ones too).
 * Layer: base.
 */
#include "cecho_internal.h"
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

void ce_net_format(const struct sockaddr *sa, char *out, size_t outlen) {
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(out, outlen, "%s:%u", host, (unsigned)ntohs(in->sin_port));
        return;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        port = ntohs(in6->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) { /* a v4 client on a dual-stack socket */
            inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host, sizeof host);
            snprintf(out, outlen, "%s:%u", host, port);
            return;
        }
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        snprintf(out, outlen, "[%s]:%u", host, port);
        return;
    }
    if (sa->sa_family == AF_UNIX) {
        /* Unnamed (a client's) and abstract sockets have no path to show. */
        const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
        if (un->sun_path[0] == '\0') snprintf(out, outlen, "unix");
        else snprintf(out, outlen, "unix:%.*s", (int)sizeof un->sun_path, un->sun_path);
        return;
    }
    snprintf(out, outlen, "(family %d)", (int)sa->sa_family);
}

void ce_net_format_peer(int fd, const struct sockaddr *peer, char *out, size_t outlen) {
    /* A Unix-domain client is usually unnamed, and what accept() kept of a name is cut to the
     * size of a ce_sockaddr: name the socket it came through instead, which the accepted
     * descriptor reports as its own address, so no connection needs to store it. */
    if (peer->sa_family == AF_UNIX) {
        if (fd < 0 || ce_net_local_endpoint(fd, out, outlen) == -1) snprintf(out, outlen, "unix");
        return;
    }
    ce_net_format(peer, out, outlen);
}

int ce_net_set_nonblocking_cloexec(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl == -1 || ((fl & O_NONBLOCK) == 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)) return -1;
    fl = fcntl(fd, F_GETFD);
    if (fl == -1 || ((fl & FD_CLOEXEC) == 0 && fcntl(fd, F_SETFD, fl | FD_CLOEXEC) == -1)) return -1;
    return 0;
}

int ce_net_socket(int family, int type) {
#ifdef SOCK_NONBLOCK
    return socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
#else
    int fd = socket(family, type, 0);
    if (fd != -1 && ce_net_set_nonblocking_cloexec(fd) == -1) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
#endif
}

int ce_net_accept(int lfd, struct sockaddr *sa, socklen_t *salen) {
#if defined(__linux__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__)
    return accept4(lfd, sa, salen, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    int fd = accept(lfd, sa, salen);
    if (fd != -1 && ce_net_set_nonblocking_cloexec(fd) == -1) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
#endif
}

void ce_net_tune_connection(int fd, int family) {
    int one = 1;
    if (family != AF_UNIX) (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
#if defined(SO_NOSIGPIPE) && !defined(MSG_NOSIGNAL)
    (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
}

/* Let several sockets of this process bind one port, the kernel spreading connections over
 * them: SO_REUSEPORT_LB on FreeBSD (its SO_REUSEPORT does not balance), SO_REUSEPORT on Linux.
 * Elsewhere the option would not balance, so asking for it fails with ENOPROTOOPT. */
static int set_shared_port(int fd) {
    int one = 1;
#if defined(SO_REUSEPORT_LB)
    return setsockopt(fd, SOL_SOCKET, SO_REUSEPORT_LB, &one, sizeof one);
#elif defined(__linux__) && defined(SO_REUSEPORT)
    return setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
#else
    (void)fd;
    (void)one;
    errno = ENOPROTOOPT;
    return -1;
#endif
}

int ce_net_shared_port_balances(void) {
#if defined(SO_REUSEPORT_LB) || (defined(__linux__) && defined(SO_REUSEPORT))
    return 1;
#else
    return 0;
#endif
}

/* One listening socket on `ai`, or -1 with `err` filled (errno kept). */
static int listen_on(const struct addrinfo *ai, int v6only, int backlog, int flags, char *err,
                     size_t errlen) {
    char where[CE_ENDPOINT_LEN];
    ce_net_format(ai->ai_addr, where, sizeof where);
    int fd = ce_net_socket(ai->ai_family, SOCK_STREAM);
    if (fd == -1) {
        snprintf(err, errlen, "socket(%s): %s", where, strerror(errno));
        return -1;
    }
    int one = 1;
    /* a restart must not fail on connections of the previous run still in TIME_WAIT */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1) {
        snprintf(err, errlen, "setsockopt(%s, SO_REUSEADDR): %s", where, strerror(errno));
        goto fail;
    }
    if ((flags & CE_LISTEN_SHARED_PORT) && set_shared_port(fd) == -1) {
        snprintf(err, errlen, "setsockopt(%s, SO_REUSEPORT): %s", where, strerror(errno));
        goto fail;
    }
    if (ai->ai_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) == -1) {
        snprintf(err, errlen, "setsockopt(%s, IPV6_V6ONLY): %s", where, strerror(errno));
        goto fail;
    }
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
        snprintf(err, errlen, "bind(%s): %s", where, strerror(errno));
        goto fail;
    }
    if (listen(fd, backlog) == -1) {
        snprintf(err, errlen, "listen(%s): %s", where, strerror(errno));
        goto fail;
    }
    return fd;
fail:;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

static void set_port(struct sockaddr *sa, uint16_t port) {
    if (sa->sa_family == AF_INET) ((struct sockaddr_in *)sa)->sin_port = htons(port);
    if (sa->sa_family == AF_INET6) ((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
}

/* 1 when an earlier entry of the list names the same address. */
static int seen_before(const struct addrinfo *list, const struct addrinfo *ai) {
    for (const struct addrinfo *p = list; p != ai; p = p->ai_next)
        if (p->ai_addrlen == ai->ai_addrlen && memcmp(p->ai_addr, ai->ai_addr, ai->ai_addrlen) == 0)
            return 1;
    return 0;
}

int ce_net_listen_tcp(const char *host, uint16_t port, int backlog, int flags, int *fds, size_t max,
                      size_t *count, char *err, size_t errlen) {
    struct addrinfo hints, *list = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)port);
    *count = 0;
    if (errlen) err[0] = '\0';
    int rc = getaddrinfo(host, service, &hints, &list);
    if (rc != 0) {
        snprintf(err, errlen, "getaddrinfo(%s): %s", host, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        errno = EADDRNOTAVAIL;
        return -1;
    }
    /* With an IPv4 address in the set, IPv6 sockets need not (and, for wildcards, must not)
     * also take IPv4; an IPv6-only set is made dual-stack so "::" accepts IPv4 clients. */
    int has_v4 = 0;
    for (struct addrinfo *ai = list; ai; ai = ai->ai_next) has_v4 |= ai->ai_family == AF_INET;
    int saved = 0;
    for (struct addrinfo *ai = list; ai; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) || seen_before(list, ai)) continue;
        if (*count == max) break;
        if (port == 0 && *count > 0) set_port(ai->ai_addr, (uint16_t)ce_net_local_port(fds[0]));
        int fd = listen_on(ai, has_v4, backlog, flags, err, errlen);
        if (fd == -1 && errno == EAFNOSUPPORT) continue; /* e.g. IPv6 disabled: the others serve */
        if (fd == -1) {
            saved = errno;
            break;
        }
        fds[(*count)++] = fd;
    }
    freeaddrinfo(list);
    if (saved || *count == 0) {
        if (errlen && err[0] == '\0') snprintf(err, errlen, "getaddrinfo(%s): no IPv4 or IPv6 address", host);
        for (size_t i = 0; i < *count; i++) close(fds[i]);
        *count = 0;
        errno = saved ? saved : EAFNOSUPPORT;
        return -1;
    }
    return 0;
}

int ce_net_local_port(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1) return -1;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

int ce_net_local_endpoint(int fd, char *out, size_t outlen) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    memset(&ss, 0, sizeof ss); /* a Unix path fills sun_path without its NUL when it is full */
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1) return -1;
    ce_net_format((struct sockaddr *)&ss, out, outlen);
    return 0;
}

int ce_net_listen_like(int lfd, int flags, int backlog, char *err, size_t errlen) {
    int type = (flags & CE_LISTEN_DATAGRAM) ? SOCK_DGRAM : SOCK_STREAM;
    const char *udp = type == SOCK_DGRAM ? ", udp" : "";
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char where[CE_ENDPOINT_LEN] = "?";
    if (getsockname(lfd, (struct sockaddr *)&ss, &len) == -1) {
        snprintf(err, errlen, "getsockname(%d): %s", lfd, strerror(errno));
        return -1;
    }
    ce_net_format((struct sockaddr *)&ss, where, sizeof where);
    if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) {
        snprintf(err, errlen, "%s: not an IPv4 or IPv6 address", where);
        errno = EAFNOSUPPORT;
        return -1;
    }
    int v6only = 0;
    socklen_t optlen = sizeof v6only;
    if (ss.ss_family == AF_INET6 && getsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &optlen) == -1) {
        snprintf(err, errlen, "getsockopt(%s, IPV6_V6ONLY): %s", where, strerror(errno));
        return -1;
    }
    int fd = ce_net_socket(ss.ss_family, type);
    if (fd == -1) {
        snprintf(err, errlen, "socket(%s%s): %s", where, udp, strerror(errno));
        return -1;
    }
    int one = 1;
    /* As listen_on() does for a stream listener; a UDP port gets no SO_REUSEADDR, so one
     * that another program serves is refused. */
    if (type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1) {
        snprintf(err, errlen, "setsockopt(%s, SO_REUSEADDR): %s", where, strerror(errno));
        goto fail;
    }
    if ((flags & CE_LISTEN_SHARED_PORT) && set_shared_port(fd) == -1) {
        snprintf(err, errlen, "setsockopt(%s%s, SO_REUSEPORT): %s", where, udp, strerror(errno));
        goto fail;
    }
    if (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) == -1) {
        snprintf(err, errlen, "setsockopt(%s%s, IPV6_V6ONLY): %s", where, udp, strerror(errno));
        goto fail;
    }
    if (bind(fd, (struct sockaddr *)&ss, len) == -1) {
        snprintf(err, errlen, "bind(%s%s): %s", where, udp, strerror(errno));
        goto fail;
    }
    if (type == SOCK_STREAM && listen(fd, backlog) == -1) {
        snprintf(err, errlen, "listen(%s): %s", where, strerror(errno));
        goto fail;
    }
    return fd;
fail:;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}
