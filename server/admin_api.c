#include "admin_api.h"

#include "audit.h"
#include "auth.h"
#include "error.h"
#include "log.h"
#include "task_query.h"
#include "tokens.h"
#include "utf8.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADMIN_API_MAX_BODY 4096
#define ADMIN_API_LIMIT 50
#define ADMIN_API_LIMIT_MAX 1000

/* Answers the request with an error and stands for "answered" (a positive err, so the loops
 * that check a body stop at the first fault; the handler then returns 0). */
#define ADMIN_API_ANSWERED 1
#define ADMIN_API_REFUSE(...) (http_send_error(__VA_ARGS__), ADMIN_API_ANSWERED)

void admin_api_audit(http_req *req, const char *action, const char *target, const char *detail) {
    if (!req->user.is_root)
        return;
    db_conn *conn;
    int err = db_pool_acquire(req->app->pool, HTTP_DB_WAIT_MS, &conn);
    if (err == 0) {
        err = db_audit_add(conn, req->user.username, action, target, detail);
        db_pool_release(req->app->pool, conn);
    }
    if (err < 0)
        log_error("audit: %s %s by %s not recorded: %s", action, target, req->user.username,
                  error_message(err));
}

void admin_api_task_owner(const char *task_id, char *out, size_t cap) {
    const char *tilde = strrchr(task_id, '~');
    out[0] = '\0';
    if (strlen(task_id) < 38 || tilde == NULL || tilde < task_id + 37 || task_id[36] != '-')
        return;
    snprintf(out, cap, "%.*s", (int)(tilde - task_id - 37), task_id + 37);
}

/* Answers 403 unless the caller is root; returns whether it is. */
static bool admin_api_root(http_req *req, const char *what) {
    if (req->user.is_root)
        return true;
    http_send_error(req, BI_EPERM, "only root may %s", what);
    return false;
}

/* Runs fn on a pooled connection; returns its result, or the pool's error. */
static int admin_api_with_conn(http_req *req, int (*fn)(http_req *, db_conn *, void *), void *ctx) {
    db_conn *conn;
    int err = db_pool_acquire(req->app->pool, HTTP_DB_WAIT_MS, &conn);
    if (err < 0)
        return err;
    err = fn(req, conn, ctx);
    db_pool_release(req->app->pool, conn);
    return err;
}

/* Sends a JSON array's text as a page, with X-Total-Count. */
static int admin_api_send_page(http_req *req, const char *json, long total) {
    char header[64];
    snprintf(header, sizeof header, "X-Total-Count: %ld\r\n", total);
    return http_send_json_text(req, 200, header, json, strlen(json));
}

/* Reads an optional true/false query parameter into out ("true", "false" or NULL). */
static int admin_api_flag(http_req *req, const char *name, const char **out) {
    bool value = false, given = false;
    char why[128];
    char text[8];
    if (http_query_text(req, name, text, sizeof text) > 0)
        given = true;
    if (http_query_bool(req, name, &value, why, sizeof why) < 0) {
        http_send_error(req, BI_EINVAL, "%s", why);
        return BI_EINVAL;
    }
    *out = given ? (value ? "true" : "false") : NULL;
    return 0;
}

static int admin_api_list_users_on(http_req *req, db_conn *conn, void *ctx) {
    (void)ctx;
    static const char *const params[] = {"q", "is_root", "disabled", "page", "limit", NULL};
    if (http_query_only(req, params) < 0)
        return 0;
    long page = 1, limit = ADMIN_API_LIMIT;
    char why[128], q[128];
    if (http_query_long(req, "page", 1, 1L << 30, &page, why, sizeof why) < 0 ||
        http_query_long(req, "limit", 1, ADMIN_API_LIMIT_MAX, &limit, why, sizeof why) < 0)
        return http_send_error(req, BI_EINVAL, "%s", why);
    const char *is_root, *disabled;
    int got = http_query_text(req, "q", q, sizeof q);
    if (got < 0 || admin_api_flag(req, "is_root", &is_root) < 0 ||
        admin_api_flag(req, "disabled", &disabled) < 0)
        return 0;
    if (got > 0 && utf8_invalid_at(q, strlen(q)) != strlen(q))
        return http_send_error(req, BI_EINVAL, "q must be UTF-8 text");
    char *json;
    long total;
    int err = db_users_admin_list(conn, got > 0 ? q : NULL, is_root, disabled, limit,
                                  (page - 1) * limit, &json, &total);
    if (err < 0)
        return err;
    admin_api_send_page(req, json, total);
    free(json);
    return 0;
}

