#include "task_detail.h"

#include "error.h"
#include "pgconn.h"
#include "results_sql.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* The page is cut from the filtered rows before any line's text is read, so a page costs one
 * pass over the task's results and a chunk read per row shown; a line's text longer than
 * DB_RESULTS_PAGE_TEXT_MAX bytes is left out (its length stays), so a page stays small. */
static const db_stmt stmt_results_page = {
    "task_detail_results_page",
    "WITH f AS (SELECT * FROM import_results r WHERE r.task_id = $1"
    " AND ($2::text IS NULL OR r.action = $2) AND ($3::text IS NULL OR r.obj_type = $3)"
    " AND r.status BETWEEN $4::integer AND $5::integer"
    " AND r.line_no BETWEEN $6::bigint AND $7::bigint),"
    " p AS (SELECT * FROM f ORDER BY line_no LIMIT $8::bigint OFFSET $9::bigint)"
    " SELECT (SELECT count(*) FROM f)::text, coalesce((SELECT json_agg(" RESULT_LINE_OBJECT("p")
    " || jsonb_build_object('text_bytes', l.bytes) ORDER BY p.line_no) FROM p"
    RESULT_LINE_OF("p", "CASE WHEN " CHUNK_LINE_BYTES " <= " DB_RESULTS_PAGE_TEXT_MAX " THEN "
                   CHUNK_LINE_TEXT " END AS text, " CHUNK_LINE_BYTES " AS bytes") "), '[]')::text",
    9};

static const db_stmt stmt_batches = {
    "task_detail_batches",
    "SELECT json_build_object('first_line', first_line, 'processed', processed, 'created',"
    " created, 'updated', updated, 'deleted', deleted, 'skipped', skipped, 'failed', failed,"
    " 'began_at', ocl_time(began_at), 'recorded_at', ocl_time(recorded_at))::text"
    " FROM import_batches WHERE task_id = $1 ORDER BY recorded_at NULLS FIRST, first_line",
    1};

static const db_stmt stmt_deliveries = {
    "task_detail_deliveries",
    "SELECT coalesce(json_agg(json_build_object('id', id, 'url', url, 'attempts', attempts,"
    " 'last_status', last_status, 'last_error', last_error, 'created_at', ocl_time(created_at),"
    " 'due_at', ocl_time(due_at), 'delivered_at', ocl_time(delivered_at), 'gave_up_at',"
    " ocl_time(gave_up_at)) ORDER BY id), '[]')::text FROM webhook_deliveries WHERE task_id = $1",
    1};

db_results_filter db_results_filter_all(void) {
    return (db_results_filter){NULL, NULL, INT_MIN, INT_MAX, 0, LONG_MAX};
}

int db_task_results_page(db_conn *conn, const char *task_id, const db_results_filter *filter,
                         long limit, long offset, long *out_total, char **out_json) {
    db_int status_min = db_int_text(filter->status_min), status_max = db_int_text(filter->status_max);
    db_int from = db_int_text(filter->line_from), to = db_int_text(filter->line_to);
    db_int lim = db_int_text(limit), off = db_int_text(offset);
    const char *values[] = {task_id,     filter->action, filter->type, status_min.s, status_max.s,
                            from.s,      to.s,           lim.s,        off.s};
    PGresult *res;
    int err = db_exec_row(conn, &stmt_results_page, values, &res);
    if (err < 0)
        return err;
    *out_total = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    *out_json = strdup(PQgetvalue(res, 0, 1));
    PQclear(res);
    return *out_json != NULL ? 0 : BI_EINTERNAL;
}

typedef struct batches_walk {
    db_json_fn each;
    void *ctx;
} batches_walk;

static int db_task_batch_row(const PGresult *res, void *ctx) {
    batches_walk *w = ctx;
    return w->each(PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0), w->ctx);
}

int db_task_batches(db_conn *conn, const char *task_id, db_json_fn each, void *ctx) {
    const char *values[] = {task_id};
    batches_walk w = {each, ctx};
    return db_exec_stream(conn, &stmt_batches, values, db_task_batch_row, &w);
}

int db_task_deliveries(db_conn *conn, const char *task_id, char **out_json) {
    const char *values[] = {task_id};
    PGresult *res;
    int err = db_exec_row(conn, &stmt_deliveries, values, &res);
    if (err < 0)
        return err;
    *out_json = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return *out_json != NULL ? 0 : BI_EINTERNAL;
}
