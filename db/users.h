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
} db_user;

/* Finds the user whose token hashes to hash. Returns 0 and fills *out_user, BI_ENOTFOUND when
 * no user has that token, or BI_EUNAVAIL / BI_EINTERNAL. */
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

#endif
