#include "task_events_api.h"

#include "auth.h"
#include "error.h"
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
#define TRACKED_MAX (2 * ACTIVE_MAX) /* the shown ones, and those carried from a cut-off list */
#define REAUTH_EVERY 5               /* seconds between checks that the token still works */

/* The running tasks of one look: the ids tracked (shown, or carried while still running past
 * the list's cut) and the JSON of those shown. */
typedef struct active_set {
    char (*ids)[DB_TASK_ID_MAX];
    size_t n;
    cJSON *tasks;
} active_set;

static bool task_events_has(const active_set *set, const char *id) {
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->ids[i], id) == 0)
            return true;
    return false;
}

static int task_events_add(const db_task *t, void *ctx) {
    active_set *set = ctx;
    if (set->n < TRACKED_MAX)
        memcpy(set->ids[set->n++], t->id, DB_TASK_ID_MAX);
    cJSON_AddItemToArray(set->tasks, summary_task_json(t, NULL));
    return 0;
}

/* Reads the caller's running tasks into *now and the ids of before's that have ended since
 * into ended (n_ended of them). A task of before missing from a list cut at ACTIVE_MAX is
 * looked up: still running, it stays tracked in now; finished or gone, it has ended. Returns 0
 * or the error. */
static int task_events_read(http_req *req, const active_set *before, active_set *now,
                            char (*ended)[DB_TASK_ID_MAX], size_t *n_ended) {
    static const char *const running[] = {"PENDING", "STARTED"};
    db_task_filter filter = {.username = req->user.is_root ? NULL : req->user.username,
                             .states = running, .n_states = 2};
    db_conn *conn;
    int err = db_pool_acquire(req->app->pool, HTTP_DB_WAIT_MS, &conn);
    if (err < 0)
        return err;
    now->n = 0;
    now->tasks = cJSON_CreateArray();
    *n_ended = 0;
    long total = 0;
    err = db_tasks_list(conn, &filter, ACTIVE_MAX, 0, task_events_add, now, &total);
    size_t shown = now->n;
    for (size_t i = 0; i < before->n && err == 0; i++) {
        if (task_events_has(now, before->ids[i]))
            continue;
        db_task t;
        int got = total > (long)shown ? db_tasks_get(conn, before->ids[i], &req->user, &t) : BI_ENOTFOUND;
        if (got == 0 && db_task_state_running(t.state) && now->n < TRACKED_MAX)
            memcpy(now->ids[now->n++], t.id, DB_TASK_ID_MAX);
        else if (got == 0 || got == BI_ENOTFOUND)
            memcpy(ended[(*n_ended)++], before->ids[i], DB_TASK_ID_MAX);
        else
            err = got;
    }
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

/* Sends "active" with now's tasks, then "ended" for each id of ended. Returns whether the
 * client still listens. */
static bool task_events_send_all(http_req *req, active_set *now, char (*ended)[DB_TASK_ID_MAX],
                                 size_t n_ended) {
    cJSON *data = cJSON_CreateObject();
    cJSON_AddItemToObject(data, "tasks", now->tasks);
    now->tasks = NULL;
    bool listening = task_events_send(req, "active", data);
    cJSON_Delete(data);
    for (size_t i = 0; i < n_ended && listening; i++) {
        data = cJSON_CreateObject();
        cJSON_AddStringToObject(data, "id", ended[i]);
        listening = task_events_send(req, "ended", data);
        cJSON_Delete(data);
    }
    return listening;
}

/* Whether the stream's token still names an enabled user: a revoked token or a disabled user
 * ends the stream within REAUTH_EVERY seconds. A database away counts as yes. */
static bool task_events_still_allowed(http_req *req) {
    db_user user;
    int err = auth_authenticate(req->app->pool, mg_get_header(req->conn, "Authorization"), &user);
    return err != BI_EAUTH;
}

static void task_events_follow(http_req *req) {
    active_set sets[2] = {{calloc(TRACKED_MAX, DB_TASK_ID_MAX), 0, NULL},
                          {calloc(TRACKED_MAX, DB_TASK_ID_MAX), 0, NULL}};
    char (*ended)[DB_TASK_ID_MAX] = calloc(TRACKED_MAX, DB_TASK_ID_MAX);
    int cur = 0;
    bool listening = sets[0].ids != NULL && sets[1].ids != NULL && ended != NULL;
    for (unsigned long round = 1; listening && !atomic_load(&req->app->stopping); round++) {
        unsigned long seen = events_endings(req->app->events);
        active_set *now = &sets[cur], *before = &sets[!cur];
        size_t n_ended = 0;
        if (task_events_read(req, before, now, ended, &n_ended) == 0) {
            listening = task_events_send_all(req, now, ended, n_ended);
            cur = !cur;
        } else { /* the database is away: keep the last set, try again next second */
            cJSON_Delete(now->tasks);
            now->tasks = NULL;
        }
        events_await_ending(req->app->events, seen, 1000);
        if (round % REAUTH_EVERY == 0 && listening)
            listening = task_events_still_allowed(req);
    }
    free(ended);
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
