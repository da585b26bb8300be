/* Feeds against a real bulkimportd and PostgreSQL: definitions and their validation, rights,
 * runs that skip an unchanged source (ETag), incremental cursors that move only on SUCCESS,
 * full sync with prune, pause and resume, missed runs, and the scheduler's leader election
 * across two nodes. The feeds' source is a CivetWeb server on loopback, started by each test. */
#include "harness.h"

#include <civetweb.h>
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROOT "Token " HARNESS_ROOT_TOKEN

TestSuite(feeds, .timeout = 240);

/* ---- the source ------------------------------------------------------------------------------ */

typedef struct source {
    struct mg_context *ctx;
    int port;
    pthread_mutex_t lock;
    char catalog[8192];     /* /catalog.jsonl */
    char etag[64];          /* its ETag */
    char changes[4096];     /* /changes */
    char next_cursor[64];   /* X-Next-Cursor of /changes, "" none */
    char last_since[128];   /* the since= of the last /changes request, "-" none */
    char last_if_none_match[64], last_api_key[64];
    int gets;               /* GETs of /catalog.jsonl and /changes */
    int hooks;              /* POSTs to /hook */
    char hook_body[4096];   /* the last one's body */
    bool release;           /* /slow.jsonl answers once set */
    int slow_gets;          /* GETs of /slow.jsonl so far */
} source;

static void source_send(struct mg_connection *conn, int status, const char *headers,
                        const char *body) {
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: application/x-ndjson\r\nContent-Length: %zu\r\n"
              "Connection: close\r\n%s\r\n",
              status, status == 304 ? "Not Modified" : "OK", strlen(body), headers);
    mg_write(conn, body, strlen(body));
}

static int source_handle(struct mg_connection *conn, void *data) {
    source *s = data;
    const struct mg_request_info *info = mg_get_request_info(conn);
    const char *inm = mg_get_header(conn, "If-None-Match");
    const char *ims = mg_get_header(conn, "If-Modified-Since");
    const char *key = mg_get_header(conn, "X-Api-Key");
    char headers[256] = "", body[8192];
    int status = 200;
    if (strcmp(info->request_method, "POST") == 0) {
        char hook[4096];
        int n = mg_read(conn, hook, sizeof hook - 1);
        hook[n > 0 ? n : 0] = '\0';
        pthread_mutex_lock(&s->lock);
        s->hooks++;
        snprintf(s->hook_body, sizeof s->hook_body, "%s", hook);
        pthread_mutex_unlock(&s->lock);
        source_send(conn, 200, "", "");
        return 200;
    }
    if (strncmp(info->local_uri, "/to/", 4) == 0) { /* /to/HOST/PATH: a redirect to http://HOST:port/PATH */
        const char *slash = strchr(info->local_uri + 4, '/');
        char target[256];
        snprintf(target, sizeof target, "http://%.*s:%d%s", (int)(slash - info->local_uri - 4),
                 info->local_uri + 4, s->port, slash);
        mg_send_http_redirect(conn, target, 302);
        return 302;
    }
    pthread_mutex_lock(&s->lock);
    if (strcmp(info->local_uri, "/slow.jsonl") == 0) {
        s->slow_gets++;
        pthread_mutex_unlock(&s->lock);
        for (int i = 0; i < 600; i++) {
            pthread_mutex_lock(&s->lock);
            bool go = s->release;
            pthread_mutex_unlock(&s->lock);
            if (go)
                break;
            usleep(50 * 1000);
        }
        source_send(conn, 200, "", "{\"type\":\"Organization\",\"id\":\"Slow\",\"name\":\"S\"}\n");
        return 200;
    }
    snprintf(s->last_if_none_match, sizeof s->last_if_none_match, "%s", inm ? inm : "");
    snprintf(s->last_api_key, sizeof s->last_api_key, "%s", key ? key : "");
    if (strcmp(info->local_uri, "/catalog.jsonl") == 0) {
        s->gets++;
        if (inm != NULL && strcmp(inm, s->etag) == 0) {
            status = 304;
            body[0] = '\0';
        } else {
            snprintf(body, sizeof body, "%s", s->catalog);
        }
        snprintf(headers, sizeof headers, "ETag: %s\r\n", s->etag);
    } else if (strcmp(info->local_uri, "/dated.jsonl") == 0) { /* Last-Modified, no ETag */
        s->gets++;
        const char *stamp = "Mon, 02 Nov 2026 10:00:00 GMT";
        bool same = ims != NULL && strcmp(ims, stamp) == 0;
        status = same ? 304 : 200;
        snprintf(body, sizeof body, "%s", same ? "" : s->catalog);
        snprintf(headers, sizeof headers, "Last-Modified: %s\r\n", stamp);
    } else if (strcmp(info->local_uri, "/changes") == 0) {
        s->gets++;
        const char *q = info->query_string;
        if (q == NULL || mg_get_var(q, strlen(q), "since", s->last_since,
                                    sizeof s->last_since) < 0)
            snprintf(s->last_since, sizeof s->last_since, "-");
        snprintf(body, sizeof body, "%s", s->changes);
        if (s->next_cursor[0])
            snprintf(headers, sizeof headers, "X-Next-Cursor: %s\r\n", s->next_cursor);
    } else {
        pthread_mutex_unlock(&s->lock);
        mg_send_http_error(conn, 404, "%s", "no such file");
        return 404;
    }
    pthread_mutex_unlock(&s->lock);
    source_send(conn, status, headers, body);
    return status;
}

static void source_start(source *s) {
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    s->ctx = harness_peer_start(source_handle, s, 8, &s->port);
}

static void source_stop(source *s) {
    pthread_mutex_lock(&s->lock);
    s->release = true;
    pthread_mutex_unlock(&s->lock);
    harness_peer_stop(s->ctx);
    pthread_mutex_destroy(&s->lock);
}

