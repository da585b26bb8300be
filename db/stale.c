#include "stale.h"

#include "error.h"
#include "pgconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Only the few columns needed are unnested from the task's batches, and messages only when the
 * file had reference lines: this runs once per prune batch. Results with a JSON message are the
 * successful ones; a reference line's message lists its
 * expressions and the mappings it cascaded to (a reference is named by these, or by a prune
 * result of this task — not by its target's URL). A mapping reference cascaded from a concept the
 * file references (with cascade) counts as mentioned even when it was already there. */
static const db_stmt stmt_find = {
    "stale_find",
    "WITH res AS MATERIALIZED (SELECT r.* FROM import_batches b CROSS JOIN LATERAL"
    " unnest(b.line_no, b.obj_type, b.obj_url, b.repo_url, b.status)"
    " AS r(line_no, obj_type, obj_url, repo_url, status) WHERE b.task_id = $1),"
    " repos AS (SELECT p.id, p.url FROM repositories p WHERE p.url IN (SELECT repo_url FROM res"
    " WHERE status BETWEEN 1 AND 399 AND obj_type IN ('Concept', 'Mapping', 'Reference'))),"
    " named AS (SELECT obj_url AS url FROM res WHERE obj_url IS NOT NULL),"
    " ref_lines AS (SELECT repo_url, message::jsonb AS m FROM import_results WHERE task_id = $1"
    " AND obj_type = 'Reference' AND status BETWEEN 200 AND 299 AND left(message, 1) = '{'"
    " AND EXISTS (SELECT 1 FROM res WHERE obj_type = 'Reference')),"
    " exprs AS (SELECT r.repo_url, e->>'expression' AS expression FROM ref_lines r,"
    " jsonb_array_elements(r.m->'expressions') e"
    " UNION SELECT r.repo_url, c #>> '{}' FROM ref_lines r,"
    " jsonb_array_elements(r.m->'cascaded_mappings') c"
    " UNION SELECT repo_url, obj_url FROM res WHERE line_no IS NULL AND obj_type = 'Reference'),"
    " cascading AS (SELECT r.repo_url, e->>'expression' AS expression FROM ref_lines r,"
    " jsonb_array_elements(r.m->'expressions') e WHERE r.m ? 'cascaded_mappings'),"
    " stale AS ("
    " SELECT 0 AS kind, c.id, p.id AS repo_id, c.url, p.url AS repo_url FROM concepts c"
    " JOIN repos p ON c.repo_id = p.id WHERE NOT c.retired"
    " AND NOT EXISTS (SELECT 1 FROM named n WHERE n.url = c.url)"
    " UNION ALL SELECT 1, m.id, p.id, m.url, p.url FROM mappings m JOIN repos p ON m.repo_id = p.id"
    " WHERE NOT m.retired AND NOT EXISTS (SELECT 1 FROM named n WHERE n.url = m.url)"
    " UNION ALL SELECT 2, cr.id, p.id, cr.expression, p.url FROM collection_references cr"
    " JOIN repos p ON cr.repo_id = p.id WHERE cr.removed_seq IS NULL"
    " AND NOT EXISTS (SELECT 1 FROM exprs x WHERE x.repo_url = p.url"
    " AND x.expression = cr.expression)"
    " AND NOT EXISTS (SELECT 1 FROM mappings m JOIN cascading x ON x.repo_url = p.url"
    " AND x.expression = m.from_concept_url WHERE m.id = cr.mapping_id))"
    " SELECT kind, id, repo_id, url, repo_url FROM stale ORDER BY repo_id, kind, id"
    " LIMIT $2::integer",
    2};

int db_stale_find(db_conn *conn, const char *task_id, db_stale_item *items, size_t cap,
                  size_t *out_n) {
    db_int cap_text = db_int_text((long long)cap);
    const char *values[] = {task_id, cap_text.s};
    PGresult *res = NULL;
    int err = db_exec_text(conn, &stmt_find, values, PGRES_TUPLES_OK, &res);
    if (err < 0)
        return err;
    size_t n = (size_t)PQntuples(res);
    for (size_t i = 0; i < n && i < cap; i++) {
        db_stale_item *it = &items[i];
        it->kind = (enum db_stale_kind)atoi(PQgetvalue(res, (int)i, 0));
        it->id = strtoll(PQgetvalue(res, (int)i, 1), NULL, 10);
        it->repo_id = strtoll(PQgetvalue(res, (int)i, 2), NULL, 10);
        it->url = strdup(PQgetvalue(res, (int)i, 3));
        it->repo_url = strdup(PQgetvalue(res, (int)i, 4));
        if (it->url == NULL || it->repo_url == NULL)
            abort();
    }
    *out_n = n < cap ? n : cap;
    PQclear(res);
    return 0;
}

void db_stale_free(db_stale_item *items, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(items[i].url);
        free(items[i].repo_url);
        items[i].url = items[i].repo_url = NULL;
    }
}
