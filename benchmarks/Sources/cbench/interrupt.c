/*
 * interrupt.c -- SIGINT, SIGTERM and SIGHUP for echo-bench: the handler only records the
 * first signal. The load engine and the idle connections look at it between waits, and the
 * suite between steps, so that an interrupted run still stops every server it started and
 * reports what it measured. See cbench.h.
 */
#include "cbench.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t caught;

static void on_interrupt(int signo) {
    if (!caught) caught = signo;
}

/* No SA_RESTART: a wait in progress returns EINTR at once, so the engine notices the signal
 * without waiting for its next tick (when the signal lands on the engine's thread). */
int cb_catch_interrupts(void) {
    static const int signals[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
        if (sigaction(signals[i], &action, NULL) == -1) return -1;
    return 0;
}

int cb_interrupted(void) { return caught; }