/* Serves text as /catalog.jsonl with ETag etag. */
static void source_catalog(source *s, const char *text, const char *etag) {
    pthread_mutex_lock(&s->lock);
    snprintf(s->catalog, sizeof s->catalog, "%s", text);
    snprintf(s->etag, sizeof s->etag, "%s", etag);
    pthread_mutex_unlock(&s->lock);
}

static int source_gets(source *s) {
    pthread_mutex_lock(&s->lock);
    int n = s->gets;
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* ---- helpers --------------------------------------------------------------------------------- */

/* Sends a JSON request and asserts its status; returns the response (free it). */
static harness_response *call(const harness_server *srv, const char *method, const char *path,
                              const char *auth, const char *body, long status) {
    harness_response *r = harness_request_typed(srv, method, path, auth, "application/json", body,
                                                body ? strlen(body) : 0);
    cr_assert_eq(r->status, status, "%s %s: %ld %s", method, path, r->status, r->body);
    return r;
}

static void call_free(const harness_server *srv, const char *method, const char *path,
                      const char *auth, const char *body, long status) {
    harness_response_free(call(srv, method, path, auth, body, status));
}

/* Creates a feed from the JSON body as auth; asserts 201. */
static void feed_create(const harness_server *srv, const char *auth, const char *body) {
    call_free(srv, "POST", "/manage/feeds/", auth, body, 201);
}

/* Runs feed name now; asserts status (202: returns the task id, static; else ""). */
static const char *feed_run(const harness_server *srv, const char *name, const char *auth,
                            long status) {
    static char task[256];
    char path[256];
    snprintf(path, sizeof path, "/manage/feeds/%s/run/", name);
    harness_response *r = call(srv, "POST", path, auth, NULL, status);
    const char *id = harness_json_string(r, "task");
    snprintf(task, sizeof task, "%s", status == 202 && id ? id : "");
    if (status == 200)
        cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(r->json, "unchanged")), "%s", r->body);
    harness_response_free(r);
    return task;
}

/* Long-polls task to its end; returns its final state (static). */
static const char *task_end(const harness_server *srv, const char *task) {
    static char state[32];
    char path[512];
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&wait=30", task);
    for (int i = 0; i < 4; i++) {
        harness_response *r = harness_request(srv, "GET", path, ROOT, NULL);
        if (r->status != 202) {
            cr_assert_not_null(harness_response_header(r, "X-Task-State", state, sizeof state),
                               "%ld %s", r->status, r->body);
            harness_response_free(r);
            return state;
        }
        harness_response_free(r);
    }
    cr_assert_fail("task %s did not finish", task);
    return NULL;
}

/* The feed's field key as a string (static; "" when null). */
static const char *feed_field(const harness_server *srv, const char *path, const char *auth,
                              const char *key) {
    static char value[512];
    harness_response *r = call(srv, "GET", path, auth, NULL, 200);
    const cJSON *v = cJSON_GetObjectItem(r->json, key);
    snprintf(value, sizeof value, "%s", cJSON_IsString(v) ? v->valuestring : "");
    harness_response_free(r);
    return value;
}

static long sql(const harness_server *srv, const char *text) {
    return harness_sql(srv->conninfo, text);
}

/* Waits up to timeout_s until the SQL count reaches at least n; returns the last count. */
static long sql_wait(const harness_server *srv, const char *text, long n, int timeout_s) {
    long got = 0;
    for (int i = 0; i < timeout_s * 10 && (got = sql(srv, text)) < n; i++)
        usleep(100 * 1000);
    return got;
}

/* Whether the server's log holds text; an unreadable or empty log fails the test, so that a
 * "never logged" check cannot pass on a log it did not read. */
static bool log_has(const harness_server *srv, const char *text) {
    static char log[1 << 20];
    cr_assert_gt(harness_read_file(srv->log_path, log, sizeof log), 0, "cannot read %s",
                 srv->log_path);
    return strstr(log, text) != NULL;
}

#define ORG(id) "{\"type\":\"Organization\",\"id\":\"" id "\",\"name\":\"" id "\"}\n"
#define SOURCE(id) \
    "{\"type\":\"Source\",\"id\":\"" id "\",\"name\":\"" id "\",\"owner\":\"P\",\"owner_type\":\"Organization\"}\n"
#define CONCEPT(src, id, extra)                                                                    \
    "{\"type\":\"Concept\",\"id\":\"" id "\",\"concept_class\":\"Misc\",\"datatype\":\"N/A\","     \
    "\"names\":[{\"name\":\"" id "\",\"locale\":\"en\"}],\"owner\":\"P\","                        \
    "\"owner_type\":\"Organization\",\"source\":\"" src "\"" extra "}\n"
#define MAPPING(id, from, to)                                                                      \
    "{\"type\":\"Mapping\",\"id\":\"" id "\",\"map_type\":\"Same As\","                            \
    "\"from_concept_url\":\"/orgs/P/sources/S/concepts/" from "/\","                               \
    "\"to_concept_url\":\"/orgs/P/sources/S/concepts/" to "/\",\"owner\":\"P\","                   \
    "\"owner_type\":\"Organization\",\"source\":\"S\"}\n"
#define COLLECTION "{\"type\":\"Collection\",\"id\":\"K\",\"name\":\"K\",\"owner\":\"P\",\"owner_type\":\"Organization\"}\n"
#define REFS(expressions)                                                                          \
    "{\"type\":\"Reference\",\"collection_url\":\"/orgs/P/collections/K/\","                       \
    "\"data\":{\"expressions\":[" expressions "]}}\n"

/* ---- definitions, validation, rights ------------------------------------------------------- */

