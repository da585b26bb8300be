/* users.h — the users table: names, roles and the SHA-256 of each API token.
 *
 * Tokens themselves are never stored or seen here: callers pass the 32-byte hash. Username
 * syntax is checked by the caller (importer/ids.h) and again by a CHECK constraint.
 */
#ifndef BI_DB_USERS_H
#define BI_DB_USERS_H

#include <stdbool.h>

typedef struct db_conn db_conn;

#define DB_USERNAME_MAX 64
#define DB_TOKEN_HASH_LEN 32

typedef struct db_user {
    char username[DB_USERNAME_MAX + 1];
    bool is_root;
    bool read_only; /* the request's token may only read */
} db_user;

/* Finds the user whose token hashes to hash: its first token (users) or a named one that has
 * not expired (user_tokens), of a user not disabled. Returns 0 and fills *out_user (read_only
 * from the token), BI_ENOTFOUND when no such token is, or BI_EUNAVAIL / BI_EINTERNAL. Records
 * the token's use, at most once a minute. */
int db_users_find_by_token(db_conn *conn, const unsigned char hash[DB_TOKEN_HASH_LEN],
                           db_user *out_user);

/* Creates a user. Returns 0, BI_ECONFLICT when the name (or, astronomically unlikely, the token
 * hash) is taken, BI_EINVAL when the name breaks the table's CHECK, or BI_EUNAVAIL /
 * BI_EINTERNAL. */
int db_users_create(db_conn *conn, const char *username, bool is_root,
                    const unsigned char hash[DB_TOKEN_HASH_LEN]);

/* Replaces a user's token. Returns 0, BI_ENOTFOUND for an unknown user, or BI_EUNAVAIL /
 * BI_EINTERNAL. */
int db_users_set_token(db_conn *conn, const char *username,
                       const unsigned char hash[DB_TOKEN_HASH_LEN]);

/* Makes sure the user "root" exists as a root user. When replace is true its token becomes hash
 * whether it existed or not; otherwise an existing root keeps its token. Returns 0 and sets
 * *out_created when this call created the user, or BI_EUNAVAIL / BI_EINTERNAL. */
int db_users_ensure_root(db_conn *conn, const unsigned char hash[DB_TOKEN_HASH_LEN], bool replace,
                         bool *out_created);

#define DB_WEBHOOK_SECRET_MAX 64

/* The webhook signing secret of username into out (DB_WEBHOOK_SECRET_MAX + 1 bytes): the stored
 * one, or fresh (the caller's new random secret) when the user has none yet or rotate is true.
 * Returns 0, BI_ENOTFOUND for an unknown user, or BI_EUNAVAIL / BI_EINTERNAL. */
int db_users_webhook_secret(db_conn *conn, const char *username, const char *fresh, bool rotate,
                            char *out);

/* Root's view of users: a page of them as a JSON array of {username, is_root, disabled,
 * created_at, disabled_at, tokens, last_used_at} in *out_json (free it), username order,
 * filtered by q (a piece of the name) and is_root / disabled ("true", "false" or NULL), with
 * the number of all that match in *out_total. */
int db_users_admin_list(db_conn *conn, const char *q, const char *is_root, const char *disabled,
                        long limit, long offset, char **out_json, long *out_total);

/* One user in root's view, as db_users_admin_list's items. BI_ENOTFOUND when there is none. */
int db_users_admin_get(db_conn *conn, const char *username, char **out_json);

/* Sets is_root ("true"/"false"/NULL: unchanged) of username. BI_ENOTFOUND when there is none. */
int db_users_set_root(db_conn *conn, const char *username, const char *is_root);

/* Disables username (revoke_tokens: and deletes its tokens, as a DELETE does): its tokens answer
 * 401, its PENDING tasks end REVOKED and its STARTED ones stop at their next batch (both with
 * the reason "user disabled"), its feeds are paused. Or enables it again (disable false: its
 * tokens work again; what was cancelled or paused stays so). BI_ENOTFOUND when there is none. */
int db_users_disable(db_conn *conn, const char *username, bool disable, bool revoke_tokens);

/* Deletes username and everything that refers to it: its tasks with their lines and results,
 * feeds, tokens, memberships and repositories. BI_ENOTFOUND when there is none. */
int db_users_purge(db_conn *conn, const char *username);

/* Whether username is disabled (false when it does not exist). */
int db_users_is_disabled(db_conn *conn, const char *username, bool *out);

#endif
