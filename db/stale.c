#include "stale.h"

#include "error.h"
#include "pgconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The session's tables of one prune (temporary: they go with the session, so a prune resumed
 * on another node prepares them again). */
static const char stale_tables_sql[] =
    "CREATE TEMP TABLE IF NOT EXISTS prune_named (url text PRIMARY KEY);"
    " CREATE TEMP TABLE IF NOT EXISTS prune_repos (id bigint PRIMARY KEY, url text NOT NULL);"
    " CREATE TEMP TABLE IF NOT EXISTS prune_exprs (repo_url text NOT NULL, expression text NOT NULL);"
    " CREATE TEMP TABLE IF NOT EXISTS prune_cascading (repo_url text NOT NULL,"
    " expression text NOT NULL);"
    " TRUNCATE prune_named, prune_repos, prune_exprs, prune_cascading";

/* Only the few columns needed are unnested from the task's batches, once, and messages only
 * when the file had reference lines. Results with a JSON message are the successful ones; a
 * reference line's message lists its expressions and the mappings it cascaded to (a reference
 * is named by these, or by a prune result of this task — not by its target's URL). A mapping
 * reference cascaded from a concept the file references (with cascade) counts as mentioned
 * even when it was already there. */
static const db_stmt stmt_prepare = {
    "stale_prepare",
    "WITH res AS MATERIALIZED (SELECT r.* FROM import_batches b CROSS JOIN LATERAL"
    " unnest(b.line_no, b.obj_type, b.obj_url, b.repo_url, b.status)"
    " AS r(line_no, obj_type, obj_url, repo_url, status) WHERE b.task_id = $1),"
    " repos AS (INSERT INTO prune_repos SELECT p.id, p.url FROM repositories p WHERE p.url IN"
    " (SELECT repo_url FROM res WHERE status BETWEEN 1 AND 399"
    " AND obj_type IN ('Concept', 'Mapping', 'Reference'))),"
    " named AS (INSERT INTO prune_named SELECT DISTINCT obj_url FROM res"
    " WHERE obj_url IS NOT NULL),"
    " ref_lines AS (SELECT repo_url, message::jsonb AS m FROM import_results WHERE task_id = $1"
    " AND obj_type = 'Reference' AND status BETWEEN 200 AND 299 AND left(message, 1) = '{'"
    " AND EXISTS (SELECT 1 FROM res WHERE obj_type = 'Reference')),"
    " exprs AS (INSERT INTO prune_exprs SELECT r.repo_url, e->>'expression' FROM ref_lines r,"
    " jsonb_array_elements(r.m->'expressions') e"
    " UNION SELECT r.repo_url, c #>> '{}' FROM ref_lines r,"
    " jsonb_array_elements(r.m->'cascaded_mappings') c"
    " UNION SELECT repo_url, obj_url FROM res WHERE line_no IS NULL AND obj_type = 'Reference'),"
    " cascading AS (INSERT INTO prune_cascading SELECT r.repo_url, e->>'expression'"
    " FROM ref_lines r, jsonb_array_elements(r.m->'expressions') e"
    " WHERE r.m ? 'cascaded_mappings')"
    " SELECT 1",
    1};

/* Each kind's walk: rows of the prepared repositories after the cursor, in key order (the
 * (repo_id, mnemonic) and (repo_id, id) indexes), that nothing named. Columns: id, repo_id,
 * url, repo_url, key. */
static const db_stmt stmt_concepts = {
    "stale_concepts",
    "SELECT c.id, c.repo_id, c.url, p.url, c.mnemonic FROM prune_repos p"
    " JOIN concepts c ON c.repo_id = p.id WHERE (c.repo_id, c.mnemonic) > ($1::bigint, $2::text)"
    " AND NOT c.retired AND NOT EXISTS (SELECT 1 FROM prune_named n WHERE n.url = c.url)"
    " ORDER BY c.repo_id, c.mnemonic LIMIT $3::integer",
    3};
static const db_stmt stmt_mappings = {
    "stale_mappings",
    "SELECT m.id, m.repo_id, m.url, p.url, m.mnemonic FROM prune_repos p"
    " JOIN mappings m ON m.repo_id = p.id WHERE (m.repo_id, m.mnemonic) > ($1::bigint, $2::text)"
    " AND NOT m.retired AND NOT EXISTS (SELECT 1 FROM prune_named n WHERE n.url = m.url)"
    " ORDER BY m.repo_id, m.mnemonic LIMIT $3::integer",
    3};
