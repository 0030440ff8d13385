/*
 * wakeup.h -- the descriptor other threads and signal handlers write to wake a loop: an
 * eventfd on Linux, a non-blocking pipe elsewhere. Layer: base.
 */
#ifndef CE_WAKEUP_H
#define CE_WAKEUP_H

#include <stddef.h>

typedef struct ce_wakeup {
    int read_fd, write_fd; /* the same eventfd on Linux; -1 when closed */
} ce_wakeup;

/* Open it (both ends non-blocking, close-on-exec). 0, or -1 with `err` filled. */
int ce_wakeup_open(ce_wakeup *w, char *err, size_t errlen);
/* Async-signal-safe: one write, errno kept. */
void ce_wakeup_signal(const ce_wakeup *w);
/* Read everything written so far. */
void ce_wakeup_drain(const ce_wakeup *w);
void ce_wakeup_close(ce_wakeup *w);

#endif /* CE_WAKEUP_H */
