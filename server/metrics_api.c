#include "metrics_api.h"

#include "auth.h"
#include "error.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "nodes.h"
#include "pool.h"
#include "tasks.h"
#include "worker.h"

#include <civetweb.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether the Authorization header carries --metrics-token (compared in constant time). */
static bool metrics_api_has_token(const http_req *req) {
    const char *want = req->app->cfg.metrics_token, *token;
    size_t len;
    if (want == NULL ||
        auth_parse_header(mg_get_header(req->conn, "Authorization"), &token, &len) < 0)
        return false;
    return len == strlen(want) && CRYPTO_memcmp(token, want, len) == 0;
}

static void metrics_api_gauge(metrics_text *t, const char *name, const char *help, long value) {
    metrics_printf(t, "# HELP %s %s\n# TYPE %s gauge\n%s %ld\n", name, help, name, name, value);
}

/* Writes a label value as the exposition format quotes it (\\, \", \n escaped). */
static void metrics_api_label(metrics_text *t, const char *value) {
    for (const char *p = value; *p; p++) {
        if (*p == '\\' || *p == '"')
            metrics_printf(t, "\\%c", *p);
        else if (*p == '\n')
            metrics_printf(t, "\\n");
        else
            metrics_printf(t, "%c", *p);
    }
}

typedef struct gauges {
    metrics_text tasks, oldest, nodes;
} gauges;

static void metrics_api_node(const db_node *n, void *ctx) {
    gauges *g = ctx;
    if (n->stopped_at != NULL)
        return;
    metrics_printf(&g->nodes, "bulkimport_node_heartbeat_age_seconds{node=\"");
    metrics_api_label(&g->nodes, n->name);
    metrics_printf(&g->nodes, "\"} %.3f\n", n->heartbeat_age_s);
}

static void metrics_api_take(const char *state, const char *queue, long count, double oldest_s,
                             void *ctx) {
    gauges *g = ctx;
    metrics_printf(&g->tasks, "bulkimport_tasks{state=\"%s\",queue=\"", state);
    metrics_api_label(&g->tasks, queue);
    metrics_printf(&g->tasks, "\"} %ld\n", count);
    if (oldest_s >= 0) {
        metrics_printf(&g->oldest, "bulkimport_queue_oldest_pending_seconds{queue=\"");
        metrics_api_label(&g->oldest, queue);
        metrics_printf(&g->oldest, "\"} %.3f\n", oldest_s);
    }
}

/* The cluster-wide gauges, from the database (the leader's job). */
static int metrics_api_cluster(db_conn *conn, metrics_text *t) {
    gauges g = {{0}, {0}, {0}};
    int err = db_tasks_gauges(conn, metrics_api_take, &g);
    if (err == 0)
        err = db_nodes_list(conn, metrics_api_node, &g);
    if (err == 0) {
        metrics_printf(t, "# HELP bulkimport_tasks Tasks in the cluster, by state and queue "
                          "(exported by the leader only).\n# TYPE bulkimport_tasks gauge\n");
        metrics_printf(t, "%.*s", (int)g.tasks.len, g.tasks.data ? g.tasks.data : "");
        metrics_printf(t, "# HELP bulkimport_queue_oldest_pending_seconds Age of the oldest "
                          "PENDING task of each queue (exported by the leader only).\n"
                          "# TYPE bulkimport_queue_oldest_pending_seconds gauge\n");
        metrics_printf(t, "%.*s", (int)g.oldest.len, g.oldest.data ? g.oldest.data : "");
        metrics_printf(t, "# HELP bulkimport_node_heartbeat_age_seconds Seconds since each running "
                          "node's last heartbeat (exported by the leader only).\n"
                          "# TYPE bulkimport_node_heartbeat_age_seconds gauge\n");
        metrics_printf(t, "%.*s", (int)g.nodes.len, g.nodes.data ? g.nodes.data : "");
    }
    free(g.nodes.data);
    free(g.tasks.data);
    free(g.oldest.data);
    return err;
}

int metrics_api_get(http_req *req) {
    if (!metrics_api_has_token(req)) {
        int err = auth_authenticate(req->app->pool, mg_get_header(req->conn, "Authorization"),
                                    &req->user);
        if (err < 0)
            return err;
        if (!req->user.is_root)
            return http_send_error(req, BI_EPERM, "only root or --metrics-token may read the metrics");
    }
    app *a = req->app;
    metrics_text t = {0};
    metrics_printf(&t, "# HELP bulkimport_build_info The server's version, commit and schema.\n"
                       "# TYPE bulkimport_build_info gauge\n"
                       "bulkimport_build_info{version=\"%s\",commit=\"%s\",schema=\"%s\"} 1\n",
                   BI_VERSION, BI_COMMIT, db_migrations[db_migrations_count - 1].version);
    metrics_write(&t);
    int size, in_use;
    db_pool_usage(a->pool, &size, &in_use);
    metrics_api_gauge(&t, "bulkimport_pool_connections", "Database connections of this node's pool.",
                      size);
    metrics_api_gauge(&t, "bulkimport_pool_connections_in_use",
                      "Database connections of this node's pool lent out now.", in_use);
    metrics_api_gauge(&t, "bulkimport_workers", "Import workers of this node (--workers).",
                      a->cfg.workers);
    metrics_api_gauge(&t, "bulkimport_workers_busy", "Import workers of this node running a task.",
                      workers_busy(a->workers));
    metrics_api_gauge(&t, "bulkimport_waiters", "Long-polls and event streams held (--max-waiters).",
                      atomic_load(&a->waiters));
    metrics_api_gauge(&t, "bulkimport_result_streams", "Result downloads streaming (--max-streams).",
                      atomic_load(&a->streams));
    metrics_api_gauge(&t, "bulkimport_uploads_in_flight", "Uploads being received and stored.",
                      atomic_load(&a->uploads));
    db_conn *conn = NULL;
    bool up = db_pool_acquire(a->pool, HTTP_DB_WAIT_MS, &conn) == 0 && db_ping(conn) == 0;
    metrics_api_gauge(&t, "bulkimport_database_up", "1 when this node's database answers.", up);
    int err = up && metrics_is_leader() ? metrics_api_cluster(conn, &t) : 0;
    if (err < 0)
        log_warn("metrics: the cluster's gauges could not be read: %s", error_message(err));
    if (conn != NULL)
        db_pool_release(a->pool, conn);
    mg_printf(req->conn,
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
              "Content-Length: %zu\r\nCache-Control: no-store\r\n%s\r\n",
              t.len, req->cors);
    mg_write(req->conn, t.data, t.len);
    http_sent(req, 200, t.len);
    free(t.data);
    return 0;
}
