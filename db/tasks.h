/* tasks.h — import tasks: the upload (COPY, in the task's own transaction), claiming by
 * workers, the fenced batch commit, and reading tasks and their results back.
 */
#ifndef BI_DB_TASKS_H
#define BI_DB_TASKS_H

#include "task_state.h"
#include "users.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct db_conn db_conn;

#define DB_TASK_ID_MAX 176 /* <uuid4>-<username>~<queue> */
#define DB_TIME_MAX 32
#define DB_URL_MAX 2048 /* file_url, callback_url */
/* delete_values as PostgreSQL renders its jsonb: up to 1,023 bytes given (directives.h), and a
 * space after each of up to 31 commas. */
#define DB_DELETE_VALUES_MAX (1024 + 64)

typedef struct db_task {
    char id[DB_TASK_ID_MAX];
    char username[DB_USERNAME_MAX + 1];
    char queue[DB_USERNAME_MAX + 1];
    bool named;
    enum db_task_state state; /* task_state.h: the lifecycle */
    bool update_if_exists;
    bool test_mode;
    int64_t total, processed, created, updated, deleted, skipped, failed, checkpoint;
    int64_t lease;
    char created_at[DB_TIME_MAX], started_at[DB_TIME_MAX], finished_at[DB_TIME_MAX]; /* "" */
    double elapsed_seconds; /* finished (or now) - started; 0 before the start */
    double wait_seconds;    /* started (or now) - created: the time it queued */
    long ahead;             /* PENDING: the tasks that run before it in its queue; else -1 */
    int batch_size;         /* lines per batch; with partitions and batch_bytes, the cut of the */
    int partitions;         /* task's lines into batches, fixed when it is created (plan.h) */
    int64_t batch_bytes;
    int parallel;           /* OCL's parallel, 1-100: 1 runs the lines strictly in order */
    char error[640];
    char file_url[DB_URL_MAX + 1]; /* "": the lines were uploaded */
    bool fetched;                  /* the lines are stored (always, for an upload) */
    enum db_task_phase phase;      /* what a STARTED task runs */
    int64_t pruned;                /* resources the prune phase retired or removed */
    int64_t feed_run_id;           /* 0: not a feed's run */
    char feed[DB_USERNAME_MAX + 1]; /* the feed's name, "" when none (or deleted) */
    bool prune, prune_on_errors;   /* the feed's: prune after the import (even with failures) */
    char format[8];                /* "", "jsonl", "csv", "zip" or "export"; "": detected */
    /* An OCL export's new owner, its type and the version's id; "": the export's own */
    char export_owner[DB_USERNAME_MAX + 1], export_owner_type[16], export_version[DB_USERNAME_MAX + 1];
    /* Directives from the data (importer/directives.h); "" when none */
    char action_field[129], delete_values[DB_DELETE_VALUES_MAX];
    char parent_id[DB_TASK_ID_MAX]; /* the task whose Import line made this one; "" none */
    int depth;                      /* 0 for a task of its own; a child's is its parent's + 1 */
} db_task;

/* ---- child tasks ---- */

#define DB_TASKS_MAX_DEPTH 3      /* levels of child tasks */
#define DB_TASKS_MAX_CHILDREN 1000 /* children of one task */

/* Queues child (its id, queue, named, batch_size, partitions, batch_bytes and parallel are
 * read) as parent's child, downloading file_url when it runs, inside the caller's transaction
 * (the batch of the parent's Import line: it exists exactly when that batch commits), and wakes
 * the nodes at commit. line tells the child apart from the parent's other children. A child
 * of that id already there (the batch run again) is kept as it is, and counts as queued.
 * Never leaves the transaction aborted. Returns 0;
 * BI_ETOOMANY when parent already has DB_TASKS_MAX_CHILDREN; BI_ECONFLICT when its cancel was
 * requested; or BI_EUNAVAIL / BI_EINTERNAL. */
int db_tasks_create_child(db_conn *conn, const db_task *parent, const db_task *child,
                          int64_t line, const char *file_url);

