/* Idle connections for the memory measurement: open, one round trip each, then held. */
#include "cbench.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define IDLE_WAIT_MS 5000

/* Waits for `fd` to be ready for `events`, bounded. */
static int wait_for(int fd, short events) {
    struct pollfd p = {.fd = fd, .events = events};
    int n;
    do n = poll(&p, 1, IDLE_WAIT_MS);
    while (n == -1 && errno == EINTR && !cb_interrupted());
    return n == 1 ? 0 : -1;
}

static int round_trip(int fd) {
    char byte = '.'; /* unchanged by every hook the suite runs, upper included */
    if (wait_for(fd, POLLOUT) == -1 || send(fd, &byte, 1, MSG_NOSIGNAL) != 1) return -1;
    if (wait_for(fd, POLLIN) == -1 || recv(fd, &byte, 1, 0) != 1 || byte != '.') return -1;
    return 0;
}

int cb_idle_open(const char *host, int port, int count, int *fds, char *error, size_t error_len) {
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    struct addrinfo *address = NULL;
    int status = getaddrinfo(host, service, &hints, &address);
    if (status != 0 || !address) {
        snprintf(error, error_len, "cannot resolve %s: %s", host, gai_strerror(status));
        return 0;
    }
    int opened = 0;
    for (; opened < count; opened++) {
        if (cb_interrupted()) {
            snprintf(error, error_len, "interrupted after %d connections", opened);
            break;
        }
        errno = 0;
        int fd = socket(address->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd == -1) {
            snprintf(error, error_len, "socket %d: %s", opened + 1, strerror(errno));
            break;
        }
        if (connect(fd, address->ai_addr, address->ai_addrlen) == -1 || round_trip(fd) == -1) {
            snprintf(error, error_len, "connection %d: %s", opened + 1,
                     errno ? strerror(errno) : "no echo within 5 s");
            close(fd);
            break;
        }
        fds[opened] = fd;
    }
    freeaddrinfo(address);
    return opened;
}

void cb_idle_close(int *fds, int count) {
    for (int i = 0; i < count; i++) close(fds[i]);
}
