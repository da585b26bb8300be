#include "reads.h"

#include "compact.h"
#include "error.h"
#include "pgconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A page of base (columns k, doc) ordered by k: the total count and the page as one JSON
 * array. $1 limit, $2 offset, $3 brief (each item's id, url and name, or a reference's
 * expression and type: the members it has, never a null for one it has not); the query's own
 * arguments start at $4. */
#define LIST(base, order)                                                                          \
    "WITH base AS (" base ") SELECT (SELECT count(*) FROM base), coalesce((SELECT json_agg("      \
    "CASE WHEN $3::boolean THEN jsonb_strip_nulls(jsonb_build_object('id', p.doc->'id', 'url',"   \
    " p.doc->'url', 'name', p.doc->'name', 'expression', p.doc->'expression', 'reference_type',"   \
    " p.doc->'reference_type')) ELSE p.doc END ORDER BY p.k " order ") FROM (SELECT k, doc FROM base" \
    " ORDER BY k " order " LIMIT $1::bigint OFFSET $2::bigint) p), '[]')"

#define MEMBER_OF(org_id, user)                                                                    \
    "EXISTS (SELECT 1 FROM org_members m WHERE m.org_id = " org_id " AND m.username = " user ")"

#define OWNER_JSON(t)                                                                              \
    "ocl_json(" t ".data, " t ".mnemonic, " t ".url, NULL, " t ".version, " t ".created_by, " t    \
    ".created_at, " t ".updated_by, " t ".updated_at) || jsonb_build_object('public_access', " t  \
    ".public_access)"

#define CONTENT_FILTER " WHERE ($7::boolean OR NOT x.retired)"

static const db_stmt stmt_list[] = {
    [DB_LIST_ORGS] = {"reads_orgs",
                      LIST("SELECT o.mnemonic AS k, " OWNER_JSON("o") " AS doc FROM organizations o"
                           " WHERE $5::boolean OR o.public_access <> 'None' OR "
                           MEMBER_OF("o.id", "$4::text"), ""),
                      5},
    [DB_LIST_MEMBERS] = {"reads_members",
                         LIST("SELECT m.username AS k, jsonb_build_object('id', m.username,"
                              " 'username', m.username, 'url', '/users/' || m.username || '/',"
                              " 'created_at', ocl_time(m.created_at)) AS doc FROM org_members m"
                              " JOIN organizations o ON o.id = m.org_id JOIN users u ON u.username = m.username"
                              " WHERE o.mnemonic = $4::text AND (u.disabled_at IS NULL OR $5::boolean)",
                              ""),
                         5},
    [DB_LIST_REPOS] = {"reads_repos",
                       LIST("SELECT r.mnemonic AS k, " OWNER_JSON("r") " AS doc FROM repositories r"
                            " LEFT JOIN organizations o ON o.id = r.owner_org_id"
                            " WHERE r.repo_type = $4::text AND CASE WHEN $5::boolean"
                            " THEN o.mnemonic = $6::text ELSE r.owner_user = $6 END"
                            " AND repo_readable(r, $7::text, $8::boolean)", ""),
                       8},
    [DB_LIST_REPO_VERSIONS] = {"reads_repo_versions",
                               LIST("SELECT v.id AS k, ocl_json(v.data, v.mnemonic, v.url, NULL,"
                                    " v.version, v.created_by, v.created_at, v.updated_by,"
                                    " v.updated_at) AS doc FROM repository_versions v"
                                    " WHERE v.repo_id = $4::bigint", "DESC"),
                               4},
    [DB_LIST_CONCEPTS] = {"reads_concepts",
                          LIST("SELECT x.mnemonic AS k, x.doc FROM (SELECT * FROM"
                               " concepts_at($4::bigint, $5::bigint) WHERE NOT $6::boolean"
                               " UNION ALL SELECT * FROM collection_concepts_at($4, $5) WHERE $6) x"
                               CONTENT_FILTER " AND ($8::text IS NULL"
                               " OR strpos(lower(x.mnemonic), lower($8)) > 0 OR EXISTS (SELECT 1"
                               " FROM jsonb_array_elements(CASE WHEN jsonb_typeof(x.doc->'names')"
                               " = 'array' THEN x.doc->'names' ELSE '[]' END) n"
                               " WHERE strpos(lower(n->>'name'), lower($8)) > 0))", ""),
                          8},
    [DB_LIST_MAPPINGS] = {"reads_mappings",
                          LIST("SELECT x.mnemonic AS k, x.doc FROM (SELECT * FROM"
                               " mappings_at($4::bigint, $5::bigint) WHERE NOT $6::boolean"
                               " UNION ALL SELECT * FROM collection_mappings_at($4, $5) WHERE $6) x"
                               CONTENT_FILTER, ""),
                          7},
    [DB_LIST_REFERENCES] = {"reads_references",
                            LIST("SELECT r.id AS k, jsonb_build_object('expression', r.expression,"
                                 " 'reference_type', CASE WHEN r.concept_id IS NOT NULL"
                                 " THEN 'concepts' ELSE 'mappings' END, 'created_by', r.created_by,"
                                 " 'created_at', ocl_time(r.created_at)) AS doc"
                                 " FROM references_at($4::bigint, NULL) r", ""),
                            4},
    [DB_LIST_CONCEPT_VERSIONS] = {"reads_concept_versions",
                                  LIST("SELECT x.version AS k, x.doc FROM concepts c CROSS JOIN"
                                       " LATERAL (SELECT c.version, ocl_json(c.data, c.mnemonic,"
                                       " c.url, c.retired, c.version, c.created_by, c.created_at,"
                                       " c.updated_by, c.updated_at) AS doc UNION ALL"
                                       " SELECT v.version, ocl_json(v.data, c.mnemonic, c.url,"
                                       " v.retired, v.version, c.created_by, c.created_at,"
                                       " v.created_by, v.created_at) FROM concept_versions v"
                                       " WHERE v.concept_id = c.id) x"
                                       " WHERE c.repo_id = $4::bigint AND c.mnemonic = $5::text",
                                       "DESC"),
                                  5},
};

