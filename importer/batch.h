/* batch.h — one batch of a task, applied and recorded exactly once: its writes, its per-line
 * results, its counters and its checkpoint row commit in one transaction fenced by the task's
 * lease (DESIGN.md invariant 1). A value the database refuses fails only its own line. It
 * does not choose batches (importer/plan.h) nor schedule them (importer/waves.h).
 */
#ifndef BI_IMPORTER_BATCH_H
#define BI_IMPORTER_BATCH_H

#include "plan.h"
#include "pool.h"
#include "tasks.h"
#include "users.h"

#include <stdatomic.h>
#include <stdbool.h>

typedef struct batch_env {
    int statement_timeout_ms;   /* a statement of the batch is cut after this */
    const atomic_bool *stopping; /* no more retries once set */
} batch_env;

/* Applies batch b of task as caller on conn and records its results on rec — the same
 * connection, or in test mode the task's recording connection, whose transaction is then
 * the caller's. On its own connection, the batch runs in a transaction of its own, again (up
 * to a few times) when it failed inside the database; a batch a stale twin had committed
 * counts as done. Sets *out_cancel when a cancel was requested. Returns 0, BI_EBUSY when
 * another worker holds the task now, BI_EUNAVAIL when the database went away, or
 * BI_EINTERNAL. */
int batch_commit(const batch_env *env, db_conn *conn, db_conn *rec, const db_task *task,
                 const db_user *caller, const plan_batch *b, bool *out_cancel);

/* The BI_E* value of an error code the upload recorded for a line it could not read
 * (invalid UTF-8, NUL, too long); BI_EJSON for any other. */
int batch_upload_error(const char *code);

#endif
