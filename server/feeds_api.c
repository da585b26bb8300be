#include "feeds_api.h"

#include "directives.h"
#include "error.h"
#include "feed.h"
#include "fetch.h"
#include "ids.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FEEDS_API_MAX_BODY (DB_FEED_HEADERS_MAX + 8192)
#define FEEDS_API_MAX_HEADERS 32

/* Whether text is an HTTP header name (RFC 9110 token) of at most 64 bytes. */
static bool feeds_api_header_name_ok(const char *text) {
    size_t len = strlen(text);
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((text[i] >= 'A' && text[i] <= 'Z') || (text[i] >= 'a' && text[i] <= 'z') ||
              (text[i] >= '0' && text[i] <= '9') || strchr("!#$%&'*+-.^_`|~", text[i])))
            return false;
    return true;
}

/* Checks the headers object and stores it as JSON text in f. Returns NULL or why it is bad
 * (the caller names the field). */
static const char *feeds_api_headers(const cJSON *v, db_feed *f) {
    if (!cJSON_IsObject(v))
        return "must be an object of header names to string values";
    int n = 0;
    for (const cJSON *h = v->child; h != NULL; h = h->next, n++) {
        if (!feeds_api_header_name_ok(h->string))
            return "has a name that is not an HTTP header name";
        if (!cJSON_IsString(h) || strpbrk(h->valuestring, "\r\n") != NULL)
            return "values must be strings on one line";
    }
    char *text = cJSON_PrintUnformatted(v);
    if (text == NULL)
        abort();
    const char *why = NULL;
    if (n > FEEDS_API_MAX_HEADERS)
        why = "may hold at most 32 headers";
    else if (strlen(text) >= sizeof f->headers)
        why = "is too large (at most 8 KB as JSON)";
    else
        snprintf(f->headers, sizeof f->headers, "%s", text);
    free(text);
    return why;
}

/* Copies a string field (or null when nullable, as "") of at most cap - 1 bytes to out. */
static const char *feeds_api_text(const cJSON *v, bool nullable, char *out, size_t cap) {
    if (nullable && cJSON_IsNull(v)) {
        out[0] = '\0';
        return NULL;
    }
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0' || strlen(v->valuestring) >= cap)
        return "must be a non-empty string";
    snprintf(out, cap, "%s", v->valuestring);
    return NULL;
}

/* Applies one field of a request body to f. Returns NULL, or why it is bad (the caller names
 * the field). */
