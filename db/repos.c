#include "repos.h"

#include "error.h"
#include "pgconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPOS_LOOKUP_SQL(lock)                                                                     \
    "SELECT r.id, r.repo_type = 'Collection', r.owner_user IS NOT DISTINCT FROM $1::text OR"      \
    " EXISTS (SELECT 1 FROM org_members m WHERE m.org_id = r.owner_org_id AND m.username = $1),"  \
    " r.public_access, r.version FROM repositories r WHERE r.url = $2::text" lock

static const db_stmt stmt_lookup[] = {
    [DB_LOCK_NONE] = {"repos_lookup", REPOS_LOOKUP_SQL(""), 2},
    [DB_LOCK_SHARE] = {"repos_lookup_share", REPOS_LOOKUP_SQL(" FOR SHARE"), 2},
    [DB_LOCK_UPDATE] = {"repos_lookup_update", REPOS_LOOKUP_SQL(" FOR UPDATE"), 2},
};
static const db_stmt stmt_create = {
    "repos_create",
    "INSERT INTO repositories (repo_type, owner_org_id, owner_user, mnemonic, url, public_access,"
    " data, created_by, updated_by) VALUES ($2, $3::bigint, $4, $5, $6, $7, $8::jsonb, $1, $1)"
    " ON CONFLICT DO NOTHING RETURNING id",
    8};
static const db_stmt stmt_update = {
    "repos_update",
    DB_VERSIONED_UPDATE("UPDATE repositories SET public_access = $3, data = $4::jsonb,"
                        " version = version + 1, updated_by = $1, updated_at = now()"
                        " WHERE id = $2::bigint AND (public_access IS DISTINCT FROM $3"
                        " OR data IS DISTINCT FROM $4::jsonb) RETURNING version",
                        "repositories", "id = $2::bigint"),
    4};
static const db_stmt stmt_delete = {
    "repos_delete", "DELETE FROM repositories WHERE id = $1::bigint", 1};
static const db_stmt stmt_version_lookup = {
    "repos_version_lookup",
    "SELECT version FROM repository_versions WHERE repo_id = $1::bigint AND mnemonic = $2::text",
    2};
static const db_stmt stmt_version_create = {
    "repos_version_create",
    "INSERT INTO repository_versions (repo_id, mnemonic, url, seq, data, created_by, updated_by)"
    " VALUES ($2::bigint, $3, $4, nextval('change_seq'), $5::jsonb, $1, $1)"
    " ON CONFLICT DO NOTHING RETURNING id",
    5};
static const db_stmt stmt_version_update = {
    "repos_version_update",
    DB_VERSIONED_UPDATE("UPDATE repository_versions SET data = $4::jsonb, version = version + 1,"
                        " updated_by = $1, updated_at = now() WHERE repo_id = $2::bigint"
                        " AND mnemonic = $3::text AND data IS DISTINCT FROM $4::jsonb"
                        " RETURNING version",
                        "repository_versions", "repo_id = $2::bigint AND mnemonic = $3::text"),
    4};
static const db_stmt stmt_version_delete = {
    "repos_version_delete",
    "DELETE FROM repository_versions WHERE repo_id = $1::bigint AND mnemonic = $2::text", 2};

int db_repos_lookup(db_conn *conn, const char *caller, const char *url, enum db_lock lock,
                    db_repo *out) {
    memset(out, 0, sizeof *out);
    const char *values[] = {caller, url};
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_lookup[lock], values, &res);
    if (err == BI_ENOTFOUND)
        return 0;
    if (err < 0)
        return err;
    out->found = true;
    out->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    out->is_collection = PQgetvalue(res, 0, 1)[0] == 't';
    out->caller_is_owner = PQgetvalue(res, 0, 2)[0] == 't';
    snprintf(out->public_access, sizeof out->public_access, "%s", PQgetvalue(res, 0, 3));
    out->version = atoi(PQgetvalue(res, 0, 4));
    PQclear(res);
    return 0;
}

int db_repos_create(db_conn *conn, const char *caller, bool is_collection, int64_t owner_org_id,
                    const char *owner_user, const char *mnemonic, const char *url,
                    const char *public_access, const char *data) {
    db_int org_id = db_int_text(owner_org_id);
    const char *values[] = {caller,         is_collection ? "Collection" : "Source",
                            owner_org_id > 0 ? org_id.s : NULL,
                            owner_org_id > 0 ? NULL : owner_user,
                            mnemonic,       url,
                            public_access,  data};
    return db_exec_insert(conn, &stmt_create, values);
}

int db_repos_update(db_conn *conn, const char *caller, int64_t repo_id, const char *public_access,
                    const char *data, int *out_version, bool *out_changed) {
    db_int id = db_int_text(repo_id);
    const char *values[] = {caller, id.s, public_access, data};
    return db_exec_versioned(conn, &stmt_update, values, out_version, out_changed);
}

int db_repos_delete(db_conn *conn, int64_t repo_id) {
    db_int id = db_int_text(repo_id);
    const char *values[] = {id.s};
    return db_exec_text(conn, &stmt_delete, values, PGRES_COMMAND_OK, NULL);
}

int db_repo_versions_lookup(db_conn *conn, int64_t repo_id, const char *mnemonic,
                            bool *out_found, int *out_version) {
    db_int id = db_int_text(repo_id);
    const char *values[] = {id.s, mnemonic};
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_version_lookup, values, &res);
    *out_found = err == 0;
    if (err == BI_ENOTFOUND)
        return 0;
    if (err < 0)
        return err;
    *out_version = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

int db_repo_versions_create(db_conn *conn, const char *caller, int64_t repo_id,
                            const char *mnemonic, const char *url, const char *data) {
    db_int id = db_int_text(repo_id);
    const char *values[] = {caller, id.s, mnemonic, url, data};
    return db_exec_insert(conn, &stmt_version_create, values);
}

int db_repo_versions_update(db_conn *conn, const char *caller, int64_t repo_id,
                            const char *mnemonic, const char *data, int *out_version,
                            bool *out_changed) {
    db_int id = db_int_text(repo_id);
    const char *values[] = {caller, id.s, mnemonic, data};
    return db_exec_versioned(conn, &stmt_version_update, values, out_version, out_changed);
}

int db_repo_versions_delete(db_conn *conn, int64_t repo_id, const char *mnemonic) {
    db_int id = db_int_text(repo_id);
    const char *values[] = {id.s, mnemonic};
    return db_exec_text(conn, &stmt_version_delete, values, PGRES_COMMAND_OK, NULL);
}
