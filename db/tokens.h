/* tokens.h — a user's named API tokens beside its first one (migrations/0019_user_admin.sql).
 * Only SHA-256 hashes are stored; the first token, in users, lists as "default". */
#ifndef BI_DB_TOKENS_H
#define BI_DB_TOKENS_H

#include "users.h"

/* Adds a token named name for username (read_only; expires_at an ISO time or NULL). Returns 0
 * and its id in *out_id, BI_ECONFLICT when the user has a token of that name, BI_EINVAL when
 * the name is not 1-64 of [A-Za-z0-9._@ -] or is "default". */
int db_tokens_create(db_conn *conn, const char *username, const char *name,
                     const unsigned char hash[DB_TOKEN_HASH_LEN], bool read_only,
                     const char *expires_at, long long *out_id);

/* username's tokens as a JSON array of {id, name, read_only, expires_at, created_at,
 * last_used_at} (the first token as id "default"), in *out_json (free it). */
int db_tokens_list(db_conn *conn, const char *username, char **out_json);

/* Revokes username's token id ("default": the first one). BI_ENOTFOUND when it has none such. */
int db_tokens_revoke(db_conn *conn, const char *username, const char *id);

#endif
