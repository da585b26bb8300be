#include "tasks_api.h"

#include "error.h"
#include "imports_api.h"
#include "log.h"
#include "pool.h"
#include "utf8.h"

#include <civetweb.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TASKS_LIMIT_DEFAULT 25
#define TASKS_LIMIT_MAX 1000
#define TASKS_STATES_MAX 9

static const char *const tasks_params[] = {"q", "state", "start_date", "page", "limit", "verbose",
                                           NULL};

/* Celery's states, as oclapi2 filters by them; this server's tasks are in the first five. */
static const char *const tasks_state_names[TASKS_STATES_MAX] = {
    "PENDING", "STARTED", "SUCCESS", "FAILURE", "REVOKED",
    "RECEIVED", "RETRY", "REJECTED", "IGNORED"};

/* Whether y-m-d is a day of the calendar and h:mi a time of day. */
static bool tasks_is_real_time(int y, int m, int d, int h, int mi, int sec) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= days[m - 1] + (m == 2 && leap) &&
           h < 24 && mi < 60 && sec < 60;
}

/* Whether text is an ISO 8601 date, or date and time ("2026-12-01", "2026-12-01T10:00",
 * "2026-12-01 10:00:00.5Z", "2026-12-01T10:00:00+02:00"), and a real one. */
static bool tasks_is_iso_time(const char *text) {
    const char *shape = "dddd-dd-dd";
    const char *p = text;
    for (const char *c = shape; *c; c++, p++)
        if (*c == 'd' ? !isdigit((unsigned char)*p) : *p != *c)
            return false;
    int y = atoi(text), m = atoi(text + 5), d = atoi(text + 8), h = 0, mi = 0, sec = 0;
    if (*p == '\0')
        return tasks_is_real_time(y, m, d, 0, 0, 0);
    if (*p != 'T' && *p != ' ')
        return false;
    p++;
    h = atoi(p);
    mi = atoi(p + 3);
    for (const char *c = "dd:dd"; *c; c++, p++)
        if (*c == 'd' ? !isdigit((unsigned char)*p) : *p != *c)
            return false;
    if (*p == ':') {
        if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]))
            return false;
        sec = atoi(p + 1);
        p += 3;
        if (*p == '.') {
            if (!isdigit((unsigned char)*++p))
                return false;
            while (isdigit((unsigned char)*p))
                p++;
        }
    }
    if (!tasks_is_real_time(y, m, d, h, mi, sec))
        return false;
    if (*p == 'Z')
        return p[1] == '\0';
    if (*p == '+' || *p == '-')
        return isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) && p[3] == ':' &&
               isdigit((unsigned char)p[4]) && isdigit((unsigned char)p[5]) && p[6] == '\0' &&
               atoi(p + 1) < 24 && atoi(p + 4) < 60;
    return *p == '\0';
}

/* A list's query: its filter (borrowing from the buffers here), page and limit. */
typedef struct tasks_query {
    char q[256], state[128], start_date[64];
    const char *states[TASKS_STATES_MAX];
    long page, limit;
    db_task_filter filter;
} tasks_query;

