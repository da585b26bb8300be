#include "audit.h"

#include "pgconn.h"

#include <stdlib.h>
#include <string.h>

static const db_stmt stmt_add = {
    "audit_add",
    "INSERT INTO audit_log (actor, action, target, detail) VALUES ($1, $2, $3, $4::jsonb)", 4};
static const db_stmt stmt_list = {
    "audit_list",
    "SELECT (SELECT count(*) FROM audit_log), coalesce((SELECT json_agg(json_build_object('id', a.id,"
    " 'at', ocl_time(a.at), 'actor', a.actor, 'action', a.action, 'target', a.target, 'detail',"
    " a.detail) ORDER BY a.at DESC, a.id DESC) FROM (SELECT * FROM audit_log ORDER BY at DESC,"
    " id DESC LIMIT $1::bigint OFFSET $2::bigint) a), '[]')::text",
    2};

int db_audit_add(db_conn *conn, const char *actor, const char *action, const char *target,
                 const char *detail) {
    const char *values[] = {actor, action, target, detail};
    return db_exec_text(conn, &stmt_add, values, PGRES_COMMAND_OK, NULL);
}

int db_audit_list(db_conn *conn, long limit, long offset, char **out_json, long *out_total) {
    db_int l = db_int_text(limit), o = db_int_text(offset);
    const char *values[] = {l.s, o.s};
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_list, values, &res);
    if (err < 0)
        return err;
    *out_total = atol(PQgetvalue(res, 0, 0));
    if ((*out_json = strdup(PQgetvalue(res, 0, 1))) == NULL)
        abort();
    PQclear(res);
    return 0;
}
