/*
 * activation.c -- sockets a service manager passes in (systemd's socket activation): check
 * that each is something the loop can serve, and make it non-blocking and close-on-exec.
 * Layer: base.
 */
#include "cecho.h"
#include "net.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *family_name(int family) {
    switch (family) {
    case AF_INET: return "IPv4";
    case AF_INET6: return "IPv6";
    case AF_UNIX: return "Unix";
    default: return "unknown";
    }
}


int ce_net_adopt_socket(int fd, ce_socket_kind *kind, char *err, size_t errlen) {
    struct stat st;
    if (fstat(fd, &st) == -1) {
        snprintf(err, errlen, "fd %d: %s", fd, strerror(errno));
        return -1;
    }
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "fd %d: not a socket", fd);
        errno = ENOTSOCK;
        return -1;
    }
    int type = 0, accepting = 0;
    socklen_t len = sizeof type;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof ss;
    memset(&ss, 0, sizeof ss);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
        getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1) {
        snprintf(err, errlen, "fd %d: %s", fd, strerror(errno));
        return -1;
    }
    int family = ss.ss_family;
    int inet = family == AF_INET || family == AF_INET6;
    if (type == SOCK_STREAM && (inet || family == AF_UNIX)) {
        len = sizeof accepting;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) == -1) {
            snprintf(err, errlen, "fd %d: getsockopt(SO_ACCEPTCONN): %s", fd, strerror(errno));
            return -1;
        }
        if (!accepting) { /* e.g. Accept=yes in the unit: one connection, not a listener */
            snprintf(err, errlen, "fd %d: a %s stream socket that is not listening (Accept=yes?)", fd,
                     family_name(family));
            errno = EINVAL;
            return -1;
        }
        *kind = inet ? CE_SOCKET_TCP_LISTENER : CE_SOCKET_UNIX_LISTENER;
    } else if (type == SOCK_DGRAM && inet) {
        *kind = CE_SOCKET_UDP;
    } else {
        snprintf(err, errlen, "fd %d: a %s %s socket; expected a listening TCP or Unix stream socket or a UDP socket",
                 fd, family_name(family), type == SOCK_STREAM ? "stream" : type == SOCK_DGRAM ? "datagram" : "other");
        errno = EINVAL;
        return -1;
    }
    if (ce_net_set_nonblocking_cloexec(fd) == -1) {
        snprintf(err, errlen, "fd %d: fcntl: %s", fd, strerror(errno));
        return -1;
    }
    return 0;
}
