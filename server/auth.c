#include "auth.h"

#include "error.h"
#include "http.h"
#include "ids.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <strings.h>

/* How long a request may wait for a database connection before answering 503. */
#define AUTH_POOL_WAIT_MS HTTP_DB_WAIT_MS

int auth_parse_header(const char *value, const char **out_token, size_t *out_len) {
    if (value == NULL)
        return BI_EAUTH;
    size_t scheme_len;
    if (strncasecmp(value, "Token ", 6) == 0)
        scheme_len = 6;
    else if (strncasecmp(value, "Bearer ", 7) == 0)
        scheme_len = 7;
    else
        return BI_EAUTH;
    const char *token = value + scheme_len;
    while (*token == ' ')
        token++;
    size_t len = 0;
    while (token[len] > ' ' && token[len] < 0x7f)
        len++;
    if (len == 0 || token[len] != '\0')
        return BI_EAUTH;
    *out_token = token;
    *out_len = len;
    return 0;
}

void auth_token_hash(const char *token, size_t len, unsigned char out[DB_TOKEN_HASH_LEN]) {
    unsigned int out_len = 0;
    if (EVP_Digest(token, len, out, &out_len, EVP_sha256(), NULL) != 1 ||
        out_len != DB_TOKEN_HASH_LEN)
        abort(); /* libcrypto cannot fail here short of running out of memory */
}

int auth_token_generate(char out[AUTH_TOKEN_HEX_LEN + 1]) {
    return ids_random_hex(AUTH_TOKEN_HEX_LEN / 2, out);
}

int auth_authenticate(db_pool *pool, const char *header, db_user *out_user) {
    const char *token = "";
    size_t len = 0;
    bool well_formed = auth_parse_header(header, &token, &len) == 0;
    unsigned char hash[DB_TOKEN_HASH_LEN];
    auth_token_hash(token, len, hash); /* also for a missing token: same work, same timing */
    db_conn *conn;
    int err = db_pool_acquire(pool, AUTH_POOL_WAIT_MS, &conn);
    if (err < 0)
        return err;
    db_user user;
    err = db_users_find_by_token(conn, hash, &user);
    db_pool_release(pool, conn);
    if (err == BI_ENOTFOUND || (err == 0 && !well_formed))
        return BI_EAUTH;
    if (err < 0)
        return err;
    *out_user = user;
    return 0;
}