Test(feeds, define_validate_change_delete) {
    harness_server srv;
    harness_server_start_default(&srv);
    char alice[128];
    harness_create_user(&srv, "alice", alice, sizeof alice);
    harness_response *r = call(&srv, "POST", "/manage/feeds/", alice,
                               "{\"name\":\"daily\",\"url\":\"https://example.org/x.jsonl\","
                               "\"schedule\":\"1h\",\"headers\":{\"X-Api-Key\":\"s3cret\"}}",
                               201);
    cr_expect_str_eq(harness_json_string(r, "mode"), "full");
    cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(r->json, "prune")));
    cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(r->json, "update_if_exists")));
    cr_expect(cJSON_IsNull(cJSON_GetObjectItem(r->json, "queue")));
    cr_expect(cJSON_IsNull(cJSON_GetObjectItem(r->json, "batch_size")));
    cr_expect_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(r->json, "headers"), 0)->valuestring,
                     "X-Api-Key", "header names are shown");
    cr_expect_null(strstr(r->body, "s3cret"), "a header value was echoed: %s", r->body);
    /* First run one interval after creation. */
    cr_expect_eq(sql(&srv, "SELECT count(*) FROM feeds WHERE name = 'daily' AND"
                           " abs(extract(epoch FROM next_run_at - created_at) - 3600) < 2"), 1);
    harness_response_free(r);
    /* Cron: the next match. */
    call_free(&srv, "POST", "/manage/feeds/", alice,
              "{\"name\":\"weekly\",\"url\":\"http://example.org/y\",\"schedule\":\"0 3 * * 0\","
              "\"mode\":\"full\",\"prune\":true,\"batch_size\":500,\"queue\":\"sync\"}", 201);
    cr_expect_eq(sql(&srv, "SELECT count(*) FROM feeds WHERE name = 'weekly' AND"
                           " extract(dow FROM next_run_at AT TIME ZONE 'UTC') = 0 AND"
                           " extract(hour FROM next_run_at AT TIME ZONE 'UTC') = 3 AND"
                           " next_run_at > now() AND next_run_at <= now() + interval '7 days'"),
                 1);

    struct {
        const char *body, *names;
    } bad[] = {
        {"{\"name\":\"a\",\"url\":\"http://e.org/\",\"schedule\":\"1h\",\"colour\":1}", "'colour'"},
        {"{\"name\":\"a\",\"url\":\"http://e.org/\",\"schedule\":\"1h\",\"prune\":\"yes\"}", "'prune'"},
        {"{\"name\":\"a\",\"url\":\"ftp://e.org/\",\"schedule\":\"1h\"}", "'url'"},
        {"{\"name\":\"a\",\"url\":\"http://e.org/\",\"schedule\":\"every day\"}", "schedule"},
        {"{\"name\":\"a\",\"url\":\"http://e.org/\",\"schedule\":\"0 0 31 2 *\"}", "never"},
        {"{\"name\":\"a b\",\"url\":\"http://e.org/\",\"schedule\":\"1h\"}", "'name'"},
        {"{\"url\":\"http://e.org/\",\"schedule\":\"1h\"}", "'name' is required"},
        {"{\"name\":\"a\",\"url\":\"http://e.org/\",\"schedule\":\"1h\",\"batch_size\":0}", "'batch_size'"},
        {"{\"name\":\"a\",\"url\":\"http://e.org/\",\"schedule\":\"1h\",\"mode\":\"sometimes\"}", "'mode'"},
        {"{\"name\":\"a\",\"url\":\"http://e.org/\",\"schedule\":\"1h\",\"mode\":\"incremental\",\"prune\":true}", "'prune'"},
        {"{\"name\":\"a\",\"url\":\"http://e.org/\",\"schedule\":\"1h\",\"headers\":{\"X\":\"a\\r\\nB: c\"}}", "'headers'"},
        {"{\"name\":\"a\",\"url\":\"http://e.org/\",\"schedule\":\"1h\",\"headers\":[1]}", "'headers'"},
        {"{\"name\":\"a\",\"url\":\"http://e.org/\",\"schedule\":\"1h\",\"queue\":\"default\"}", "'queue'"},
        {"[1]", "object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = call(&srv, "POST", "/manage/feeds/", alice, bad[i].body, 400);
        cr_expect_not_null(strstr(r->body, bad[i].names), "%s -> %s", bad[i].body, r->body);
        harness_response_free(r);
    }
    call_free(&srv, "POST", "/manage/feeds/", alice,
              "{\"name\":\"daily\",\"url\":\"http://e.org/\",\"schedule\":\"1h\"}", 409);
    cr_expect_eq(sql(&srv, "SELECT count(*) FROM feeds"), 2, "nothing stored by the refusals");

    /* PATCH: a new schedule is due from now; the URL change forgets the validators. */
    harness_sql(srv.conninfo, "UPDATE feeds SET etag = 'E', cursor = 'C' WHERE name = 'daily'");
    r = call(&srv, "PATCH", "/manage/feeds/daily/", alice,
             "{\"url\":\"https://example.org/z.jsonl\",\"schedule\":\"1d\",\"mode\":\"incremental\","
             "\"cursor_param\":\"since\",\"cursor_field\":\"updated\"}", 200);
    cr_expect_str_eq(harness_json_string(r, "mode"), "incremental");
    cr_expect_str_eq(harness_json_string(r, "cursor_param"), "since");
    harness_response_free(r);
    cr_expect_eq(sql(&srv, "SELECT count(*) FROM feeds WHERE name = 'daily' AND etag IS NULL"
                           " AND cursor IS NULL AND next_run_at > now() + interval '23 hours'"),
                 1);
    call_free(&srv, "PATCH", "/manage/feeds/daily/", alice, "{\"schedule\":5}", 400);
    call_free(&srv, "PATCH", "/manage/feeds/daily/", alice, "{\"name\":\"weekly\"}", 409);
    r = call(&srv, "GET", "/manage/feeds/", alice, NULL, 200);
    cr_expect_eq(cJSON_GetArraySize(r->json), 2);
    harness_response_free(r);
    call_free(&srv, "DELETE", "/manage/feeds/weekly/", alice, NULL, 204);
    call_free(&srv, "GET", "/manage/feeds/weekly/", alice, NULL, 404);
    call_free(&srv, "DELETE", "/manage/feeds/weekly/", alice, NULL, 404);
    cr_expect(!log_has(&srv, "s3cret"), "a header value reached the log");
    cr_expect_eq(harness_server_stop(&srv), 0, "a clean stop");
}