/* Reads the list parameters into *tq; answers 400 itself (BI_EINVAL). */
static int tasks_read_query(http_req *req, tasks_query *tq) {
    if (http_query_only(req, tasks_params) < 0)
        return BI_EINVAL;
    memset(tq, 0, sizeof *tq);
    tq->page = 1;
    tq->limit = TASKS_LIMIT_DEFAULT;
    char why[128];
    if (http_query_long(req, "page", 1, 1L << 40, &tq->page, why, sizeof why) < 0 ||
        http_query_long(req, "limit", 1, TASKS_LIMIT_MAX, &tq->limit, why, sizeof why) < 0) {
        http_send_error(req, BI_EINVAL, "%s", why);
        return BI_EINVAL;
    }
    char flag[16];
    int got;
    if ((got = http_query_text(req, "verbose", flag, sizeof flag)) < 0)
        return BI_EINVAL;
    if (got > 0 && strcasecmp(flag, "true") != 0 &&
        strcasecmp(flag, "false") != 0 && strcmp(flag, "1") != 0 && strcmp(flag, "0") != 0) {
        http_send_error(req, BI_EINVAL, "verbose must be true or false");
        return BI_EINVAL;
    }
    if ((got = http_query_text(req, "q", tq->q, sizeof tq->q)) < 0)
        return BI_EINVAL;
    if (got > 0) {
        if (utf8_invalid_at(tq->q, strlen(tq->q)) != strlen(tq->q)) {
            http_send_error(req, BI_EINVAL, "q must be UTF-8 text");
            return BI_EINVAL;
        }
        tq->filter.q = tq->q;
    }
    if ((got = http_query_text(req, "start_date", tq->start_date, sizeof tq->start_date)) < 0)
        return BI_EINVAL;
    if (got > 0) {
        if (!tasks_is_iso_time(tq->start_date)) {
            http_send_error(req, BI_EINVAL, "start_date must be an ISO 8601 date or time");
            return BI_EINVAL;
        }
        tq->filter.started_after = tq->start_date;
    }
    if ((got = http_query_text(req, "state", tq->state, sizeof tq->state)) < 0)
        return BI_EINVAL;
    if (got > 0) {
        char *save = NULL;
        for (char *name = strtok_r(tq->state, ",", &save); name != NULL;
             name = strtok_r(NULL, ",", &save)) {
            bool known = false;
            for (size_t i = 0; i < TASKS_STATES_MAX && !known; i++)
                known = strcmp(name, tasks_state_names[i]) == 0;
            if (!known || tq->filter.n_states == TASKS_STATES_MAX) {
                http_send_error(req, BI_EINVAL, "state must be a comma-separated list of PENDING, "
                                                "STARTED, SUCCESS, FAILURE, REVOKED, ...");
                return BI_EINVAL;
            }
            tq->states[tq->filter.n_states++] = name;
        }
        tq->filter.states = tq->states;
    }
    return 0;
}

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

/* oclapi2's paging headers (core/common/mixins.py). */
static void tasks_page_headers(long total, long limit, long offset, void *ctx, char *out,
                               size_t out_len) {
    tasks_page *tp = ctx;
    long pages = (total + limit - 1) / limit;
    long returned = total - offset < 0 ? 0 : total - offset < limit ? total - offset : limit;
    size_t at = 0;
    tasks_append(out, out_len, &at, "num_found: %ld\r\nnum_returned: %ld\r\npages: %ld\r\n"
                                    "page_number: %ld\r\n",
                 total, returned, pages, tp->page);
    char url[1400];
    if (tp->page < pages) {
        tasks_page_url(tp->req, tp->page + 1, url, sizeof url);
        tasks_append(out, out_len, &at, "next: %s\r\n", url);
    }
    if (tp->page > 1) {
        tasks_page_url(tp->req, tp->page - 1, url, sizeof url);
        tasks_append(out, out_len, &at, "previous: %s\r\n", url);
    }
}

/* Answers a page of username's tasks (NULL: everyone's). */
static int tasks_send_list(http_req *req, const char *username) {
    tasks_query tq;
    if (tasks_read_query(req, &tq) < 0)
        return 0;
    tq.filter.username = username;
    tasks_page tp = {req, tq.page};
    return imports_api_send_list(req, &tq.filter, tq.limit, (tq.page - 1) * tq.limit,
                                 tasks_page_headers, &tp);
}

/* Whether the path's id (a task's or a user's) can name anything (UTF-8, as ids are): else
 * 404, never a database error. */
static bool tasks_id_is_possible(const http_req *req) {
    size_t len = strlen(req->params[0]);
    return utf8_invalid_at(req->params[0], len) == len;
}

int tasks_api_list(http_req *req) {
    return tasks_send_list(req, req->user.is_root ? NULL : req->user.username);
}

int tasks_api_list_user(http_req *req) {
    const char *username = req->params[0];
    if (!tasks_id_is_possible(req) || (!req->user.is_root && strcmp(username, req->user.username) != 0))
        return http_send_error(req, BI_ENOTFOUND, "user %.64s not found", username);
    return tasks_send_list(req, username);
}

int tasks_api_get(http_req *req) {
    if (http_query_only(req, tasks_params) < 0)
        return 0;
    if (!tasks_id_is_possible(req))
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
    if (!tasks_id_is_possible(req))
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
    return http_send_no_content(req);
}
