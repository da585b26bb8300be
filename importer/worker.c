#include "worker.h"

#include "error.h"
#include "fault.h"
#include "keeper.h"
#include "log.h"
#include "tasks.h"
#include "waves.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define WORKERS_IDLE_POLL_MS 2000 /* an idle worker looks again this often (events wake it sooner) */

struct workers {
    workers_config cfg;
    char node[128];
    pthread_t *threads;
    int n_started;
    keeper *keeper;
    waves *waves;
    task_run_env run_env;
    atomic_int test_mode_running; /* places taken under cfg.max_test_mode_tasks */
    atomic_int busy;              /* workers running a task */
    atomic_bool stopping;
};

typedef struct workers_arg {
    workers *w;
    int slot; /* the thread's keeper slot */
} workers_arg;

/* Claims a task on conn for this node: a test-mode one only while a place under the budget is
 * free (it is then taken; *out_test_place says so). Returns 0, BI_ENOTFOUND, or the
 * database's error. */
static int workers_claim(workers *w, db_conn *conn, db_task *task, bool *out_test_place) {
    bool place = atomic_fetch_add(&w->test_mode_running, 1) < w->cfg.max_test_mode_tasks;
    int err = db_tasks_claim(conn, w->node, place, task);
    if (!place || err < 0 || !task->test_mode) {
        atomic_fetch_sub(&w->test_mode_running, 1);
        place = false;
    }
    *out_test_place = place;
    return err;
}

/* Runs claimed task on conn under the keeper's heartbeat. Returns how the run ended. */
static enum task_run_outcome workers_run(workers *w, int slot, db_conn *conn, db_task *task) {
    atomic_fetch_add(&w->busy, 1);
    keeper_hold(w->keeper, slot, task->id, task->lease);
    fault_point("after_claim");
    enum task_run_outcome outcome = task_run_execute(&w->run_env, conn, task);
    keeper_let_go(w->keeper, slot);
    atomic_fetch_sub(&w->busy, 1);
    return outcome;
}

int workers_busy(workers *w) { return w == NULL ? 0 : atomic_load(&w->busy); }

static void *workers_main(void *arg) {
    workers *w = ((workers_arg *)arg)->w;
    int slot = ((workers_arg *)arg)->slot;
    free(arg);
    for (;;) {
        unsigned long seen = events_work(w->cfg.events); /* before the flag: no stop is missed */
        if (atomic_load(&w->stopping))
            break;
        db_conn *conn;
        if (db_pool_acquire(w->cfg.pool, WORKERS_IDLE_POLL_MS, &conn) < 0) {
            events_await_work(w->cfg.events, seen, WORKERS_IDLE_POLL_MS);
            continue;
        }
        db_task task;
        bool test_place = false;
        int err = workers_claim(w, conn, &task, &test_place);
        if (err < 0 && waves_help(w->waves, conn)) { /* no task waits: help one under way */
            db_pool_release(w->cfg.pool, conn);
            continue;
        }
        enum task_run_outcome outcome = err == 0 ? workers_run(w, slot, conn, &task)
                                                 : TASK_RUN_FINISHED;
        db_pool_release(w->cfg.pool, conn);
        if (test_place)
            atomic_fetch_sub(&w->test_mode_running, 1);
        if (outcome == TASK_RUN_DB_LOST)
            task_run_hand_back(&w->run_env, &task);
        if (err < 0)
            events_await_work(w->cfg.events, seen, WORKERS_IDLE_POLL_MS);
    }
    return NULL;
}

int workers_start(const workers_config *cfg, workers **out) {
    workers *w = calloc(1, sizeof *w);
    if (w == NULL || (w->threads = calloc((size_t)cfg->threads, sizeof *w->threads)) == NULL)
        abort();
    w->cfg = *cfg;
    snprintf(w->node, sizeof w->node, "%s", cfg->node);
    w->cfg.node = w->node;
    w->cfg.conninfo = NULL; /* the keeper copies it */
    int statement_timeout_ms = cfg->rescue_after_ms / 2;
    w->waves = waves_create(&(waves_config){
        .threads = cfg->threads,
        .events = cfg->events,
        .batch = {.statement_timeout_ms = statement_timeout_ms, .stopping = &w->stopping}});
    w->run_env = (task_run_env){.pool = cfg->pool,
                                .waves = w->waves,
                                .stopping = &w->stopping,
                                .statement_timeout_ms = statement_timeout_ms,
                                .limits = cfg->limits};
    keeper_config kc = {.conninfo = cfg->conninfo,
                        .slots = cfg->threads,
                        .heartbeat_ms = cfg->heartbeat_ms,
                        .rescue_after_ms = cfg->rescue_after_ms,
                        .retention_days = cfg->retention_days,
                        .node = w->node,
                        .version = cfg->version ? cfg->version : "unknown",
                        .commit = cfg->commit};
    if (keeper_start(&kc, &w->keeper) < 0) {
        workers_stop(w);
        return BI_EINTERNAL;
    }
    for (int i = 0; i < cfg->threads; i++) {
        workers_arg *arg = malloc(sizeof *arg);
        if (arg == NULL)
            abort();
        *arg = (workers_arg){w, i};
        if (pthread_create(&w->threads[i], NULL, workers_main, arg) != 0) {
            free(arg);
            log_error("cannot start import worker %d", i + 1);
            workers_stop(w);
            return BI_EINTERNAL;
        }
        w->n_started++;
    }
    *out = w;
    return 0;
}

void workers_stop(workers *w) {
    if (w == NULL)
        return;
    atomic_store(&w->stopping, true);
    events_note_work(w->cfg.events); /* idle workers wake and see stopping */
    for (int i = 0; i < w->n_started; i++)
        pthread_join(w->threads[i], NULL);
    keeper_stop(w->keeper);
    waves_destroy(w->waves);
    free(w->threads);
    free(w);
}
