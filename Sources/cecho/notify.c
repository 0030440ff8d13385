/*
 * notify.c -- the service manager's notification protocol (systemd's sd_notify) without
 * libsystemd: newline-separated KEY=VALUE lines in one datagram to a Unix datagram socket.
 * Layer: base.
 */
#include "cecho.h"
#include "net.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>


int ce_notify_send(const char *address, const char *state, char *err, size_t errlen) {
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t len = strlen(address);
    /* Only what sd_notify accepts: an absolute path, or '@' for a Linux abstract name, which
     * starts with a NUL byte and is not NUL-terminated (its length is part of the name). */
    if ((address[0] != '/' && address[0] != '@') || len < 2) {
        snprintf(err, errlen, "notify(%s): not an absolute path or @abstract name", address);
        errno = EINVAL;
        return -1;
    }
    if (len >= sizeof sa.sun_path) {
        snprintf(err, errlen, "notify(%s): address longer than %zu bytes", address, sizeof sa.sun_path - 1);
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(sa.sun_path, address, len);
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    if (address[0] == '@')
        sa.sun_path[0] = '\0';
    else
        salen += 1; /* the path's NUL */

    /* Non-blocking: a manager whose queue is full must never stall a start or a stop. */
    int fd = ce_net_socket(AF_UNIX, SOCK_DGRAM);
    if (fd == -1) {
        snprintf(err, errlen, "socket(AF_UNIX, SOCK_DGRAM): %s", strerror(errno));
        return -1;
    }
    ssize_t sent;
    do {
        sent = sendto(fd, state, strlen(state), CE_SEND_FLAGS, (struct sockaddr *)&sa, salen);
    } while (sent == -1 && errno == EINTR);
    int saved = errno;
    close(fd);
    if (sent == -1) {
        snprintf(err, errlen, "sendto(%s): %s", address, strerror(saved));
        errno = saved;
        return -1;
    }
    return 0;
}
