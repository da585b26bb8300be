/* Today's OCL clients (oclapi2's API, OCL's web app in a browser): CORS on every response and
 * preflights, and what the web app asks at start-up. */
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#define ROOT "Token " HARNESS_ROOT_TOKEN
#define ORIGIN "Origin: http://app.example:4000"

static harness_server srv;

static void start(void) { harness_server_start_default(&srv); }
static void stop(void) { cr_expect_eq(harness_server_stop(&srv), 0, "bulkimportd did not exit cleanly"); }

TestSuite(ocl_today, .init = start, .fini = stop, .timeout = 240);

/* Sends method path with an Origin header as auth. */
static harness_response *from_origin(const harness_server *s, const char *method, const char *path,
                                     const char *auth, const char *body) {
    return harness_request_with_header(s, method, path, auth, ORIGIN, "application/json", body,
                                       body ? strlen(body) : 0);
}

static void expect_header(const harness_response *r, const char *name, const char *want) {
    char value[512];
    const char *got = harness_response_header(r, name, value, sizeof value);
    if (want == NULL)
        cr_expect_null(got, "%s: %s", name, got);
    else
        cr_expect(got != NULL && strcmp(got, want) == 0, "%s: %s, want %s (status %ld)", name,
                  got ? got : "(none)", want, r->status);
}

Test(ocl_today, every_response_carries_cors_and_preflights_are_answered) {
    static const struct {
        const char *method, *path, *auth;
        long status;
    } cases[] = {
        {"GET", "/user/", ROOT, 200},
        {"GET", "/user/", NULL, 401},
        {"GET", "/user/", "Token wrong-token-wrong-token", 401},
        {"GET", "/no/such/thing/", ROOT, 404},
        {"PUT", "/user/", ROOT, 405},
        {"GET", "/manage/bulkimport/?task=nope", ROOT, 404},
        {"GET", "/healthz", NULL, 200},
        {"GET", "/version/", NULL, 200},
        {"GET", "/toggles/", NULL, 200},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        harness_response *r = from_origin(&srv, cases[i].method, cases[i].path, cases[i].auth, NULL);
        cr_expect_eq(r->status, cases[i].status, "%s %s: %s", cases[i].method, cases[i].path, r->body);
        expect_header(r, "Access-Control-Allow-Origin", "*");
        char value[512];
        const char *exposed = harness_response_header(r, "Access-Control-Expose-Headers", value, sizeof value);
        cr_expect(exposed && strstr(exposed, "X-Total-Count") && strstr(exposed, "num_found") &&
                      strstr(exposed, "X-Task-State"),
                  "%s %s: exposed %s", cases[i].method, cases[i].path, exposed ? exposed : "(none)");
        harness_response_free(r);
    }
    /* A preflight, before any token: 204 with what the real request may use. */
    harness_response *r = harness_request_with_header(
        &srv, "OPTIONS", "/importers/bulk-import/", NULL,
        ORIGIN "\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization,content-type",
        NULL, NULL, 0);
    cr_expect_eq(r->status, 204, "%s", r->body);
    expect_header(r, "Access-Control-Allow-Origin", "*");
    expect_header(r, "Access-Control-Allow-Headers", "authorization,content-type");
    char value[256];
    const char *methods = harness_response_header(r, "Access-Control-Allow-Methods", value, sizeof value);
    cr_expect(methods && strstr(methods, "POST") && strstr(methods, "DELETE"), "%s", methods ? methods : "");
    harness_response_free(r);
    /* An import's answers: 202, the streamed results, a 204 cancel. */
    r = from_origin(&srv, "POST", "/importers/bulk-import/", ROOT, "{\"type\":\"Organization\",\"id\":\"Cors\",\"name\":\"C\"}");
    cr_assert_eq(r->status, 202, "%s", r->body);
    expect_header(r, "Access-Control-Allow-Origin", "*");
    char path[400];
    snprintf(path, sizeof path, "/importers/bulk-import/?task=%s&result=json&wait=30", harness_json_string(r, "task"));
    harness_response_free(r);
    r = from_origin(&srv, "GET", path, ROOT, NULL);
    cr_expect_eq(r->status, 200, "%s", r->body);
    expect_header(r, "Access-Control-Allow-Origin", "*");
    harness_response_free(r);
}

