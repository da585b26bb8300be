/* task_detail.h — what a page about one task reads besides the task itself: its per-line
 * results a page at a time, filtered; when each of its batches committed; its webhook
 * deliveries. The caller has already checked that it may see the task (db_tasks_get).
 */
#ifndef BI_DB_TASK_DETAIL_H
#define BI_DB_TASK_DETAIL_H

#include "tasks.h"

/* Which results a page holds: NULL strings and the widest ranges match all. */
typedef struct db_results_filter {
    const char *action;         /* NEW, UPDATE, DELETE, ... */
    const char *type;           /* the result's obj_type: Concept, Mapping, ... */
    int status_min, status_max; /* status codes, 0 being a skip */
    long line_from, line_to;    /* line numbers, both included */
} db_results_filter;

/* The filter that matches every result. */
db_results_filter db_results_filter_all(void);

#define DB_RESULTS_PAGE_TEXT_MAX "65536" /* bytes of a line's text a results page shows */

/* One page of the task's results that match filter, in line order: limit from offset. Sets
 * *out_total to how many match in all and *out_json to a JSON array of result objects (as
 * db_results_by_line makes them, each with its line's text, null beyond
 * DB_RESULTS_PAGE_TEXT_MAX bytes, and text_bytes, its length); the caller frees it. */
int db_task_results_page(db_conn *conn, const char *task_id, const db_results_filter *filter,
                         long limit, long offset, long *out_total, char **out_json);

/* Streams one JSON object per committed batch, in commit order: first_line, processed,
 * created, updated, deleted, skipped, failed, began_at, recorded_at (ISO 8601; null for
 * batches committed before migration 0014). A non-zero return of each stops the stream and is
 * returned. */
int db_task_batches(db_conn *conn, const char *task_id, db_json_fn each, void *ctx);

/* The task's webhook deliveries, oldest first, as a JSON array of objects (id, url, attempts,
 * last_status, last_error, created_at, due_at, delivered_at, gave_up_at); the caller frees
 * *out_json. */
int db_task_deliveries(db_conn *conn, const char *task_id, char **out_json);

#endif
