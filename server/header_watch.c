#include "header_watch.h"

#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#define HEADER_WATCH_TICK_MS 250

struct header_watch_conn {
    const void *conn;
    struct timespec since; /* when its headers began to be awaited */
    bool awaiting;         /* headers not complete yet */
    header_watch_conn *prev, *next;
};

struct header_watch {
    long timeout_s;
    header_watch_cut_fn cut;
    pthread_mutex_t lock;
    header_watch_conn *conns; /* under lock */
    pthread_t watcher;
    atomic_bool stopping;
};

/* Cuts the connections overdue at now, once each. Under hw->lock: none can close meanwhile. */
static void header_watch_cut_overdue(header_watch *hw, const struct timespec *now) {
    for (header_watch_conn *c = hw->conns; c != NULL; c = c->next) {
        long long waited_ms = (now->tv_sec - c->since.tv_sec) * 1000LL +
                              (now->tv_nsec - c->since.tv_nsec) / 1000000;
        if (!c->awaiting || waited_ms < hw->timeout_s * 1000LL)
            continue;
        c->awaiting = false;
        log_info("http: a client sent no complete request headers within %ld s "
                 "(--header-timeout): its connection is closed",
                 hw->timeout_s);
        hw->cut(c->conn);
    }
}

static void *header_watch_main(void *arg) {
    header_watch *hw = arg;
    while (!atomic_load(&hw->stopping)) {
        struct timespec pause = {0, HEADER_WATCH_TICK_MS * 1000000L}, now;
        nanosleep(&pause, NULL);
        clock_gettime(CLOCK_MONOTONIC, &now);
        pthread_mutex_lock(&hw->lock);
        header_watch_cut_overdue(hw, &now);
        pthread_mutex_unlock(&hw->lock);
    }
    return NULL;
}

header_watch *header_watch_new(long timeout_s, header_watch_cut_fn cut) {
    header_watch *hw = calloc(1, sizeof *hw);
    if (hw == NULL)
        abort();
    hw->timeout_s = timeout_s;
    hw->cut = cut;
    pthread_mutex_init(&hw->lock, NULL);
    if (pthread_create(&hw->watcher, NULL, header_watch_main, hw) != 0)
        abort(); /* at start-up only: nothing runs yet */
    return hw;
}

void header_watch_free(header_watch *hw) {
    if (hw == NULL)
        return;
    atomic_store(&hw->stopping, true);
    pthread_join(hw->watcher, NULL);
    pthread_mutex_destroy(&hw->lock);
    free(hw);
}

header_watch_conn *header_watch_open(header_watch *hw, const void *conn) {
    header_watch_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        abort();
    c->conn = conn;
    clock_gettime(CLOCK_MONOTONIC, &c->since);
    c->awaiting = true;
    pthread_mutex_lock(&hw->lock);
    if ((c->next = hw->conns) != NULL)
        c->next->prev = c;
    hw->conns = c;
    pthread_mutex_unlock(&hw->lock);
    return c;
}

/* Marks c as awaiting headers (since now) or not. NULL does nothing. */
static void header_watch_mark(header_watch *hw, header_watch_conn *c, bool awaiting) {
    if (c == NULL)
        return;
    pthread_mutex_lock(&hw->lock);
    if (awaiting)
        clock_gettime(CLOCK_MONOTONIC, &c->since);
    c->awaiting = awaiting;
    pthread_mutex_unlock(&hw->lock);
}

void header_watch_arrived(header_watch *hw, header_watch_conn *c) { header_watch_mark(hw, c, false); }

void header_watch_awaiting(header_watch *hw, header_watch_conn *c) { header_watch_mark(hw, c, true); }

void header_watch_close(header_watch *hw, header_watch_conn *c) {
    if (c == NULL)
        return;
    pthread_mutex_lock(&hw->lock);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        hw->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&hw->lock);
    free(c);
}