Test(ocl_today, version_and_toggles_answer_as_oclapi2_without_a_token) {
    harness_response *r = harness_request(&srv, "GET", "/version/", NULL, NULL);
    cr_expect_eq(r->status, 200);
    cr_expect(cJSON_IsString(r->json) && strlen(r->json->valuestring) > 0, "a JSON string: %s", r->body);
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/toggles/", NULL, NULL);
    cr_expect_eq(r->status, 200);
    cr_expect(cJSON_IsObject(r->json), "%s", r->body);
    harness_response_free(r);
}

Test(ocl_today, a_list_of_origins_echoes_the_one_that_matches) {
    harness_server s;
    const char *extra[] = {"--cors-origins", "https://a.example, http://app.example:4000", NULL};
    harness_server_start_with(&s, 1, extra);
    harness_response *r = from_origin(&s, "GET", "/user/", ROOT, NULL);
    expect_header(r, "Access-Control-Allow-Origin", "http://app.example:4000");
    expect_header(r, "Vary", "Origin");
    harness_response_free(r);
    r = harness_request_with_header(&s, "GET", "/user/", ROOT, "Origin: https://evil.example", NULL, NULL, 0);
    cr_expect_eq(r->status, 200);
    expect_header(r, "Access-Control-Allow-Origin", NULL);
    expect_header(r, "Vary", "Origin");
    harness_response_free(r);
    cr_expect_eq(harness_server_stop(&s), 0);
}

/* Long-polls task to its end and returns its task JSON (Accept: application/json). */
static harness_response *final_task(const char *task) {
    char path[400];
    snprintf(path, sizeof path, "/importers/bulk-import/?task=%s&wait=30", task);
    harness_response *r = harness_request_with_header(&srv, "GET", path, ROOT, "Accept: application/json",
                                                      NULL, NULL, 0);
    cr_assert_eq(r->status, 200, "%s", r->body);
    return r;
}

/* POSTs body as content_type to path; asserts 202 and that the task ends SUCCESS having created
 * `created` resources; returns the task's id in out. */
static void post_form(const char *path, const char *content_type, const char *body, int created,
                      char *out, size_t out_len) {
    harness_response *r = harness_request_typed(&srv, "POST", path, ROOT, content_type, body, strlen(body));
    cr_assert_eq(r->status, 202, "POST %s (%s): %s", path, content_type, r->body);
    cr_expect(cJSON_IsString(cJSON_GetObjectItem(r->json, "created_at")), "the queued task's time: %s", r->body);
    snprintf(out, out_len, "%s", harness_json_string(r, "id"));
    harness_response_free(r);
    r = final_task(out);
    cr_expect_str_eq(harness_json_string(r, "state"), "SUCCESS", "%s", r->body);
    const cJSON *summary = cJSON_GetObjectItem(r->json, "summary");
    cr_expect_eq(cJSON_GetObjectItem(summary, "created")->valueint, created, "%s %s: %s", path, content_type, r->body);
    harness_response_free(r);
}

#define ORG(id) "{\"type\":\"Organization\",\"id\":\"" id "\",\"name\":\"O\"}"
#define ORG_ESCAPED(id) "{\\\"type\\\":\\\"Organization\\\",\\\"id\\\":\\\"" id "\\\",\\\"name\\\":\\\"O\\\"}"

