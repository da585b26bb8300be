/* worker.h — the node's import workers: a pool of threads that claim queued tasks (FOR UPDATE
 * SKIP LOCKED, queue rules, round-robin between users) and run each (importer/task_run.h);
 * an idle worker helps with the batches of a task under way here (importer/waves.h). Beside
 * them run the keeper (importer/keeper.h); they wake on the node's events
 * (importer/events.h). Test-mode tasks, which hold a second connection each, run under a
 * budget of their own.
 */
#ifndef BI_IMPORTER_WORKER_H
#define BI_IMPORTER_WORKER_H

#include "events.h"
#include "pool.h"
#include "task_run.h"

#include <stdbool.h>

typedef struct workers workers;

typedef struct workers_config {
    db_pool *pool;
    const char *conninfo; /* for the keeper's own connection */
    events *events;       /* wakes idle workers (borrowed; outlives the workers) */
    int threads;
    int heartbeat_ms;    /* the node's running tasks are marked alive this often */
    int rescue_after_ms; /* a STARTED task silent this long goes back to PENDING */
    int retention_days;  /* finished tasks are purged after this */
    const char *node;    /* names this process in tasks' "worker" column and in nodes */
    const char *version; /* the server's, reported with the node's heartbeat */
    const char *commit;  /* the commit it was built from, likewise */
    int max_test_mode_tasks; /* at once on this node, each with a second connection */
    task_run_limits limits;
} workers_config;

/* Starts cfg->threads workers and the keeper (cfg is copied; pool and events are borrowed).
 * Returns 0 and *out, or BI_EINTERNAL when a thread cannot start. */
int workers_start(const workers_config *cfg, workers **out);

/* Asks the workers to stop after their current batch, hands their tasks back to PENDING (a
 * test-mode task runs to its end), waits for them and the keeper, frees w. NULL does
 * nothing. */
void workers_stop(workers *w);

/* How many of the workers are running a task now (for the metrics; 0 for NULL). */
int workers_busy(workers *w);

#endif