/* Calls each with the id of every child of task_id, oldest first. Returns 0 or the database's
 * error. */
int db_tasks_children(db_conn *conn, const char *task_id,
                      void (*each)(const char *child_id, void *ctx), void *ctx);

/* ---- upload ---- */

typedef struct db_upload db_upload;

/* Opens the transaction that creates task (id, username, queue, named, the options, its cut
 * (batch_size, partitions, batch_bytes), and a feed run's feed_run_id, prune and
 * prune_on_errors are read; callback_url NULL: no webhook) and
 * starts a COPY of its lines. Returns 0 and *out, or
 * BI_EUNAVAIL / BI_EINTERNAL. */
int db_upload_begin(db_conn *conn, const db_task *task, const char *callback_url,
                    db_upload **out);

/* Adds line line_no: its text (len bytes, valid UTF-8 without NUL), or NULL with error_code. */
int db_upload_line(db_upload *u, int64_t line_no, const char *text, size_t len,
                   const char *error_code);

/* Ends the COPY, records total, the content hash and file_url (NULL: none; the task then waits
 * for a worker to fetch its lines), remembers idempotency_key (NULL: none) for the task's user,
 * wakes the workers and commits. Returns 0, BI_ECONFLICT when the same user has the same content
 * with the same options queued, BI_EREPEATED when the user's idempotency_key names a task made
 * in the last 24 hours (in both cases nothing is stored), or BI_EUNAVAIL / BI_EINTERNAL. Frees
 * u either way. */
int db_upload_commit(db_upload *u, const unsigned char sha256[32], int64_t total,
                     const char *file_url, const char *idempotency_key);

/* As db_upload_commit without file_url and key, running before(conn, ctx) in the task's
 * transaction just before it commits (a feed records its run there); before's error rolls
 * everything back and is returned. */
int db_upload_commit_with(db_upload *u, const unsigned char sha256[32], int64_t total,
                          int (*before)(db_conn *conn, void *ctx), void *ctx);

/* Replaces the options the task was begun with (update_if_exists, test_mode, batch_size,
 * parallel, partitions and batch_bytes of task) by those of task: a form or an envelope may
 * give options after the file. Written by the commit. */
void db_upload_options(db_upload *u, const db_task *task);

/* Rolls the upload back: no task, no lines. Frees u. */
void db_upload_abort(db_upload *u);

/* The task username made with idempotency_key in the last 24 hours into task_id
 * (DB_TASK_ID_MAX bytes). Returns 0, BI_ENOTFOUND, or BI_EUNAVAIL / BI_EINTERNAL. */
int db_idempotency_find(db_conn *conn, const char *username, const char *idempotency_key,
                        char *task_id);

/* ---- workers ---- */

/* Claims the next runnable task for worker: PENDING, root's priority queue first, then the
 * user who started a task least recently (round-robin between users), then oldest; a named
 * queue's task only when no other task of that (user, queue) is STARTED or older and PENDING;
 * a test-mode task only when test_mode_too. Marks it STARTED with a new lease. Returns 0 and
 * *out, BI_ENOTFOUND when nothing is runnable, or BI_EUNAVAIL / BI_EINTERNAL. */
int db_tasks_claim(db_conn *conn, const char *worker, bool test_mode_too, db_task *out);

/* Opens the transaction that stores the lines of task (held by a worker, file_url set) as they
 * are downloaded: feed them with db_upload_line, end with db_fetch_commit or db_upload_abort. */
int db_fetch_begin(db_conn *conn, const db_task *task, db_upload **out);

/* Ends the COPY, records total and marks the task fetched, if it still holds lease, and
 * commits. Returns 0, BI_EBUSY (lease lost: nothing stored), or BI_EUNAVAIL / BI_EINTERNAL.
 * Frees u either way. */
int db_fetch_commit(db_upload *u, int64_t lease, int64_t total);

