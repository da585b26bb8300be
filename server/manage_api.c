#include "manage_api.h"

#include "error.h"
#include "nodes.h"
#include "pool.h"
#include "stats.h"
#include "task_query.h"
#include "tasks.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static void manage_api_add_queue(const db_queue *q, void *ctx) {
    cJSON *item = cJSON_CreateObject();
    cJSON_AddStringToObject(item, "username", q->username);
    cJSON_AddStringToObject(item, "queue", q->queue);
    cJSON_AddBoolToObject(item, "named", q->named);
    cJSON_AddNumberToObject(item, "pending", (double)q->pending);
    cJSON_AddNumberToObject(item, "started", (double)q->started);
    if (q->oldest_pending_s >= 0)
        cJSON_AddNumberToObject(item, "oldest_pending_seconds",
                                (double)(long long)(q->oldest_pending_s * 1000) / 1000);
    else
        cJSON_AddNullToObject(item, "oldest_pending_seconds");
    cJSON *running = cJSON_Parse(q->running_json), *next = cJSON_Parse(q->next_json);
    cJSON_AddItemToObject(item, "running", running ? running : cJSON_CreateArray());
    cJSON_AddItemToObject(item, "next", next ? next : cJSON_CreateArray());
    cJSON_AddItemToArray(ctx, item);
}

int manage_api_queues(http_req *req) {
    static const char *const params[] = {"username", NULL};
    if (http_query_only(req, params) < 0)
        return 0;
    char username[DB_USERNAME_MAX + 1];
    const char *who;
    if (http_list_owner(req, "queues", username, &who) < 0)
        return 0;
    db_conn *conn;
    int err = db_pool_acquire(req->app->pool, HTTP_DB_WAIT_MS, &conn);
    if (err < 0)
        return err;
    cJSON *body = cJSON_CreateArray();
    err = db_tasks_queues(conn, who, manage_api_add_queue, body);
    db_pool_release(req->app->pool, conn);
    if (err == 0)
        http_send_json(req, 200, body);
    cJSON_Delete(body);
    return err;
}

static void manage_api_add_node(const db_node *n, void *ctx) {
    cJSON *item = cJSON_CreateObject();
    cJSON_AddStringToObject(item, "name", n->name);
    cJSON_AddStringToObject(item, "started_at", n->started_at);
    cJSON_AddStringToObject(item, "heartbeat_at", n->heartbeat_at);
    cJSON_AddNumberToObject(item, "heartbeat_age_seconds", (double)(long long)(n->heartbeat_age_s * 1000) / 1000);
    if (n->stopped_at)
        cJSON_AddStringToObject(item, "stopped_at", n->stopped_at);
    else
        cJSON_AddNullToObject(item, "stopped_at");
    cJSON_AddNumberToObject(item, "workers", n->workers);
    cJSON_AddNumberToObject(item, "busy", n->busy);
    cJSON_AddNumberToObject(item, "running_tasks", (double)n->running);
    cJSON_AddStringToObject(item, "version", n->version);
    cJSON_AddStringToObject(item, "commit", n->commit);
    cJSON_AddStringToObject(item, "schema", n->schema);
    cJSON_AddItemToArray(ctx, item);
}

int manage_api_nodes(http_req *req) {
    static const char *const params[] = {NULL};
    if (http_query_only(req, params) < 0)
        return 0;
    if (!req->user.is_root)
        return http_send_error(req, BI_EPERM, "only root may list the nodes");
    db_conn *conn;
    int err = db_pool_acquire(req->app->pool, HTTP_DB_WAIT_MS, &conn);
    if (err < 0)
        return err;
    cJSON *body = cJSON_CreateArray();
    err = db_nodes_list(conn, manage_api_add_node, body);
    db_pool_release(req->app->pool, conn);
    if (err == 0)
        http_send_json(req, 200, body);
    cJSON_Delete(body);
    return err;
}

/* Whether text is an ISO 8601 date alone ("2026-12-01"). */
static bool manage_api_is_day(const char *text) {
    return strlen(text) == 10 && task_query_is_iso_time(text);
}

int manage_api_stats(http_req *req) {
    static const char *const params[] = {"since", "until", "by", "username", NULL};
    if (http_query_only(req, params) < 0)
        return 0;
    char since[16] = "", until[16] = "", by[16] = "", username[DB_USERNAME_MAX + 1];
    int got_since = http_query_text(req, "since", since, sizeof since);
    int got_until = got_since < 0 ? -1 : http_query_text(req, "until", until, sizeof until);
    int got_by = got_until < 0 ? -1 : http_query_text(req, "by", by, sizeof by);
    if (got_by < 0)
        return 0;
    if (got_by == 0)
        strcpy(by, "day");
    if ((got_since > 0 && !manage_api_is_day(since)) || (got_until > 0 && !manage_api_is_day(until)))
        return http_send_error(req, BI_EINVAL, "since and until are ISO 8601 dates (2026-12-01)");
    if (strcmp(by, "day") != 0 && strcmp(by, "user") != 0 && strcmp(by, "queue") != 0 &&
        strcmp(by, "repository") != 0)
        return http_send_error(req, BI_EINVAL, "by must be day, user, queue or repository");
    const char *who;
    if (http_list_owner(req, "statistics", username, &who) < 0)
        return 0;
    db_conn *conn;
    int err = db_pool_acquire(req->app->pool, HTTP_DB_WAIT_MS, &conn);
    if (err < 0)
        return err;
    char *json;
    err = db_stats_sum(conn, got_since > 0 ? since : NULL, got_until > 0 ? until : NULL, who, by, &json);
    db_pool_release(req->app->pool, conn);
    if (err < 0)
        return err;
    http_send_json_text(req, 200, NULL, json, strlen(json));
    free(json);
    return 0;
}