Test(feeds, rights_and_the_address_policy) {
    source src;
    source_start(&src);
    source_catalog(&src, ORG("R1"), "\"r1\"");
    harness_server srv;
    harness_server_start_default(&srv);
    char alice[128], bob[128], body[512];
    harness_create_user(&srv, "alice", alice, sizeof alice);
    harness_create_user(&srv, "bob", bob, sizeof bob);
    snprintf(body, sizeof body,
             "{\"name\":\"mine\",\"url\":\"http://127.0.0.1:%d/catalog.jsonl\",\"schedule\":\"1h\"}",
             src.port);
    feed_create(&srv, alice, body);
    const char *paths[][2] = {{"GET", "/manage/feeds/mine/"},        {"PATCH", "/manage/feeds/mine/"},
                              {"POST", "/manage/feeds/mine/run/"},   {"POST", "/manage/feeds/mine/pause/"},
                              {"POST", "/manage/feeds/mine/resume/"}, {"GET", "/manage/feeds/mine/runs/"},
                              {"DELETE", "/manage/feeds/mine/"}};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        call_free(&srv, paths[i][0], paths[i][1], bob, strcmp(paths[i][0], "PATCH") ? NULL : "{}",
                  404);
        char other[128];
        snprintf(other, sizeof other, "%s?username=alice", paths[i][1]);
        call_free(&srv, paths[i][0], other, bob, strcmp(paths[i][0], "PATCH") ? NULL : "{}", 404);
    }
    harness_response *r = call(&srv, "GET", "/manage/feeds/", bob, NULL, 200);
    cr_expect_eq(cJSON_GetArraySize(r->json), 0, "bob sees no feeds: %s", r->body);
    harness_response_free(r);
    call_free(&srv, "GET", "/manage/feeds/?username=alice", bob, NULL, 403);
    cr_expect_eq(source_gets(&src), 0, "bob's requests fetched nothing");
    /* Bob may have his own feed of the same name. */
    feed_create(&srv, bob, body);
    /* Root reviews alice's. */
    r = call(&srv, "GET", "/manage/feeds/?username=alice", ROOT, NULL, 200);
    cr_expect_eq(cJSON_GetArraySize(r->json), 1);
    harness_response_free(r);
    r = call(&srv, "GET", "/manage/feeds/", ROOT, NULL, 200);
    cr_expect_eq(cJSON_GetArraySize(r->json), 2);
    harness_response_free(r);
    call_free(&srv, "GET", "/manage/feeds/mine/?username=alice", ROOT, NULL, 200);
    /* Alice may not fetch from loopback: the run fails with the reason, and no task. */
    r = call(&srv, "POST", "/manage/feeds/mine/run/", alice, NULL, 502);
    cr_expect_not_null(strstr(r->body, "only root may"), "%s", r->body);
    harness_response_free(r);
    cr_expect_eq(sql(&srv, "SELECT count(*) FROM import_tasks"), 0);
    cr_expect_eq(sql(&srv, "SELECT count(*) FROM feed_runs WHERE state = 'FAILED'"), 1);
    /* Root runs alice's feed: it runs as alice, whose address policy holds. */
    call_free(&srv, "POST", "/manage/feeds/mine/run/?username=alice", ROOT, NULL, 502);
    cr_expect_eq(harness_server_stop(&srv), 0, "a clean stop");
    source_stop(&src);
}

/* ---- runs ------------------------------------------------------------------------------------ */

/* A server that may fetch from loopback, and a user. */
static void start_private(harness_server *srv, char *user, size_t user_len) {
    const char *extra[] = {"--fetch-allow-private", NULL};
    harness_server_start_with(srv, 2, extra);
    harness_create_user(srv, "alice", user, user_len);
}

/* A feed's headers may hold secrets: they follow a redirect only to the same host over https,
 * never to another host (localhost is not 127.0.0.1) or to plain http. */
Test(feeds, secret_headers_do_not_follow_redirects_to_other_hosts_or_plain_http) {
    source src;
    source_start(&src);
    source_catalog(&src, ORG("R1"), "\"v1\"");
    harness_server srv;
    char alice[128], body[512];
    start_private(&srv, alice, sizeof alice);
    static const char *const hops[] = {"localhost/catalog.jsonl", "127.0.0.1/catalog.jsonl"};
    for (int i = 0; i < 2; i++) {
        snprintf(body, sizeof body,
                 "{\"name\":\"hop%d\",\"url\":\"http://127.0.0.1:%d/to/%s\",\"schedule\":\"1d\","
                 "\"headers\":{\"X-Api-Key\":\"k-secret\"}}",
                 i, src.port, hops[i]);
        feed_create(&srv, alice, body);
        char name[16];
        snprintf(name, sizeof name, "hop%d", i);
        const char *task = feed_run(&srv, name, alice, 202);
        cr_expect_str_eq(task_end(&srv, task), "SUCCESS", "the redirect was followed");
        pthread_mutex_lock(&src.lock);
        cr_expect_str_eq(src.last_api_key, "", "%s: the secret header followed the redirect", hops[i]);
        pthread_mutex_unlock(&src.lock);
    }
    cr_expect_eq(harness_server_stop(&srv), 0);
    source_stop(&src);
}

typedef struct run_in_background {
    const harness_server *srv;
    const char *path, *auth;
    long status;
} run_in_background;

static void *run_now(void *arg) {
    run_in_background *run = arg;
    harness_response *r = harness_request(run->srv, "POST", run->path, run->auth, NULL);
    run->status = r->status;
    harness_response_free(r);
    return NULL;
}

