#include "refs.h"

#include "array.h"
#include "error.h"
#include "pgconn.h"

#include <stdio.h>
#include <stdlib.h>

/* A pinned version exists when it is the current one or is in the history. */
#define REFS_TARGET(table, history, fk, is_concept)                                                \
    " SELECT u.ord, t.id FROM u JOIN " table " t ON t.url = u.target_url"                          \
    " JOIN repositories r ON r.id = t.repo_id WHERE u.is_concept = " is_concept                    \
    " AND ($3::boolean OR r.public_access <> 'None' OR r.owner_user = $4::text OR EXISTS"          \
    " (SELECT 1 FROM org_members m WHERE m.org_id = r.owner_org_id AND m.username = $4))"          \
    " AND (u.version = 0 OR u.version = t.version OR EXISTS (SELECT 1 FROM " history " h"         \
    " WHERE h." fk " = t.id AND h.version = u.version))"

static const db_stmt stmt_resolve = {
    "refs_resolve",
    "WITH u AS (SELECT * FROM unnest($1::text[], $2::boolean[], $5::integer[]) WITH ORDINALITY"
    " AS u(target_url, is_concept, version, ord))"
    REFS_TARGET("concepts", "concept_versions", "concept_id", "true") " UNION ALL"
    REFS_TARGET("mappings", "mapping_versions", "mapping_id", "false"),
    5};
static const db_stmt stmt_add = {
    "refs_add",
    "WITH u AS (SELECT * FROM unnest($3::text[], $4::bigint[], $5::boolean[], $6::integer[])"
    " WITH ORDINALITY AS u(expression, target_id, is_concept, version, ord)),"
    " ins AS (INSERT INTO collection_references (repo_id, expression, concept_id, mapping_id,"
    " target_version, added_seq, created_by) SELECT $2::bigint, expression,"
    " CASE WHEN is_concept THEN target_id END, CASE WHEN NOT is_concept THEN target_id END,"
    " nullif(version, 0), nextval('change_seq'), $1 FROM u WHERE expression IS NOT NULL ORDER BY ord"
    " ON CONFLICT DO NOTHING RETURNING expression)"
    " SELECT min(u.ord) FROM u JOIN ins USING (expression) GROUP BY u.expression",
    6};
static const db_stmt stmt_cascade = {
    "refs_cascade",
    "INSERT INTO collection_references (repo_id, expression, mapping_id, added_seq, created_by)"
    " SELECT $2::bigint, m.url, m.id, nextval('change_seq'), $1 FROM concepts c"
    " JOIN mappings m ON m.repo_id = c.repo_id AND m.from_concept_url = c.url"
    " WHERE c.id = ANY ($3::bigint[]) AND NOT m.retired ORDER BY m.id"
    " ON CONFLICT DO NOTHING RETURNING expression",
    3};
static const db_stmt stmt_remove = {
    "refs_remove",
    "UPDATE collection_references SET removed_seq = nextval('change_seq')"
    " WHERE repo_id = $1::bigint AND removed_seq IS NULL"
    " AND ($2::text[] IS NULL OR expression = ANY ($2::text[])) RETURNING expression",
    2};

int db_refs_resolve(db_conn *conn, const char *caller, bool is_root, db_ref_row *rows, size_t n) {
    for (size_t i = 0; i < n; i++)
        rows[i].found = false;
    if (n == 0)
        return 0;
    db_array urls, kinds, versions;
    db_array_init(&urls);
    db_array_init(&kinds);
    db_array_init(&versions);
    for (size_t i = 0; i < n; i++) {
        db_array_add(&urls, rows[i].target_url);
        db_array_add_bool(&kinds, rows[i].is_concept);
        db_array_add_int64(&versions, rows[i].target_version);
    }
    const char *values[] = {db_array_literal(&urls), db_array_literal(&kinds),
                            is_root ? "true" : "false", caller, db_array_literal(&versions)};
    PGresult *res = NULL;
    int err = db_exec_text(conn, &stmt_resolve, values, PGRES_TUPLES_OK, &res);
    db_array_fini(&urls);
    db_array_fini(&kinds);
    db_array_fini(&versions);
    if (err < 0)
        return err;
    for (int i = 0; i < PQntuples(res); i++) {
        long ord = atol(PQgetvalue(res, i, 0));
        if (ord < 1 || (size_t)ord > n)
            continue;
        rows[ord - 1].found = true;
        rows[ord - 1].target_id = strtoll(PQgetvalue(res, i, 1), NULL, 10);
    }
    PQclear(res);
    return 0;
}

