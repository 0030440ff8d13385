/* CPU pinning for the suite: the server on one core, the load generator on another. */
#include "cbench.h"

#if defined(__linux__)
#include <sched.h>

int cb_pin_to_cpu(int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) return -1;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

int cb_allowed_cpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == -1) return 0;
    return CPU_COUNT(&set);
}

#else

int cb_pin_to_cpu(int cpu) {
    (void)cpu;
    return -1;
}

int cb_allowed_cpus(void) { return 0; }

#endif