/* Each feed download holds a database connection: past --max-feed-runs (1 here) a run-now is
 * 503 with Retry-After until the running one is done. */
Test(feeds, feed_downloads_run_under_their_own_budget) {
    source src;
    source_start(&src);
    source_catalog(&src, ORG("B1"), "\"v1\"");
    harness_server srv;
    harness_server_start_with(&srv, 2, (const char *const[]){"--fetch-allow-private",
                                                             "--max-feed-runs", "1", NULL});
    char body[512];
    snprintf(body, sizeof body, "{\"name\":\"slow\",\"url\":\"http://127.0.0.1:%d/slow.jsonl\","
             "\"schedule\":\"1d\"}", src.port);
    feed_create(&srv, ROOT, body);
    snprintf(body, sizeof body, "{\"name\":\"quick\",\"url\":\"http://127.0.0.1:%d/catalog.jsonl\","
             "\"schedule\":\"1d\"}", src.port);
    feed_create(&srv, ROOT, body);
    run_in_background slow = {&srv, "/manage/feeds/slow/run/", ROOT, 0};
    pthread_t thread;
    cr_assert_eq(pthread_create(&thread, NULL, run_now, &slow), 0);
    int gets = 0;
    for (int i = 0; i < 100 && gets == 0; i++) {
        usleep(50 * 1000);
        pthread_mutex_lock(&src.lock);
        gets = src.slow_gets;
        pthread_mutex_unlock(&src.lock);
    }
    cr_assert_eq(gets, 1, "the slow download began");
    harness_response *r = call(&srv, "POST", "/manage/feeds/quick/run/", ROOT, NULL, 503);
    char retry[16];
    cr_expect_not_null(harness_response_header(r, "Retry-After", retry, sizeof retry));
    cr_expect(strstr(r->body, "--max-feed-runs") != NULL, "%s", r->body);
    harness_response_free(r);
    pthread_mutex_lock(&src.lock);
    src.release = true;
    pthread_mutex_unlock(&src.lock);
    pthread_join(thread, NULL);
    cr_expect_eq(slow.status, 202, "the slow run made its task");
    const char *task = feed_run(&srv, "quick", ROOT, 202);
    cr_expect_str_eq(task_end(&srv, task), "SUCCESS", "the place is free again");
    cr_expect_eq(harness_server_stop(&srv), 0);
    source_stop(&src);
}

Test(feeds, an_unchanged_source_makes_no_task) {
    source src;
    source_start(&src);
    source_catalog(&src, ORG("E1") ORG("E2"), "\"v1\"");
    harness_server srv;
    char alice[128], body[512];
    start_private(&srv, alice, sizeof alice);
    snprintf(body, sizeof body,
             "{\"name\":\"cat\",\"url\":\"http://127.0.0.1:%d/catalog.jsonl\",\"schedule\":\"1d\","
             "\"headers\":{\"X-Api-Key\":\"k-123\"},\"callback_url\":\"http://127.0.0.1:%d/hook\"}",
             src.port, src.port);
    feed_create(&srv, alice, body);
    const char *task = feed_run(&srv, "cat", alice, 202);
    cr_expect_str_eq(src.last_api_key, "k-123", "the feed's header was sent");
    cr_expect_str_eq(src.last_if_none_match, "");
    cr_expect_str_eq(task_end(&srv, task), "SUCCESS");
    /* The task is an ordinary one, tagged with its feed. */
    harness_response *r = call(&srv, "GET", "/manage/bulkimport/", alice, NULL, 200);
    cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(r->json, 0), "feed")->valuestring,
                     "cat", "%s", r->body);
    harness_response_free(r);

    for (int i = 0; i < 100 && src.hooks == 0; i++)
        usleep(100 * 1000);
    pthread_mutex_lock(&src.lock);
    cr_expect_eq(src.hooks, 1, "the run's task sent the feed's webhook");
    cr_expect_not_null(strstr(src.hook_body, "\"feed\":\"cat\""), "%s", src.hook_body);
    pthread_mutex_unlock(&src.lock);

    feed_run(&srv, "cat", alice, 200); /* 304: unchanged */
    cr_expect_str_eq(src.last_if_none_match, "\"v1\"");
    cr_expect_eq(sql(&srv, "SELECT count(*) FROM import_tasks"), 1, "no task for 304");

    source_catalog(&src, ORG("E1") ORG("E2") ORG("E3"), "\"v2\"");
    task = feed_run(&srv, "cat", alice, 202);
    cr_expect_str_eq(task_end(&srv, task), "SUCCESS");
    r = call(&srv, "GET", "/manage/feeds/cat/runs/", alice, NULL, 200);
    cr_assert_eq(cJSON_GetArraySize(r->json), 3, "%s", r->body);
    const char *states[] = {"SUCCESS", "UNCHANGED", "SUCCESS"};
    const int lines[] = {3, -1, 2};
    for (int i = 0; i < 3; i++) {
        const cJSON *run = cJSON_GetArrayItem(r->json, i);
        cr_expect_str_eq(cJSON_GetObjectItem(run, "state")->valuestring, states[i], "%s", r->body);
        cr_expect_str_eq(cJSON_GetObjectItem(run, "trigger")->valuestring, "manual");
        if (lines[i] > 0) {
            cr_expect_eq(cJSON_GetObjectItem(run, "created")->valueint, lines[i] == 3 ? 1 : 2,
                         "%s", r->body);
            cr_expect_eq(cJSON_GetObjectItem(run, "lines")->valueint, lines[i]);
            cr_expect(cJSON_GetObjectItem(run, "bytes")->valuedouble > 0);
            cr_expect(cJSON_IsString(cJSON_GetObjectItem(run, "task")));
        }
        cr_expect(cJSON_IsNumber(cJSON_GetObjectItem(run, "duration_seconds")));
    }
    cr_expect_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(r->json, 1), "http_status")->valueint, 304);
    harness_response_free(r);
    cr_expect_eq(sql(&srv, "SELECT count(*) FROM feeds WHERE etag = '\"v2\"'"), 1);
    /* A source with Last-Modified only: If-Modified-Since, then 304. */
    snprintf(body, sizeof body,
             "{\"name\":\"dated\",\"url\":\"http://127.0.0.1:%d/dated.jsonl\",\"schedule\":\"1d\"}",
             src.port);
    feed_create(&srv, alice, body);
    cr_expect_str_eq(task_end(&srv, feed_run(&srv, "dated", alice, 202)), "SUCCESS");
    feed_run(&srv, "dated", alice, 200);
    cr_expect_eq(sql(&srv, "SELECT count(*) FROM feed_runs r JOIN feeds f ON f.id = r.feed_id"
                           " WHERE f.name = 'dated' AND r.state = 'UNCHANGED'"), 1);
    cr_expect(!log_has(&srv, "k-123"), "a header value reached the log");
    /* The node counted its runs by outcome: three queued a task, two were unchanged. */
    r = harness_request(&srv, "GET", "/metrics", "Token " HARNESS_ROOT_TOKEN, NULL);
    cr_expect(strstr(r->body, "bulkimport_feed_runs_total{outcome=\"queued\"} 3\n") != NULL &&
                  strstr(r->body, "bulkimport_feed_runs_total{outcome=\"unchanged\"} 2\n") != NULL,
              "%s", r->body);
    harness_response_free(r);
    cr_expect_eq(harness_server_stop(&srv), 0, "a clean stop");
    source_stop(&src);
}

