/* task_state.h — a task's lifecycle: its states and phases, each with one name table, and who
 * moves a task from one state to another.
 *
 * Every transition is one SQL statement in db/tasks.c; the state and, for a running task, the
 * lease are its WHERE clause, so two actors racing for one task never both win. The lease
 * counts a task's claims: claim, rescue and resume increment it, and everything a worker does
 * to a STARTED task (record a batch, checkpoint, phase, finish, hand back) names the lease it
 * holds, so a worker that lost the task (rescued, resumed) can no longer touch it.
 *
 *        POST (upload or file_url): db_upload_commit "tasks_complete" stores the lines
 *          |
 *          v
 *   +-> PENDING ---------- cancel (owner, root): db_tasks_cancel "tasks_cancel" ------+
 *   |     |   ^                                                                         |
 *   |     |   +-- hand back (worker: node stopping, database lost):                     |
 *   |     |   |     db_tasks_release "tasks_release", lease checked                     |
 *   |     |   +-- rescue (keeper, any node: heartbeat silent past --rescue-after-ms):   |
 *   |     |         db_tasks_rescue "tasks_rescue", lease + 1                           |
 *   |     |                                                                             |
 *   |   claim (worker: the oldest runnable; a named queue's one at a time):             |
 *   |     |   db_tasks_claim "tasks_claim", lease + 1 (a test-mode task with any        |
 *   |     v   batch restarts from line 1)                                               |
 *   |   STARTED -- finish (worker), db_tasks_finish "tasks_finish", state and lease --+ |
 *   |     |        checked:                                                         | |
 *   |     |          every line has its result ...................... -> SUCCESS   | |
 *   |     |          a batch failed beyond its retries, the download ... -> FAILURE  | |
 *   |     |          the cancel seen at a batch boundary ................ -> REVOKED <-+-+
 *   |     |        (cancelling a STARTED task only sets cancel_requested)
 *   |     |
 *   +-- resume (owner, root) of a FAILURE or REVOKED task: db_tasks_resume "tasks_resume",
 *         lease + 1; it continues from its checkpoint
 *
 * Finished tasks (SUCCESS, FAILURE, REVOKED) older than --retention-days are purged (keeper):
 * db_tasks_purge "tasks_purge"; their lines and batches go by trigger (migration 0011), and a
 * user's tasks go with the user (a User DELETE line).
 *
 * The actors: worker — importer/worker.c claims, importer/task_run.c runs and ends, with
 * importer/waves.c and batch.c recording batches and checkpoints; keeper — importer/keeper.c;
 * cancel, resume — server/imports_api.c; purge of a user — a User DELETE line (apply_owners.c).
 *
 * Within STARTED the phase says what runs: fetch (a file_url download, db_fetch_commit
 * "tasks_fetched" moves it to import), import (the lines), prune (a feed's, after its import:
 * db_tasks_set_phase "tasks_phase").
 */
#ifndef BI_DB_TASK_STATE_H
#define BI_DB_TASK_STATE_H

#include <stdbool.h>

/* X(name): the states, as stored in import_tasks.state and shown to clients. */
#define DB_TASK_STATE_MAP(X) X(PENDING) X(STARTED) X(SUCCESS) X(FAILURE) X(REVOKED)

enum db_task_state {
#define DB_TASK_STATE_ENUM(name) DB_TASK_##name,
    DB_TASK_STATE_MAP(DB_TASK_STATE_ENUM)
#undef DB_TASK_STATE_ENUM
        DB_TASK_N_STATES
};

/* X(name, text): the phases of a STARTED task, as stored in import_tasks.phase (the first is
 * what a zeroed db_task holds). */
#define DB_TASK_PHASE_MAP(X) X(IMPORT, "import") X(FETCH, "fetch") X(PRUNE, "prune")

enum db_task_phase {
#define DB_TASK_PHASE_ENUM(name, text) DB_PHASE_##name,
    DB_TASK_PHASE_MAP(DB_TASK_PHASE_ENUM)
#undef DB_TASK_PHASE_ENUM
        DB_TASK_N_PHASES
};

/* The state's name ("PENDING", ...). */
const char *db_task_state_name(enum db_task_state state);

/* Reads a state's exact name into *out. Returns whether name is one. */
bool db_task_state_parse(const char *name, enum db_task_state *out);

/* Whether a task in state has yet to finish (PENDING or STARTED). */
bool db_task_state_running(enum db_task_state state);

/* The phase's name ("fetch", "import", "prune"). */
const char *db_task_phase_name(enum db_task_phase phase);

/* Reads a phase's name into *out. Returns whether name is one. */
bool db_task_phase_parse(const char *name, enum db_task_phase *out);

#endif