static const char *feeds_api_field(const cJSON *v, db_feed *f, bool *forget) {
    const char *name = v->string, *why = NULL;
    char old_url[DB_URL_MAX + 1];
    bool *flag = strcmp(name, "prune") == 0             ? &f->prune
                 : strcmp(name, "prune_on_errors") == 0 ? &f->prune_on_errors
                 : strcmp(name, "update_if_exists") == 0 ? &f->update_if_exists
                                                          : NULL;
    if (strcmp(name, "name") == 0) {
        if ((why = feeds_api_text(v, false, f->name, sizeof f->name)) == NULL &&
            !ids_queue_name_is_valid(f->name))
            why = "must match [A-Za-z0-9._@-]{1,64} and not be default, priority, '.' or '..'";
    } else if (strcmp(name, "url") == 0) {
        snprintf(old_url, sizeof old_url, "%s", f->url);
        if ((why = feeds_api_text(v, false, f->url, sizeof f->url)) == NULL &&
            !fetch_url_is_http(f->url))
            why = "must be an http:// or https:// URL of at most 2048 bytes";
        *forget |= why == NULL && strcmp(old_url, f->url) != 0;
    } else if (strcmp(name, "callback_url") == 0) {
        if ((why = feeds_api_text(v, true, f->callback_url, sizeof f->callback_url)) == NULL &&
            f->callback_url[0] && !fetch_url_is_http(f->callback_url))
            why = "must be null or an http:// or https:// URL of at most 2048 bytes";
    } else if (strcmp(name, "schedule") == 0) {
        why = feeds_api_text(v, false, f->schedule, sizeof f->schedule);
    } else if (strcmp(name, "mode") == 0) {
        if (!cJSON_IsString(v) ||
            (strcmp(v->valuestring, "full") != 0 && strcmp(v->valuestring, "incremental") != 0))
            why = "must be \"full\" or \"incremental\"";
        else
            f->incremental = strcmp(v->valuestring, "incremental") == 0;
    } else if (flag != NULL) {
        if (!cJSON_IsBool(v))
            why = "must be true or false";
        else
            *flag = cJSON_IsTrue(v);
    } else if (strcmp(name, "queue") == 0) {
        if ((why = feeds_api_text(v, true, f->queue, sizeof f->queue)) == NULL && f->queue[0] &&
            !ids_queue_name_is_valid(f->queue))
            why = "must be null or a queue name: [A-Za-z0-9._@-]{1,64}, not default, priority, "
                  "'.' or '..'";
    } else if (strcmp(name, "batch_size") == 0) {
        if (cJSON_IsNull(v))
            f->batch_size = 0;
        else if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int)v->valuedouble ||
                 v->valueint < 1 || v->valueint > CONFIG_MAX_BATCH_SIZE)
            why = "must be null or an integer from 1 to 100000";
        else
            f->batch_size = v->valueint;
    } else if (strcmp(name, "cursor_param") == 0) {
        if ((why = feeds_api_text(v, true, f->cursor_param, sizeof f->cursor_param)) == NULL &&
            strspn(f->cursor_param, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789-._~[]") != strlen(f->cursor_param))
            why = "must be null or a query parameter name of letters, digits and -._~[]";
    } else if (strcmp(name, "cursor_field") == 0) {
        why = feeds_api_text(v, true, f->cursor_field, sizeof f->cursor_field);
    } else if (strcmp(name, "headers") == 0) {
        why = feeds_api_headers(v, f);
    } else if (strcmp(name, "action_field") == 0) {
        why = feeds_api_text(v, true, f->action_field, sizeof f->action_field);
    } else if (strcmp(name, "delete_values") == 0) {
        char *text = cJSON_IsNull(v) ? NULL : cJSON_PrintUnformatted(v);
        if (text != NULL && strlen(text) >= sizeof f->delete_values)
            why = "is too large";
        else
            snprintf(f->delete_values, sizeof f->delete_values, "%s", text ? text : "");
        free(text);
    } else {
        why = "unknown field";
    }
    return why;
}

/* Applies body's fields to f and checks the whole. Answers 400 itself and returns BI_EINVAL.
 * *forget: the URL changed (the validators and cursor belong to the old one). */
static int feeds_api_apply(http_req *req, const cJSON *body, db_feed *f, bool *forget,
                           time_t *next_run) {
    for (const cJSON *v = body->child; v != NULL; v = v->next) {
        const char *why = feeds_api_field(v, f, forget);
        if (why != NULL) {
            http_send_error(req, BI_EINVAL, "'%.64s': %s", v->string, why);
            return BI_EINVAL;
        }
    }
    const char *missing = !f->name[0] ? "name" : !f->url[0] ? "url" : !f->schedule[0] ? "schedule"
                                                                                     : NULL;
    char why[FETCH_WHY_MAX] = "";
    if (missing != NULL)
        snprintf(why, sizeof why, "'%s' is required", missing);
    else if (f->prune && f->incremental)
        snprintf(why, sizeof why, "'prune' applies to mode \"full\" only");
    else if (directives_check(f->action_field, f->delete_values) != NULL)
        snprintf(why, sizeof why, "%s", directives_check(f->action_field, f->delete_values));
    else if ((*next_run = feed_first_run(f->schedule, time(NULL), why)) != (time_t)-1)
        return 0;
    http_send_error(req, BI_EINVAL, "%s", why);
    return BI_EINVAL;
}

/* The feed as the API shows it: its settings, never its header values. */
static cJSON *feeds_api_json(const db_feed *f) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", f->name);
    cJSON_AddStringToObject(o, "username", f->username);
    cJSON_AddStringToObject(o, "url", f->url);
    cJSON_AddStringToObject(o, "schedule", f->schedule);
    cJSON_AddStringToObject(o, "mode", f->incremental ? "incremental" : "full");
    cJSON_AddBoolToObject(o, "prune", f->prune);
    cJSON_AddBoolToObject(o, "prune_on_errors", f->prune_on_errors);
    const struct {
        const char *name, *value;
    } optional[] = {{"queue", f->queue},
                    {"cursor_param", f->cursor_param},
                    {"cursor_field", f->cursor_field},
                    {"cursor", f->cursor},
                    {"callback_url", f->callback_url},
                    {"action_field", f->action_field}};
    for (size_t i = 0; i < sizeof optional / sizeof optional[0]; i++)
        if (optional[i].value[0])
            cJSON_AddStringToObject(o, optional[i].name, optional[i].value);
        else
            cJSON_AddNullToObject(o, optional[i].name);
    cJSON *values = f->delete_values[0] ? cJSON_Parse(f->delete_values) : NULL;
    cJSON_AddItemToObject(o, "delete_values", values ? values : cJSON_CreateNull());
    cJSON_AddBoolToObject(o, "update_if_exists", f->update_if_exists);
    if (f->batch_size > 0)
        cJSON_AddNumberToObject(o, "batch_size", f->batch_size);
    else
        cJSON_AddNullToObject(o, "batch_size");
    cJSON *names = cJSON_AddArrayToObject(o, "headers");
    cJSON *headers = cJSON_Parse(f->headers);
    for (const cJSON *h = headers ? headers->child : NULL; h != NULL; h = h->next)
        cJSON_AddItemToArray(names, cJSON_CreateString(h->string));
    cJSON_Delete(headers);
    cJSON_AddBoolToObject(o, "paused", f->paused);
    if (f->paused)
        cJSON_AddNullToObject(o, "next_run_at");
    else
        cJSON_AddStringToObject(o, "next_run_at", f->next_run_at);
    cJSON_AddStringToObject(o, "created_at", f->created_at);
    cJSON_AddStringToObject(o, "updated_at", f->updated_at);
    return o;
}