int admin_api_list_users(http_req *req) {
    if (!admin_api_root(req, "list the users"))
        return 0;
    return admin_api_with_conn(req, admin_api_list_users_on, NULL);
}

/* Sends username's admin view with status. */
static int admin_api_send_user(http_req *req, db_conn *conn, const char *username, int status) {
    char *json;
    int err = db_users_admin_get(conn, username, &json);
    if (err == BI_ENOTFOUND)
        return http_send_error(req, err, "no user named '%.64s'", username);
    if (err < 0)
        return err;
    http_send_json_text(req, status, NULL, json, strlen(json));
    free(json);
    return 0;
}

typedef struct user_change {
    const char *is_root; /* "true", "false" or NULL: unchanged */
    int disable;         /* 1, 0, or -1: unchanged */
} user_change;

static int admin_api_update_on(http_req *req, db_conn *conn, void *ctx) {
    const user_change *c = ctx;
    const char *username = req->params[0];
    int err = db_begin(conn);
    if (err == 0 && c->is_root != NULL)
        err = db_users_set_root(conn, username, c->is_root);
    if (err == 0 && c->disable >= 0)
        err = db_users_disable(conn, username, c->disable == 1, false);
    if (err == 0)
        err = db_commit(conn);
    else
        db_rollback(conn);
    if (err == BI_ENOTFOUND)
        return http_send_error(req, err, "no user named '%.64s'", username);
    if (err < 0)
        return err;
    return admin_api_send_user(req, conn, username, 200);
}

int admin_api_update_user(http_req *req) {
    if (!admin_api_root(req, "change users"))
        return 0;
    cJSON *body = NULL;
    if (http_read_json_object(req, ADMIN_API_MAX_BODY, &body) < 0)
        return 0;
    user_change c = {.is_root = NULL, .disable = -1};
    int err = 0;
    for (const cJSON *f = body->child; f != NULL && err == 0; f = f->next) {
        bool is_flag = strcmp(f->string, "is_root") == 0 || strcmp(f->string, "disabled") == 0;
        if (!is_flag)
            err = ADMIN_API_REFUSE(req, BI_EINVAL, "unknown field '%.64s' (is_root, disabled)", f->string);
        else if (!cJSON_IsBool(f))
            err = ADMIN_API_REFUSE(req, BI_EINVAL, "'%s' must be true or false", f->string);
        else if (f->string[0] == 'i')
            c.is_root = cJSON_IsTrue(f) ? "true" : "false";
        else
            c.disable = cJSON_IsTrue(f) ? 1 : 0;
        if (err == 0 && is_flag && strcmp(req->params[0], req->user.username) == 0 &&
            (c.disable == 1 || (c.is_root && strcmp(c.is_root, "false") == 0)))
            err = ADMIN_API_REFUSE(req, BI_ECONFLICT, "root cannot disable or demote itself");
    }
    char *detail = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (err == 0) {
        err = admin_api_with_conn(req, admin_api_update_on, &c);
        if (err == 0 && req->status == 200) {
            admin_api_audit(req, c.disable == 1 ? "user.disable" : "user.update", req->params[0], detail);
            log_info("user %s changed by %s: %s", req->params[0], req->user.username, detail);
        }
    }
    free(detail);
    return err == ADMIN_API_ANSWERED ? 0 : err;
}

