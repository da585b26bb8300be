#include "webhooks.h"

#include "error.h"
#include "pgconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SKIP LOCKED: nodes never wait on each other; moving due_at is the lease. */
static const db_stmt stmt_claim = {
    "webhooks_claim",
    "WITH c AS (SELECT id FROM webhook_deliveries WHERE delivered_at IS NULL"
    " AND gave_up_at IS NULL AND due_at <= clock_timestamp() ORDER BY due_at LIMIT 1"
    " FOR UPDATE SKIP LOCKED)"
    " UPDATE webhook_deliveries d SET attempts = d.attempts + 1,"
    " due_at = clock_timestamp() + make_interval(secs => $1::integer / 1000.0)"
    " FROM c, import_tasks t, users u WHERE d.id = c.id AND t.id = d.task_id"
    " AND u.username = t.username RETURNING d.id, d.task_id, d.url, d.body, d.attempts,"
    " extract(epoch FROM clock_timestamp() - d.created_at), t.username, u.is_root",
    1};
static const db_stmt stmt_fix_body = {
    "webhooks_fix_body",
    "UPDATE webhook_deliveries SET body = coalesce(body, $2) WHERE id = $1::bigint"
    " RETURNING body",
    2};
static const db_stmt stmt_record = {
    "webhooks_record",
    "UPDATE webhook_deliveries SET last_status = nullif($2::integer, 0), last_error = $3,"
    " delivered_at = CASE WHEN $4::boolean THEN clock_timestamp() END,"
    " gave_up_at = CASE WHEN $5::boolean THEN clock_timestamp() END,"
    " due_at = clock_timestamp() + make_interval(secs => $6::bigint / 1000.0)"
    " WHERE id = $1::bigint",
    6};

static char *db_webhooks_strdup(const char *s) {
    char *copy = strdup(s);
    if (copy == NULL)
        abort();
    return copy;
}

int db_webhooks_claim(db_conn *conn, int lease_ms, db_delivery *out) {
    db_int lease_text = db_int_text(lease_ms);
    const char *values[] = {lease_text.s};
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_claim, values, &res);
    if (err < 0)
        return err;
    memset(out, 0, sizeof *out);
    out->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    snprintf(out->task_id, sizeof out->task_id, "%s", PQgetvalue(res, 0, 1));
    snprintf(out->url, sizeof out->url, "%s", PQgetvalue(res, 0, 2));
    out->body = PQgetisnull(res, 0, 3) ? NULL : db_webhooks_strdup(PQgetvalue(res, 0, 3));
    out->attempts = atoi(PQgetvalue(res, 0, 4));
    out->age_s = strtod(PQgetvalue(res, 0, 5), NULL);
    snprintf(out->username, sizeof out->username, "%s", PQgetvalue(res, 0, 6));
    out->is_root = PQgetvalue(res, 0, 7)[0] == 't';
    PQclear(res);
    return 0;
}

int db_webhooks_fix_body(db_conn *conn, db_delivery *d, const char *body) {
    db_int id = db_int_text(d->id);
    const char *values[] = {id.s, body};
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_fix_body, values, &res);
    if (err < 0)
        return err;
    free(d->body);
    d->body = db_webhooks_strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

int db_webhooks_record(db_conn *conn, const db_delivery *d, bool delivered, long status,
                       const char *error, long delay_ms, bool give_up) {
    db_int id = db_int_text(d->id), status_text = db_int_text(status),
           delay = db_int_text(delay_ms);
    const char *values[] = {id.s,      status_text.s, error, delivered ? "true" : "false",
                            give_up ? "true" : "false", delay.s};
    return db_exec_text(conn, &stmt_record, values, PGRES_COMMAND_OK, NULL);
}

void db_delivery_fini(db_delivery *d) {
    free(d->body);
    d->body = NULL;
}