/* One line's result as stored. */
typedef struct db_result {
    int64_t line;
    const char *root, *action, *obj_type, *obj_url, *repo_url, *owner_url, *message;
    int status; /* 0: OCL's "skip" */
    const char *error_code; /* NULL on success */
} db_result;

/* Records results[0..n) as one batch of task (named by its lowest line number, with its
 * counters) — if the task still holds lease. Returns 0 and whether a cancel was requested in
 * *out_cancel; BI_EBUSY when the lease was lost; BI_ECONFLICT when this batch had already
 * committed (a stale twin of this worker did it); or BI_EUNAVAIL / BI_EINTERNAL. In the last
 * four cases the caller must roll back. Run inside the batch's transaction. */
int db_tasks_record_batch(db_conn *conn, const char *task_id, int64_t lease,
                          const db_result *results, size_t n, bool *out_cancel);

/* Records results[0..n) (their line is ignored: stored as NULL) as prune batch number
 * (1, 2, ...) of task, counted in pruned only, if the task still holds lease. Returns as
 * db_tasks_record_batch. Run inside the batch's transaction. */
int db_tasks_record_prune(db_conn *conn, const char *task_id, int64_t lease, int64_t number,
                          const db_result *results, size_t n, bool *out_cancel);

/* How many prune batches of task have committed (a resumed prune goes on numbering). */
int db_tasks_prune_batches(db_conn *conn, const char *task_id, int64_t *out_n);

/* Sets the phase of task (held with lease). Returns 0 or BI_EBUSY when the lease was lost. */
int db_tasks_set_phase(db_conn *conn, const char *task_id, int64_t lease,
                       enum db_task_phase phase);

/* Moves task's checkpoint to checkpoint (every batch up to that line has committed) if the
 * task still holds lease. Returns 0 and whether a cancel was requested, or BI_EBUSY. */
int db_tasks_checkpoint(db_conn *conn, const char *task_id, int64_t lease, int64_t checkpoint,
                        bool *out_cancel);

/* The first lines of task's committed batches after line after, ascending, in *out (malloc'd,
 * *out_n of them): what a resumed task must not run again. */
int db_tasks_committed(db_conn *conn, const char *task_id, int64_t after, int64_t **out,
                       size_t *out_n);

/* Bounds the open transaction's statements and idle time to ms, so that PostgreSQL ends the
 * session of a frozen node and releases its locks before its tasks are rescued. */
int db_tasks_batch_timeouts(db_conn *conn, int ms);

/* Marks the tasks (ids[i] held with leases[i]) alive. */
int db_tasks_heartbeat(db_conn *conn, const char *const *ids, const int64_t *leases, size_t n);

/* Returns every STARTED task silent for more than silent_ms to PENDING (keeping its checkpoint)
 * and wakes the nodes. *out_n gets how many. */
int db_tasks_rescue(db_conn *conn, int silent_ms, long *out_n);

/* Hands task (held with lease) back to PENDING for any node, e.g. at shutdown. */
int db_tasks_release(db_conn *conn, const char *task_id, int64_t lease);

/* Deletes up to limit tasks (with their lines and results) finished more than days ago.
 * *out_n gets how many. */
int db_tasks_purge(db_conn *conn, int days, long limit, long *out_n);

/* Cancels task id for caller: a PENDING task becomes REVOKED now, a STARTED one is asked to stop
 * at its next batch boundary. Returns 0, BI_ENOTFOUND (unknown or not the caller's), or
 * BI_ECONFLICT when it already finished. */
int db_tasks_cancel(db_conn *conn, const char *task_id, const db_user *caller);

/* Puts a REVOKED or FAILURE task of caller back to PENDING; it continues from its checkpoint.
 * Returns 0, BI_ENOTFOUND, or BI_ECONFLICT when it is in another state. */
int db_tasks_resume(db_conn *conn, const char *task_id, const db_user *caller);

/* Ends a task held with lease in state (SUCCESS, FAILURE or REVOKED; error NULL or why). */
int db_tasks_finish(db_conn *conn, const char *task_id, int64_t lease, enum db_task_state state,
                    const char *error);

/* ---- reading ---- */

