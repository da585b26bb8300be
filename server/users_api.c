#include "users_api.h"

#include "admin_api.h"
#include "auth.h"
#include "error.h"
#include "ids.h"
#include "log.h"

#include <string.h>

#define USERS_API_MAX_BODY 4096

static int users_api_send_token(http_req *req, int status, const char *username,
                                const bool *is_root, const char *token) {
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "username", username);
    if (is_root != NULL)
        cJSON_AddBoolToObject(body, "is_root", *is_root);
    cJSON_AddStringToObject(body, "token", token);
    http_send_json(req, status, body);
    cJSON_Delete(body);
    return 0;
}

/* Gives username a fresh token and answers with it. */
static int users_api_replace_token(http_req *req, const char *username) {
    char token[AUTH_TOKEN_HEX_LEN + 1];
    unsigned char hash[DB_TOKEN_HASH_LEN];
    int err = auth_token_generate(token);
    if (err < 0)
        return err;
    auth_token_hash(token, AUTH_TOKEN_HEX_LEN, hash);
    db_conn *conn;
    err = db_pool_acquire(req->app->pool, HTTP_DB_WAIT_MS, &conn);
    if (err < 0)
        return err;
    err = db_users_set_token(conn, username, hash);
    db_pool_release(req->app->pool, conn);
    if (err == BI_ENOTFOUND)
        return http_send_error(req, BI_ENOTFOUND, "no user named '%s'", username);
    if (err < 0)
        return err;
    log_info("user %s: new API token issued by %s", username, req->user.username);
    admin_api_audit(req, "token.issue", username, NULL);
    return users_api_send_token(req, 200, username, NULL, token);
}

int users_api_get_me(http_req *req) {
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "username", req->user.username);
    cJSON_AddBoolToObject(body, "is_root", req->user.is_root);
    http_send_json(req, 200, body);
    cJSON_Delete(body);
    return 0;
}

int users_api_create(http_req *req) {
    if (!req->user.is_root)
        return http_send_error(req, BI_EPERM, "only root may create users");
    cJSON *body = NULL;
    if (http_read_json_object(req, USERS_API_MAX_BODY, &body) < 0)
        return 0;
    int err = 0;
    const char *username = NULL;
    bool is_root = false;
    for (const cJSON *field = body->child; field != NULL; field = field->next) {
        if (strcmp(field->string, "username") == 0) {
            if (!cJSON_IsString(field)) {
                err = http_send_error(req, BI_EINVAL, "'username' must be a string");
                goto done;
            }
            username = field->valuestring;
        } else if (strcmp(field->string, "is_root") == 0) {
            if (!cJSON_IsBool(field)) {
                err = http_send_error(req, BI_EINVAL, "'is_root' must be true or false");
                goto done;
            }
            is_root = cJSON_IsTrue(field);
        } else {
            err = http_send_error(req, BI_EINVAL, "unknown field '%.64s'", field->string);
            goto done;
        }
    }
    if (username == NULL) {
        err = http_send_error(req, BI_EINVAL, "'username' is required");
        goto done;
    }
    if (!ids_name_is_valid(username, strlen(username))) {
        err = http_send_error(req, BI_EINVAL, "'username' must match [A-Za-z0-9._@-]{1,64}");
        goto done;
    }
    char token[AUTH_TOKEN_HEX_LEN + 1];
    unsigned char hash[DB_TOKEN_HASH_LEN];
    if ((err = auth_token_generate(token)) < 0)
        goto done;
    auth_token_hash(token, AUTH_TOKEN_HEX_LEN, hash);
    db_conn *conn;
    if ((err = db_pool_acquire(req->app->pool, HTTP_DB_WAIT_MS, &conn)) < 0)
        goto done;
    err = db_users_create(conn, username, is_root, hash);
    db_pool_release(req->app->pool, conn);
    if (err == BI_ECONFLICT) {
        err = http_send_error(req, BI_ECONFLICT, "the username '%s' is taken", username);
        goto done;
    }
    if (err < 0)
        goto done;
    log_info("user %s created by %s%s", username, req->user.username, is_root ? " (root)" : "");
    admin_api_audit(req, "user.create", username, is_root ? "{\"is_root\":true}" : NULL);
    err = users_api_send_token(req, 201, username, &is_root, token);
done:
    cJSON_Delete(body);
    return err;
}

int users_api_rotate_own_token(http_req *req) {
    return users_api_replace_token(req, req->user.username);
}

int users_api_issue_token(http_req *req) {
    if (!req->user.is_root)
        return http_send_error(req, BI_EPERM, "only root may issue tokens for other users");
    return users_api_replace_token(req, req->params[0]);
}

/* Answers with the caller's webhook secret: the stored one, a new one on rotate or first use. */
static int users_api_webhook_secret(http_req *req, bool rotate) {
    char fresh[DB_WEBHOOK_SECRET_MAX + 1], secret[DB_WEBHOOK_SECRET_MAX + 1];
    int err = ids_random_hex(DB_WEBHOOK_SECRET_MAX / 2, fresh);
    db_conn *conn;
    if (err < 0 || (err = db_pool_acquire(req->app->pool, HTTP_DB_WAIT_MS, &conn)) < 0)
        return err;
    err = db_users_webhook_secret(conn, req->user.username, fresh, rotate, secret);
    db_pool_release(req->app->pool, conn);
    if (err < 0)
        return err;
    if (rotate)
        log_info("user %s: webhook secret rotated", req->user.username);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "username", req->user.username);
    cJSON_AddStringToObject(body, "webhook_secret", secret);
    cJSON_AddStringToObject(body, "algorithm", "HMAC-SHA256");
    cJSON_AddStringToObject(body, "header", "X-Bulkimport-Signature");
    http_send_json(req, 200, body);
    cJSON_Delete(body);
    return 0;
}

int users_api_get_webhook_secret(http_req *req) { return users_api_webhook_secret(req, false); }

int users_api_rotate_webhook_secret(http_req *req) { return users_api_webhook_secret(req, true); }