Test(feeds, the_cursor_advances_only_on_success) {
    source src;
    source_start(&src);
    harness_server srv;
    char alice[128], body[512];
    start_private(&srv, alice, sizeof alice);
    snprintf(body, sizeof body,
             "{\"name\":\"inc\",\"url\":\"http://127.0.0.1:%d/changes\",\"schedule\":\"1d\","
             "\"mode\":\"incremental\",\"cursor_param\":\"since\",\"cursor_field\":\"updated\","
             "\"queue\":\"sync\"}",
             src.port);
    feed_create(&srv, alice, body);
    snprintf(src.changes, sizeof src.changes,
             "{\"type\":\"Organization\",\"id\":\"I1\",\"name\":\"I\",\"updated\":\"2026-01-02T00:00:00Z\"}\n"
             "{\"type\":\"Organization\",\"id\":\"I2\",\"name\":\"I\",\"updated\":\"2026-01-05T00:00:00Z\"}\n"
             "{\"type\":\"Organization\",\"id\":\"I3\",\"name\":\"I\",\"updated\":\"2026-01-03T00:00:00Z\"}\n");
    const char *task = feed_run(&srv, "inc", alice, 202);
    cr_expect_str_eq(src.last_since, "-", "no cursor yet");
    cr_expect_str_eq(task_end(&srv, task), "SUCCESS");
    cr_expect_str_eq(feed_field(&srv, "/manage/feeds/inc/?username=alice", ROOT, "cursor"),
                     "2026-01-05T00:00:00Z", "the maximum of cursor_field");

    /* The next run's task waits behind a slow download in the feed's named queue and is
     * cancelled: the cursor stays. */
    char slow[256];
    snprintf(slow, sizeof slow, "/manage/bulkimport/sync/?file_url=http://127.0.0.1:%d/slow.jsonl",
             src.port);
    harness_response *r = harness_request(&srv, "POST", slow, alice, NULL);
    cr_assert_eq(r->status, 202, "%s", r->body);
    char blocker[256];
    snprintf(blocker, sizeof blocker, "%s", harness_json_string(r, "task"));
    harness_response_free(r);
    /* While it downloads, its phase says so. */
    char status_path[512], phase[16] = "";
    snprintf(status_path, sizeof status_path, "/manage/bulkimport/?task=%s", blocker);
    for (int i = 0; i < 100 && strcmp(phase, "fetch") != 0; i++) {
        r = harness_request(&srv, "GET", status_path, alice, NULL);
        const cJSON *p = cJSON_GetObjectItem(cJSON_GetObjectItem(r->json, "progress"), "phase");
        const char *state = harness_json_string(r, "state");
        if (cJSON_IsString(p) && state != NULL && strcmp(state, "STARTED") == 0)
            snprintf(phase, sizeof phase, "%s", p->valuestring);
        harness_response_free(r);
        usleep(50 * 1000);
    }
    cr_expect_str_eq(phase, "fetch", "a file_url task shows the fetch phase while it downloads");
    snprintf(src.changes, sizeof src.changes,
             "{\"type\":\"Organization\",\"id\":\"I4\",\"name\":\"I\",\"updated\":\"2026-02-01T00:00:00Z\"}\n");
    char second[256];
    snprintf(second, sizeof second, "%s", feed_run(&srv, "inc", alice, 202));
    cr_expect_str_eq(src.last_since, "2026-01-05T00:00:00Z");
    feed_run(&srv, "inc", alice, 409); /* its task is still PENDING */
    char cancel[512];
    snprintf(cancel, sizeof cancel, "/manage/bulkimport/?task=%s", second);
    harness_response_free(harness_request(&srv, "DELETE", cancel, alice, NULL));
    cr_expect_str_eq(task_end(&srv, second), "REVOKED");
    cr_expect_str_eq(feed_field(&srv, "/manage/feeds/inc/", alice, "cursor"), "2026-01-05T00:00:00Z",
                     "a cancelled run keeps the old cursor");
    pthread_mutex_lock(&src.lock);
    src.release = true;
    pthread_mutex_unlock(&src.lock);
    cr_expect_str_eq(task_end(&srv, blocker), "SUCCESS");

    /* Fetched again from the same cursor; this time the source names the next one. */
    snprintf(src.next_cursor, sizeof src.next_cursor, "token-7");
    task = feed_run(&srv, "inc", alice, 202);
    cr_expect_str_eq(src.last_since, "2026-01-05T00:00:00Z", "nothing skipped");
    cr_expect_str_eq(task_end(&srv, task), "SUCCESS");
    cr_expect_str_eq(feed_field(&srv, "/manage/feeds/inc/", alice, "cursor"), "token-7",
                     "X-Next-Cursor wins over cursor_field");
    cr_expect_eq(sql(&srv, "SELECT count(*) FROM organizations WHERE mnemonic = 'I4'"), 1);
    cr_expect_eq(harness_server_stop(&srv), 0, "a clean stop");
    source_stop(&src);
}

