/*
 * wakeup.c -- the descriptor other threads and signal handlers write to wake a loop: an
 * eventfd on Linux, a non-blocking pipe elsewhere. Layer: base.
 */
#include "wakeup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/eventfd.h>
#endif

int ce_wakeup_open(ce_wakeup *w, char *err, size_t errlen) {
    w->read_fd = w->write_fd = -1;
#if defined(__linux__)
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd == -1) {
        snprintf(err, errlen, "eventfd(): %s", strerror(errno));
        return -1;
    }
    w->read_fd = w->write_fd = fd;
#else
    int p[2];
    if (pipe(p) == -1) {
        snprintf(err, errlen, "pipe(): %s", strerror(errno));
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        int fl = fcntl(p[i], F_GETFL);
        if (fl == -1 || fcntl(p[i], F_SETFL, fl | O_NONBLOCK) == -1 ||
            fcntl(p[i], F_SETFD, FD_CLOEXEC) == -1) {
            snprintf(err, errlen, "fcntl(wakeup pipe): %s", strerror(errno));
            close(p[0]);
            close(p[1]);
            return -1;
        }
    }
    w->read_fd = p[0];
    w->write_fd = p[1];
#endif
    return 0;
}

/* A full pipe or counter already means a pending wakeup. */
void ce_wakeup_signal(const ce_wakeup *w) {
    int saved = errno; /* a signal handler must leave errno as it found it */
#if defined(__linux__)
    uint64_t one = 1;
    ssize_t rc;
    do rc = write(w->write_fd, &one, sizeof one); while (rc == -1 && errno == EINTR);
#else
    char one = 1;
    ssize_t rc;
    do rc = write(w->write_fd, &one, 1); while (rc == -1 && errno == EINTR);
#endif
    errno = saved;
}

void ce_wakeup_drain(const ce_wakeup *w) {
    char buf[64];
    ssize_t rc;
    do rc = read(w->read_fd, buf, sizeof buf);
    while (rc > 0 || (rc == -1 && errno == EINTR));
}

void ce_wakeup_close(ce_wakeup *w) {
    if (w->read_fd != -1) close(w->read_fd);
    if (w->write_fd != -1 && w->write_fd != w->read_fd) close(w->write_fd);
    w->read_fd = w->write_fd = -1;
}
