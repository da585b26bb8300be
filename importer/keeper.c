#include "keeper.h"

#include "error.h"
#include "events.h"
#include "log.h"
#include "migrate.h"
#include "nodes.h"
#include "pool.h"
#include "tasks.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEEPER_PURGE_EVERY_S 60 /* retention runs this often, in small deletes */
#define KEEPER_PURGE_BATCH 200

/* What one worker thread holds. */
typedef struct keeper_slot {
    char task_id[DB_TASK_ID_MAX];
    int64_t lease;
    bool busy;
} keeper_slot;

struct keeper {
    keeper_config cfg;
    char *conninfo;
    keeper_slot *slots; /* cfg.slots of them, under lock */
    char node[128], version[64], commit[64];
    pthread_mutex_t lock;
    pthread_t thread;
    bool running;
    atomic_bool stopping;
};

/* Copies the held tasks into ids/leases (cfg.slots entries each). Returns how many. */
static size_t keeper_held(keeper *k, const char **ids, char (*id_buf)[DB_TASK_ID_MAX],
                          int64_t *leases) {
    size_t n = 0;
    pthread_mutex_lock(&k->lock);
    for (int i = 0; i < k->cfg.slots; i++)
        if (k->slots[i].busy) {
            snprintf(id_buf[n], sizeof id_buf[n], "%s", k->slots[i].task_id);
            ids[n] = id_buf[n];
            leases[n++] = k->slots[i].lease;
        }
    pthread_mutex_unlock(&k->lock);
    return n;
}

/* One round on conn: heartbeat, rescue, and the purge when it is due since *last_purge. */
static void keeper_round(keeper *k, db_conn *conn, const char **ids, size_t n,
                         const int64_t *leases, time_t *last_purge) {
    long rescued = 0, purged = 0;
    db_tasks_heartbeat(conn, ids, leases, n);
    db_nodes_beat(conn, k->node, k->cfg.slots, (int)n, k->version, k->commit,
                  db_migrations[db_migrations_count - 1].version);
    if (db_tasks_rescue(conn, k->cfg.rescue_after_ms, &rescued) == 0 && rescued > 0)
        log_warn("rescued %ld task(s) whose node went silent", rescued);
    if (time(NULL) - *last_purge < KEEPER_PURGE_EVERY_S)
        return;
    *last_purge = time(NULL);
    while (db_tasks_purge(conn, k->cfg.retention_days, KEEPER_PURGE_BATCH, &purged) == 0 &&
           purged == KEEPER_PURGE_BATCH && !atomic_load(&k->stopping))
        continue;
}

static void *keeper_main(void *arg) {
    keeper *k = arg;
    db_pool *own;
    if (db_pool_create(k->conninfo, 1, &own) < 0)
        return NULL;
    const char **ids = calloc((size_t)k->cfg.slots, sizeof *ids);
    char(*id_buf)[DB_TASK_ID_MAX] = calloc((size_t)k->cfg.slots, sizeof *id_buf);
    int64_t *leases = calloc((size_t)k->cfg.slots, sizeof *leases);
    if (!ids || !id_buf || !leases)
        abort();
    time_t last_purge = 0;
    while (!atomic_load(&k->stopping)) {
        size_t n = keeper_held(k, ids, id_buf, leases);
        db_conn *conn;
        if (db_pool_acquire(own, 1000, &conn) == 0) {
            keeper_round(k, conn, ids, n, leases, &last_purge);
            db_pool_release(own, conn);
        }
        events_sleep(&k->stopping, k->cfg.heartbeat_ms);
    }
    db_conn *conn;
    if (db_pool_acquire(own, 1000, &conn) == 0) { /* a clean stop, not a node gone silent */
        db_nodes_leave(conn, k->node);
        db_pool_release(own, conn);
    }
    free(leases);
    free(id_buf);
    free(ids);
    db_pool_destroy(own);
    return NULL;
}

int keeper_start(const keeper_config *cfg, keeper **out) {
    keeper *k = calloc(1, sizeof *k);
    if (k == NULL || (k->slots = calloc((size_t)cfg->slots, sizeof *k->slots)) == NULL)
        abort();
    k->cfg = *cfg;
    if ((k->conninfo = strdup(cfg->conninfo)) == NULL)
        abort();
    k->cfg.conninfo = k->conninfo;
    snprintf(k->node, sizeof k->node, "%s", cfg->node ? cfg->node : "");
    snprintf(k->version, sizeof k->version, "%s", cfg->version ? cfg->version : "");
    snprintf(k->commit, sizeof k->commit, "%s", cfg->commit ? cfg->commit : "unknown");
    pthread_mutex_init(&k->lock, NULL);
    if (pthread_create(&k->thread, NULL, keeper_main, k) != 0) {
        log_error("cannot start the heartbeat thread");
        keeper_stop(k);
        return BI_EINTERNAL;
    }
    k->running = true;
    *out = k;
    return 0;
}

void keeper_stop(keeper *k) {
    if (k == NULL)
        return;
    atomic_store(&k->stopping, true);
    if (k->running)
        pthread_join(k->thread, NULL);
    pthread_mutex_destroy(&k->lock);
    free(k->slots);
    free(k->conninfo);
    free(k);
}

void keeper_hold(keeper *k, int slot, const char *task_id, int64_t lease) {
    pthread_mutex_lock(&k->lock);
    snprintf(k->slots[slot].task_id, sizeof k->slots[slot].task_id, "%s", task_id);
    k->slots[slot].lease = lease;
    k->slots[slot].busy = true;
    pthread_mutex_unlock(&k->lock);
}

void keeper_let_go(keeper *k, int slot) {
    pthread_mutex_lock(&k->lock);
    k->slots[slot].busy = false;
    pthread_mutex_unlock(&k->lock);
}
