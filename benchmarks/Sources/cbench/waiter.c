/* Readiness for the load engine: see waiter.h. */
#include "waiter.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/epoll.h>

struct waiter {
    int epfd;
    int *watched; /* events each index is registered for, so set() knows ADD from MOD */
    struct epoll_event fired[512];
};

waiter *waiter_create(int capacity) {
    waiter *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->watched = calloc((size_t)capacity, sizeof *w->watched);
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!w->watched || w->epfd == -1) {
        waiter_destroy(w);
        return NULL;
    }
    return w;
}

void waiter_destroy(waiter *w) {
    if (!w) return;
    if (w->epfd >= 0) close(w->epfd);
    free(w->watched);
    free(w);
}

int waiter_set(waiter *w, int fd, int index, int events) {
    struct epoll_event ev = {0};
    ev.data.u32 = (uint32_t)index;
    if (events & WAIT_READ) ev.events |= EPOLLIN;
    if (events & WAIT_WRITE) ev.events |= EPOLLOUT;
    int op = !events ? EPOLL_CTL_DEL : w->watched[index] ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (!events && !w->watched[index]) return 0;
    w->watched[index] = events;
    return epoll_ctl(w->epfd, op, fd, &ev);
}

int waiter_wait(waiter *w, waiter_event *events, int max, int timeout_ms) {
    if (max > 512) max = 512;
    int n = epoll_wait(w->epfd, w->fired, max, timeout_ms);
    if (n == -1) return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; i++) {
        uint32_t got = w->fired[i].events;
        events[i].index = (int)w->fired[i].data.u32;
        events[i].events = ((got & EPOLLIN) ? WAIT_READ : 0) | ((got & EPOLLOUT) ? WAIT_WRITE : 0) |
                           ((got & (EPOLLERR | EPOLLHUP)) ? WAIT_ERROR : 0);
    }
    return n;
}

#else
#include <poll.h>

/* poll(2): one slot per connection index; a slot with fd -1 is skipped by the kernel. */
struct waiter {
    struct pollfd *slots;
    int capacity;
    int used; /* one past the highest slot in use */
    int cursor; /* where the next wait starts scanning, so no index is always served first */
};

waiter *waiter_create(int capacity) {
    waiter *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->slots = malloc((size_t)capacity * sizeof *w->slots);
    if (!w->slots) {
        free(w);
        return NULL;
    }
    for (int i = 0; i < capacity; i++) w->slots[i] = (struct pollfd){.fd = -1};
    w->capacity = capacity;
    return w;
}

void waiter_destroy(waiter *w) {
    if (!w) return;
    free(w->slots);
    free(w);
}

int waiter_set(waiter *w, int fd, int index, int events) {
    struct pollfd *slot = &w->slots[index];
    slot->fd = events ? fd : -1;
    slot->events = (short)(((events & WAIT_READ) ? POLLIN : 0) | ((events & WAIT_WRITE) ? POLLOUT : 0));
    slot->revents = 0;
    if (events && index >= w->used) w->used = index + 1;
    return 0;
}

int waiter_wait(waiter *w, waiter_event *events, int max, int timeout_ms) {
    int ready = poll(w->slots, (nfds_t)w->used, timeout_ms);
    if (ready <= 0) return ready == -1 && errno != EINTR ? -1 : 0;
    int n = 0;
    for (int k = 0; k < w->used && n < max; k++) {
        int i = (w->cursor + k) % w->used;
        short got = w->slots[i].revents;
        if (!got || w->slots[i].fd == -1) continue;
        events[n].index = i;
        events[n].events = ((got & POLLIN) ? WAIT_READ : 0) | ((got & POLLOUT) ? WAIT_WRITE : 0) |
                           ((got & (POLLERR | POLLHUP | POLLNVAL)) ? WAIT_ERROR : 0);
        n++;
    }
    w->cursor = w->used ? (w->cursor + 1) % w->used : 0;
    return n;
}
#endif