Test(ocl_today, every_way_ocl_posts_a_file_on_every_path) {
    static const char *const paths[] = {
        "/importers/bulk-import-parallel-inline/", "/importers/bulk-import/", "/manage/bulkimport/",
        "/importers/bulk-import/upload/", "/importers/bulk-import/file-url/", "/importers/bulk-import-inline/",
        "/importers/bulk-import/q1/upload/"};
    char task[256], sql[600];
    for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
        char body[1024], org[16];
        /* oclweb3's pasted JSON: an envelope with parallel before the data. */
        snprintf(org, sizeof org, "E%zu", p);
        snprintf(body, sizeof body, "{\"parallel\":\"2\",\"data\":\"" ORG_ESCAPED("%s") "\\n" ORG_ESCAPED("%s-2") "\"}", org, org);
        post_form(paths[p], "application/json", body, 2, task, sizeof task);
        snprintf(sql, sizeof sql, "SELECT parallel FROM import_tasks WHERE id = '%.255s'", task);
        cr_expect_eq(harness_sql(srv.conninfo, sql), 2, "parallel is stored with the task");
        /* A form with the options as fields, before and after the data. */
        snprintf(org, sizeof org, "F%zu", p);
        snprintf(body, sizeof body, "parallel=1&data=%%7B%%22type%%22%%3A%%22Organization%%22%%2C%%22id%%22%%3A%%22%s%%22%%2C%%22name%%22%%3A%%22O%%22%%7D&update_if_exists=false", org);
        post_form(paths[p], "application/x-www-form-urlencoded", body, 1, task, sizeof task);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM import_tasks WHERE id = '%.255s' AND parallel = 1"
                                  " AND partitions = 0 AND NOT update_if_exists", task);
        cr_expect_eq(harness_sql(srv.conninfo, sql), 1, "options before and after the data: %s", paths[p]);
        /* Multipart with file and parallel after it. */
        snprintf(org, sizeof org, "M%zu", p);
        snprintf(body, sizeof body, "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.json\"\r\n\r\n"
                                    ORG("%s") "\n\r\n--B\r\nContent-Disposition: form-data; name=\"parallel\"\r\n\r\n3\r\n--B--\r\n", org);
        post_form(paths[p], "multipart/form-data; boundary=B", body, 1, task, sizeof task);
        /* A raw one-line body that is a JSON object stays one line; so do urlencoded JSON lines. */
        snprintf(org, sizeof org, "R%zu", p);
        snprintf(body, sizeof body, ORG("%s"), org);
        post_form(paths[p], "application/json", body, 1, task, sizeof task);
        snprintf(org, sizeof org, "U%zu", p);
        snprintf(body, sizeof body, ORG("%s") "\n" ORG("%s-2") "\n", org, org);
        post_form(paths[p], "application/x-www-form-urlencoded", body, 2, task, sizeof task);
    }
}

