#include "users.h"

#include "error.h"
#include "pgconn.h"

#include <stdio.h>
#include <string.h>

static const db_stmt stmt_find = {
    "users_find_by_token", "SELECT username, is_root FROM users WHERE token_sha256 = $1::bytea",
    1};
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
    PQclear(res);
    return 0;
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