static int feeds_api_send(http_req *req, int status, const db_feed *f) {
    cJSON *body = feeds_api_json(f);
    http_send_json(req, status, body);
    cJSON_Delete(body);
    return 0;
}

/* Whose feeds the request means: the caller's, or for root ?username=. Answers 404 itself when
 * a user names another user (their feeds do not exist for them). */
static int feeds_api_owner(http_req *req, char *username) {
    int got = http_query_text(req, "username", username, DB_USERNAME_MAX + 1);
    if (got < 0)
        return got;
    bool given = got > 0;
    if (!given)
        snprintf(username, DB_USERNAME_MAX + 1, "%s", req->user.username);
    else if (!req->user.is_root && strcmp(username, req->user.username) != 0) {
        http_send_error(req, BI_ENOTFOUND, "no feed named '%.64s'", req->params[0]);
        return BI_ENOTFOUND;
    }
    return 0;
}

/* Finds the feed of the path (params[0]) on conn. Answers 404 itself. */
static int feeds_api_find(http_req *req, db_conn *conn, db_feed *f) {
    char username[DB_USERNAME_MAX + 1];
    int err = feeds_api_owner(req, username);
    if (err < 0)
        return err;
    err = db_feeds_get(conn, username, req->params[0], f);
    if (err == BI_ENOTFOUND)
        http_send_error(req, BI_ENOTFOUND, "no feed named '%.64s'", req->params[0]);
    return err;
}

/* What a handler does with the feed of the path, on a pooled connection (released after). */
typedef int (*feeds_api_action)(http_req *req, db_conn *conn, db_feed *f, void *ctx);

