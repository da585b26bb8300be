#include "nodes.h"

#include "pgconn.h"

#include <stdlib.h>

static const db_stmt stmt_beat = {
    "nodes_beat",
    "WITH gone AS (DELETE FROM nodes WHERE heartbeat_at < clock_timestamp() - interval '1 day')"
    " INSERT INTO nodes (name, workers, busy, version, commit, schema) VALUES ($1, $2::integer,"
    " $3::integer, $4, $5, $6) ON CONFLICT (name) DO UPDATE SET heartbeat_at = clock_timestamp(),"
    " stopped_at = NULL, workers = EXCLUDED.workers, busy = EXCLUDED.busy,"
    " version = EXCLUDED.version, commit = EXCLUDED.commit, schema = EXCLUDED.schema",
    6};
static const db_stmt stmt_leave = {
    "nodes_leave", "UPDATE nodes SET stopped_at = clock_timestamp(), busy = 0 WHERE name = $1", 1};
static const db_stmt stmt_list = {
    "nodes_list",
    "SELECT n.name, ocl_time(n.started_at), ocl_time(n.heartbeat_at), ocl_time(n.stopped_at),"
    " extract(epoch FROM clock_timestamp() - n.heartbeat_at), n.workers, n.busy,"
    " (SELECT count(*) FROM import_tasks t WHERE t.state = 'STARTED' AND t.worker = n.name),"
    " n.version, n.schema, n.commit FROM nodes n ORDER BY n.heartbeat_at DESC, n.name",
    0};

int db_nodes_beat(db_conn *conn, const char *node, int workers, int busy, const char *version,
                  const char *commit, const char *schema) {
    db_int w = db_int_text(workers), b = db_int_text(busy);
    const char *values[] = {node, w.s, b.s, version, commit, schema};
    return db_exec_text(conn, &stmt_beat, values, PGRES_COMMAND_OK, NULL);
}

int db_nodes_leave(db_conn *conn, const char *node) {
    const char *values[] = {node};
    return db_exec_text(conn, &stmt_leave, values, PGRES_COMMAND_OK, NULL);
}

int db_nodes_list(db_conn *conn, db_node_fn each, void *ctx) {
    PGresult *res = NULL;
    int err = db_exec_text(conn, &stmt_list, NULL, PGRES_TUPLES_OK, &res);
    if (err < 0)
        return err;
    for (int i = 0; i < PQntuples(res); i++) {
        db_node n = {.name = PQgetvalue(res, i, 0),
                     .started_at = PQgetvalue(res, i, 1),
                     .heartbeat_at = PQgetvalue(res, i, 2),
                     .stopped_at = PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3),
                     .heartbeat_age_s = strtod(PQgetvalue(res, i, 4), NULL),
                     .workers = atoi(PQgetvalue(res, i, 5)),
                     .busy = atoi(PQgetvalue(res, i, 6)),
                     .running = atol(PQgetvalue(res, i, 7)),
                     .version = PQgetvalue(res, i, 8),
                     .schema = PQgetvalue(res, i, 9),
                     .commit = PQgetvalue(res, i, 10)};
        each(&n, ctx);
    }
    PQclear(res);
    return 0;
}
