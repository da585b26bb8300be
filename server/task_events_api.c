#include "task_events_api.h"

#include "events.h"
#include "imports_api.h"
#include "pool.h"
#include "summary.h"
#include "tasks.h"

#include <cjson/cJSON.h>
#include <civetweb.h>
#include <stdlib.h>
#include <string.h>

#define ACTIVE_MAX 200

typedef struct active_set {
    char (*ids)[DB_TASK_ID_MAX];
    size_t n;
    cJSON *tasks;
} active_set;

static int task_events_add(const db_task *t, void *ctx) {
    active_set *set = ctx;
    if (set->n < ACTIVE_MAX)
        memcpy(set->ids[set->n++], t->id, DB_TASK_ID_MAX);
    cJSON_AddItemToArray(set->tasks, summary_task_json(t, NULL));
    return 0;
}

/* Reads the caller's running tasks into *set (ids and JSON). Returns 0 or the error. */
static int task_events_read(http_req *req, active_set *set) {
    static const char *const running[] = {"PENDING", "STARTED"};
    db_task_filter filter = {.username = req->user.is_root ? NULL : req->user.username,
                             .states = running, .n_states = 2};
    db_conn *conn;
    int err = db_pool_acquire(req->app->pool, HTTP_DB_WAIT_MS, &conn);
    if (err < 0)
        return err;
    set->n = 0;
    set->tasks = cJSON_CreateArray();
    long total;
    err = db_tasks_list(conn, &filter, ACTIVE_MAX, 0, task_events_add, set, &total);
    db_pool_release(req->app->pool, conn);
    return err;
}

/* Sends one event. Returns whether the client still listens. */
static bool task_events_send(http_req *req, const char *event, cJSON *data) {
    char *text = cJSON_PrintUnformatted(data);
    int sent = text == NULL ? 0 : mg_printf(req->conn, "event: %s\ndata: %s\n\n", event, text);
    http_sent(req, 0, sent > 0 ? (size_t)sent : 0);
    free(text);
    return sent > 0;
}

/* Sends "ended" for each id of before that is not in now. Returns whether the client listens. */
static bool task_events_send_ended(http_req *req, const active_set *before, const active_set *now) {
    for (size_t i = 0; i < before->n; i++) {
        bool still = false;
        for (size_t j = 0; j < now->n && !still; j++)
            still = strcmp(before->ids[i], now->ids[j]) == 0;
        if (still)
            continue;
        cJSON *data = cJSON_CreateObject();
        cJSON_AddStringToObject(data, "id", before->ids[i]);
        bool ok = task_events_send(req, "ended", data);
        cJSON_Delete(data);
        if (!ok)
            return false;
    }
    return true;
}

static void task_events_follow(http_req *req) {
    active_set sets[2] = {{calloc(ACTIVE_MAX, DB_TASK_ID_MAX), 0, NULL},
                          {calloc(ACTIVE_MAX, DB_TASK_ID_MAX), 0, NULL}};
    int cur = 0;
    bool listening = sets[0].ids != NULL && sets[1].ids != NULL;
    while (listening && !atomic_load(&req->app->stopping)) {
        unsigned long seen = events_endings(req->app->events);
        active_set *now = &sets[cur], *before = &sets[!cur];
        if (task_events_read(req, now) == 0) {
            cJSON *data = cJSON_CreateObject();
            cJSON_AddItemToObject(data, "tasks", now->tasks);
            now->tasks = NULL;
            listening = task_events_send(req, "active", data) && task_events_send_ended(req, before, now);
            cJSON_Delete(data);
            cur = !cur;
        } else { /* the database is away: keep the last set, try again next second */
            cJSON_Delete(now->tasks);
            now->tasks = NULL;
            now->n = 0;
        }
        events_await_ending(req->app->events, seen, 1000);
    }
    free(sets[0].ids);
    free(sets[1].ids);
}

int task_events_api_stream(http_req *req) {
    if (http_query_only(req, (const char *const[]){NULL}) < 0 || !imports_api_take_waiter(req))
        return 0;
    mg_printf(req->conn, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                         "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\n"
                         "Connection: close\r\n%s\r\n",
              http_cors_headers(req));
    http_sent(req, 200, 0);
    task_events_follow(req);
    atomic_fetch_sub(&req->app->waiters, 1);
    return 0;
}