Test(ocl_today, option_errors_name_the_option_wherever_it_came_from) {
    static const struct {
        const char *path, *content_type, *body, *message;
    } cases[] = {
        {"/importers/bulk-import/?parallel=0", "application/json", ORG("X"), "parallel must be an integer from 1 to 100"},
        {"/importers/bulk-import/", "application/json", "{\"parallel\":\"x\",\"data\":\"" ORG_ESCAPED("X") "\"}",
         "parallel must be an integer from 1 to 100"},
        {"/importers/bulk-import/", "application/json", "{\"data\":\"" ORG_ESCAPED("X") "\",\"bogus\":1}",
         "unknown field 'bogus' in the body"},
        {"/importers/bulk-import/?parallel=2", "application/json", "{\"parallel\":\"3\",\"data\":\"" ORG_ESCAPED("X") "\"}",
         "parallel is given twice, with different values"},
        {"/importers/bulk-import/", "application/x-www-form-urlencoded", "data=x&update_if_exists=maybe",
         "update_if_exists must be either 'true' or 'false'"},
        {"/importers/bulk-import/", "application/json", "{\"data\":\"x\"} trailing", "text after the JSON envelope"},
        {"/manage/bulkimport/file-url/", "application/json", ORG("X"), "invalid queue name"},
        {"/manage/bulkimport/upload/", "application/json", ORG("X"), "invalid queue name"},
        {"/importers/bulk-import/", "application/json", "{\"import_type\":\"npm\",\"data\":\"x\"}", "import_type npm is not supported"},
        {"/importers/bulk-import/?bogus=1", "application/json", ORG("X"), "unknown query parameter 'bogus'"},
        {"/importers/bulk-import-parallel-inline/?updateifexists=true", "application/json", ORG("X"),
         "unknown query parameter 'updateifexists'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        harness_response *r = harness_request_typed(&srv, "POST", cases[i].path, ROOT, cases[i].content_type,
                                                    cases[i].body, strlen(cases[i].body));
        cr_expect_eq(r->status, 400, "case %zu: %s", i, r->body);
        const char *message = harness_json_string(r, "message");
        cr_expect(message && strstr(message, cases[i].message) != NULL, "case %zu: %s", i, r->body);
        harness_response_free(r);
    }
    harness_response *r = harness_request(&srv, "GET", "/importers/bulk-import/?sort=id", ROOT, NULL);
    cr_expect_eq(r->status, 400, "a list takes no unknown parameter: %s", r->body);
    harness_response_free(r);
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM import_chunks l WHERE NOT EXISTS"
                                           " (SELECT 1 FROM import_tasks t WHERE t.id = l.task_id)"), 0,
                 "nothing half-stored");
}

Test(ocl_today, concurrent_is_the_standard_queue_under_oclapi2s_name) {
    char task[256];
    post_form("/importers/bulk-import/concurrent/", "application/json", ORG("Conc"), 1, task, sizeof task);
    cr_expect(strstr(task, "~concurrent") != NULL, "%s", task);
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM import_tasks WHERE id = '%.255s' AND NOT named AND queue = 'concurrent'", task);
    cr_expect_eq(harness_sql(srv.conninfo, sql), 1);
    harness_response *r = harness_request(&srv, "POST", "/importers/bulk-import/default/", ROOT, ORG("D"));
    cr_expect_eq(r->status, 400, "default stays reserved: %s", r->body);
    harness_response_free(r);
}

