#include "users.h"

#include "error.h"
#include "pgconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const db_stmt stmt_find = {
    "users_find_by_token",
    "SELECT username, is_root, read_only FROM (SELECT u.username, u.is_root, false AS read_only,"
    " u.disabled_at FROM users u WHERE u.token_sha256 = $1::bytea UNION ALL SELECT u.username,"
    " u.is_root, t.read_only, u.disabled_at FROM user_tokens t JOIN users u USING (username)"
    " WHERE t.token_sha256 = $1::bytea AND (t.expires_at IS NULL OR t.expires_at > clock_timestamp()))"
    " f WHERE disabled_at IS NULL LIMIT 1",
    1};
/* A token's last use, written at most once a minute so reads stay reads. */
static const db_stmt stmt_touch = {
    "users_touch_token",
    "WITH u AS (UPDATE users SET token_last_used_at = clock_timestamp() WHERE token_sha256 = $1::bytea"
    " AND (token_last_used_at IS NULL OR token_last_used_at < clock_timestamp() - interval '1 minute'))"
    " UPDATE user_tokens SET last_used_at = clock_timestamp() WHERE token_sha256 = $1::bytea"
    " AND (last_used_at IS NULL OR last_used_at < clock_timestamp() - interval '1 minute')",
    1};
#define USER_ADMIN_JSON                                                                            \
    "jsonb_build_object('username', u.username, 'is_root', u.is_root, 'disabled',"                  \
    " u.disabled_at IS NOT NULL, 'created_at', ocl_time(u.created_at), 'disabled_at',"              \
    " ocl_time(u.disabled_at), 'tokens', (u.token_sha256 IS NOT NULL)::int + (SELECT count(*)"       \
    " FROM user_tokens t WHERE t.username = u.username), 'last_used_at', ocl_time(greatest("         \
    "u.token_last_used_at, (SELECT max(t.last_used_at) FROM user_tokens t WHERE t.username ="       \
    " u.username))))"
static const db_stmt stmt_admin_list = {
    "users_admin_list",
    "WITH m AS (SELECT * FROM users u WHERE ($1::text IS NULL OR strpos(lower(u.username),"
    " lower($1)) > 0) AND ($2::boolean IS NULL OR u.is_root = $2::boolean) AND ($3::boolean IS NULL"
    " OR (u.disabled_at IS NOT NULL) = $3::boolean))"
    " SELECT (SELECT count(*) FROM m), coalesce((SELECT json_agg(" USER_ADMIN_JSON
    " ORDER BY u.username) FROM (SELECT * FROM m ORDER BY username LIMIT $4::bigint"
    " OFFSET $5::bigint) u), '[]')::text",
    5};
static const db_stmt stmt_admin_get = {
    "users_admin_get", "SELECT " USER_ADMIN_JSON "::text FROM users u WHERE u.username = $1", 1};
static const db_stmt stmt_set_root = {
    "users_set_root",
    "UPDATE users SET is_root = coalesce($2::boolean, is_root) WHERE username = $1 RETURNING 1", 2};
/* One statement, so a disable and its effects commit together. */
static const db_stmt stmt_disable = {
    "users_disable",
    "WITH u AS (UPDATE users SET disabled_at = CASE WHEN $2::boolean THEN coalesce(disabled_at,"
    " clock_timestamp()) END, token_sha256 = CASE WHEN $3::boolean THEN NULL ELSE token_sha256 END"
    " WHERE username = $1 RETURNING username),"
    " t AS (DELETE FROM user_tokens WHERE username = $1 AND $3::boolean),"
    " p AS (UPDATE import_tasks SET state = 'REVOKED', error = 'user disabled',"
    " finished_at = clock_timestamp() WHERE username = $1 AND state = 'PENDING' AND $2::boolean),"
    " s AS (UPDATE import_tasks SET cancel_requested = true, error = 'user disabled'"
    " WHERE username = $1 AND state = 'STARTED' AND $2::boolean),"
    " f AS (UPDATE feeds SET paused = true WHERE username = $1 AND $2::boolean)"
    " SELECT count(*) FROM u",
    3};
static const db_stmt stmt_purge = {
    "users_purge", "DELETE FROM users WHERE username = $1 RETURNING 1", 1};
static const db_stmt stmt_is_disabled = {
    "users_is_disabled", "SELECT disabled_at IS NOT NULL FROM users WHERE username = $1", 1};
static const db_stmt stmt_create = {
    "users_create",
    "INSERT INTO users (username, is_root, token_sha256) VALUES ($1::text, $2::boolean, $3::bytea)",
    3};
static const db_stmt stmt_set_token = {
    "users_set_token", "UPDATE users SET token_sha256 = $2::bytea WHERE username = $1::text", 2};
/* xmax = 0 on the returned row means INSERT created it rather than the ON CONFLICT update. */
static const db_stmt stmt_root_replace = {
    "users_root_replace",
    "INSERT INTO users (username, is_root, token_sha256) VALUES ('root', true, $1::bytea)"
    " ON CONFLICT (username) DO UPDATE SET token_sha256 = EXCLUDED.token_sha256, is_root = true"
    " RETURNING (xmax = 0)",
    1};
static const db_stmt stmt_root_keep = {
    "users_root_keep",
    "INSERT INTO users (username, is_root, token_sha256) VALUES ('root', true, $1::bytea)"
    " ON CONFLICT (username) DO NOTHING RETURNING true",
    1};

/* A user's webhook secret: fresh ($2) when there is none yet or on rotate ($3), else the stored
 * one, read without writing the row (every delivery and GET reads it). The first use is one
 * atomic statement: two of them at once both update, and the second's coalesce keeps the
 * secret the first committed (it re-reads the locked row), where a re-read of a snapshot taken
 * before that commit would see no secret at all and sign with an empty one. */
