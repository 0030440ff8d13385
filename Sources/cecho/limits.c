/*
 * limits.c -- process limits the daemon adjusts at start, and the CPUs it may use.
 * Layer: base.
 */
#include "cecho.h"

#include <limits.h>
#include <sys/resource.h>
#include <unistd.h>
#if defined(__linux__)
#include <sched.h>
#endif

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

int ce_cpu_count(void) {
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (n > INT_MAX ? INT_MAX : (int)n) : 1;
}