Test(ocl_today, the_tasks_api_pages_filters_and_keeps_tasks_private) {
    char alice[128], bob[128], a_tasks[3][256], b_task[256];
    harness_create_user(&srv, "talice", alice, sizeof alice);
    harness_create_user(&srv, "tbob", bob, sizeof bob);
    for (int i = 0; i < 3; i++) {
        char line[128];
        snprintf(line, sizeof line, "{\"type\":\"Organization\",\"id\":\"TA%d\",\"name\":\"O\"}", i);
        harness_response *r = harness_request(&srv, "POST", "/importers/bulk-import/", alice, line);
        cr_assert_eq(r->status, 202, "%s", r->body);
        snprintf(a_tasks[i], sizeof a_tasks[i], "%s", harness_json_string(r, "id"));
        harness_response_free(r);
    }
    harness_response *r = harness_request(&srv, "POST", "/importers/bulk-import/", bob, ORG("TB"));
    snprintf(b_task, sizeof b_task, "%s", harness_json_string(r, "id"));
    harness_response_free(r);
    for (int i = 0; i < 3; i++)
        harness_response_free(final_task(a_tasks[i]));
    harness_response_free(final_task(b_task));

    char value[1400];
    r = harness_request(&srv, "GET", "/tasks/?limit=2", alice, NULL);
    cr_expect_eq(r->status, 200, "%s", r->body);
    cr_expect_eq(cJSON_GetArraySize(r->json), 2);
    cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(r->json, 0), "id")->valuestring, a_tasks[2],
                     "newest first, and only alice's");
    cr_expect_str_eq(harness_response_header(r, "num_found", value, sizeof value), "3");
    cr_expect_str_eq(harness_response_header(r, "num_returned", value, sizeof value), "2");
    cr_expect_str_eq(harness_response_header(r, "pages", value, sizeof value), "2");
    cr_expect_str_eq(harness_response_header(r, "page_number", value, sizeof value), "1");
    const char *next = harness_response_header(r, "next", value, sizeof value);
    cr_expect(next != NULL && strstr(next, "/tasks/?limit=2&page=2") != NULL, "%s", next ? next : "(none)");
    cr_expect_null(harness_response_header(r, "previous", value, sizeof value));
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/tasks/?limit=2&page=2", alice, NULL);
    cr_expect_eq(cJSON_GetArraySize(r->json), 1);
    cr_expect_not_null(harness_response_header(r, "previous", value, sizeof value));
    cr_expect_null(harness_response_header(r, "next", value, sizeof value));
    harness_response_free(r);

    r = harness_request(&srv, "GET", "/tasks/?state=SUCCESS,FAILURE&verbose=true", ROOT, NULL);
    cr_expect_geq(cJSON_GetArraySize(r->json), 4, "root sees everyone's");
    harness_response_free(r);
    char path[600];
    snprintf(path, sizeof path, "/tasks/?q=%.8s", b_task);
    r = harness_request(&srv, "GET", path, ROOT, NULL);
    cr_expect_eq(cJSON_GetArraySize(r->json), 1, "q finds a task by a piece of its id: %s", r->body);
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/tasks/?start_date=2000-01-01T00:00:00Z", alice, NULL);
    cr_expect_eq(cJSON_GetArraySize(r->json), 3);
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/tasks/?start_date=2999-01-01", alice, NULL);
    cr_expect_eq(cJSON_GetArraySize(r->json), 0);
    harness_response_free(r);
    static const char *const bad[] = {"/tasks/?start_date=yesterday", "/tasks/?state=DONE",
                                      "/tasks/?limit=0", "/tasks/?page=x", "/tasks/?sort=id"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = harness_request(&srv, "GET", bad[i], alice, NULL);
        cr_expect_eq(r->status, 400, "%s: %s", bad[i], r->body);
        harness_response_free(r);
    }

    r = harness_request(&srv, "GET", "/users/talice/tasks/", alice, NULL);
    cr_expect_eq(cJSON_GetArraySize(r->json), 3);
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/users/tbob/tasks/", alice, NULL);
    cr_expect_eq(r->status, 404, "another user's list is not revealed: %s", r->body);
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/users/tbob/tasks/", ROOT, NULL);
    cr_expect_eq(cJSON_GetArraySize(r->json), 1);
    harness_response_free(r);

    r = harness_request(&srv, "GET", "/tasks/%FF%FE/", alice, NULL);
    cr_expect_eq(r->status, 404, "an id that can be no task: %s", r->body);
    harness_response_free(r);
    snprintf(path, sizeof path, "/tasks/%s/", b_task);
    r = harness_request(&srv, "GET", path, alice, NULL);
    cr_expect_eq(r->status, 404, "%s", r->body);
    harness_response_free(r);
    r = harness_request(&srv, "DELETE", path, alice, NULL);
    cr_expect_eq(r->status, 404, "%s", r->body);
    harness_response_free(r);
    r = harness_request(&srv, "GET", path, bob, NULL);
    cr_expect_eq(r->status, 200, "%s", r->body);
    cr_expect_str_eq(harness_json_string(r, "state"), "SUCCESS");
    cr_expect(strncmp(harness_json_string(r, "message"), "Processed 1 of 1", 16) == 0, "%s", r->body);
    harness_response_free(r);
    r = harness_request(&srv, "DELETE", path, bob, NULL);
    cr_expect_eq(r->status, 400, "%s", r->body);
    cr_expect_str_eq(harness_json_string(r, "message"), "Task is already finished.");
    harness_response_free(r);
}