static int admin_api_delete_on(http_req *req, db_conn *conn, void *ctx) {
    bool purge = *(bool *)ctx;
    int err = purge ? db_users_purge(conn, req->params[0])
                    : db_users_disable(conn, req->params[0], true, true);
    if (err == BI_ENOTFOUND)
        return http_send_error(req, err, "no user named '%.64s'", req->params[0]);
    if (err < 0)
        return err;
    return http_send_no_content(req);
}

int admin_api_delete_user(http_req *req) {
    static const char *const params[] = {"purge", NULL};
    if (http_query_only(req, params) < 0 || !admin_api_root(req, "delete users"))
        return 0;
    bool purge = false;
    char why[128];
    if (http_query_bool(req, "purge", &purge, why, sizeof why) < 0)
        return http_send_error(req, BI_EINVAL, "%s", why);
    if (strcmp(req->params[0], req->user.username) == 0)
        return http_send_error(req, BI_ECONFLICT, "root cannot delete itself");
    int err = admin_api_with_conn(req, admin_api_delete_on, &purge);
    if (err == 0 && req->status == 204) {
        admin_api_audit(req, purge ? "user.purge" : "user.delete", req->params[0], NULL);
        log_info("user %s %s by %s", req->params[0], purge ? "purged" : "deactivated",
                 req->user.username);
    }
    return err;
}

/* ---- tokens ------------------------------------------------------------------------------ */

typedef struct new_token {
    const char *name, *expires_at;
    bool read_only;
    char token[AUTH_TOKEN_HEX_LEN + 1];
    long long id;
} new_token;

static int admin_api_create_on(http_req *req, db_conn *conn, void *ctx) {
    new_token *t = ctx;
    unsigned char hash[DB_TOKEN_HASH_LEN];
    auth_token_hash(t->token, AUTH_TOKEN_HEX_LEN, hash);
    int err = db_tokens_create(conn, req->user.username, t->name, hash, t->read_only,
                               t->expires_at, &t->id);
    if (err == BI_ECONFLICT)
        return http_send_error(req, err, "you have a token named '%.64s' already", t->name);
    if (err == BI_EINVAL || err == BI_EREFUSED)
        return http_send_error(req, BI_EINVAL, "a token's name is 1 to 64 of A-Z a-z 0-9 . _ @ - "
                                               "and space, not 'default'; expires_at an ISO 8601 time");
    return err;
}

int admin_api_create_token(http_req *req) {
    cJSON *body = NULL;
    if (http_read_json_object(req, ADMIN_API_MAX_BODY, &body) < 0)
        return 0;
    new_token t = {.name = NULL};
    int err = 0;
    for (const cJSON *f = body->child; f != NULL && err == 0; f = f->next) {
        if (strcmp(f->string, "name") == 0 && cJSON_IsString(f))
            t.name = f->valuestring;
        else if (strcmp(f->string, "expires_at") == 0 && (cJSON_IsString(f) || cJSON_IsNull(f)))
            t.expires_at = cJSON_IsString(f) ? f->valuestring : NULL;
        else if (strcmp(f->string, "read_only") == 0 && cJSON_IsBool(f))
            t.read_only = cJSON_IsTrue(f);
        else
            err = ADMIN_API_REFUSE(req, BI_EINVAL, "'%.64s' is not a token's field (name: a string, "
                                                  "expires_at: an ISO 8601 time, read_only: a boolean)",
                                  f->string);
    }
    if (err == 0 && t.name == NULL)
        err = ADMIN_API_REFUSE(req, BI_EINVAL, "a token needs a name");
    if (err == 0 && t.expires_at != NULL && !task_query_is_iso_time(t.expires_at))
        err = ADMIN_API_REFUSE(req, BI_EINVAL, "expires_at must be an ISO 8601 date or time");
    if (err == 0 && req->user.read_only)
        err = ADMIN_API_REFUSE(req, BI_EPERM, "a read-only token cannot make tokens");
    if (err == 0 && (err = auth_token_generate(t.token)) == 0)
        err = admin_api_with_conn(req, admin_api_create_on, &t);
    if (err == 0 && req->status == 0) {
        cJSON *out = cJSON_CreateObject();
        char id[32];
        snprintf(id, sizeof id, "%lld", t.id);
        cJSON_AddStringToObject(out, "id", id);
        cJSON_AddStringToObject(out, "name", t.name);
        cJSON_AddStringToObject(out, "username", req->user.username);
        cJSON_AddStringToObject(out, "token", t.token);
        cJSON_AddBoolToObject(out, "read_only", t.read_only);
        if (t.expires_at)
            cJSON_AddStringToObject(out, "expires_at", t.expires_at);
        else
            cJSON_AddNullToObject(out, "expires_at");
        http_send_json(req, 201, out);
        cJSON_Delete(out);
        char detail[160];
        snprintf(detail, sizeof detail, "{\"id\":\"%s\"}", id);
        admin_api_audit(req, "token.create", req->user.username, detail);
        log_info("user %s: token %s (%s) made", req->user.username, id, t.read_only ? "read-only" : "full");
    }
    cJSON_Delete(body);
    return err == ADMIN_API_ANSWERED ? 0 : err;
}

