#include "events.h"

#include "error.h"
#include "log.h"
#include "notify.h"
#include "pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EVENTS_WAIT_MS 250   /* the listener looks at its stop flag this often */
#define EVENTS_AWAY_MS 1000  /* and waits this long when the database is away */

struct events {
    char *conninfo;
    pthread_t listener;
    bool listening;
    pthread_mutex_t lock;
    pthread_cond_t work_cond, ended_cond;
    unsigned long work;    /* under lock */
    unsigned long endings; /* under lock */
    atomic_bool stopping;
};

/* Bumps *counter and wakes its waiters. */
static void events_bump(events *ev, unsigned long *counter, pthread_cond_t *cond) {
    pthread_mutex_lock(&ev->lock);
    (*counter)++;
    pthread_cond_broadcast(cond);
    pthread_mutex_unlock(&ev->lock);
}

/* Reads *counter. */
static unsigned long events_read(events *ev, const unsigned long *counter) {
    pthread_mutex_lock(&ev->lock);
    unsigned long value = *counter;
    pthread_mutex_unlock(&ev->lock);
    return value;
}

/* Waits up to ms milliseconds until *counter is no longer seen. */
static void events_await(events *ev, const unsigned long *counter, pthread_cond_t *cond,
                         unsigned long seen, int ms) {
    struct timespec until;
    db_deadline(CLOCK_REALTIME, ms, &until);
    pthread_mutex_lock(&ev->lock);
    while (*counter == seen)
        if (pthread_cond_timedwait(cond, &ev->lock, &until) != 0)
            break;
    pthread_mutex_unlock(&ev->lock);
}

static void *events_listen(void *arg) {
    events *ev = arg;
    db_listener *l = db_listener_open(ev->conninfo);
    while (!atomic_load(&ev->stopping)) {
        int rc = db_listener_wait(l, EVENTS_WAIT_MS);
        if (rc > 0 && (rc & DB_NOTIFY_QUEUED))
            events_bump(ev, &ev->work, &ev->work_cond);
        if (rc > 0 && (rc & DB_NOTIFY_DONE))
            events_bump(ev, &ev->endings, &ev->ended_cond);
        if (rc < 0) /* the database is away: try again after a pause */
            events_sleep(&ev->stopping, EVENTS_AWAY_MS);
    }
    db_listener_close(l);
    return NULL;
}

int events_start(const char *conninfo, events **out) {
    events *ev = calloc(1, sizeof *ev);
    if (ev == NULL || (ev->conninfo = strdup(conninfo)) == NULL)
        abort();
    pthread_mutex_init(&ev->lock, NULL);
    pthread_cond_init(&ev->work_cond, NULL);
    pthread_cond_init(&ev->ended_cond, NULL);
    if (pthread_create(&ev->listener, NULL, events_listen, ev) != 0) {
        log_error("cannot start the database listener");
        events_stop(ev);
        return BI_EINTERNAL;
    }
    ev->listening = true;
    *out = ev;
    return 0;
}

void events_stop(events *ev) {
    if (ev == NULL)
        return;
    atomic_store(&ev->stopping, true);
    if (ev->listening)
        pthread_join(ev->listener, NULL);
    pthread_cond_destroy(&ev->work_cond);
    pthread_cond_destroy(&ev->ended_cond);
    pthread_mutex_destroy(&ev->lock);
    free(ev->conninfo);
    free(ev);
}

unsigned long events_work(events *ev) { return events_read(ev, &ev->work); }

void events_await_work(events *ev, unsigned long seen, int ms) {
    events_await(ev, &ev->work, &ev->work_cond, seen, ms);
}

void events_note_work(events *ev) { events_bump(ev, &ev->work, &ev->work_cond); }

unsigned long events_endings(events *ev) { return events_read(ev, &ev->endings); }

void events_await_ending(events *ev, unsigned long seen, int ms) {
    events_await(ev, &ev->endings, &ev->ended_cond, seen, ms);
}

void events_wake_waiters(events *ev) { events_bump(ev, &ev->endings, &ev->ended_cond); }

void events_sleep(const atomic_bool *stopping, int ms) {
    for (int waited = 0; waited < ms && !atomic_load(stopping); waited += 50) {
        struct timespec pause = {0, 50 * 1000000L};
        nanosleep(&pause, NULL);
    }
}