Test(ocl_today, tasks_are_read_and_cancelled_in_every_form_on_every_path) {
    /* Hold the queue "held" with a task that never ends, so what follows stays PENDING. */
    harness_sql(srv.conninfo, "INSERT INTO import_tasks (id, username, queue, named, state, update_if_exists,"
                              " test_mode, content_sha256, started_at, heartbeat_at) VALUES ('h-root~held',"
                              " 'root', 'held', true, 'STARTED', true, false, '\\x00', now(), now() + interval '1 hour')");
    static const struct {
        const char *path, *content_type, *before, *after; /* the body: before, the id, after */
    } forms[] = {
        {"/importers/bulk-import/", "application/json", "{\"task_id\":\"", "\"}"},
        {"/importers/bulk-import/held/", "application/json", "{\"task_id\":\"", "\"}"},
        {"/manage/bulkimport/held/", "application/x-www-form-urlencoded", "task_id=", ""},
        {"/importers/bulk-import/", "multipart/form-data; boundary=B",
         "--B\r\nContent-Disposition: form-data; name=\"task_id\"\r\n\r\n", "\r\n--B--\r\n"},
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char line[128], task[256], path[600], body[600];
        snprintf(line, sizeof line, "{\"type\":\"Organization\",\"id\":\"Held%zu\",\"name\":\"O\"}", i);
        harness_response *r = harness_request(&srv, "POST", "/importers/bulk-import/held/", ROOT, line);
        cr_assert_eq(r->status, 202, "%s", r->body);
        snprintf(task, sizeof task, "%s", harness_json_string(r, "id"));
        harness_response_free(r);
        snprintf(path, sizeof path, "/importers/bulk-import/held/?task=%s", task);
        r = harness_request(&srv, "GET", path, ROOT, NULL);
        cr_expect_eq(r->status, 202, "GET /:queue/?task= is the task: %s", r->body);
        cr_expect_str_eq(harness_json_string(r, "id"), task);
        harness_response_free(r);
        snprintf(body, sizeof body, "%s%s%s", forms[i].before, task, forms[i].after);
        r = harness_request_typed(&srv, "DELETE", forms[i].path, ROOT, forms[i].content_type, body, strlen(body));
        cr_expect_eq(r->status, 204, "DELETE %s (%s): %s", forms[i].path, forms[i].content_type, r->body);
        harness_response_free(r);
        char sql[512];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM import_tasks WHERE id = '%.255s' AND state = 'REVOKED'", task);
        cr_expect_eq(harness_sql(srv.conninfo, sql), 1, "%s", forms[i].content_type);
    }
    harness_response *r = harness_request_typed(&srv, "DELETE", "/importers/bulk-import/", ROOT,
                                                "application/x-www-form-urlencoded", "other=1", 7);
    cr_expect_eq(r->status, 400, "%s", r->body);
    harness_response_free(r);
    harness_sql(srv.conninfo, "DELETE FROM import_tasks WHERE id = 'h-root~held'");
}

