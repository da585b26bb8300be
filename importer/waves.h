/* waves.h — the partition scheduler: runs one task's plan (importer/plan.h) on this node. The
 * batches the plan cuts wait in per-partition queues until a worker takes them: the claiming
 * worker, and in the standard queue any idle worker of the node (waves_help). A partition
 * runs one batch at a time, in order, and at most a task's parallel of its batches run at once;
 * at each barrier every batch before it has committed and the task's checkpoint moves. A resumed task skips the batches it committed before.
 */
#ifndef BI_IMPORTER_WAVES_H
#define BI_IMPORTER_WAVES_H

#include "batch.h"
#include "events.h"
#include "pool.h"
#include "tasks.h"
#include "users.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct waves waves;

typedef struct waves_config {
    int threads;     /* the node's workers: how many batches may run at once */
    events *events;  /* told when batches wait for helpers (borrowed) */
    batch_env batch; /* also: once batch.stopping is set, runs stop at their next batch */
} waves_config;

/* How a run ended besides its error. */
typedef struct waves_outcome {
    bool cancel;       /* a cancel was requested: the run stopped at a batch boundary */
    bool stopped;      /* the node is stopping: the run stopped, to be handed back */
    int64_t processed; /* lines of the batches this run committed */
} waves_outcome;

/* Creates the node's scheduler (cfg copied). Free with waves_destroy. */
waves *waves_create(const waves_config *cfg);

/* Frees ws; no run may be under way. NULL does nothing. */
void waves_destroy(waves *ws);

/* Runs task (claimed, its lease held) as caller from its checkpoint to its end: its lines are
 * read on conn, its batches applied on conn (or a helper's connection) and recorded on rec —
 * conn itself, or in test mode the recording connection (conn's transaction is then the
 * caller's, and the task's batches stay serial, on conn). Standard-queue tasks share their
 * batches with idle workers. Returns 0 or the first batch's error (BI_EBUSY: the lease was
 * lost; BI_EUNAVAIL: the database went away); *out is written in every case. */
int waves_run(waves *ws, db_conn *conn, db_conn *rec, db_task *task, const db_user *caller,
              waves_outcome *out);

/* Runs one waiting batch of a shared run of this node on conn (an idle worker's). Returns
 * false when none waits. */
bool waves_help(waves *ws, db_conn *conn);

#endif