static int admin_api_list_tokens_on(http_req *req, db_conn *conn, void *ctx) {
    (void)ctx;
    char *json;
    int err = db_tokens_list(conn, req->user.username, &json);
    if (err < 0)
        return err;
    http_send_json_text(req, 200, NULL, json, strlen(json));
    free(json);
    return 0;
}

int admin_api_list_tokens(http_req *req) {
    static const char *const params[] = {NULL};
    if (http_query_only(req, params) < 0)
        return 0;
    return admin_api_with_conn(req, admin_api_list_tokens_on, NULL);
}

static int admin_api_revoke_on(http_req *req, db_conn *conn, void *ctx) {
    (void)ctx;
    int err = db_tokens_revoke(conn, req->user.username, req->params[0]);
    if (err == BI_ENOTFOUND)
        return http_send_error(req, err, "you have no token %.64s", req->params[0]);
    if (err < 0)
        return err;
    return http_send_no_content(req);
}

int admin_api_revoke_token(http_req *req) {
    if (req->user.read_only)
        return http_send_error(req, BI_EPERM, "a read-only token cannot revoke tokens");
    int err = admin_api_with_conn(req, admin_api_revoke_on, NULL);
    if (err == 0 && req->status == 204) {
        char detail[160];
        snprintf(detail, sizeof detail, "{\"id\":\"%.64s\"}", req->params[0]);
        admin_api_audit(req, "token.revoke", req->user.username, detail);
        log_info("user %s: token %s revoked", req->user.username, req->params[0]);
    }
    return err;
}

/* ---- audit ------------------------------------------------------------------------------- */

static int admin_api_list_audit_on(http_req *req, db_conn *conn, void *ctx) {
    (void)ctx;
    static const char *const params[] = {"page", "limit", NULL};
    if (http_query_only(req, params) < 0)
        return 0;
    long page = 1, limit = ADMIN_API_LIMIT;
    char why[128];
    if (http_query_long(req, "page", 1, 1L << 30, &page, why, sizeof why) < 0 ||
        http_query_long(req, "limit", 1, ADMIN_API_LIMIT_MAX, &limit, why, sizeof why) < 0)
        return http_send_error(req, BI_EINVAL, "%s", why);
    char *json;
    long total;
    int err = db_audit_list(conn, limit, (page - 1) * limit, &json, &total);
    if (err < 0)
        return err;
    admin_api_send_page(req, json, total);
    free(json);
    return 0;
}

int admin_api_list_audit(http_req *req) {
    if (!admin_api_root(req, "read the audit log"))
        return 0;
    return admin_api_with_conn(req, admin_api_list_audit_on, NULL);
}
