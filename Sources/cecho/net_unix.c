/*
 * net_unix.c -- Unix-domain stream listeners: the socket file's permissions, a stale file
 * left by a process that died, a live one that must not be taken over, and removing only the
 * file we created.
 * Layer: base.
 */
#include "cecho.h"
#include "net.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

size_t ce_net_unix_path_max(void) {
    struct sockaddr_un un;
    return sizeof un.sun_path - 1;
}


/* Whether something listens on the socket file at `addr`: 1 yes, 0 no (connect() refused:
 * the file is stale), -1 cannot tell (errno set). Non-blocking, so a live listener with a
 * full backlog answers EAGAIN at once instead of stalling the start. */
static int someone_listens(const struct sockaddr_un *addr) {
    int fd = ce_net_socket(AF_UNIX, SOCK_STREAM);
    if (fd == -1) return -1;
    int rc;
    do rc = connect(fd, (const struct sockaddr *)addr, sizeof *addr);
    while (rc == -1 && errno == EINTR);
    int saved = errno;
    close(fd);
    if (rc == 0 || saved == EAGAIN || saved == EINPROGRESS) return 1;
    if (saved == ECONNREFUSED) return 0;
    errno = saved;
    return -1;
}

/* Clear the way for bind(): nothing at `path`, or a stale socket file removed. Refuses a
 * live socket (EADDRINUSE) and anything that is not a socket (EEXIST), which we never remove. */
static int clear_stale(const char *path, const struct sockaddr_un *addr, char *err, size_t errlen) {
    struct stat before;
    if (lstat(path, &before) == -1) {
        if (errno == ENOENT) return 0;
        snprintf(err, errlen, "lstat(%s): %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISSOCK(before.st_mode)) {
        snprintf(err, errlen, "%s exists and is not a socket (left untouched)", path);
        errno = EEXIST;
        return -1;
    }
    int live = someone_listens(addr);
    if (live == 1) {
        snprintf(err, errlen, "another process is listening on unix:%s", path);
        errno = EADDRINUSE;
        return -1;
    }
    if (live == -1) {
        snprintf(err, errlen, "connect(%s) to check for a live listener: %s", path, strerror(errno));
        return -1;
    }
    /* Stale. Remove it only if it is still the file we probed: another starting process may
     * have replaced it meanwhile. */
    struct stat now;
    if (lstat(path, &now) == 0 && now.st_dev == before.st_dev && now.st_ino == before.st_ino &&
        unlink(path) == -1 && errno != ENOENT) {
        snprintf(err, errlen, "unlink(%s) of a stale socket: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int ce_net_listen_unix(const char *path, unsigned mode, int backlog, int *fd_out, ce_unix_file *file,
                       char *err, size_t errlen) {
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    file->dev = file->ino = 0;
    addr.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof addr.sun_path) {
        snprintf(err, errlen, "a Unix socket path must have 1 to %zu bytes, not %zu", sizeof addr.sun_path - 1, len);
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(addr.sun_path, path, len);
    if (clear_stale(path, &addr, err, errlen) == -1) return -1;

    int fd = ce_net_socket(AF_UNIX, SOCK_STREAM);
    if (fd == -1) {
        snprintf(err, errlen, "socket(unix:%s): %s", path, strerror(errno));
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) == -1) {
        snprintf(err, errlen, "bind(unix:%s): %s", path, strerror(errno));
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    /* The file exists from here on: every failure below removes it. The mode is set before
     * listen(), so nobody can connect while the permissions are still umask's. */
    struct stat st;
    if (lstat(path, &st) == -1) {
        snprintf(err, errlen, "lstat(%s) after bind: %s", path, strerror(errno));
        goto fail;
    }
    file->dev = (uint64_t)st.st_dev;
    file->ino = (uint64_t)st.st_ino;
    if (chmod(path, (mode_t)mode) == -1) {
        snprintf(err, errlen, "chmod(%s, %04o): %s", path, mode, strerror(errno));
        goto fail;
    }
    if (listen(fd, backlog) == -1) {
        snprintf(err, errlen, "listen(unix:%s): %s", path, strerror(errno));
        goto fail;
    }
    *fd_out = fd;
    return 0;
fail:;
    int saved = errno;
    close(fd);
    (void)ce_net_remove_unix(path, file);
    errno = saved;
    return -1;
}

int ce_net_remove_unix(const char *path, const ce_unix_file *file) {
    struct stat st;
    if (lstat(path, &st) == -1) return errno == ENOENT ? 0 : -1;
    if ((uint64_t)st.st_dev != file->dev || (uint64_t)st.st_ino != file->ino) return 0;
    if (unlink(path) == -1) return errno == ENOENT ? 0 : -1;
    return 1;
}
