#include "task_detail_api.h"

#include "error.h"
#include "log.h"
#include "pool.h"
#include "task_detail.h"
#include "tasks_api.h"

#include <civetweb.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESULTS_LIMIT_DEFAULT 50
#define RESULTS_LIMIT_MAX 200

/* Takes a pooled connection and checks that the caller may see the path's task. Returns 0 with
 * *out_conn to release, or answers itself (404, 503) and returns the error. */
static int task_detail_open(http_req *req, db_conn **out_conn) {
    db_conn *conn;
    int err = db_pool_acquire(req->app->pool, HTTP_DB_WAIT_MS, &conn);
    if (err < 0) {
        http_send_error(req, err, NULL);
        return err;
    }
    db_task t;
    err = tasks_api_id_is_possible(req) && strlen(req->params[0]) < DB_TASK_ID_MAX
              ? db_tasks_get(conn, req->params[0], &req->user, &t)
              : BI_ENOTFOUND;
    if (err < 0) {
        db_pool_release(req->app->pool, conn);
        if (err == BI_ENOTFOUND)
            http_send_error(req, err, "No Task matches the given query.");
        else
            http_send_error(req, err, NULL);
        return err;
    }
    *out_conn = conn;
    return 0;
}

/* Reads ?status= (failed, succeeded, skipped, or a status code) into the filter's range.
 * Returns 0, or answers 400 and returns BI_EINVAL. */
static int task_detail_status(http_req *req, db_results_filter *f) {
    char status[16];
    int got = http_query_text(req, "status", status, sizeof status);
    if (got <= 0)
        return got;
    char *end;
    long code = strtol(status, &end, 10);
    if (strcmp(status, "failed") == 0) {
        f->status_min = 400, f->status_max = INT_MAX;
    } else if (strcmp(status, "succeeded") == 0) {
        f->status_min = 1, f->status_max = 399;
    } else if (strcmp(status, "skipped") == 0) {
        f->status_min = f->status_max = 0;
    } else if (end != status && *end == '\0' && code >= 100 && code <= 599) {
        f->status_min = f->status_max = (int)code;
    } else {
        http_send_error(req, BI_EINVAL, "status must be failed, succeeded, skipped or a status code");
        return BI_EINVAL;
    }
    return 0;
}

int task_detail_api_results(http_req *req) {
    static const char *const params[] = {"action", "type", "status", "from", "to", "page", "limit",
                                         NULL};
    if (http_query_only(req, params) < 0)
        return 0;
    db_results_filter f = db_results_filter_all();
    char action[32], type[64];
    int got_action = http_query_text(req, "action", action, sizeof action);
    int got_type = got_action < 0 ? -1 : http_query_text(req, "type", type, sizeof type);
    if (got_type < 0)
        return 0;
    f.action = got_action > 0 ? action : NULL;
    f.type = got_type > 0 ? type : NULL;
    long page = 1, limit = RESULTS_LIMIT_DEFAULT;
    if (task_detail_status(req, &f) < 0)
        return 0;
    char why[128];
    if (http_query_long(req, "from", 0, LONG_MAX, &f.line_from, why, sizeof why) < 0 ||
        http_query_long(req, "to", 0, LONG_MAX, &f.line_to, why, sizeof why) < 0 ||
        http_query_long(req, "page", 1, LONG_MAX / RESULTS_LIMIT_MAX, &page, why, sizeof why) < 0 ||
        http_query_long(req, "limit", 1, RESULTS_LIMIT_MAX, &limit, why, sizeof why) < 0)
        return http_send_error(req, BI_EINVAL, "%s", why);
    db_conn *conn;
    if (task_detail_open(req, &conn) < 0)
        return 0;
    long total = 0, offset = (page - 1) * limit;
    char *json = NULL;
    int err = db_task_results_page(conn, req->params[0], &f, limit, offset, &total, &json);
    db_pool_release(req->app->pool, conn);
    if (err < 0)
        return err;
    char headers[4096];
    tasks_api_page_headers(req, page, total, limit, offset, headers, sizeof headers);
    http_send_json_text(req, 200, headers, json, strlen(json));
    free(json);
    return 0;
}

typedef struct batches_out {
    http_stream *stream;
    bool first;
} batches_out;

static int task_detail_batch(const char *json, size_t len, void *ctx) {
    batches_out *out = ctx;
    int err = http_stream_write(out->stream, out->first ? "[" : ",", 1);
    out->first = false;
    return err < 0 ? err : http_stream_write(out->stream, json, len);
}

int task_detail_api_batches(http_req *req) {
    if (http_query_only(req, (const char *const[]){NULL}) < 0)
        return 0;
    db_conn *conn;
    if (task_detail_open(req, &conn) < 0)
        return 0;
    batches_out out = {http_stream_begin(req, 200, "application/json"), true};
    int err = db_task_batches(conn, req->params[0], task_detail_batch, &out);
    db_pool_release(req->app->pool, conn);
    if (err == 0)
        err = out.first ? http_stream_write(out.stream, "[]", 2) : http_stream_write(out.stream, "]", 1);
    else
        log_error("task %s: the batch list broke off: %s", req->params[0], error_message(err));
    http_stream_end(out.stream, err);
    return 0;
}

int task_detail_api_deliveries(http_req *req) {
    if (http_query_only(req, (const char *const[]){NULL}) < 0)
        return 0;
    db_conn *conn;
    if (task_detail_open(req, &conn) < 0)
        return 0;
    char *json = NULL;
    int err = db_task_deliveries(conn, req->params[0], &json);
    db_pool_release(req->app->pool, conn);
    if (err < 0)
        return err;
    http_send_json_text(req, 200, NULL, json, strlen(json));
    free(json);
    return 0;
}
