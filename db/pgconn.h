/* pgconn.h — db/'s private view of a pooled connection: libpq types and the helpers every
 * file of db/ uses to run statements. Never included outside db/.
 */
#ifndef BI_DB_PGCONN_H
#define BI_DB_PGCONN_H

#include <libpq-fe.h>
#include <stdbool.h>

#define BI_DB_MAX_PREPARED 128

/* A statement prepared once per connection, by name, the first time it runs there. Parameter
 * types come from casts in the SQL text ($1::bytea). Instances are static and never freed. */
typedef struct db_stmt {
    const char *name;
    const char *sql;
    int nparams;
} db_stmt;

struct db_conn {
    PGconn *pg;
    bool broken; /* set on a connection-level failure: re-opened by the next acquire */
    int n_prepared;
    const db_stmt *prepared[BI_DB_MAX_PREPARED];
    char refusal[256]; /* the server's message of the last BI_EREFUSED / BI_EINVAL */
};

/* Connects to conninfo with the project's defaults beneath it (connect timeout, application
 * name, target_session_attrs=read-write, TCP keepalives and user timeout; the conninfo's own
 * settings win). Returns a new
 * connection, perhaps failed (check PQstatus; PQfinish it either way). */
PGconn *db_connect(const char *conninfo);

/* Runs stmt with text or binary parameters (formats NULL means all text) and checks that the
 * result has status expect. Returns 0 and the result in *out_res (the caller PQclears it; pass
 * NULL to discard), or: BI_ECONFLICT on a unique violation, BI_EINVAL on a CHECK violation,
 * BI_EREFUSED on another data exception or integrity violation (SQLSTATE class 22 or 23: a
 * value the statement carried), BI_EUNAVAIL when the connection broke or the server is
 * shutting down, BI_EINTERNAL on anything else. Failures are logged with the server's full
 * message; only a refusal's reaches a client, in its line's own result (db_refusal). */
int db_exec(db_conn *conn, const db_stmt *stmt, const char *const *values, const int *lengths,
            const int *formats, ExecStatusType expect, PGresult **out_res);

/* Runs SQL text without parameters (transaction control, migrations); same contract as
 * db_exec. Never pass text that holds user data. */
int db_exec_sql(db_conn *conn, const char *sql, ExecStatusType expect, PGresult **out_res);

/* An integer spelled as a text parameter: db_int_text(42).s is "42". */
typedef struct db_int {
    char s[24];
} db_int;
db_int db_int_text(long long value);

/* Runs stmt with text parameters; otherwise as db_exec. */
int db_exec_text(db_conn *conn, const db_stmt *stmt, const char *const *values,
                 ExecStatusType expect, PGresult **out_res);

/* Runs stmt, which must return at most one row (version integer, changed boolean): the shape
 * of every "update when different" statement. Returns 0 with both outputs set, BI_ENOTFOUND
 * when no row came back, or db_exec's errors. */
int db_exec_versioned(db_conn *conn, const db_stmt *stmt, const char *const *values,
                      int *out_version, bool *out_changed);

/* Runs stmt, which must return one row or none. Returns 0 and the result in *out_res when it
 * returned a row, BI_ENOTFOUND when it returned none, or db_exec's errors. */
int db_exec_row(db_conn *conn, const db_stmt *stmt, const char *const *values,
                PGresult **out_res);

/* Runs stmt in single-row mode, calling row(res, ctx) for each row as it arrives, so a large
 * result never sits in memory. A negative return of row stops reading (the rest is drained)
 * and is returned. Otherwise as db_exec. */
int db_exec_stream(db_conn *conn, const db_stmt *stmt, const char *const *values,
                   int (*row)(const PGresult *res, void *ctx), void *ctx);

/* COPY ... FROM STDIN: starts the copy sql (our own text), sends data, ends it (error: abort
 * the copy with that message). Same returns as db_exec. */
int db_copy_begin(db_conn *conn, const char *sql);
int db_copy_put(db_conn *conn, const char *data, size_t len);
int db_copy_end(db_conn *conn, const char *error);

/* Runs an INSERT ... ON CONFLICT DO NOTHING RETURNING ...: returns 0 when it inserted,
 * BI_ECONFLICT when no row came back, or db_exec's errors. */
int db_exec_insert(db_conn *conn, const db_stmt *stmt, const char *const *values);

/* The "UPDATE ... only when different" idiom as one statement returning (version, changed):
 * upd is an UPDATE ... RETURNING version; table and key select the row when nothing changed. */
#define DB_VERSIONED_UPDATE(upd, table, key)                                                       \
    "WITH upd AS (" upd ") SELECT version, true FROM upd UNION ALL SELECT version, false FROM "   \
    table " WHERE " key " AND NOT EXISTS (SELECT 1 FROM upd)"

#endif