Test(feeds, prune_retires_exactly_what_the_file_left_out) {
    source src;
    source_start(&src);
    source_catalog(&src,
                   ORG("P") SOURCE("S") CONCEPT("S", "c1", "") CONCEPT("S", "c2", "")
                       CONCEPT("S", "c3", "") MAPPING("m1", "c1", "c2") MAPPING("m2", "c2", "c3")
                           COLLECTION REFS("\"/orgs/P/sources/S/concepts/c1/\","
                                           "\"/orgs/P/sources/S/concepts/c2/\"")
                               SOURCE("Other") CONCEPT("Other", "o1", ""),
                   "\"a\"");
    harness_server srv;
    char alice[128], body[512];
    start_private(&srv, alice, sizeof alice);
    snprintf(body, sizeof body,
             "{\"name\":\"mirror\",\"url\":\"http://127.0.0.1:%d/catalog.jsonl\","
             "\"schedule\":\"0 2 * * 1\",\"prune\":true}",
             src.port);
    feed_create(&srv, alice, body);
    cr_expect_str_eq(task_end(&srv, feed_run(&srv, "mirror", alice, 202)), "SUCCESS");
    cr_expect_eq(sql(&srv, "SELECT count(*) FROM concepts WHERE retired"), 0);

    /* The new export leaves out c3, m2, the reference to c2, and the Other source entirely. A
     * failed line keeps the prune from running. */
    source_catalog(&src,
                   ORG("P") SOURCE("S") CONCEPT("S", "c1", "") CONCEPT("S", "c2", "")
                       MAPPING("m1", "c1", "c2") COLLECTION
                           REFS("\"/orgs/P/sources/S/concepts/c1/\"")
                               "{\"type\":\"Concept\",\"id\":\"bad\"}\n",
                   "\"b\"");
    const char *task = feed_run(&srv, "mirror", alice, 202);
    cr_expect_str_eq(task_end(&srv, task), "SUCCESS");
    cr_expect_eq(sql(&srv, "SELECT count(*) FROM concepts WHERE retired"), 0,
                 "a failed line: no prune without prune_on_errors");
    call_free(&srv, "PATCH", "/manage/feeds/mirror/", alice, "{\"prune_on_errors\":true}", 200);
    source_catalog(&src,
                   ORG("P") SOURCE("S") CONCEPT("S", "c1", "") CONCEPT("S", "c2", "")
                       MAPPING("m1", "c1", "c2") COLLECTION
                           REFS("\"/orgs/P/sources/S/concepts/c1/\"")
                               "{\"type\":\"Concept\",\"id\":\"bad\"}\n",
                   "\"c\"");
    task = feed_run(&srv, "mirror", alice, 202);
    cr_expect_str_eq(task_end(&srv, task), "SUCCESS");
    cr_expect_eq(sql(&srv, "SELECT count(*) FROM concepts WHERE retired AND mnemonic = 'c3'"), 1);
    cr_expect_eq(sql(&srv, "SELECT count(*) FROM concepts WHERE retired"), 1, "only c3");
    cr_expect_eq(sql(&srv, "SELECT count(*) FROM mappings WHERE retired AND mnemonic = 'm2'"), 1);
    cr_expect_eq(sql(&srv, "SELECT count(*) FROM mappings WHERE retired"), 1, "only m2");
    cr_expect_eq(sql(&srv, "SELECT count(*) FROM collection_references WHERE removed_seq IS NOT NULL"
                           " AND expression = '/orgs/P/sources/S/concepts/c2/'"), 1);
    cr_expect_eq(sql(&srv, "SELECT count(*) FROM collection_references WHERE removed_seq IS NULL"),
                 1, "the reference to c1 stays");
    cr_expect_eq(sql(&srv, "SELECT count(*) FROM concepts c JOIN repositories r ON r.id = c.repo_id"
                           " WHERE r.mnemonic = 'Other' AND NOT c.retired"), 1,
                 "a repository the file did not touch is left alone");
    cr_expect_eq(sql(&srv, "SELECT count(*) FROM concept_versions v JOIN concepts c"
                           " ON c.id = v.concept_id WHERE c.mnemonic = 'c3'"), 1,
                 "retiring keeps history");

    char path[512];
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&result=json", task);
    harness_response *r = call(&srv, "GET", path, alice, NULL, 200);
    cr_expect_eq(cJSON_GetObjectItem(r->json, "count")->valueint, 8, "%s", r->body);
    cr_expect_eq(cJSON_GetObjectItem(r->json, "total_lines")->valueint, 8);
    int pruned = 0;
    const cJSON *roots = cJSON_GetObjectItem(r->json, "results");
    for (const cJSON *root = roots ? roots->child : NULL; root; root = root->next)
        for (const cJSON *action = root->child; action; action = action->next)
            for (const cJSON *status = action->child; status; status = status->next)
                for (const cJSON *res = status->child; res; res = res->next)
                    if (cJSON_IsNull(cJSON_GetObjectItem(res, "line"))) {
                        pruned++;
                        cr_expect_str_eq(cJSON_GetObjectItem(res, "action_type")->valuestring,
                                         "DELETE");
                    }
    cr_expect_eq(pruned, 3, "c3, m2 and the reference: %s", r->body);
    harness_response_free(r);
    cr_expect_eq(sql(&srv, "SELECT pruned FROM feed_runs ORDER BY id DESC LIMIT 1"), 3);
    cr_expect_eq(harness_server_stop(&srv), 0, "a clean stop");
    source_stop(&src);
}

