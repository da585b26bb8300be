#include "health.h"

#include "error.h"
#include "migrate.h"

/* Readiness must answer quickly even when the pool is exhausted. */
#define HEALTH_DB_WAIT_MS 1000

static int health_send_status(http_req *req, const char *status) {
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "status", status);
    http_send_json(req, 200, body);
    cJSON_Delete(body);
    return 0;
}

int health_get_healthz(http_req *req) { return health_send_status(req, "ok"); }

int health_get_readyz(http_req *req) {
    db_conn *conn;
    int err = db_pool_acquire(req->app->pool, HEALTH_DB_WAIT_MS, &conn);
    if (err < 0)
        return http_send_error(req, BI_EUNAVAIL, "the database does not answer");
    bool standby = false;
    err = db_migrate_check(conn);
    if (err == 0)
        err = db_is_standby(conn, &standby);
    db_pool_release(req->app->pool, conn);
    if (err == 0 && standby)
        return http_send_error(req, BI_EUNAVAIL, "the database is a read-only standby");
    if (err == BI_ENOTFOUND)
        return http_send_error(req, BI_EUNAVAIL, "database migrations are not applied");
    if (err < 0)
        return http_send_error(req, BI_EUNAVAIL, "the database does not answer");
    return health_send_status(req, "ready");
}
