/* task_run.h — one task's run on the worker that claimed it: the caller's rights, the
 * file_url download, the batches (importer/waves.h), a feed's prune, and the end recorded
 * under the lease. A test-mode task applies every batch in one transaction that is rolled back
 * at its end, and records its results on a second connection, so they survive the rollback
 * and later lines see earlier ones. It does not claim tasks (importer/worker.h).
 */
#ifndef BI_IMPORTER_TASK_RUN_H
#define BI_IMPORTER_TASK_RUN_H

#include "pool.h"
#include "tasks.h"
#include "waves.h"

#include <stdatomic.h>
#include <stdbool.h>

/* What a task's file_url download and its lines may be. */
typedef struct task_run_limits {
    long long max_fetch_bytes; /* a larger file fails the task */
    long fetch_timeout_s;      /* the whole download */
    bool fetch_any_address;    /* --fetch-allow-private: not only root may fetch private URLs */
    long long max_line_bytes;  /* as for uploads */
    int max_test_mode_lines;
} task_run_limits;

typedef struct task_run_env {
    db_pool *pool;               /* a test-mode task's recording connection comes from here */
    waves *waves;                /* the node's scheduler */
    const atomic_bool *stopping; /* the node is stopping: hand the task back */
    int statement_timeout_ms;    /* a test-mode task's one transaction is bounded by it too */
    task_run_limits limits;
} task_run_env;

/* How a run of a task ended, for the worker that ran it. */
enum task_run_outcome {
    TASK_RUN_FINISHED,    /* SUCCESS or FAILURE recorded */
    TASK_RUN_CANCELLED,   /* REVOKED recorded: a cancel was seen at a batch boundary */
    TASK_RUN_HANDED_BACK, /* the node is stopping: back to PENDING, from its checkpoint */
    TASK_RUN_LOST_LEASE,  /* another node holds the task now: this worker lets go */
    TASK_RUN_DB_LOST,     /* the database went away: conn is broken, the task to be handed back */
};

/* Runs task (claimed by this worker, its lease held) to its end on conn, or until the node
 * stops (the task is handed back; a test-mode task runs to its end), a cancel (REVOKED), or a
 * lost lease (someone else holds it: let go at once). Returns how the run ended. */
enum task_run_outcome task_run_execute(const task_run_env *env, db_conn *conn, db_task *task);

/* After the database went away mid-task: waits for it to come back (or the node to stop),
 * then hands task back to PENDING so any node continues from its checkpoint. */
void task_run_hand_back(const task_run_env *env, const db_task *task);

#endif