static const db_stmt stmt_references = {
    "stale_references",
    "SELECT cr.id, cr.repo_id, cr.expression, p.url, cr.id::text FROM prune_repos p"
    " JOIN collection_references cr ON cr.repo_id = p.id"
    " WHERE (cr.repo_id, cr.id) > ($1::bigint, coalesce(nullif($2, '')::bigint, 0))"
    " AND cr.removed_seq IS NULL"
    " AND NOT EXISTS (SELECT 1 FROM prune_exprs x WHERE x.repo_url = p.url"
    " AND x.expression = cr.expression)"
    " AND NOT EXISTS (SELECT 1 FROM mappings m JOIN prune_cascading x ON x.repo_url = p.url"
    " AND x.expression = m.from_concept_url WHERE m.id = cr.mapping_id)"
    " ORDER BY cr.repo_id, cr.id LIMIT $3::integer",
    3};

/* The walks read a repository's rows after the cursor in (repo_id, mnemonic) order, cut at a
 * limit. With statistics from before an import of a million concepts (autovacuum's ANALYZE
 * had not come yet) PostgreSQL took the repository for a few thousand rows, read all of them
 * through its (repo_id, seq) index and sorted them, for every batch: 0.7 s a batch at
 * 1,000,000 concepts, a prune quadratic in their number (bench/RESULTS.md). So the content
 * tables changed by more than a tenth since their last ANALYZE are analyzed first, as
 * autovacuum would soon. */
static int db_stale_analyze_content(db_conn *conn) {
    static const char *const analyze[] = {"ANALYZE concepts", "ANALYZE mappings"};
    PGresult *res;
    int err = db_exec_sql(conn,
                          "SELECT relname = 'mappings' FROM pg_stat_user_tables"
                          " WHERE relid IN ('concepts'::regclass, 'mappings'::regclass)"
                          " AND n_mod_since_analyze > 0.1 * greatest(n_live_tup, 10000)",
                          PGRES_TUPLES_OK, &res);
    if (err < 0)
        return err;
    for (int i = 0; err == 0 && i < PQntuples(res); i++)
        err = db_exec_sql(conn, analyze[PQgetvalue(res, i, 0)[0] == 't'], PGRES_COMMAND_OK, NULL);
    PQclear(res);
    return err;
}

int db_stale_prepare(db_conn *conn, const char *task_id) {
    int err = db_exec_sql(conn, stale_tables_sql, PGRES_COMMAND_OK, NULL);
    const char *values[] = {task_id};
    if (err == 0)
        err = db_exec_text(conn, &stmt_prepare, values, PGRES_TUPLES_OK, NULL);
    if (err == 0) /* the walks' plans need their sizes */
        err = db_exec_sql(conn, "ANALYZE prune_named, prune_repos, prune_exprs, prune_cascading",
                          PGRES_COMMAND_OK, NULL);
    if (err == 0)
        err = db_stale_analyze_content(conn);
    return err;
}

int db_stale_find(db_conn *conn, db_stale_cursor *cursor, db_stale_item *items, size_t cap,
                  size_t *out_n) {
    static const db_stmt *const walks[] = {&stmt_concepts, &stmt_mappings, &stmt_references};
    db_int cap_text = db_int_text((long long)cap);
    for (; cursor->kind < DB_STALE_DONE; *cursor = (db_stale_cursor){.kind = cursor->kind + 1}) {
        db_int repo_text = db_int_text(cursor->repo_id);
        const char *values[] = {repo_text.s, cursor->key, cap_text.s};
        PGresult *res = NULL;
        int err = db_exec_text(conn, walks[cursor->kind], values, PGRES_TUPLES_OK, &res);
        if (err < 0)
            return err;
        size_t n = (size_t)PQntuples(res);
        for (size_t i = 0; i < n && i < cap; i++) {
            db_stale_item *it = &items[i];
            it->kind = cursor->kind;
            it->id = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
            it->repo_id = strtoll(PQgetvalue(res, (int)i, 1), NULL, 10);
            it->url = strdup(PQgetvalue(res, (int)i, 2));
            it->repo_url = strdup(PQgetvalue(res, (int)i, 3));
            if (it->url == NULL || it->repo_url == NULL)
                abort();
        }
        if (n > 0) {
            cursor->repo_id = items[n - 1].repo_id;
            snprintf(cursor->key, sizeof cursor->key, "%s", PQgetvalue(res, (int)n - 1, 4));
        }
        PQclear(res);
        if (n > 0) {
            *out_n = n;
            return 0;
        }
    }
    *out_n = 0;
    return 0;
}

void db_stale_clear(db_conn *conn) {
    /* Best effort: a failure here leaves rows the next prepare replaces. */
    db_exec_sql(conn, "TRUNCATE prune_named, prune_repos, prune_exprs, prune_cascading",
                PGRES_COMMAND_OK, NULL);
}

void db_stale_free(db_stale_item *items, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(items[i].url);
        free(items[i].repo_url);
        items[i].url = items[i].repo_url = NULL;
    }
}
