/* summary.h — OCL's one-line result summary (OCL.md "Results"), built from the (action,
 * status, count) groups of a task's results in first-seen order:
 *   Processed 348 of 348 -- 346 NEW (200:39, 201:307); 1 UPDATE (200:1); 1 DELETE (204:1) in 94.11 secs
 * summary_format is pure; summary_of_task reads the stored groups.
 */
#ifndef BI_IMPORTER_SUMMARY_H
#define BI_IMPORTER_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SUMMARY_MAX_CODES 16 /* status codes kept per action */
#define SUMMARY_TEXT_MAX 2048

typedef struct summary {
    char actions[SUMMARY_TEXT_MAX]; /* "<n> <ACTION> (<code>:<n>, ...)" joined by "; " */
    size_t len;
    char action[16]; /* the action being gathered */
    int n_codes;
    int codes[SUMMARY_MAX_CODES];
    int64_t counts[SUMMARY_MAX_CODES];
    int64_t skipped; /* results whose action is SKIP */
} summary;

/* Starts an empty summary. */
void summary_init(summary *s);

/* Adds the group (action, status, count); status 0 is OCL's "skip". Groups of one action must
 * come together. */
void summary_add(summary *s, const char *action, int status, int64_t count);

/* Writes the line to out: elapsed seconds with two decimals (pass 0 for a task that never
 * started). Returns its length (truncated to out_len - 1). */
size_t summary_format(summary *s, int64_t processed, int64_t total, double elapsed, char *out,
                      size_t out_len);

typedef struct db_conn db_conn;
typedef struct db_task db_task;

/* Formats finished task t's summary line from its stored results into out (at least
 * SUMMARY_TEXT_MAX + 128 bytes). Returns its length, or a BI_E* (< 0) from the database. */
long summary_of_task(db_conn *conn, const db_task *t, char *out, size_t cap);

/* The name oclapi2 gives a parallel import task; tasks here carry it so oclapi2's clients
 * (its q= filter searches names) see ours as theirs. */
#define SUMMARY_TASK_NAME "core.common.tasks.bulk_import_parallel_inline"

/* Task t as JSON, the one shape every answer, webhook and event uses (README "OCL
 * compatibility"): oclapi2's task fields — id, task, state, name, queue, username, created_at,
 * started_at, finished_at (ISO 8601 UTC or null), runtime and duration (seconds or null),
 * wait_seconds (how long it queued), ahead (a PENDING task: how many run before it in its
 * queue; else null), summary (the
 * progress object, zeros while PENDING), children ([]), message (the one-line text summary of
 * a finished task, or null), error_message and exception (why it failed, or null) — beside the
 * legacy ones ocldev reads: status and progress (the same object as summary), and feed for a
 * feed's run. The progress object: total, processed, created, updated, deleted, skipped,
 * failed, pruned, phase ("fetch", "import" or "prune"), lines_per_second and eta_seconds (0
 * and null unless STARTED).
 * No count is ever a top-level member (oclweb3 reads top-level "failed" as a time).
 * Returns a new object; the caller frees it (cJSON_Delete). */
typedef struct cJSON cJSON;
cJSON *summary_task_json(const db_task *t, const char *message);

/* summary_task_json of t with its message read from its stored results once it has finished
 * (a PENDING or STARTED task has none), "counts" (its results so far by action and status:
 * [{"action":"NEW","status":201,"count":307}, ...], status 0 for a skip), its children (the tasks its Import lines queued) and
 * its parent, when it has one. Returns 0 and a new object in *out (cJSON_Delete it),
 * or a BI_E* from the database with nothing in *out. */
int summary_task_json_read(db_conn *conn, const db_task *t, cJSON **out);

#endif
