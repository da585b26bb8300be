#include "stats.h"

#include "pgconn.h"

#include <stdlib.h>
#include <string.h>

#define STATS_FILTER                                                                               \
    " WHERE ($1::date IS NULL OR day >= $1::date) AND ($2::date IS NULL OR day <= $2::date)"      \
    " AND ($3::text IS NULL OR username = $3)"
#define STATS_KEY(repository)                                                                      \
    "CASE $4 WHEN 'day' THEN day::text WHEN 'user' THEN username WHEN 'queue' THEN queue"          \
    " ELSE " repository " END"

static const db_stmt stmt_sum = {
    "stats_sum",
    "WITH l AS (SELECT " STATS_KEY("repository") " AS key, action, status, sum(lines) AS n"
    " FROM stats_lines" STATS_FILTER " GROUP BY 1, 2, 3),"
    " a AS (SELECT key, action, sum(n) AS n, jsonb_object_agg(CASE WHEN status = 0 THEN 'skip'"
    " ELSE status::text END, n) AS by_status FROM l GROUP BY key, action),"
    " la AS (SELECT key, sum(n) AS total, jsonb_object_agg(action, by_status) AS by_action"
    " FROM a GROUP BY key),"
    " s AS (SELECT " STATS_KEY("NULL") " AS key, state, sum(tasks) AS tasks, sum(bytes) AS bytes"
    " FROM stats_tasks" STATS_FILTER " GROUP BY 1, 2),"
    " t AS (SELECT key, jsonb_object_agg(state, tasks) AS tasks, sum(bytes) AS bytes FROM s"
    " WHERE key IS NOT NULL GROUP BY key)"
    " SELECT coalesce(json_agg(jsonb_build_object($4, k.key, 'lines', coalesce(la.total, 0),"
    " 'lines_by', coalesce(la.by_action, '{}'), 'tasks', coalesce(t.tasks, '{}'), 'bytes',"
    " coalesce(t.bytes, 0)) ORDER BY k.key), '[]')::text"
    " FROM (SELECT key FROM la UNION SELECT key FROM t) k LEFT JOIN la USING (key)"
    " LEFT JOIN t USING (key)",
    4};

int db_stats_sum(db_conn *conn, const char *since, const char *until, const char *username,
                 const char *by, char **out_json) {
    const char *values[] = {since, until, username, by};
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_sum, values, &res);
    if (err < 0)
        return err;
    if ((*out_json = strdup(PQgetvalue(res, 0, 0))) == NULL)
        abort();
    PQclear(res);
    return 0;
}
