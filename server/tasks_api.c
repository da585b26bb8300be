#include "tasks_api.h"

#include "error.h"
#include "imports_api.h"
#include "log.h"
#include "pool.h"
#include "task_query.h"
#include "utf8.h"

#include <civetweb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TASKS_LIMIT_DEFAULT 25
#define TASKS_LIMIT_MAX 1000

/* oclapi2 reads these on a task's GET too, and so may its clients. */
static const char *const tasks_get_params[] = {"verbose", NULL};

/* Appends printf-style text to out (out_len bytes) at *at, never past its end. */
static void tasks_append(char *out, size_t out_len, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void tasks_append(char *out, size_t out_len, size_t *at, const char *fmt, ...) {
    if (*at >= out_len - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + *at, out_len - *at, fmt, ap);
    va_end(ap);
    if (n > 0)
        *at = *at + (size_t)n < out_len - 1 ? *at + (size_t)n : out_len - 1;
}

/* The URL of this list at page (relative when the Host header is odd; cut at out_len). */
static void tasks_page_url(http_req *req, long page, char *out, size_t out_len) {
    const struct mg_request_info *info = mg_get_request_info(req->conn);
    const char *host = mg_get_header(req->conn, "Host");
    bool sane = host != NULL && strlen(host) < 256 &&
                strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") ==
                    strlen(host);
    size_t at = 0;
    out[0] = '\0';
    if (sane)
        tasks_append(out, out_len, &at, "%s://%s", info->is_ssl ? "https" : "http", host);
    tasks_append(out, out_len, &at, "%s?", info->local_uri_raw ? info->local_uri_raw : info->local_uri);
    for (const char *p = info->query_string; p != NULL && *p != '\0';) { /* all but page */
        size_t len = strcspn(p, "&");
        if (strncmp(p, "page=", 5) != 0 && len > 0)
            tasks_append(out, out_len, &at, "%.*s&", (int)len, p);
        p += len + (p[len] == '&');
    }
    tasks_append(out, out_len, &at, "page=%ld", page);
}

typedef struct tasks_page {
    http_req *req;
    long page;
} tasks_page;

void tasks_api_page_headers(http_req *req, long page, long total, long limit, long offset,
                            char *out, size_t out_len) {
    long pages = (total + limit - 1) / limit;
    long returned = total - offset < 0 ? 0 : total - offset < limit ? total - offset : limit;
    size_t at = 0;
    tasks_append(out, out_len, &at, "num_found: %ld\r\nnum_returned: %ld\r\npages: %ld\r\n"
                                    "page_number: %ld\r\n",
                 total, returned, pages, page);
    char url[1400];
    if (page < pages) {
        tasks_page_url(req, page + 1, url, sizeof url);
        tasks_append(out, out_len, &at, "next: %s\r\n", url);
    }
    if (page > 1) {
        tasks_page_url(req, page - 1, url, sizeof url);
        tasks_append(out, out_len, &at, "previous: %s\r\n", url);
    }
}

/* tasks_api_page_headers as a list's header callback. */
static void tasks_page_headers(long total, long limit, long offset, void *ctx, char *out,
                               size_t out_len) {
    tasks_page *tp = ctx;
    tasks_api_page_headers(tp->req, tp->page, total, limit, offset, out, out_len);
}

/* Answers a page of username's tasks (NULL: everyone's). */
static int tasks_send_list(http_req *req, const char *username) {
    static const char *const extra[] = {"queue", NULL};
    task_query tq;
    if (task_query_read(req, extra, TASKS_LIMIT_DEFAULT, TASKS_LIMIT_MAX, &tq) < 0)
        return 0;
    char queue[DB_USERNAME_MAX + 1];
    int got = http_query_text(req, "queue", queue, sizeof queue);
    if (got < 0)
        return 0;
    tq.filter.username = username;
    tq.filter.queue = got > 0 ? queue : NULL;
    tasks_page tp = {req, tq.page};
    return imports_api_send_list(req, &tq.filter, tq.limit, tq.offset, tasks_page_headers, &tp);
}

bool tasks_api_id_is_possible(const http_req *req) {
    size_t len = strlen(req->params[0]);
    return utf8_invalid_at(req->params[0], len) == len;
}

int tasks_api_list(http_req *req) {
    return tasks_send_list(req, req->user.is_root ? NULL : req->user.username);
}

int tasks_api_list_user(http_req *req) {
    const char *username = req->params[0];
    if (!tasks_api_id_is_possible(req) || (!req->user.is_root && strcmp(username, req->user.username) != 0))
        return http_send_error(req, BI_ENOTFOUND, "user %.64s not found", username);
    return tasks_send_list(req, username);
}

int tasks_api_get(http_req *req) {
    if (http_query_only(req, tasks_get_params) < 0)
        return 0;
    if (!tasks_api_id_is_possible(req))
        return http_send_error(req, BI_ENOTFOUND, "No Task matches the given query.");
    db_conn *conn;
    int err = db_pool_acquire(req->app->pool, HTTP_DB_WAIT_MS, &conn);
    if (err < 0)
        return err;
    db_task t;
    err = db_tasks_get(conn, req->params[0], &req->user, &t);
    if (err == 0)
        err = imports_api_send_task(req, conn, &t);
    db_pool_release(req->app->pool, conn);
    if (err == BI_ENOTFOUND)
        return http_send_error(req, err, "No Task matches the given query.");
    return err;
}

int tasks_api_delete(http_req *req) {
    if (!tasks_api_id_is_possible(req))
        return http_send_error(req, BI_ENOTFOUND, "No Task matches the given query.");
    db_conn *conn;
    int err = db_pool_acquire(req->app->pool, HTTP_DB_WAIT_MS, &conn);
    if (err < 0)
        return err;
    err = db_tasks_cancel(conn, req->params[0], &req->user);
    db_pool_release(req->app->pool, conn);
    if (err == BI_ENOTFOUND)
        return http_send_error(req, err, "No Task matches the given query.");
    if (err == BI_ECONFLICT)
        return http_send_error(req, BI_EINVAL, "Task is already finished.");
    if (err < 0)
        return err;
    log_info("task %s: cancelled by %s", req->params[0], req->user.username);
    imports_api_audit_task(req, "task.cancel", req->params[0]);
    return http_send_no_content(req);
}