static const db_stmt stmt_webhook_secret = {
    "users_webhook_secret",
    "WITH cur AS (SELECT webhook_secret FROM users WHERE username = $1),"
    " upd AS (UPDATE users SET webhook_secret = coalesce(CASE WHEN $3::boolean THEN NULL ELSE"
    " webhook_secret END, $2) WHERE username = $1 AND ((SELECT webhook_secret FROM cur) IS NULL"
    " OR $3::boolean) RETURNING webhook_secret)"
    " SELECT webhook_secret FROM upd UNION ALL SELECT webhook_secret FROM cur"
    " WHERE NOT EXISTS (SELECT 1 FROM upd)",
    3};

static const int binary_hash_formats[] = {1, 1, 1};

int db_users_find_by_token(db_conn *conn, const unsigned char hash[DB_TOKEN_HASH_LEN],
                           db_user *out_user) {
    const char *values[] = {(const char *)hash};
    const int lengths[] = {DB_TOKEN_HASH_LEN};
    PGresult *res = NULL;
    int err = db_exec(conn, &stmt_find, values, lengths, binary_hash_formats, PGRES_TUPLES_OK, &res);
    if (err < 0)
        return err;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return BI_ENOTFOUND;
    }
    snprintf(out_user->username, sizeof out_user->username, "%s", PQgetvalue(res, 0, 0));
    out_user->is_root = PQgetvalue(res, 0, 1)[0] == 't';
    out_user->read_only = PQgetvalue(res, 0, 2)[0] == 't';
    PQclear(res);
    /* A failed record of the use (a standby, a brief outage) must not refuse the request. */
    db_exec(conn, &stmt_touch, values, lengths, binary_hash_formats, PGRES_COMMAND_OK, NULL);
    return 0;
}

int db_users_admin_list(db_conn *conn, const char *q, const char *is_root, const char *disabled,
                        long limit, long offset, char **out_json, long *out_total) {
    db_int l = db_int_text(limit), o = db_int_text(offset);
    const char *values[] = {q, is_root, disabled, l.s, o.s};
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_admin_list, values, &res);
    if (err < 0)
        return err;
    *out_total = atol(PQgetvalue(res, 0, 0));
    if ((*out_json = strdup(PQgetvalue(res, 0, 1))) == NULL)
        abort();
    PQclear(res);
    return 0;
}

int db_users_admin_get(db_conn *conn, const char *username, char **out_json) {
    const char *values[] = {username};
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_admin_get, values, &res);
    if (err < 0)
        return err;
    if ((*out_json = strdup(PQgetvalue(res, 0, 0))) == NULL)
        abort();
    PQclear(res);
    return 0;
}

int db_users_set_root(db_conn *conn, const char *username, const char *is_root) {
    const char *values[] = {username, is_root};
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_set_root, values, &res);
    PQclear(res);
    return err;
}

int db_users_disable(db_conn *conn, const char *username, bool disable, bool revoke_tokens) {
    const char *values[] = {username, disable ? "true" : "false", revoke_tokens ? "true" : "false"};
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_disable, values, &res);
    if (err == 0 && atol(PQgetvalue(res, 0, 0)) == 0)
        err = BI_ENOTFOUND;
    PQclear(res);
    return err;
}

int db_users_purge(db_conn *conn, const char *username) {
    const char *values[] = {username};
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_purge, values, &res);
    PQclear(res);
    return err;
}

int db_users_is_disabled(db_conn *conn, const char *username, bool *out) {
    const char *values[] = {username};
    PGresult *res = NULL;
    *out = false;
    int err = db_exec_row(conn, &stmt_is_disabled, values, &res);
    if (err == 0)
        *out = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return err == BI_ENOTFOUND ? 0 : err;
}

int db_users_create(db_conn *conn, const char *username, bool is_root,
                    const unsigned char hash[DB_TOKEN_HASH_LEN]) {
    const char *values[] = {username, is_root ? "true" : "false", (const char *)hash};
    const int lengths[] = {0, 0, DB_TOKEN_HASH_LEN};
    const int formats[] = {0, 0, 1};
    return db_exec(conn, &stmt_create, values, lengths, formats, PGRES_COMMAND_OK, NULL);
}

int db_users_set_token(db_conn *conn, const char *username,
                       const unsigned char hash[DB_TOKEN_HASH_LEN]) {
    const char *values[] = {username, (const char *)hash};
    const int lengths[] = {0, DB_TOKEN_HASH_LEN};
    const int formats[] = {0, 1};
    PGresult *res = NULL;
    int err = db_exec(conn, &stmt_set_token, values, lengths, formats, PGRES_COMMAND_OK, &res);
    if (err < 0)
        return err;
    bool found = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    return found ? 0 : BI_ENOTFOUND;
}

int db_users_ensure_root(db_conn *conn, const unsigned char hash[DB_TOKEN_HASH_LEN], bool replace,
                         bool *out_created) {
    const char *values[] = {(const char *)hash};
    const int lengths[] = {DB_TOKEN_HASH_LEN};
    PGresult *res = NULL;
    int err = db_exec(conn, replace ? &stmt_root_replace : &stmt_root_keep, values, lengths,
                      binary_hash_formats, PGRES_TUPLES_OK, &res);
    if (err < 0)
        return err;
    *out_created = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return 0;
}

int db_users_webhook_secret(db_conn *conn, const char *username, const char *fresh, bool rotate,
                            char *out) {
    const char *values[] = {username, fresh, rotate ? "true" : "false"};
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_webhook_secret, values, &res);
    if (err < 0)
        return err;
    snprintf(out, DB_WEBHOOK_SECRET_MAX + 1, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}
