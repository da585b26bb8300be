/* upload_gate.c — see upload_gate.h. */
#include "upload_gate.h"

#include "error.h"
#include "users.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GATE_WATCH_MS 250

struct upload_ticket {
    char user[DB_USERNAME_MAX + 1];
    void *conn_ctx;
    struct timespec start;
    atomic_llong bytes;
    char why[160]; /* set once, under the gate's lock, when the watcher cut it */
    upload_ticket *next;
};

struct upload_gate {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    upload_limits limits;
    upload_cut_fn cut;
    upload_ticket *tickets; /* in flight */
    bool stopping;
    pthread_t watcher;
};

static double gate_seconds_since(const struct timespec *start) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Cuts t when it is over its deadline or under the minimum rate. Under g->lock. */
static void gate_judge(upload_gate *g, upload_ticket *t) {
    if (t->why[0] != '\0')
        return;
    double elapsed = gate_seconds_since(&t->start);
    double rate = elapsed > 0 ? (double)atomic_load(&t->bytes) / elapsed : 0;
    const upload_limits *l = &g->limits;
    if (elapsed > (double)l->deadline_s)
        snprintf(t->why, sizeof t->why, "the upload took longer than %lds (--upload-deadline)",
                 l->deadline_s);
    else if (l->min_rate > 0 && elapsed > (double)l->grace_s && rate < (double)l->min_rate)
        snprintf(t->why, sizeof t->why,
                 "the upload averaged %.0f bytes/s, below %ld (--upload-min-rate)", rate,
                 l->min_rate);
    if (t->why[0] != '\0')
        g->cut(t->conn_ctx);
}

static void *gate_watch(void *arg) {
    upload_gate *g = arg;
    pthread_mutex_lock(&g->lock);
    while (!g->stopping) {
        for (upload_ticket *t = g->tickets; t != NULL; t = t->next)
            gate_judge(g, t);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += GATE_WATCH_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&g->wake, &g->lock, &until);
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

upload_gate *upload_gate_new(const upload_limits *limits, upload_cut_fn cut) {
    upload_gate *g = calloc(1, sizeof *g);
    if (g == NULL)
        abort();
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->wake, NULL);
    g->limits = *limits;
    g->cut = cut;
    if (pthread_create(&g->watcher, NULL, gate_watch, g) != 0)
        abort();
    return g;
}

int upload_gate_enter(upload_gate *g, const char *user, void *conn_ctx, upload_ticket **out) {
    pthread_mutex_lock(&g->lock);
    int mine = 0, total = 0;
    for (upload_ticket *t = g->tickets; t != NULL; t = t->next, total++)
        mine += strcmp(t->user, user) == 0;
    int err = mine >= g->limits.max_per_user ? BI_ETOOMANY
              : total >= g->limits.max_total  ? BI_EUNAVAIL
                                              : 0;
    if (err == 0) {
        upload_ticket *t = calloc(1, sizeof *t);
        if (t == NULL)
            abort();
        snprintf(t->user, sizeof t->user, "%s", user);
        t->conn_ctx = conn_ctx;
        clock_gettime(CLOCK_MONOTONIC, &t->start);
        t->next = g->tickets;
        g->tickets = t;
        *out = t;
    }
    pthread_mutex_unlock(&g->lock);
    return err;
}

void upload_ticket_progress(upload_ticket *t, long long bytes) { atomic_store(&t->bytes, bytes); }

bool upload_gate_was_cut(upload_gate *g, upload_ticket *t, char *why, size_t why_len) {
    pthread_mutex_lock(&g->lock);
    bool cut = t->why[0] != '\0';
    snprintf(why, why_len, "%s", t->why);
    pthread_mutex_unlock(&g->lock);
    return cut;
}

void upload_gate_leave(upload_gate *g, upload_ticket *t) {
    pthread_mutex_lock(&g->lock);
    for (upload_ticket **at = &g->tickets; *at != NULL; at = &(*at)->next)
        if (*at == t) {
            *at = t->next;
            break;
        }
    pthread_mutex_unlock(&g->lock);
    free(t);
}

void upload_gate_free(upload_gate *g) {
    if (g == NULL)
        return;
    pthread_mutex_lock(&g->lock);
    g->stopping = true;
    pthread_cond_signal(&g->wake);
    pthread_mutex_unlock(&g->lock);
    pthread_join(g->watcher, NULL);
    pthread_cond_destroy(&g->wake);
    pthread_mutex_destroy(&g->lock);
    free(g);
}