/* ---- the scheduler --------------------------------------------------------------------------- */

Test(feeds, schedule_fires_with_one_leader_across_two_nodes) {
    source src;
    source_start(&src);
    source_catalog(&src, ORG("T1"), "\"t\"");
    harness_server a, b;
    const char *extra[] = {"--fetch-allow-private", NULL};
    harness_server_start_with(&a, 2, extra);
    const char *args[] = {"--database-url", a.conninfo, "--root-token", HARNESS_ROOT_TOKEN,
                          "--fetch-allow-private", NULL};
    harness_server_start(&b, args);
    snprintf(b.conninfo, sizeof b.conninfo, "%s", a.conninfo);
    char body[512];
    snprintf(body, sizeof body,
             "{\"name\":\"tick\",\"url\":\"http://127.0.0.1:%d/catalog.jsonl\",\"schedule\":\"2s\"}",
             src.port);
    feed_create(&a, ROOT, body);
    const char *runs = "SELECT count(*) FROM feed_runs WHERE trigger = 'schedule'";
    cr_assert_geq(sql_wait(&a, runs, 3, 30), 3, "the schedule fired");
    cr_expect(log_has(&a, "now runs the feed scheduler") != log_has(&b, "now runs the feed scheduler"),
              "exactly one node leads");
    /* One run per due time: never two runs of one due time (a second leader's would start
     * within moments of the first; a run started late by a loaded machine may still come
     * closer than the 2 s interval to the next, on-time one). */
    cr_expect_eq(sql(&a, "SELECT count(*) FROM (SELECT started_at - lag(started_at) OVER"
                         " (ORDER BY id) AS gap FROM feed_runs) g WHERE gap < interval '0.5 s'"),
                 0);
    cr_expect_eq(sql(&a, "SELECT count(*) FROM import_tasks"), 1, "304s after the first");
    cr_expect_eq(sql(&a, "SELECT count(*) FROM feed_runs WHERE state = 'UNCHANGED'"),
                 sql(&a, runs) - 1);
    /* The leader stops: the other node takes over. */
    harness_server *leader = log_has(&a, "now runs the feed scheduler") ? &a : &b;
    harness_server *other = leader == &a ? &b : &a;
    cr_expect_eq(harness_server_stop(leader), 0, "a clean stop");
    long before = sql(other, runs);
    cr_expect_geq(sql_wait(other, runs, before + 2, 30), before + 2, "runs go on");
    cr_expect(log_has(other, "now runs the feed scheduler"));
    cr_expect_eq(harness_server_stop(other), 0, "a clean stop");
    source_stop(&src);
}

Test(feeds, pause_resume_and_a_missed_run_runs_once) {
    source src;
    source_start(&src);
    source_catalog(&src, ORG("M1"), "\"m\"");
    harness_server srv;
    char alice[128], body[512];
    start_private(&srv, alice, sizeof alice);
    snprintf(body, sizeof body,
             "{\"name\":\"hourly\",\"url\":\"http://127.0.0.1:%d/catalog.jsonl\",\"schedule\":\"1h\"}",
             src.port);
    feed_create(&srv, alice, body);
    harness_response *r = call(&srv, "POST", "/manage/feeds/hourly/pause/", alice, NULL, 200);
    cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(r->json, "paused")));
    cr_expect(cJSON_IsNull(cJSON_GetObjectItem(r->json, "next_run_at")));
    harness_response_free(r);
    /* Three missed hours while paused: nothing runs. */
    harness_sql(srv.conninfo, "UPDATE feeds SET next_run_at = now() - interval '3 hours'");
    sleep(3);
    cr_expect_eq(sql(&srv, "SELECT count(*) FROM feed_runs"), 0, "a paused feed does not run");
    /* Resumed, it is due an interval from now. */
    r = call(&srv, "POST", "/manage/feeds/hourly/resume/", alice, NULL, 200);
    cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(r->json, "paused")));
    harness_response_free(r);
    cr_expect_eq(sql(&srv, "SELECT count(*) FROM feeds WHERE next_run_at > now() + interval '59 minutes'"), 1);
    /* Downtime: the server stops, three due times pass, and on start the feed runs once. */
    cr_expect_eq(harness_server_stop(&srv), 0, "a clean stop");
    harness_sql(srv.conninfo, "UPDATE feeds SET next_run_at = now() - interval '3 hours'");
    char conninfo[sizeof srv.conninfo];
    snprintf(conninfo, sizeof conninfo, "%s", srv.conninfo);
    const char *args[] = {"--database-url", conninfo, "--root-token", HARNESS_ROOT_TOKEN,
                          "--fetch-allow-private", NULL};
    harness_server_start(&srv, args);
    snprintf(srv.conninfo, sizeof srv.conninfo, "%s", conninfo);
    cr_expect_eq(sql_wait(&srv, "SELECT count(*) FROM feed_runs", 1, 20), 1);
    sleep(3);
    cr_expect_eq(sql(&srv, "SELECT count(*) FROM feed_runs"), 1, "missed runs run once");
    cr_expect_eq(sql(&srv, "SELECT count(*) FROM feeds WHERE next_run_at > now() + interval '59 minutes'"), 1);
    cr_expect_eq(sql_wait(&srv, "SELECT count(*) FROM import_tasks WHERE state = 'SUCCESS'", 1, 30), 1);
    cr_expect_eq(harness_server_stop(&srv), 0, "a clean stop");
    source_stop(&src);
}