#define CONTENT_ONE(table)                                                                         \
    "SELECT ocl_json(t.data, t.mnemonic, t.url, t.retired, t.version, t.created_by, t.created_at," \
    " t.updated_by, t.updated_at)::text, NULL FROM " table " t WHERE t.repo_id = $1::bigint"      \
    " AND t.mnemonic = $2::text"

static const db_stmt stmt_one[] = {
    [DB_ONE_ORG] = {"reads_org",
                    "SELECT (" OWNER_JSON("o") ")::text, NULL FROM organizations o"
                    " WHERE o.mnemonic = $1::text AND ($3::boolean OR o.public_access <> 'None'"
                    " OR " MEMBER_OF("o.id", "$2::text") ")",
                    3},
    [DB_ONE_USER] = {"reads_user",
                     "SELECT (ocl_json(u.data, u.username, '/users/' || u.username || '/', NULL,"
                     " u.version, u.created_by, u.created_at, u.updated_by, u.updated_at)"
                     " || jsonb_build_object('username', u.username, 'is_root', u.is_root))::text,"
                     " NULL FROM users u WHERE u.username = $1::text",
                     1},
    [DB_ONE_REPO] = {"reads_repo",
                     "SELECT (" OWNER_JSON("r") ")::text, NULL FROM repositories r"
                     " WHERE r.id = $1::bigint",
                     1},
    [DB_ONE_REPO_VERSION] = {"reads_repo_version",
                             "SELECT ocl_json(v.data, v.mnemonic, v.url, NULL, v.version,"
                             " v.created_by, v.created_at, v.updated_by, v.updated_at)::text,"
                             " v.seq::text FROM repository_versions v"
                             " WHERE v.repo_id = $1::bigint AND v.mnemonic = $2::text",
                             2},
    [DB_ONE_CONCEPT] = {"reads_concept", CONTENT_ONE("concepts"), 2},
    [DB_ONE_MAPPING] = {"reads_mapping", CONTENT_ONE("mappings"), 2},
};

/* Copies the JSON text into a new string, compacted. */
static char *db_reads_dup(const char *text) {
    char *copy = strdup(text);
    if (copy == NULL)
        abort();
    db_json_compact(copy);
    return copy;
}

int db_reads_list(db_conn *conn, enum db_list what, const char *const *args, long limit,
                  long offset, bool brief, char **out_json, long *out_total) {
    db_int limit_text = db_int_text(limit);
    db_int offset_text = db_int_text(offset);
    const char *values[16] = {limit_text.s, offset_text.s, brief ? "true" : "false"};
    for (int i = 3; i < stmt_list[what].nparams; i++)
        values[i] = args[i - 3];
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_list[what], values, &res);
    if (err < 0)
        return err;
    *out_total = atol(PQgetvalue(res, 0, 0));
    *out_json = db_reads_dup(PQgetvalue(res, 0, 1));
    PQclear(res);
    return 0;
}

int db_reads_one(db_conn *conn, enum db_one what, const char *const *args, char **out_json,
                 char *out_extra, size_t extra_len) {
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_one[what], args, &res);
    if (err < 0)
        return err;
    *out_json = db_reads_dup(PQgetvalue(res, 0, 0));
    if (out_extra != NULL)
        snprintf(out_extra, extra_len, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    return 0;
}