/* Finds the feed of the path (404 answered when there is none) and runs act on it. */
static int feeds_api_with(http_req *req, feeds_api_action act, void *ctx) {
    db_feed *f = malloc(sizeof *f);
    if (f == NULL)
        abort();
    db_conn *conn;
    int err = db_pool_acquire(req->app->pool, HTTP_DB_WAIT_MS, &conn);
    if (err == 0) {
        err = feeds_api_find(req, conn, f);
        if (err == 0)
            err = act(req, conn, f, ctx);
        else if (err == BI_ENOTFOUND)
            err = 0; /* answered */
        db_pool_release(req->app->pool, conn);
    }
    free(f);
    return err;
}

int feeds_api_create(http_req *req) {
    cJSON *body = NULL;
    if (http_read_json_object(req, FEEDS_API_MAX_BODY, &body) < 0)
        return 0;
    db_feed *f = calloc(1, sizeof *f);
    if (f == NULL)
        abort();
    snprintf(f->username, sizeof f->username, "%s", req->user.username);
    f->update_if_exists = true;
    bool forget = false;
    time_t next_run;
    db_conn *conn = NULL;
    int err = feeds_api_apply(req, body, f, &forget, &next_run);
    if (err == 0 && (err = db_pool_acquire(req->app->pool, HTTP_DB_WAIT_MS, &conn)) == 0) {
        err = db_feeds_create(conn, f, next_run);
        if (err == 0)
            err = db_feeds_get(conn, f->username, f->name, f);
        db_pool_release(req->app->pool, conn);
    }
    if (err == BI_ECONFLICT)
        err = http_send_error(req, BI_ECONFLICT, "you already have a feed named '%s'", f->name);
    else if (err == 0) {
        log_info("feed %s of %s created: %s, first run at %s", f->name, f->username, f->schedule,
                 f->next_run_at);
        err = feeds_api_send(req, 201, f);
    } else if (err == BI_EINVAL)
        err = 0; /* answered */
    free(f);
    cJSON_Delete(body);
    return err;
}

static void feeds_api_add(const db_feed *f, void *list) {
    cJSON_AddItemToArray(list, feeds_api_json(f));
}

/* The one parameter of a feed list or a feed's runs: root names the user. */
static const char *const feeds_api_list_params[] = {"username", NULL};

int feeds_api_list(http_req *req) {
    char username[DB_USERNAME_MAX + 1];
    const char *who;
    if (http_query_only(req, feeds_api_list_params) < 0)
        return 0;
    if (http_list_owner(req, "feeds", username, &who) < 0)
        return 0;
    db_conn *conn;
    int err = db_pool_acquire(req->app->pool, HTTP_DB_WAIT_MS, &conn);
    if (err < 0)
        return err;
    cJSON *body = cJSON_CreateArray();
    err = db_feeds_each(conn, who, feeds_api_add, body);
    db_pool_release(req->app->pool, conn);
    if (err == 0)
        http_send_json(req, 200, body);
    cJSON_Delete(body);
    return err;
}

static int feeds_api_show(http_req *req, db_conn *conn, db_feed *f, void *ctx) {
    (void)conn, (void)ctx;
    return feeds_api_send(req, 200, f);
}

int feeds_api_get(http_req *req) { return feeds_api_with(req, feeds_api_show, NULL); }

static int feeds_api_change(http_req *req, db_conn *conn, db_feed *f, void *ctx) {
    const cJSON *body = ctx;
    char schedule[DB_FEED_SCHEDULE_MAX + 1];
    snprintf(schedule, sizeof schedule, "%s", f->schedule);
    time_t kept = f->next_run, next_run;
    bool forget = false;
    int err = feeds_api_apply(req, body, f, &forget, &next_run);
    if (err == BI_EINVAL)
        return 0; /* answered */
    if (err == 0 && strcmp(schedule, f->schedule) == 0)
        next_run = kept; /* the same schedule keeps its due time */
    if (err == 0)
        err = db_feeds_update(conn, f, next_run, forget);
    if (err == 0)
        err = db_feeds_get_id(conn, f->id, f);
    if (err == BI_ECONFLICT)
        return http_send_error(req, BI_ECONFLICT, "you already have a feed named '%s'", f->name);
    if (err < 0)
        return err;
    log_info("feed %s of %s changed by %s", f->name, f->username, req->user.username);
    return feeds_api_send(req, 200, f);
}