/* Finds task id as seen by caller: another user's task is BI_ENOTFOUND unless caller is root. */
int db_tasks_get(db_conn *conn, const char *task_id, const db_user *caller, db_task *out);

/* Which tasks a list shows; each member filters when set (NULL or 0 match all). */
typedef struct db_task_filter {
    const char *username, *queue;
    const char *const *states; /* task state names (checked by the caller), n_states of them */
    size_t n_states;
    const char *q;             /* a piece of the task id, any case */
    /* ISO 8601 dates or times (checked by the caller), or NULL */
    const char *started_after, *created_after, *created_before, *finished_after, *finished_before;
} db_task_filter;

/* A page of tasks, newest first: each(task, ctx) per task (task is borrowed for the call; a
 * non-zero return stops the page and is returned), with the number of all matching tasks in
 * *out_total. The page is read whole before the first call, so each may use conn. */
typedef int (*db_task_fn)(const db_task *task, void *ctx);
int db_tasks_list(db_conn *conn, const db_task_filter *filter, long limit, long offset,
                  db_task_fn each, void *ctx, long *out_total);

/* A queue with tasks waiting or running, as db_tasks_queues gives it (valid during the call). */
typedef struct db_queue {
    const char *username, *queue;
    bool named;
    long pending, started;
    double oldest_pending_s;                /* -1: none waits */
    const char *running_json, *next_json;   /* JSON arrays of task ids: the running (oldest
                                               first) and the next five to run */
} db_queue;
typedef void (*db_queue_fn)(const db_queue *q, void *ctx);

/* Each queue of username (NULL: everyone's) with a task PENDING or STARTED. */
int db_tasks_queues(db_conn *conn, const char *username, db_queue_fn each, void *ctx);

/* Each (state, queue) of the cluster's tasks with their count and, for PENDING, the oldest
 * one's age in seconds (else -1), for the metrics. */
typedef void (*db_gauge_fn)(const char *state, const char *queue, long count, double oldest_s,
                            void *ctx);
int db_tasks_gauges(db_conn *conn, db_gauge_fn each, void *ctx);

/* The summary's parts: each (action, status, count) group in first-seen order. */
typedef void (*db_group_fn)(const char *action, int status, int64_t count, void *ctx);
int db_results_groups(db_conn *conn, const char *task_id, db_group_fn each, void *ctx);

/* Streams a task's results grouped by root, then action, then status (each in first-seen order),
 * then line: each(root, action, status, result_json, line_text, ctx) per row, in bounded
 * memory. result_json is OCL's result object. A negative return of each stops the stream. */
typedef int (*db_result_fn)(const char *root, const char *action, int status, const char *json,
                            const char *text, void *ctx);
int db_results_stream(db_conn *conn, const char *task_id, db_result_fn each, void *ctx);

/* Streams each line's result as one compact JSON object (line, root, action_type,
 * status_code, obj_type, obj_url, obj_repo_url, obj_owner_url, message, error_code, text), in
 * line order. A non-zero return of each stops the stream and is returned. */
typedef int (*db_json_fn)(const char *json, size_t len, void *ctx);
int db_results_by_line(db_conn *conn, const char *task_id, db_json_fn each, void *ctx);

/* One line of a task with its result, as db_results_lines gives it (valid during the call). */
typedef struct db_line {
    long line_no;
    const char *code, *message; /* its result's error code and message; NULL: no result */
    const char *text;           /* the line as submitted (len bytes); NULL: the upload kept none */
    size_t len;
    const char *upload_error;   /* why the upload kept no text (invalid_utf8, ...), or NULL */
} db_line;
typedef int (*db_line_fn)(const db_line *line, void *ctx);

/* Streams, in line order, each line whose result failed (status >= 400) or, when unprocessed,
 * each line without a result (what a cancelled or failed task never reached). A non-zero
 * return of each stops the stream and is returned. */
int db_results_lines(db_conn *conn, const char *task_id, bool unprocessed, db_line_fn each,
                     void *ctx);

#endif
