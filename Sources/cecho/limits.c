/*
 * limits.c -- process limits the daemon adjusts at start.
 */
#include "cecho.h"

#include <limits.h>
#include <sys/resource.h>

long ce_limit_raise_nofile(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1) return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit want = rl;
        want.rlim_cur = rl.rlim_max;
#if defined(__APPLE__)
        /* macOS refuses soft limits above OPEN_MAX even when the hard limit is "unlimited" */
        if (want.rlim_cur > OPEN_MAX) want.rlim_cur = OPEN_MAX;
#endif
        if (setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)0x7fffffff) return 0x7fffffff;
    return (long)rl.rlim_cur;
}
