#include "owners.h"

#include "error.h"
#include "pgconn.h"
#include "users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const db_stmt stmt_org_lookup = {
    "owners_org_lookup",
    "SELECT o.id, EXISTS (SELECT 1 FROM org_members m WHERE m.org_id = o.id AND m.username = $1),"
    " false, o.public_access, o.version FROM organizations o WHERE o.mnemonic = $2::text",
    2};
static const db_stmt stmt_user_lookup = {
    "owners_user_lookup",
    "SELECT 0, u.username = $1, u.is_root, 'View', u.version FROM users u"
    " WHERE u.username = $2::text",
    2};
static const db_stmt stmt_org_create = {
    "owners_org_create",
    "WITH org AS (INSERT INTO organizations (mnemonic, url, public_access, data, created_by,"
    " updated_by) VALUES ($2, $3, $4, $5::jsonb, $1, $1) ON CONFLICT DO NOTHING RETURNING id)"
    " INSERT INTO org_members (org_id, username) SELECT id, $1 FROM org RETURNING org_id",
    5};
static const db_stmt stmt_org_update = {
    "owners_org_update",
    DB_VERSIONED_UPDATE("UPDATE organizations SET public_access = $3, data = $4::jsonb,"
                        " version = version + 1, updated_by = $1, updated_at = now()"
                        " WHERE id = $2::bigint AND (public_access IS DISTINCT FROM $3"
                        " OR data IS DISTINCT FROM $4::jsonb) RETURNING version",
                        "organizations", "id = $2::bigint"),
    4};
static const db_stmt stmt_org_delete = {
    "owners_org_delete", "DELETE FROM organizations WHERE id = $1::bigint", 1};
static const db_stmt stmt_member_add = {
    "owners_member_add",
    "WITH o AS (SELECT id FROM organizations WHERE mnemonic = $1::text),"
    " u AS (SELECT username FROM users WHERE username = $2::text),"
    " ins AS (INSERT INTO org_members (org_id, username) SELECT o.id, u.username FROM o, u"
    " ON CONFLICT DO NOTHING)"
    " SELECT EXISTS (SELECT 1 FROM o), EXISTS (SELECT 1 FROM u)",
    2};
/* Locks the organization row so two concurrent removals cannot both see "not the last". */
static const db_stmt stmt_member_count = {
    "owners_member_count",
    "SELECT o.id, (SELECT count(*) FROM org_members m WHERE m.org_id = o.id),"
    " EXISTS (SELECT 1 FROM org_members m WHERE m.org_id = o.id AND m.username = $2::text)"
    " FROM organizations o WHERE o.mnemonic = $1::text FOR UPDATE",
    2};
static const db_stmt stmt_member_remove = {
    "owners_member_remove",
    "DELETE FROM org_members WHERE org_id = $1::bigint AND username = $2::text", 2};
static const db_stmt stmt_user_create = {
    "owners_user_create",
    "INSERT INTO users (username, data, created_by, updated_by) VALUES ($2, $3::jsonb, $1, $1)"
    " ON CONFLICT DO NOTHING RETURNING version",
    3};
static const db_stmt stmt_user_update = {
    "owners_user_update",
    DB_VERSIONED_UPDATE("UPDATE users SET data = $3::jsonb, version = version + 1,"
                        " updated_by = $1, updated_at = now() WHERE username = $2::text"
                        " AND data IS DISTINCT FROM $3::jsonb RETURNING version",
                        "users", "username = $2::text"),
    3};

int db_owners_lookup(db_conn *conn, const char *caller, bool is_org, const char *name,
                     db_owner *out) {
    memset(out, 0, sizeof *out);
    const char *values[] = {caller, name};
    PGresult *res = NULL;
    int err = db_exec_row(conn, is_org ? &stmt_org_lookup : &stmt_user_lookup, values, &res);
    if (err == BI_ENOTFOUND)
        return 0;
    if (err < 0)
        return err;
    out->found = true;
    out->org_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    out->caller_is_owner = PQgetvalue(res, 0, 1)[0] == 't';
    out->is_root = PQgetvalue(res, 0, 2)[0] == 't';
    snprintf(out->public_access, sizeof out->public_access, "%s", PQgetvalue(res, 0, 3));
    out->version = atoi(PQgetvalue(res, 0, 4));
    PQclear(res);
    return 0;
}

int db_orgs_create(db_conn *conn, const char *caller, const char *mnemonic, const char *url,
                   const char *public_access, const char *data) {
    const char *values[] = {caller, mnemonic, url, public_access, data};
    return db_exec_insert(conn, &stmt_org_create, values);
}

int db_orgs_update(db_conn *conn, const char *caller, int64_t org_id, const char *public_access,
                   const char *data, int *out_version, bool *out_changed) {
    db_int id = db_int_text(org_id);
    const char *values[] = {caller, id.s, public_access, data};
    return db_exec_versioned(conn, &stmt_org_update, values, out_version, out_changed);
}

int db_orgs_delete(db_conn *conn, int64_t org_id) {
    db_int id = db_int_text(org_id);
    const char *values[] = {id.s};
    return db_exec_text(conn, &stmt_org_delete, values, PGRES_COMMAND_OK, NULL);
}

int db_members_add(db_conn *conn, const char *org, const char *username) {
    const char *values[] = {org, username};
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_member_add, values, &res);
    if (err < 0)
        return err;
    bool found = PQgetvalue(res, 0, 0)[0] == 't' && PQgetvalue(res, 0, 1)[0] == 't';
    PQclear(res);
    return found ? 0 : BI_ENOTFOUND;
}

int db_members_remove(db_conn *conn, const char *org, const char *username, bool allow_last) {
    const char *values[] = {org, username};
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_member_count, values, &res);
    if (err < 0)
        return err;
    char org_id[24];
    snprintf(org_id, sizeof org_id, "%s", PQgetvalue(res, 0, 0));
    long members = atol(PQgetvalue(res, 0, 1));
    bool is_member = PQgetvalue(res, 0, 2)[0] == 't';
    PQclear(res);
    if (!is_member)
        return BI_ENOTFOUND;
    if (members == 1 && !allow_last)
        return BI_ECONFLICT;
    const char *remove_values[] = {org_id, username};
    return db_exec_text(conn, &stmt_member_remove, remove_values, PGRES_COMMAND_OK, NULL);
}

int db_users_import_create(db_conn *conn, const char *caller, const char *username,
                           const char *data) {
    const char *values[] = {caller, username, data};
    return db_exec_insert(conn, &stmt_user_create, values);
}

int db_users_import_update(db_conn *conn, const char *caller, const char *username,
                           const char *data, int *out_version, bool *out_changed) {
    const char *values[] = {caller, username, data};
    return db_exec_versioned(conn, &stmt_user_update, values, out_version, out_changed);
}

int db_users_import_delete(db_conn *conn, const char *username) {
    return db_users_disable(conn, username, true, true); /* as the API's DELETE: deactivated */
}
