/* auth.h — API tokens: reading them from the Authorization header, hashing, generating, and
 * resolving a request's user.
 *
 * Only SHA-256 hashes of tokens reach the database. A missing, malformed and wrong token take
 * the same path (hash + one lookup) so that the answer and its timing do not tell them apart.
 */
#ifndef BI_SERVER_AUTH_H
#define BI_SERVER_AUTH_H

#include "pool.h"
#include "users.h"

#include <stddef.h>

#define AUTH_TOKEN_HEX_LEN 64 /* generated tokens: 32 random bytes in lowercase hex */

/* Parses "Token <token>" or "Bearer <token>" (scheme case-insensitive, one or more spaces).
 * Returns 0 and sets *out_token (borrowed from value) and *out_len, or BI_EAUTH when value is
 * NULL, has another scheme, or has no token or a token with spaces or control characters. */
int auth_parse_header(const char *value, const char **out_token, size_t *out_len);

/* Writes the SHA-256 of token (len bytes) to out. */
void auth_token_hash(const char *token, size_t len, unsigned char out[DB_TOKEN_HASH_LEN]);

/* Writes a new token of AUTH_TOKEN_HEX_LEN hex characters plus a NUL to out, from
 * getrandom(). Returns 0, or BI_EINTERNAL when the kernel gives no randomness. */
int auth_token_generate(char out[AUTH_TOKEN_HEX_LEN + 1]);

/* Resolves the user of an Authorization header value (NULL when absent). Returns 0 and fills
 * *out_user, BI_EAUTH when the token is missing, malformed or unknown, or BI_EUNAVAIL when the
 * database does not answer. */
int auth_authenticate(db_pool *pool, const char *header, db_user *out_user);

#endif