int feeds_api_update(http_req *req) {
    cJSON *body = NULL;
    if (http_read_json_object(req, FEEDS_API_MAX_BODY, &body) < 0)
        return 0;
    int err = feeds_api_with(req, feeds_api_change, body);
    cJSON_Delete(body);
    return err;
}

static int feeds_api_remove(http_req *req, db_conn *conn, db_feed *f, void *ctx) {
    (void)ctx;
    int err = db_feeds_delete(conn, f->id);
    if (err < 0)
        return err;
    log_info("feed %s of %s deleted by %s", f->name, f->username, req->user.username);
    return http_send_no_content(req);
}

int feeds_api_delete(http_req *req) { return feeds_api_with(req, feeds_api_remove, NULL); }

/* Pauses (ctx non-NULL) or resumes the feed and answers with it. */
static int feeds_api_pause(http_req *req, db_conn *conn, db_feed *f, void *ctx) {
    bool paused = ctx != NULL;
    char why[FETCH_WHY_MAX];
    time_t next = f->next_run; /* pausing, or resuming a running feed, keeps the due time */
    if (!paused && f->paused)
        next = feed_first_run(f->schedule, time(NULL), why);
    int err = db_feeds_pause(conn, f->id, paused, next);
    if (err == 0)
        err = db_feeds_get_id(conn, f->id, f);
    if (err < 0)
        return err;
    log_info("feed %s of %s %s", f->name, f->username, paused ? "paused" : "resumed");
    return feeds_api_send(req, 200, f);
}

int feeds_api_pause_feed(http_req *req) { return feeds_api_with(req, feeds_api_pause, req); }

int feeds_api_resume_feed(http_req *req) { return feeds_api_with(req, feeds_api_pause, NULL); }

/* Runs the feed now and answers with what the fetch decided. */
static int feeds_api_run_now(http_req *req, db_conn *conn, db_feed *f, void *ctx) {
    (void)ctx;
    feed_outcome out;
    int err = feed_run(&req->app->feeds_cfg, conn, f->id, false, &req->app->stopping, &out);
    if (err == BI_EBUSY)
        return http_send_error(req, BI_EBUSY,
                               "a run of feed '%s' is still under way; try again when it ends",
                               f->name);
    if (err == BI_ENOTFOUND)
        return http_send_error(req, BI_ENOTFOUND, "no feed named '%.64s'", req->params[0]);
    if (err == BI_ETOOMANY)
        return http_send_error_headers(req, BI_EUNAVAIL, "Retry-After: 5\r\n",
                                       "too many feed runs at once (--max-feed-runs %d); retry",
                                       req->app->cfg.max_feed_runs);
    if (err < 0)
        return err;
    if (out.kind == FEED_FAILED)
        return http_send_error(req, BI_EFETCH, "feed '%s': %s", f->name, out.why);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "feed", f->name);
    if (out.kind == FEED_QUEUED) {
        cJSON_AddStringToObject(body, "task", out.task_id);
        cJSON_AddStringToObject(body, "state", "PENDING");
    } else {
        cJSON_AddBoolToObject(body, "unchanged", true);
    }
    http_send_json(req, out.kind == FEED_QUEUED ? 202 : 200, body);
    cJSON_Delete(body);
    return 0;
}

int feeds_api_run(http_req *req) { return feeds_api_with(req, feeds_api_run_now, NULL); }

static int feeds_api_history(http_req *req, db_conn *conn, db_feed *f, void *ctx) {
    (void)ctx;
    char *json = NULL;
    int err = db_feed_runs_list(conn, f->id, &json);
    if (err == 0)
        http_send_json_text(req, 200, NULL, json, strlen(json));
    free(json);
    return err;
}

int feeds_api_runs(http_req *req) {
    if (http_query_only(req, feeds_api_list_params) < 0)
        return 0;
    return feeds_api_with(req, feeds_api_history, NULL);
}