/* Findings of a review, each once a crash, a 500 or a request left unanswered. */
Test(ocl_today, odd_requests_get_clear_answers) {
    char path[4096] = "/tasks/?page=2";
    for (int i = 0; i < 150; i++) /* a query longer than a paging link's buffer */
        strcat(path, "&verbose=true");
    harness_response *r = harness_request(&srv, "GET", path, ROOT, NULL);
    cr_expect_eq(r->status, 200, "a long query's paging links: %.200s", r->body);
    harness_response_free(r);
    snprintf(path, sizeof path, "/tasks/?q=");
    memset(path + strlen(path), 'x', 2000);
    r = harness_request(&srv, "GET", path, ROOT, NULL);
    cr_expect_eq(r->status, 400, "a q too long is refused, not taken for none: %.200s", r->body);
    harness_response_free(r);
    snprintf(path, sizeof path, "/manage/bulkimport/?action=resume&task=");
    memset(path + strlen(path), 't', 1100);
    r = harness_request(&srv, "POST", path, ROOT, "");
    cr_expect_eq(r->status, 400, "a task id too long is refused, never an upload: %.200s", r->body);
    harness_response_free(r);
    char long_list[300] = "/manage/bulkimport/?username=";
    memset(long_list + strlen(long_list), 'u', 100);
    r = harness_request(&srv, "GET", long_list, ROOT, NULL);
    cr_expect_eq(r->status, 400, "a username too long is refused, not everyone's list: %.200s", r->body);
    harness_response_free(r);
    static const char *const bad[] = {"/tasks/?start_date=2026-13-01", "/tasks/?start_date=2026-02-30T10:00",
                                      "/tasks/?start_date=2026-01-01T25:61", "/tasks/?q=%FF",
                                      "/orgs/?limit=1000000000000000000000000000000",
                                      "/orgs/?brief=truetruetruetruetrue"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = harness_request(&srv, "GET", bad[i], ROOT, NULL);
        cr_expect_eq(r->status, 400, "%s: %s", bad[i], r->body);
        harness_response_free(r);
    }
    harness_server s;
    harness_server_start_with(&s, 1, (const char *const[]){"--max-test-mode-lines", "2", NULL});
    static const char three[] = ORG("T1") "\n" ORG("T2") "\n" ORG("T3"); /* no final newline */
    r = harness_request(&s, "POST", "/importers/bulk-import/?test_mode=true", ROOT, three);
    cr_expect_eq(r->status, 413, "the last, unterminated line is over the cap: %s", r->body);
    harness_response_free(r);
    cr_expect_eq(harness_sql(s.conninfo, "SELECT count(*) FROM import_tasks"), 0);
    cr_expect_eq(harness_server_stop(&s), 0);
}

/* Fails the test when body has layout outside its strings (PostgreSQL's `"a": 1, "b"` or
 * json_build_object's `"a" : 1`): every JSON answer is compact, as oclapi2's are. */
static void expect_compact(const char *what, const harness_response *r) {
    cr_expect_eq(r->status, 200, "%s: %s", what, r->body);
    bool in_string = false, escaped = false;
    for (const char *c = r->body; *c != '\0'; c++) {
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (*c == '\\')
                escaped = true;
            else if (*c == '"')
                in_string = false;
        } else if (*c == '"') {
            in_string = true;
        } else if (*c == ' ' || *c == '\t') {
            cr_expect(false, "%s has layout at byte %td: %s", what, c - r->body, r->body);
            return;
        }
    }
}

Test(ocl_today, every_json_answer_is_compact) {
    const char *lines = "{\"type\":\"Organization\",\"id\":\"Tight\",\"name\":\"T\"}\n"
                        "{\"type\":\"Source\",\"id\":\"S\",\"owner\":\"Tight\",\"owner_type\":\"Organization\","
                        "\"name\":\"S\",\"extras\":{\"k\":[1,2]}}\n"
                        "{\"type\":\"Concept\",\"id\":\"C1\",\"owner\":\"Tight\",\"owner_type\":\"Organization\","
                        "\"source\":\"S\",\"concept_class\":\"Misc\",\"datatype\":\"N/A\","
                        "\"names\":[{\"name\":\"one\",\"locale\":\"en\"}]}\n";
    harness_response *r = harness_request(&srv, "POST", "/importers/bulk-import/", ROOT, lines);
    cr_assert_eq(r->status, 202, "%s", r->body);
    char path[400];
    snprintf(path, sizeof path, "/importers/bulk-import/?task=%s&result=json&wait=30", harness_json_string(r, "task"));
    harness_response_free(r);
    static const char *const reads[] = {
        NULL, /* the results */
        "/orgs/Tight/",
        "/orgs/Tight/sources/",
        "/orgs/Tight/sources/S/",
        "/orgs/Tight/sources/S/concepts/",
        "/orgs/Tight/sources/S/concepts/C1/",
        "/tasks/?verbose=true",
    };
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        r = harness_request(&srv, "GET", reads[i] ? reads[i] : path, ROOT, NULL);
        expect_compact(reads[i] ? reads[i] : path, r);
        harness_response_free(r);
    }
}
