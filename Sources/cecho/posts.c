/*
 * posts.c -- what other threads hand a loop: deferred replies, connections accepted by another
 * loop, calls to run on the loop's thread, and new settings (a reload). Layer: loop.
 *
 * Any thread appends under post_lock and writes the wakeup descriptor; the loop takes the
 * whole queue at once and serves it in order, between two turns.
 */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The loop whose ce_loop_run() this thread is in, if any. */
static _Thread_local ce_loop *running_here;

void ce_posts_running_here(ce_loop *l) { running_here = l; }

/* Append `p` to the loop's queue and wake the loop; any thread. The loop's own thread (a job
 * it runs posts a reply or another job) writes no wakeup: the loop serves its queue before it
 * waits again, and a system call per post would cost more than the post. 0, or -1
 * (ESHUTDOWN, `p` not taken) once the loop has ended. */
static int enqueue(ce_loop *l, ce_post *p) {
    pthread_mutex_lock(&l->post_lock);
    if (l->posts_closed) {
        pthread_mutex_unlock(&l->post_lock);
        errno = ESHUTDOWN;
        return -1;
    }
    if (l->posts_tail) l->posts_tail->next = p;
    else l->posts = p;
    l->posts_tail = p;
    pthread_mutex_unlock(&l->post_lock);
    if (running_here == l) l->posts_own = 1;
    else ce_wakeup_signal(&l->wakeup);
    return 0;
}

int ce_loop_post_reply(ce_loop *l, int fd, uint64_t id, uint64_t deferral, const void *data, size_t len,
                       ce_action action) {
    ce_post *p = calloc(1, sizeof *p + len);
    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    p->kind = CE_POST_REPLY;
    p->fd = fd;
    p->id = id;
    p->deferral = deferral;
    p->action = action;
    p->len = len;
    if (len) memcpy(p->data, data, len);
    if (enqueue(l, p) == -1) { /* too late: the connection is gone with the loop */
        free(p);
        return -1;
    }
    return 0;
}

int ce_loop_post_connection(ce_loop *l, int fd, const void *peer, size_t peer_len) {
    ce_post *p = calloc(1, sizeof *p + sizeof(ce_sockaddr));
    if (!p) {
        close(fd);
        errno = ENOMEM;
        return -1;
    }
    p->kind = CE_POST_CONNECTION;
    p->fd = fd;
    p->len = sizeof(ce_sockaddr);
    if (peer) memcpy(p->data, peer, peer_len < sizeof(ce_sockaddr) ? peer_len : sizeof(ce_sockaddr));
    if (enqueue(l, p) == -1) { /* the loop has ended: it would never be served */
        close(fd);
        free(p);
    }
    return 0;
}

int ce_loop_post_call(ce_loop *l, void (*fn)(void *ctx), void *ctx) {
    ce_post *p = calloc(1, sizeof *p);
    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    p->kind = CE_POST_CALL;
    p->fn = fn;
    p->ctx = ctx;
    if (enqueue(l, p) == -1) {
        free(p);
        return -1;
    }
    return 0;
}

int ce_loop_reconfigure(ce_loop *l, const ce_loop_config *config) {
    ce_post *p = calloc(1, sizeof *p + sizeof *config);
    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    p->kind = CE_POST_SETTINGS;
    p->len = sizeof *config;
    memcpy(p->data, config, sizeof *config); /* its pointers are not used: no lifetime to keep */
    if (enqueue(l, p) == -1) {
        free(p);
        return -1;
    }
    return 0;
}

/* Serve one post on the loop's thread. */
static void serve(ce_loop *l, ce_post *p) {
    switch (p->kind) {
    case CE_POST_CONNECTION: {
        ce_sockaddr peer;
        memcpy(&peer, p->data, sizeof peer); /* data[] need not be aligned for it */
        ce_accept_admit(l, p->fd, &peer);
        break;
    }
    case CE_POST_CALL:
        p->fn(p->ctx);
        break;
    case CE_POST_SETTINGS: {
        ce_loop_config config;
        memcpy(&config, p->data, sizeof config);
        ce_conns_reconfigure(&l->conns, &config);
        break;
    }
    case CE_POST_REPLY: {
        ce_udp *u = ce_udp_find(l, p->fd);
        if (u) ce_udp_deliver(l, u, p);
        else ce_conns_deliver_reply(&l->conns, p->fd, p->id, p->deferral, p->action, p->data, p->len);
        break;
    }
    }
}

void ce_posts_deliver(ce_loop *l) {
    pthread_mutex_lock(&l->post_lock);
    ce_post *p = l->posts;
    l->posts = l->posts_tail = NULL;
    pthread_mutex_unlock(&l->post_lock);
    while (p) {
        ce_post *next = p->next;
        serve(l, p);
        free(p);
        p = next;
    }
}

void ce_posts_close(ce_loop *l) {
    pthread_mutex_lock(&l->post_lock);
    l->posts_closed = 1;
    pthread_mutex_unlock(&l->post_lock);
    /* Connections are refused (the loop stops), replies counted late, calls run. */
    ce_posts_deliver(l);
}