int db_refs_add(db_conn *conn, const char *caller, int64_t repo_id, db_ref_row *rows, size_t n) {
    db_array exprs, ids, kinds, versions;
    db_array_init(&exprs);
    db_array_init(&ids);
    db_array_init(&kinds);
    db_array_init(&versions);
    size_t n_found = 0;
    for (size_t i = 0; i < n; i++) {
        rows[i].inserted = false;
        /* Unresolved rows keep their place (NULL) so ordinals still index rows. */
        db_array_add(&exprs, rows[i].found ? rows[i].expression : NULL);
        db_array_add_int64(&ids, rows[i].target_id);
        db_array_add_bool(&kinds, rows[i].is_concept);
        db_array_add_int64(&versions, rows[i].target_version);
        n_found += rows[i].found;
    }
    db_int id = db_int_text(repo_id);
    const char *values[] = {caller,
                            id.s,
                            db_array_literal(&exprs),
                            db_array_literal(&ids),
                            db_array_literal(&kinds),
                            db_array_literal(&versions)};
    PGresult *res = NULL;
    int err = n_found == 0 ? 0
                           : db_exec_text(conn, &stmt_add, values, PGRES_TUPLES_OK, &res);
    db_array_fini(&exprs);
    db_array_fini(&ids);
    db_array_fini(&kinds);
    db_array_fini(&versions);
    if (err < 0 || res == NULL)
        return err;
    for (int i = 0; i < PQntuples(res); i++) {
        long ord = atol(PQgetvalue(res, i, 0));
        if (ord >= 1 && (size_t)ord <= n)
            rows[ord - 1].inserted = true;
    }
    PQclear(res);
    return 0;
}

/* Runs stmt and calls each(value of column 0, ctx) for every row it returned. */
static int db_refs_each(db_conn *conn, const db_stmt *stmt, const char *const *values,
                        void (*each)(const char *value, void *ctx), void *ctx) {
    PGresult *res = NULL;
    int err = db_exec_text(conn, stmt, values, PGRES_TUPLES_OK, &res);
    if (err < 0)
        return err;
    for (int i = 0; i < PQntuples(res); i++)
        each(PQgetvalue(res, i, 0), ctx);
    PQclear(res);
    return 0;
}

int db_refs_cascade_mappings(db_conn *conn, const char *caller, int64_t repo_id,
                             const int64_t *concept_ids, size_t n,
                             void (*on_added)(const char *url, void *ctx), void *ctx) {
    if (n == 0)
        return 0;
    db_array ids;
    db_array_init(&ids);
    for (size_t i = 0; i < n; i++)
        db_array_add_int64(&ids, concept_ids[i]);
    db_int id = db_int_text(repo_id);
    const char *values[] = {caller, id.s, db_array_literal(&ids)};
    int err = db_refs_each(conn, &stmt_cascade, values, on_added, ctx);
    db_array_fini(&ids);
    return err;
}

int db_refs_remove(db_conn *conn, int64_t repo_id, const char *const *expressions, size_t n,
                   void (*on_removed)(const char *expression, void *ctx), void *ctx) {
    db_array exprs;
    db_array_init(&exprs);
    for (size_t i = 0; expressions != NULL && i < n; i++)
        db_array_add(&exprs, expressions[i]);
    db_int id = db_int_text(repo_id);
    const char *values[] = {id.s, expressions != NULL ? db_array_literal(&exprs) : NULL};
    int err = db_refs_each(conn, &stmt_remove, values, on_removed, ctx);
    db_array_fini(&exprs);
    return err;
}
