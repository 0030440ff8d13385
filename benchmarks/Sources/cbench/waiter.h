/*
 * waiter.h -- readiness for the load engine's sockets: epoll on Linux, poll(2) elsewhere.
 * Each socket is known by its connection's index.
 */
#ifndef CBENCH_WAITER_H
#define CBENCH_WAITER_H

#include <stddef.h>

enum { WAIT_READ = 1, WAIT_WRITE = 2, WAIT_ERROR = 4 };

typedef struct waiter_event {
    int index;
    int events;
} waiter_event;

typedef struct waiter waiter;

waiter *waiter_create(int capacity);
void waiter_destroy(waiter *w);
/* Starts watching `fd` for `events`, or changes what is watched; 0 events stops watching. */
int waiter_set(waiter *w, int fd, int index, int events);
/* Waits up to `timeout_ms`; returns how many events it stored, or -1. */
int waiter_wait(waiter *w, waiter_event *events, int max, int timeout_ms);

#endif
