#include "migrate.h"

#include "error.h"
#include "log.h"
#include "pgconn.h"
#include "pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Arbitrary constant shared by every bulkimportd: "bulk" in ASCII. */
#define MIGRATE_LOCK_KEY "1651862635"

static const db_stmt stmt_applied = {
    "migrate_applied", "SELECT version, checksum FROM schema_migrations ORDER BY version", 0};
static const db_stmt stmt_record = {
    "migrate_record",
    "INSERT INTO schema_migrations (version, checksum) VALUES ($1::text, md5($2::text))", 2};
static const db_stmt stmt_checksum = {"migrate_checksum", "SELECT md5($1::text)", 1};
static const db_stmt stmt_count = {
    "migrate_count",
    "SELECT count(*) FROM schema_migrations WHERE version = ANY($1::text[])", 1};

static const db_migration *migrate_find(const char *version) {
    for (size_t i = 0; i < db_migrations_count; i++)
        if (strcmp(db_migrations[i].version, version) == 0)
            return &db_migrations[i];
    return NULL;
}

/* Checks every recorded migration against the embedded ones. */
static int migrate_verify(db_conn *conn, PGresult *applied) {
    for (int row = 0; row < PQntuples(applied); row++) {
        const char *version = PQgetvalue(applied, row, 0);
        const db_migration *m = migrate_find(version);
        if (m == NULL) {
            log_error("the database has migration %s, which this bulkimportd does not know: "
                      "it is older than the schema; upgrade it",
                      version);
            return BI_ECONFLICT;
        }
        PGresult *sum = NULL;
        const char *values[] = {m->sql};
        int err = db_exec(conn, &stmt_checksum, values, NULL, NULL, PGRES_TUPLES_OK, &sum);
        if (err < 0)
            return err;
        bool same = strcmp(PQgetvalue(sum, 0, 0), PQgetvalue(applied, row, 1)) == 0;
        PQclear(sum);
        if (!same) {
            log_error("migration %s was edited after it was applied; shipped migrations must "
                      "never change: add a new one instead",
                      version);
            return BI_ECONFLICT;
        }
    }
    return 0;
}

int db_migrate_apply(db_conn *conn, int *out_applied) {
    PGresult *applied = NULL;
    int n_applied = 0;
    int err = db_begin(conn);
    if (err < 0)
        return err;
    err = db_exec_sql(conn, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")", PGRES_TUPLES_OK,
                      NULL);
    if (err < 0)
        goto done;
    err = db_exec_sql(conn,
                      "CREATE TABLE IF NOT EXISTS schema_migrations ("
                      " version text PRIMARY KEY, checksum text NOT NULL,"
                      " applied_at timestamptz NOT NULL DEFAULT now())",
                      PGRES_COMMAND_OK, NULL);
    if (err < 0)
        goto done;
    err = db_exec(conn, &stmt_applied, NULL, NULL, NULL, PGRES_TUPLES_OK, &applied);
    if (err < 0)
        goto done;
    err = migrate_verify(conn, applied);
    if (err < 0)
        goto done;
    for (size_t i = 0; i < db_migrations_count; i++) {
        const db_migration *m = &db_migrations[i];
        bool done_already = false;
        for (int row = 0; row < PQntuples(applied) && !done_already; row++)
            done_already = strcmp(PQgetvalue(applied, row, 0), m->version) == 0;
        if (done_already)
            continue;
        err = db_exec_sql(conn, m->sql, PGRES_COMMAND_OK, NULL);
        if (err < 0) {
            log_error("migration %s failed", m->version);
            goto done;
        }
        const char *values[] = {m->version, m->sql};
        err = db_exec(conn, &stmt_record, values, NULL, NULL, PGRES_COMMAND_OK, NULL);
        if (err < 0)
            goto done;
        log_info("applied migration %s", m->version);
        n_applied++;
    }
    err = db_commit(conn);
done:
    PQclear(applied);
    if (err < 0) {
        db_rollback(conn);
        return err;
    }
    *out_applied = n_applied;
    return 0;
}

int db_migrate_check(db_conn *conn) {
    /* Builds the text[] literal {"0001_a","0002_b"}: versions are [0-9a-z_] only (the build
     * rejects other file names), so no escaping is needed. */
    size_t len = 3;
    for (size_t i = 0; i < db_migrations_count; i++)
        len += strlen(db_migrations[i].version) + 3;
    char *array = malloc(len);
    if (array == NULL)
        abort();
    char *p = array;
    *p++ = '{';
    for (size_t i = 0; i < db_migrations_count; i++)
        p += sprintf(p, "%s\"%s\"", i ? "," : "", db_migrations[i].version);
    *p++ = '}';
    *p = '\0';
    PGresult *res = NULL;
    const char *values[] = {array};
    int err = db_exec(conn, &stmt_count, values, NULL, NULL, PGRES_TUPLES_OK, &res);
    free(array);
    if (err < 0)
        return err == BI_EUNAVAIL ? BI_EUNAVAIL : BI_ENOTFOUND; /* e.g. no table yet */
    bool complete = strtoull(PQgetvalue(res, 0, 0), NULL, 10) == db_migrations_count;
    PQclear(res);
    return complete ? 0 : BI_ENOTFOUND;
}
