#include "tokens.h"

#include "error.h"
#include "pgconn.h"

#include <stdlib.h>
#include <string.h>

static const db_stmt stmt_create = {
    "tokens_create",
    "INSERT INTO user_tokens (username, name, token_sha256, read_only, expires_at)"
    " VALUES ($1, $2, $3::bytea, $4::boolean, $5::timestamptz) RETURNING id",
    5};
static const db_stmt stmt_list = {
    "tokens_list",
    "SELECT coalesce(json_agg(t ORDER BY t.created_at, t.id), '[]')::text FROM ("
    " SELECT 'default' AS id, 'default' AS name, false AS read_only, NULL AS expires_at,"
    " ocl_time(u.created_at) AS created_at, ocl_time(u.token_last_used_at) AS last_used_at"
    " FROM users u WHERE u.username = $1 AND u.token_sha256 IS NOT NULL"
    " UNION ALL SELECT t.id::text, t.name, t.read_only, ocl_time(t.expires_at), ocl_time(t.created_at),"
    " ocl_time(t.last_used_at) FROM user_tokens t WHERE t.username = $1) t",
    1};
static const db_stmt stmt_revoke = {
    "tokens_revoke",
    "WITH d AS (DELETE FROM user_tokens WHERE username = $1 AND $2 <> 'default'"
    " AND id::text = $2 RETURNING 1),"
    " u AS (UPDATE users SET token_sha256 = NULL WHERE username = $1 AND $2 = 'default'"
    " AND token_sha256 IS NOT NULL RETURNING 1)"
    " SELECT (SELECT count(*) FROM d) + (SELECT count(*) FROM u)",
    2};

int db_tokens_create(db_conn *conn, const char *username, const char *name,
                     const unsigned char hash[DB_TOKEN_HASH_LEN], bool read_only,
                     const char *expires_at, long long *out_id) {
    const char *values[] = {username, name, (const char *)hash, read_only ? "true" : "false",
                            expires_at};
    const int lengths[] = {0, 0, DB_TOKEN_HASH_LEN, 0, 0};
    const int formats[] = {0, 0, 1, 0, 0};
    PGresult *res = NULL;
    int err = db_exec(conn, &stmt_create, values, lengths, formats, PGRES_TUPLES_OK, &res);
    if (err == 0)
        *out_id = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    return err;
}

int db_tokens_list(db_conn *conn, const char *username, char **out_json) {
    const char *values[] = {username};
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_list, values, &res);
    if (err < 0)
        return err;
    if ((*out_json = strdup(PQgetvalue(res, 0, 0))) == NULL)
        abort();
    PQclear(res);
    return 0;
}

int db_tokens_revoke(db_conn *conn, const char *username, const char *id) {
    const char *values[] = {username, id};
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_revoke, values, &res);
    if (err == 0 && atol(PQgetvalue(res, 0, 0)) == 0)
        err = BI_ENOTFOUND;
    PQclear(res);
    return err;
}
