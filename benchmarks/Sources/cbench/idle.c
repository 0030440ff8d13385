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
/* Connections opened, then served, together. A server that scans every descriptor per
 * wake-up (poll, select) then serves a batch per scan: one at a time would cost it a scan of
 * all N per connection, N^2 over the run (minutes at 10 000). 64 is also the smallest listen
 * backlog among the peers (xinetd's), so the batch's connects complete before it accepts. */
#define IDLE_BATCH 64

/* Waits for `fd` to be ready for `events`, bounded. */
static int wait_for(int fd, short events) {
    struct pollfd p = {.fd = fd, .events = events};
    int n;
    do n = poll(&p, 1, IDLE_WAIT_MS);
    while (n == -1 && errno == EINTR && !cb_interrupted());
    return n == 1 ? 0 : -1;
}

/* Opens up to `count` connections into `fds`, then makes one round trip on each (all the
 * bytes out first, then all the replies in). Returns how many made it; the first that did not
 * is closed and described in `error`, and so are those after it. */
static int open_batch(const struct addrinfo *address, int first, int count, int *fds, char *error,
                      size_t error_len) {
    int made = 0;
    for (; made < count; made++) {
        errno = 0;
        int fd = socket(address->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd == -1 || connect(fd, address->ai_addr, address->ai_addrlen) == -1) {
            snprintf(error, error_len, "connection %d: %s", first + made + 1, strerror(errno));
            if (fd != -1) close(fd);
            break;
        }
        fds[made] = fd;
    }
    char byte = '.'; /* unchanged by every hook the suite runs, upper included */
    int served = 0;
    for (int i = 0; i < made && served == i; i++)
        if (wait_for(fds[i], POLLOUT) == 0 && send(fds[i], &byte, 1, MSG_NOSIGNAL) == 1) served++;
    int answered = 0;
    for (int i = 0; i < served && answered == i; i++)
        if (wait_for(fds[i], POLLIN) == 0 && recv(fds[i], &byte, 1, 0) == 1 && byte == '.') answered++;
    if (answered < made) { /* this one failed before the connect that may have failed after it */
        snprintf(error, error_len, "connection %d: %s", first + answered + 1,
                 cb_interrupted() ? "interrupted" : errno ? strerror(errno) : "no echo within 5 s");
        for (int i = answered; i < made; i++) close(fds[i]);
    }
    return answered;
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
    while (opened < count) {
        if (cb_interrupted()) {
            snprintf(error, error_len, "interrupted after %d connections", opened);
            break;
        }
        int batch = count - opened < IDLE_BATCH ? count - opened : IDLE_BATCH;
        int made = open_batch(address, opened, batch, fds + opened, error, error_len);
        opened += made;
        if (made < batch) break;
    }
    freeaddrinfo(address);
    return opened;
}

void cb_idle_close(int *fds, int count) {
    for (int i = 0; i < count; i++) close(fds[i]);
}
