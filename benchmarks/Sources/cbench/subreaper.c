/*
 * subreaper.c -- makes echo-bench the parent of last resort of what its servers start: a
 * forking server's children whose parent exits come back to echo-bench instead of init, so
 * that stopping a server can find them, end them and reap them. See cbench.h.
 */
#include "cbench.h"

#if defined(__linux__)
#include <sys/prctl.h>

int cb_become_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

#else
#include <errno.h>

int cb_become_subreaper(void) {
    errno = ENOSYS;
    return -1;
}
#endif
