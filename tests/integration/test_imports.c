/* OCL's bulk-import API end to end: real uploads to the real server, workers applying them to
 * a real PostgreSQL, results read back in OCL's formats. */
#include "gunzip.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <errno.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define ROOT "Token " HARNESS_ROOT_TOKEN
#define FIXTURES BI_SOURCE_DIR "/tests/fixtures/ocl/"

static harness_server srv;

static void start(void) { harness_server_start_default(&srv); }

static void stop(void) { cr_expect_eq(harness_server_stop(&srv), 0, "bulkimportd did not exit cleanly"); }

TestSuite(imports, .init = start, .fini = stop, .timeout = 240);


/* POSTs body (len bytes) to path as auth; asserts 202 and returns the task id in out. */
static void submit(const char *path, const char *auth, const char *body, size_t len, char *out,
                   size_t out_len) {
    harness_response *r = harness_request_bytes(&srv, "POST", path, auth, body, len);
    cr_assert_eq(r->status, 202, "POST %s: %ld %s", path, r->status, r->body);
    cr_expect_str_eq(harness_json_string(r, "state"), "PENDING");
    cr_expect_str_eq(harness_json_string(r, "status"), "PENDING");
    snprintf(out, out_len, "%s", harness_json_string(r, "task"));
    harness_response_free(r);
}

/* Polls the task as OCL's client does until it is not PENDING/STARTED; returns the final
 * response for result format (summary, json or report). */
static harness_response *wait_result(const char *task, const char *auth, const char *format) {
    char path[512];
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&result=%s", task, format);
    for (int i = 0; i < 1200; i++) {
        harness_response *r = harness_request(&srv, "GET", path, auth, NULL);
        if (r->status != 202)
            return r;
        cr_assert_not_null(cJSON_GetObjectItem(r->json, "progress"), "%s", r->body);
        harness_response_free(r);
        usleep(50 * 1000);
    }
    cr_assert_fail("task %s did not finish", task);
    return NULL;
}

/* The number of results under action/status summed over every root of a json result. */
static long json_count(const harness_response *r, const char *action, const char *status) {
    long n = 0;
    const cJSON *root;
    cJSON_ArrayForEach(root, cJSON_GetObjectItem(r->json, "results")) {
        const cJSON *list = cJSON_GetObjectItem(cJSON_GetObjectItem(root, action), status);
        n += cJSON_GetArraySize(list);
    }
    return n;
}

/* The result object of line n in a json result, or NULL. */
static const cJSON *json_line(const harness_response *r, int n) {
    const cJSON *root, *action, *status, *item;
    cJSON_ArrayForEach(root, cJSON_GetObjectItem(r->json, "results"))
        cJSON_ArrayForEach(action, root) cJSON_ArrayForEach(status, action)
            cJSON_ArrayForEach(item, status) if (cJSON_GetObjectItem(item, "line")->valueint == n)
                return item;
    return NULL;
}

static void expect_line(const harness_response *r, int n, const char *action, const char *status,
                        const char *code) {
    const cJSON *item = json_line(r, n);
    cr_assert_not_null(item, "no result for line %d: %s", n, r->body);
    char *text = cJSON_PrintUnformatted(item);
    cr_expect_str_eq(cJSON_GetObjectItem(item, "action_type")->valuestring, action, "%s", text);
    const cJSON *sc = cJSON_GetObjectItem(item, "status_code");
    char got[16];
    if (cJSON_IsNumber(sc))
        snprintf(got, sizeof got, "%d", sc->valueint);
    else
        snprintf(got, sizeof got, "%s", sc->valuestring);
    cr_expect_str_eq(got, status, "%s", text);
    if (code != NULL) {
        const cJSON *ec = cJSON_GetObjectItem(item, "error_code");
        cr_expect(cJSON_IsString(ec) && strcmp(ec->valuestring, code) == 0, "want %s: %s", code,
                  text);
    }
    free(text);
}

static void expect_summary(const harness_response *r, const char *pattern) {
    regex_t re;
    cr_assert_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    cr_expect_eq(regexec(&re, r->body, 0, NULL, 0), 0, "summary '%s' !~ /%s/", r->body, pattern);
    regfree(&re);
}

Test(imports, sample_file_imports_and_reimports) {
    const char *text = harness_fixture(FIXTURES "sample_ocldev.json");
    char task[256];
    submit("/manage/bulkimport/", ROOT, text, strlen(text), task, sizeof task);
    cr_expect(strstr(task, "-root~priority") != NULL, "%s", task);
    harness_response *r = wait_result(task, ROOT, "summary");
    cr_expect_eq(r->status, 200);
    expect_summary(r, "^Processed 64 of 64 -- 49 NEW \\(201:49\\); 15 UPDATE \\(200:15\\) in "
                      "[0-9]+\\.[0-9]{2} secs$");
    harness_response_free(r);
    r = wait_result(task, ROOT, "json");
    cr_expect_eq(cJSON_GetObjectItem(r->json, "count")->valueint, 64);
    cr_expect_eq(cJSON_GetObjectItem(r->json, "total_lines")->valueint, 64);
    cr_expect_eq(cJSON_GetObjectItem(r->json, "num_skipped")->valueint, 0);
    cr_expect_eq(json_count(r, "NEW", "201"), 49);
    expect_line(r, 15, "NEW", "201", NULL);
    cr_expect_str_eq(cJSON_GetObjectItem(json_line(r, 15), "obj_url")->valuestring,
                     "/orgs/DemoOrg/sources/DemoSource/concepts/Food%2FPapaya/");
    harness_response_free(r);
    r = wait_result(task, ROOT, "report");
    cr_expect(strncmp(r->body, "REPORT OF IMPORT RESULTS:\n/orgs/:\n  NEW 201:\n", 45) == 0, "%.200s", r->body);
    harness_response_free(r);
    harness_response_free(harness_request(&srv, "GET", "/orgs/DemoOrg/sources/DemoSource/concepts/Food%2FPapaya/", ROOT, NULL));

    /* Again: everything exists. Then again with update_if_exists=false: everything is SKIP. */
    submit("/importers/bulk-import/", ROOT, text, strlen(text), task, sizeof task);
    r = wait_result(task, ROOT, "summary");
    expect_summary(r, "^Processed 64 of 64 -- 64 UPDATE \\(200:64\\) in ");
    harness_response_free(r);
    submit("/manage/bulkimport/?update_if_exists=false", ROOT, text, strlen(text), task, sizeof task);
    r = wait_result(task, ROOT, "json");
    cr_expect_eq(json_count(r, "SKIP", "skip"), 64, "%.300s", r->body);
    cr_expect_eq(cJSON_GetObjectItem(r->json, "num_skipped")->valueint, 64);
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/orgs/DemoOrg/sources/DemoSource/mappings/?limit=1", ROOT, NULL);
    char total[16];
    cr_expect_str_eq(harness_response_header(r, "X-Total-Count", total, sizeof total), "22");
    harness_response_free(r);
}

Test(imports, bad_lines_get_their_results_and_the_rest_imports) {
    static const char body[] =
        "\xEF\xBB\xBF{\"type\":\"Organization\",\"id\":\"Bad\",\"name\":\"Bad\"}\r\n"
        "\r\n"
        "{\"type\":\"Source\",\"id\":\"S\",\"name\":\"S\",\"owner\":\"Bad\",\"owner_type\":\"Organization\"}\r\n"
        "[1,2]\n"
        "{\"id\":\"x\"}\n"
        "{\"type\":\"Nonsense\"}\n"
        "{\"type\":\"Concept\",\"__action\":\"EXPLODE\"}\n"
        "{\"type\":\"Concept\",\"id\":\"bad\xff\",\"concept_class\":\"M\",\"datatype\":\"N\",\"names\":[{\"name\":\"n\",\"locale\":\"en\"}],\"owner\":\"Bad\",\"owner_type\":\"Organization\",\"source\":\"S\"}\n"
        "{\"type\":\"Concept\",\"id\":\"n\0l\"}\n"
        "{\"type\":\"Source\",\"id\":\"a b\",\"name\":\"S\",\"owner\":\"Bad\",\"owner_type\":\"Organization\"}\n"
        "{\"type\":\"Concept\",\"id\":\"ok 1/%\xc3\xa9\",\"concept_class\":\"M\",\"datatype\":\"N\",\"names\":[{\"name\":\"n\",\"locale\":\"en\"}],\"owner\":\"Bad\",\"owner_type\":\"Organization\",\"source\":\"S\"}\n"
        "{\"type\":\"Concept\",\"id\":\"c\",\"concept_class\":\"M\",\"datatype\":\"N\",\"names\":[{\"name\":\"n\",\"locale\":\"en\"}],\"owner\":\"Bad\",\"owner_type\":\"Organization\",\"source\":\"Missing\"}\n"
        "not json at all\n"
        "{\"type\":\"Concept\",\"id\":\"m\",\"datatype\":\"N\",\"names\":[{\"name\":\"n\",\"locale\":\"en\"}],\"owner\":\"Bad\",\"owner_type\":\"Organization\",\"source\":\"S\"}\n"
        "{\"type\":\"Concept\",\"id\":\"t\",\"concept_class\":\"M\",\"datatype\":\"N\",\"names\":\"x\",\"owner\":\"Bad\",\"owner_type\":\"Organization\",\"source\":\"S\"}\n"
        "{\"type\":\"Reference\",\"collection_url\":\"/orgs/Bad/collections/C/\",\"data\":{\"expressions\":[\"/orgs/Bad/sources/S/concepts/nope/\"]}}\n";
    char task[256];
    submit("/manage/bulkimport/", ROOT, body, sizeof body - 1, task, sizeof task);
    harness_response *r = wait_result(task, ROOT, "json");
    cr_expect_eq(cJSON_GetObjectItem(r->json, "total_lines")->valueint, 15, "blank line not counted");
    expect_line(r, 1, "NEW", "201", NULL);
    expect_line(r, 2, "NEW", "201", NULL);
    expect_line(r, 3, "SKIP", "400", "not_an_object");
    expect_line(r, 4, "SKIP", "400", "unknown_type");
    expect_line(r, 5, "SKIP", "400", "unknown_type");
    expect_line(r, 6, "SKIP", "400", "unknown_action");
    expect_line(r, 7, "SKIP", "400", "invalid_utf8");
    expect_line(r, 8, "SKIP", "400", "nul_byte");
    expect_line(r, 9, "SKIP", "400", "invalid_id");
    expect_line(r, 10, "NEW", "201", NULL);
    expect_line(r, 11, "SKIP", "404", "not_found");
    expect_line(r, 12, "SKIP", "400", "invalid_json");
    expect_line(r, 13, "SKIP", "400", "missing_field");
    expect_line(r, 14, "SKIP", "400", "wrong_field_type");
    expect_line(r, 15, "NEW", "404", "not_found"); /* the collection does not exist */
    harness_response_free(r);
    /* result=failed: each failed line with its reason first, the rest byte for byte as
     * submitted; a line that is not an object (or whose text the upload could not keep) as
     * __line. */
    r = wait_result(task, ROOT, "failed");
    static const char failed[] =
        "{\"__error\":{\"code\":\"not_an_object\",\"message\":\"the line must be a JSON object\",\"line\":3},\"__line\":\"[1,2]\"}\n"
        "{\"__error\":{\"code\":\"unknown_type\",\"message\":\"the line has no type\",\"line\":4},\"id\":\"x\"}\n"
        "{\"__error\":{\"code\":\"unknown_type\",\"message\":\"unknown type 'Nonsense'\",\"line\":5},\"type\":\"Nonsense\"}\n"
        "{\"__error\":{\"code\":\"unknown_action\",\"message\":\"unknown __action 'EXPLODE' (CREATE_OR_UPDATE, NEW, CREATE, UPDATE, DELETE, DELETE_IF_EXISTS or SKIP)\",\"line\":6},\"type\":\"Concept\",\"__action\":\"EXPLODE\"}\n"
        "{\"__error\":{\"code\":\"invalid_utf8\",\"message\":\"the line is not valid UTF-8\",\"line\":7},\"__line\":null}\n"
        "{\"__error\":{\"code\":\"nul_byte\",\"message\":\"the line holds a NUL byte\",\"line\":8},\"__line\":null}\n"
        "{\"__error\":{\"code\":\"invalid_id\",\"message\":\"'id' must match [A-Za-z0-9._@-]{1,64}\",\"line\":9},\"type\":\"Source\",\"id\":\"a b\",\"name\":\"S\",\"owner\":\"Bad\",\"owner_type\":\"Organization\"}\n"
        "{\"__error\":{\"code\":\"not_found\",\"message\":\"Repository does not exist at: /orgs/Bad/sources/Missing/\",\"line\":11},\"type\":\"Concept\",\"id\":\"c\",\"concept_class\":\"M\",\"datatype\":\"N\",\"names\":[{\"name\":\"n\",\"locale\":\"en\"}],\"owner\":\"Bad\",\"owner_type\":\"Organization\",\"source\":\"Missing\"}\n"
        "{\"__error\":{\"code\":\"invalid_json\",\"message\":\"invalid JSON: unexpected character at byte 1\",\"line\":12},\"__line\":\"not json at all\"}\n"
        "{\"__error\":{\"code\":\"missing_field\",\"message\":\"Concept requires concept_class\",\"line\":13},\"type\":\"Concept\",\"id\":\"m\",\"datatype\":\"N\",\"names\":[{\"name\":\"n\",\"locale\":\"en\"}],\"owner\":\"Bad\",\"owner_type\":\"Organization\",\"source\":\"S\"}\n"
        "{\"__error\":{\"code\":\"wrong_field_type\",\"message\":\"'names' must be an array of objects\",\"line\":14},\"type\":\"Concept\",\"id\":\"t\",\"concept_class\":\"M\",\"datatype\":\"N\",\"names\":\"x\",\"owner\":\"Bad\",\"owner_type\":\"Organization\",\"source\":\"S\"}\n"
        "{\"__error\":{\"code\":\"not_found\",\"message\":\"Repository does not exist at: /orgs/Bad/collections/C/\",\"line\":15},\"type\":\"Reference\",\"collection_url\":\"/orgs/Bad/collections/C/\",\"data\":{\"expressions\":[\"/orgs/Bad/sources/S/concepts/nope/\"]}}\n";
    cr_expect_str_eq(r->body, failed);
    harness_response_free(r);
    /* Posted again as is, __error is ignored: each line fails for its own reason once more. */
    char again[256];
    submit("/manage/bulkimport/", ROOT, failed, sizeof failed - 1, again, sizeof again);
    r = wait_result(again, ROOT, "json");
    expect_line(r, 2, "SKIP", "400", "unknown_type");
    expect_line(r, 4, "SKIP", "400", "unknown_action");
    expect_line(r, 5, "SKIP", "400", "unknown_type"); /* __line: a line of no type */
    expect_line(r, 10, "SKIP", "400", "missing_field");
    expect_line(r, 11, "SKIP", "400", "wrong_field_type");
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/orgs/Bad/sources/S/concepts/ok%201%2F%25%C3%A9/", ROOT, NULL);
    cr_expect_eq(r->status, 200, "%s", r->body);
    harness_response_free(r);
}

Test(imports, request_errors_are_precise) {
    harness_response *r = harness_request(&srv, "POST", "/manage/bulkimport/?update_if_exists=maybe", ROOT, "{}");
    cr_expect_eq(r->status, 400);
    cr_expect_str_eq(harness_json_string(r, "exception"), "update_if_exists must be either 'true' or 'false'");
    harness_response_free(r);
    r = harness_request(&srv, "POST", "/manage/bulkimport/", ROOT, "\n\n  \n");
    cr_expect_eq(r->status, 400);
    cr_expect_str_eq(harness_json_string(r, "exception"), "No content to import");
    harness_response_free(r);
    r = harness_request(&srv, "POST", "/manage/bulkimport/..%2F/", ROOT, "{}");
    cr_expect_eq(r->status, 400, "%s", r->body);
    harness_response_free(r);
    r = harness_request(&srv, "POST", "/manage/bulkimport/priority/", ROOT, "{}");
    cr_expect_eq(r->status, 400, "%s", r->body);
    harness_response_free(r);
    r = harness_request(&srv, "POST", "/manage/bulkimport/", "Token wrong-token-0000000000", "{}");
    cr_expect_eq(r->status, 401);
    cr_expect_not_null(harness_json_string(r, "exception"));
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/manage/bulkimport/?task=not-a-uuid", ROOT, NULL);
    cr_expect_eq(r->status, 404);
    cr_expect_not_null(harness_json_string(r, "exception"));
    harness_response_free(r);
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM import_tasks"), 0, "nothing stored");

    /* Another user's task is 404, as if it did not exist; root sees it. */
    char alice[128], bob[128], task[256];
    harness_create_user(&srv, "alice", alice, sizeof alice);
    harness_create_user(&srv, "bob", bob, sizeof bob);
    static const char line[] = "{\"type\":\"Organization\",\"id\":\"A\",\"name\":\"A\"}\n";
    submit("/manage/bulkimport/", alice, line, sizeof line - 1, task, sizeof task);
    cr_expect(strstr(task, "-alice~default") != NULL, "%s", task);
    harness_response_free(wait_result(task, alice, "summary"));
    char path[400];
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s", task);
    r = harness_request(&srv, "GET", path, bob, NULL);
    cr_expect_eq(r->status, 404);
    harness_response_free(r);
    r = harness_request(&srv, "GET", path, ROOT, NULL);
    cr_expect_eq(r->status, 200);
    harness_response_free(r);
}

Test(imports, test_mode_reports_a_real_run_and_changes_nothing) {
    const char *text = harness_fixture(FIXTURES "pepfar_datim_moh_fy19.json");
    char task[256];
    submit("/manage/bulkimport/?test_mode=true", ROOT, text, strlen(text), task, sizeof task);
    harness_response *dry = wait_result(task, ROOT, "summary");
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM organizations"), 0);
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM concepts"), 0);
    submit("/manage/bulkimport/", ROOT, text, strlen(text), task, sizeof task);
    harness_response *real = wait_result(task, ROOT, "summary");
    /* The same counts; only the elapsed time may differ. */
    cr_expect_eq(strncmp(dry->body, real->body, (size_t)(strstr(real->body, " in ") - real->body)), 0,
                 "dry: %s\nreal: %s", dry->body, real->body);
    cr_expect_gt(harness_sql(srv.conninfo, "SELECT count(*) FROM concepts"), 0);
    harness_response_free(dry);
    harness_response_free(real);
}

/* Each running test-mode task holds a second database connection: past --max-test-mode-tasks
 * (1 here) the next waits in the queue, though a worker is idle. */
Test(imports, test_mode_tasks_run_under_their_own_budget) {
    harness_server s;
    harness_server_start_with(&s, 2, (const char *const[]){"--max-test-mode-tasks", "1", NULL});
    size_t cap = 4000 * 80;
    char *body = malloc(cap);
    for (int task = 0; task < 2; task++) { /* two files: the same one twice is refused */
        size_t len = 0;
        for (int i = 0; i < 4000; i++)
            len += (size_t)snprintf(body + len, cap - len, "{\"type\":\"Organization\","
                                    "\"id\":\"T%d_%d\",\"name\":\"T\"}\n", task, i);
        harness_response *r = harness_request_bytes(&s, "POST", "/manage/bulkimport/?test_mode=true",
                                                    ROOT, body, len);
        cr_assert_eq(r->status, 202, "%s", r->body);
        harness_response_free(r);
    }
    free(body);
    for (int i = 0; i < 600 && harness_sql(s.conninfo, "SELECT count(*) FROM import_tasks"
                                                       " WHERE state = 'SUCCESS'") < 2; i++)
        usleep(100 * 1000);
    cr_assert_eq(harness_sql(s.conninfo, "SELECT count(*) FROM import_tasks WHERE state = 'SUCCESS'"), 2);
    cr_expect_eq(harness_sql(s.conninfo, "SELECT count(*) FROM import_tasks a JOIN import_tasks b"
                                         " ON a.id < b.id WHERE a.started_at < b.finished_at"
                                         " AND b.started_at < a.finished_at"),
                 0, "the two test-mode tasks ran at the same time");
    cr_expect_eq(harness_sql(s.conninfo, "SELECT count(*) FROM organizations"), 0);
    cr_expect_eq(harness_server_stop(&s), 0);
}

/* OCL's parallel caps how many of a task's batches run at once, on a node with more idle
 * workers than that; each batch records when it began and when its results were written. */
Test(imports, parallel_caps_the_batches_of_a_task_running_at_once) {
    harness_server s;
    harness_server_start_with(&s, 4, (const char *const[]){"--batch-size", "20", NULL});
    size_t cap = 2000 * 220, len = 0;
    char *body = malloc(cap);
    len += (size_t)snprintf(body, cap, "%s\n%s\n", "{\"type\":\"Organization\",\"id\":\"Par\",\"name\":\"O\"}",
                            "{\"type\":\"Source\",\"id\":\"S\",\"name\":\"S\",\"owner\":\"Par\","
                            "\"owner_type\":\"Organization\"}");
    for (int i = 0; i < 2000; i++)
        len += (size_t)snprintf(body + len, cap - len,
                                "{\"type\":\"Concept\",\"id\":\"c%d\",\"concept_class\":\"Misc\","
                                "\"datatype\":\"N/A\",\"names\":[{\"name\":\"n%d\",\"locale\":\"en\"}],"
                                "\"owner\":\"Par\",\"owner_type\":\"Organization\",\"source\":\"S\"}\n",
                                i, i);
    harness_response *r = harness_request_bytes(&s, "POST", "/manage/bulkimport/?parallel=2", ROOT,
                                                body, len);
    free(body);
    cr_assert_eq(r->status, 202, "%s", r->body);
    char task[256];
    snprintf(task, sizeof task, "%s", harness_json_string(r, "task"));
    harness_response_free(r);
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM import_tasks WHERE id = '%s' AND state = 'SUCCESS'", task);
    for (int i = 0; i < 600 && harness_sql(s.conninfo, sql) == 0; i++)
        usleep(100 * 1000);
    cr_assert_eq(harness_sql(s.conninfo, sql), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM import_batches WHERE task_id = '%s'"
                              " AND began_at <= recorded_at", task);
    cr_expect_geq(harness_sql(s.conninfo, sql), 100, "every batch has its times");
    /* The most batches of the task under way at one moment: at any batch's start, those begun
     * no later and not yet recorded. */
    snprintf(sql, sizeof sql, "SELECT max((SELECT count(*) FROM import_batches o WHERE o.task_id ="
                              " b.task_id AND o.began_at <= b.began_at AND o.recorded_at > b.began_at))"
                              " FROM import_batches b WHERE b.task_id = '%s'", task);
    long at_once = harness_sql(s.conninfo, sql);
    cr_expect(at_once >= 1 && at_once <= 2, "%ld batches ran at once (parallel=2, 4 workers)", at_once);
    cr_expect_eq(harness_server_stop(&s), 0);
}

Test(imports, one_hundred_thousand_identical_lines) {
    static const char head[] = "{\"type\":\"Organization\",\"id\":\"Same\",\"name\":\"Same\"}\n"
                               "{\"type\":\"Source\",\"id\":\"S\",\"name\":\"S\",\"owner\":\"Same\",\"owner_type\":\"Organization\"}\n";
    static const char line[] = "{\"type\":\"Concept\",\"id\":\"c\",\"concept_class\":\"M\",\"datatype\":\"N\","
                               "\"names\":[{\"name\":\"n\",\"locale\":\"en\"}],\"owner\":\"Same\","
                               "\"owner_type\":\"Organization\",\"source\":\"S\"}\n";
    size_t len = sizeof head - 1 + 100000 * (sizeof line - 1);
    char *body = malloc(len + 1), *p = body;
    memcpy(p, head, sizeof head - 1);
    p += sizeof head - 1;
    for (int i = 0; i < 100000; i++, p += sizeof line - 1)
        memcpy(p, line, sizeof line - 1);
    char task[256];
    submit("/manage/bulkimport/", ROOT, body, len, task, sizeof task);
    free(body);
    harness_response *r = wait_result(task, ROOT, "summary");
    expect_summary(r, "^Processed 100002 of 100002 -- 3 NEW \\(201:3\\); 99999 UPDATE \\(200:99999\\) in ");
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/orgs/Same/sources/S/concepts/c/", ROOT, NULL);
    cr_expect_eq(cJSON_GetObjectItem(r->json, "version")->valueint, 1, "nothing changed after the first");
    harness_response_free(r);
}

/* n concept lines c<first>..c<first+n-1> for org/source O/S after the org and source lines. */
static char *concept_file(int first, int n, size_t *out_len) {
    static const char head[] = "{\"type\":\"Organization\",\"id\":\"O\",\"name\":\"O\"}\n"
                               "{\"type\":\"Source\",\"id\":\"S\",\"name\":\"S\",\"owner\":\"O\",\"owner_type\":\"Organization\"}\n";
    size_t cap = sizeof head + (size_t)n * 220, len = sizeof head - 1;
    char *text = malloc(cap);
    memcpy(text, head, len);
    for (int i = first; i < first + n; i++)
        len += (size_t)snprintf(text + len, cap - len,
                                "{\"type\":\"Concept\",\"id\":\"c%d\",\"concept_class\":\"M\",\"datatype\":\"N\","
                                "\"names\":[{\"name\":\"n%d\",\"locale\":\"en\"}],\"owner\":\"O\","
                                "\"owner_type\":\"Organization\",\"source\":\"S\"}\n",
                                i, i);
    *out_len = len;
    return text;
}

/* The listing of path as auth: asserts 200 and returns it. */
static harness_response *list(const char *path, const char *auth, long status) {
    harness_response *r = harness_request(&srv, "GET", path, auth, NULL);
    cr_assert_eq(r->status, status, "GET %s: %ld %s", path, r->status, r->body);
    return r;
}

/* A concept another transaction creates while a batch is between its lookup and its insert:
 * the batch's fast insert meets the key, and the batch applies again with the careful insert —
 * the line finds the concept and updates it; nothing fails, nothing is lost or doubled. */
Test(imports, a_key_created_under_a_running_batch_is_found_not_failed) {
    char alice[128], task[256];
    harness_create_user(&srv, "alice", alice, sizeof alice);
    size_t len;
    char *text = concept_file(0, 0, &len);
    submit("/manage/bulkimport/", alice, text, len, task, sizeof task);
    free(text);
    harness_response_free(wait_result(task, alice, "summary"));
    PGconn *other = PQconnectdb(srv.conninfo);
    cr_assert_eq(PQstatus(other), CONNECTION_OK, "%s", PQerrorMessage(other));
    PGresult *res = PQexec(other, "BEGIN; INSERT INTO concepts (repo_id, mnemonic, url, data, seq,"
                                  " created_by, updated_by) SELECT id, 'c5', url || 'concepts/c5/',"
                                  " '{\"id\":\"c5\"}', nextval('change_seq'), 'alice', 'alice'"
                                  " FROM repositories WHERE url = '/orgs/O/sources/S/'");
    cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s", PQerrorMessage(other));
    cr_assert_str_eq(PQcmdTuples(res), "1");
    PQclear(res);
    text = concept_file(0, 10, &len);
    submit("/manage/bulkimport/", alice, text, len, task, sizeof task);
    free(text);
    long waiting = 0; /* until the worker's insert waits for the uncommitted c5 */
    for (int i = 0; i < 200 && waiting == 0; i++, usleep(50 * 1000))
        waiting = harness_sql(srv.conninfo, "SELECT count(*) FROM pg_stat_activity"
                                            " WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO concepts%'");
    cr_expect_eq(waiting, 1, "the batch's insert waits for the other transaction");
    PQclear(PQexec(other, "COMMIT"));
    PQfinish(other);
    harness_response *r = wait_result(task, alice, "summary");
    cr_expect(strstr(r->body, "3 UPDATE (200:3); 9 NEW (201:9)") != NULL &&
                  strstr(r->body, "409") == NULL,
              "%s", r->body);
    harness_response_free(r);
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM concepts"), 10);
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT version FROM concepts WHERE mnemonic = 'c5'"), 2,
                 "the line updated the concept it found");
}

Test(imports, listing_shows_own_tasks_and_root_reviews_all) {
    char alice[128], bob[128], task[256];
    harness_create_user(&srv, "alice", alice, sizeof alice);
    harness_create_user(&srv, "bob", bob, sizeof bob);
    static const char a_line[] = "{\"type\":\"Organization\",\"id\":\"A\",\"name\":\"A\"}\n";
    static const char b_line[] = "{\"type\":\"Organization\",\"id\":\"B\",\"name\":\"B\"}\n";
    submit("/manage/bulkimport/", alice, a_line, sizeof a_line - 1, task, sizeof task);
    harness_response_free(wait_result(task, alice, "summary"));
    submit("/manage/bulkimport/mine/", alice, b_line, sizeof b_line - 1, task, sizeof task);
    harness_response_free(wait_result(task, alice, "summary"));
    submit("/manage/bulkimport/", bob, b_line, sizeof b_line - 1, task, sizeof task);
    harness_response_free(wait_result(task, bob, "summary"));

    harness_response *r = list("/manage/bulkimport/", alice, 200);
    cr_expect_eq(cJSON_GetArraySize(r->json), 2);
    const cJSON *newest = cJSON_GetArrayItem(r->json, 0);
    cr_expect_str_eq(cJSON_GetObjectItem(newest, "queue")->valuestring, "mine", "newest first");
    cr_expect_str_eq(cJSON_GetObjectItem(newest, "state")->valuestring, "SUCCESS");
    cr_expect_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(newest, "summary"), "total")->valueint, 1);
    cr_expect(cJSON_IsString(cJSON_GetObjectItem(newest, "finished_at")));
    cr_expect_str_eq(cJSON_GetObjectItem(newest, "id")->valuestring,
                     cJSON_GetObjectItem(newest, "task")->valuestring, "oclapi2's id beside ocldev's task");
    cr_expect(strncmp(cJSON_GetObjectItem(newest, "message")->valuestring, "Processed 1 of 1 -- 1 NEW", 25) == 0,
              "a finished task's message is its summary line");
    cr_expect_null(cJSON_GetObjectItem(newest, "total"), "counts live in summary only");
    harness_response_free(r);
    r = list("/manage/bulkimport/mine/", alice, 200);
    cr_expect_eq(cJSON_GetArraySize(r->json), 1);
    harness_response_free(r);
    harness_response_free(list("/manage/bulkimport/?username=alice", bob, 403));
    harness_response_free(list("/manage/bulkimport/?username=nobody", ROOT, 404));
    /* A task id that can name no task is 404 with the JSON error: never the list, never 500. */
    char long_path[1400] = "/manage/bulkimport/?task=";
    memset(long_path + strlen(long_path), 'x', 1200);
    static const char *const no_task[] = {"/manage/bulkimport/?task=", "/manage/bulkimport/?task=%FF%FE",
                                          "/manage/bulkimport/?task=a%00b", "/importers/bulk-import/q/?task=%C3"};
    for (size_t i = 0; i < sizeof no_task / sizeof no_task[0] + 1; i++) {
        harness_response *nf = list(i < sizeof no_task / sizeof no_task[0] ? no_task[i] : long_path, ROOT, 404);
        cr_expect(cJSON_IsString(cJSON_GetObjectItem(nf->json, "message")), "%s", nf->body);
        harness_response_free(nf);
    }
    r = list("/manage/bulkimport/", ROOT, 200);
    char total[16];
    cr_expect_str_eq(harness_response_header(r, "X-Total-Count", total, sizeof total), "3");
    harness_response_free(r);
    r = list("/manage/bulkimport/?username=bob&state=SUCCESS", ROOT, 200);
    cr_expect_eq(cJSON_GetArraySize(r->json), 1);
    harness_response_free(r);
    r = list("/manage/bulkimport/?limit=1&offset=1", ROOT, 200);
    cr_expect_eq(cJSON_GetArraySize(r->json), 1);
    cr_expect_str_eq(harness_response_header(r, "X-Total-Count", total, sizeof total), "3");
    harness_response_free(r);
    harness_response_free(list("/manage/bulkimport/?state=DONE", ROOT, 400));
}

Test(imports, named_queue_runs_in_order_standard_queue_in_parallel) {
    char alice[128], task[5][256];
    harness_create_user(&srv, "alice", alice, sizeof alice);
    for (int i = 0; i < 5; i++) {
        size_t len;
        char *text = concept_file(i * 1500, 1500, &len);
        submit("/manage/bulkimport/serial/", alice, text, len, task[i], sizeof task[i]);
        free(text);
    }
    for (int i = 0; i < 5; i++)
        harness_response_free(wait_result(task[i], alice, "summary"));
    harness_response *r = list("/manage/bulkimport/serial/?limit=5", alice, 200);
    cr_assert_eq(cJSON_GetArraySize(r->json), 5);
    for (int i = 0; i < 4; i++) { /* the list is newest first: item i+1 ran before item i */
        const cJSON *later = cJSON_GetArrayItem(r->json, i), *earlier = cJSON_GetArrayItem(r->json, i + 1);
        cr_expect_geq(strcmp(cJSON_GetObjectItem(later, "started_at")->valuestring,
                             cJSON_GetObjectItem(earlier, "finished_at")->valuestring), 0,
                      "%s started before %s finished", cJSON_GetObjectItem(later, "task")->valuestring,
                      cJSON_GetObjectItem(earlier, "task")->valuestring);
    }
    harness_response_free(r);

    char bob[128], par[2][256];
    harness_create_user(&srv, "bob", bob, sizeof bob);
    for (int i = 0; i < 2; i++) {
        size_t len;
        char *text = concept_file(10000 + i * 4000, 4000, &len);
        submit("/manage/bulkimport/", bob, text, len, par[i], sizeof par[i]);
        free(text);
    }
    for (int i = 0; i < 2; i++)
        harness_response_free(wait_result(par[i], bob, "summary"));
    r = list("/manage/bulkimport/", bob, 200);
    const cJSON *second = cJSON_GetArrayItem(r->json, 0), *first = cJSON_GetArrayItem(r->json, 1);
    cr_expect_lt(strcmp(cJSON_GetObjectItem(second, "started_at")->valuestring,
                        cJSON_GetObjectItem(first, "finished_at")->valuestring), 0,
                 "the standard queue runs tasks side by side");
    harness_response_free(r);
}

Test(imports, same_import_queued_twice_is_409) {
    /* A task of (root, "held") that never ends keeps the queue's next tasks PENDING. */
    harness_sql(srv.conninfo, "INSERT INTO import_tasks (id, username, queue, named, state, update_if_exists,"
                              " test_mode, content_sha256, started_at) VALUES ('held-root~held', 'root', 'held',"
                              " true, 'STARTED', true, false, '\\x00', now())");
    static const char line[] = "{\"type\":\"Organization\",\"id\":\"D\",\"name\":\"D\"}\n";
    char task[256];
    submit("/manage/bulkimport/held/", ROOT, line, sizeof line - 1, task, sizeof task);
    harness_response *r = harness_request(&srv, "POST", "/manage/bulkimport/held/", ROOT, line);
    cr_expect_eq(r->status, 409, "%s", r->body);
    cr_expect_str_eq(harness_json_string(r, "exception"), "The same import has been already queued");
    harness_response_free(r);
    submit("/manage/bulkimport/held/?update_if_exists=false", ROOT, line, sizeof line - 1, task, sizeof task);
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM import_tasks WHERE state = 'PENDING'"), 2);
    harness_sql(srv.conninfo, "DELETE FROM import_tasks");
}

Test(imports, multipart_and_inline_form_bodies) {
    static const char multipart[] =
        "--b0UND\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.json\"\r\n"
        "Content-Type: application/json\r\n\r\n"
        "{\"type\":\"Organization\",\"id\":\"M1\",\"name\":\"M1\"}\n"
        "{\"type\":\"Organization\",\"id\":\"M2\",\"name\":\"M2\"}\r\n--b0UND--\r\n";
    harness_response *r = harness_request_typed(&srv, "POST", "/manage/bulkimport/", ROOT,
                                                "multipart/form-data; boundary=b0UND", multipart,
                                                sizeof multipart - 1);
    cr_assert_eq(r->status, 202, "%s", r->body);
    char task[256];
    snprintf(task, sizeof task, "%s", harness_json_string(r, "task"));
    harness_response_free(r);
    r = wait_result(task, ROOT, "summary");
    expect_summary(r, "^Processed 2 of 2 -- 2 NEW \\(201:2\\) in ");
    harness_response_free(r);

    static const char form[] = "data=%7B%22type%22%3A%22Organization%22%2C%22id%22%3A%22F1%22%2C%22name%22%3A%22F%22%7D";
    r = harness_request_typed(&srv, "POST", "/importers/bulk-import-parallel-inline/", ROOT,
                              "application/x-www-form-urlencoded", form, sizeof form - 1);
    cr_assert_eq(r->status, 202, "%s", r->body);
    snprintf(task, sizeof task, "%s", harness_json_string(r, "task"));
    harness_response_free(r);
    r = wait_result(task, ROOT, "summary");
    expect_summary(r, "^Processed 1 of 1 -- 1 NEW \\(201:1\\) in ");
    harness_response_free(r);

    r = harness_request_typed(&srv, "POST", "/manage/bulkimport/", ROOT,
                              "multipart/form-data; boundary=b0UND", "--b0UND--\r\n", 11);
    cr_expect_eq(r->status, 400, "%s", r->body);
    cr_expect(strstr(harness_json_string(r, "exception"), "no field 'file', 'data' or 'file_url'") != NULL, "%s", r->body);
    harness_response_free(r);
}

/* A server on a fresh database with the extra flags (NULL-terminated). */
static void start_with(harness_server *s, const char *const extra[]) {
    harness_server_start_with(s, 1, extra);
}

Test(imports, limits_on_size_line_length_and_test_mode) {
    harness_server small;
    start_with(&small, (const char *[]){"--max-upload-bytes", "3000", "--max-line-bytes", "120",
                                        "--max-test-mode-lines", "2", NULL});
    char big[4000];
    memset(big, ' ', sizeof big);
    memcpy(big, "{}", 2);
    harness_response *r = harness_request_bytes(&small, "POST", "/manage/bulkimport/", ROOT, big, sizeof big);
    cr_expect_eq(r->status, 413, "%s", r->body);
    harness_response_free(r);

    static const char three[] = "{\"type\":\"Organization\",\"id\":\"L1\",\"name\":\"L\"}\n"
                                "{\"type\":\"Organization\",\"id\":\"L2\",\"name\":\"L\",\"description\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n"
                                "{\"type\":\"Organization\",\"id\":\"L3\",\"name\":\"L\"}\n";
    r = harness_request(&small, "POST", "/manage/bulkimport/?test_mode=true", ROOT, three);
    cr_expect_eq(r->status, 413, "%s", r->body);
    cr_expect(strstr(r->body, "at most 2 lines") != NULL, "%s", r->body);
    harness_response_free(r);
    cr_expect_eq(harness_sql(small.conninfo, "SELECT count(*) FROM import_tasks"), 0);

    r = harness_request(&small, "POST", "/manage/bulkimport/", ROOT, three);
    cr_assert_eq(r->status, 202, "%s", r->body);
    char path[400];
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&result=json", harness_json_string(r, "task"));
    harness_response_free(r);
    for (int i = 0; i < 200; i++) {
        r = harness_request(&small, "GET", path, ROOT, NULL);
        if (r->status != 202)
            break;
        harness_response_free(r);
        usleep(50 * 1000);
    }
    cr_assert_eq(r->status, 200, "%s", r->body);
    expect_line(r, 1, "NEW", "201", NULL);
    expect_line(r, 2, "SKIP", "400", "line_too_long");
    expect_line(r, 3, "NEW", "201", NULL);
    harness_response_free(r);
    cr_expect_eq(harness_server_stop(&small), 0);
}

/* Opens a connection to server s (with a receive buffer of rcvbuf bytes; 0: the system's) and
 * sends the head of a request as auth (raw_request: as root) with header (one line, CRLF-terminated, or ""); returns
 * the socket, for the body that follows. */
static int raw_request_as(const harness_server *s, const char *auth, const char *method,
                          const char *path, const char *header, int rcvbuf) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    char head[512];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: test\r\nAuthorization: %s\r\n"
                     "%s\r\n",
                     method, path, auth, header);
    cr_assert_eq(write(fd, head, (size_t)n), n);
    return fd;
}

static int raw_request(const harness_server *s, const char *method, const char *path,
                       const char *header, int rcvbuf) {
    return raw_request_as(s, ROOT, method, path, header, rcvbuf);
}

static int raw_upload_to(const harness_server *s, const char *path, const char *header) {
    return raw_request(s, "POST", path, header, 0);
}

static int raw_upload(const char *path, const char *header) { return raw_upload_to(&srv, path, header); }

/* Sends one chunk of a chunked body on fd. */
static void send_chunk(int fd, const char *data) {
    char size[32];
    int n = snprintf(size, sizeof size, "%zx\r\n", strlen(data));
    cr_assert_eq(write(fd, size, (size_t)n), n);
    cr_assert_eq(write(fd, data, strlen(data)), (ssize_t)strlen(data));
    cr_assert_eq(write(fd, "\r\n", 2), 2);
}

/* Reads the answer on fd into answer (cap bytes) until it holds want, the peer closes, or 5 s
 * pass without a byte: a head and its body may come apart. */
static void read_answer(int fd, const char *want, char *answer, size_t cap) {
    size_t len = 0;
    answer[0] = '\0';
    struct timeval wait = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    while (strstr(answer, want) == NULL && len < cap - 1) {
        ssize_t got = read(fd, answer + len, cap - 1 - len);
        if (got <= 0)
            break;
        len += (size_t)got;
        answer[len] = '\0';
    }
}

/* Waits (up to 5 s) for the log of server s to hold text. */
static bool logged(const harness_server *s, const char *text) {
    char log[65536];
    for (int i = 0; i < 100; i++) {
        if (harness_read_file(s->log_path, log, sizeof log) > 0 && strstr(log, text))
            return true;
        usleep(50 * 1000);
    }
    return false;
}

/* Waits (up to 5 s) for srv's log to say an upload was abandoned. */
static bool logged_abandoned(void) { return logged(&srv, "abandoned mid-body"); }

Test(imports, a_client_that_disconnects_mid_body_leaves_no_task) {
    int fd = raw_upload("/manage/bulkimport/", "Content-Length: 1000000\r\n");
    static const char line[] = "{\"type\":\"Organization\",\"id\":\"Gone\",\"name\":\"G\"}\n";
    for (int i = 0; i < 100; i++)
        cr_assert_eq(write(fd, line, sizeof line - 1), (ssize_t)(sizeof line - 1));
    close(fd);
    cr_expect(logged_abandoned(), "the server never noticed the disconnect");
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM import_tasks"), 0);
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM import_chunks"), 0);
    harness_response *r = harness_request(&srv, "GET", "/healthz", NULL, NULL);
    cr_expect_eq(r->status, 200);
    harness_response_free(r);
}

/* The same with a chunked body cut off mid-line: its terminating chunk never comes, so it is no
 * file at all — no task, no line, never a 202. */
Test(imports, a_chunked_body_cut_off_leaves_no_task) {
    long before = harness_sql(srv.conninfo, "SELECT count(*) FROM import_tasks");
    int fd = raw_upload("/manage/bulkimport/", "Transfer-Encoding: chunked\r\n");
    send_chunk(fd, "{\"type\":\"Organization\",\"id\":\"Cut\",\"name\":\"C\"}\n{\"type\":\"Organiz");
    shutdown(fd, SHUT_WR); /* the client is gone: no terminating chunk */
    char answer[512] = "";
    ssize_t got = read(fd, answer, sizeof answer - 1);
    close(fd);
    cr_expect(got <= 0 || strstr(answer, " 202 ") == NULL, "a cut-off body was answered 202: %s", answer);
    cr_expect(logged_abandoned(), "a body without its terminating chunk is an abandoned upload");
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM import_tasks"), before, "no task");
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM organizations WHERE mnemonic = 'Cut'"), 0);
}

Test(imports, a_chunked_body_beside_a_query_file_url_is_refused) {
    long before = harness_sql(srv.conninfo, "SELECT count(*) FROM import_tasks");
    int fd = raw_upload("/manage/bulkimport/?file_url=http%3A%2F%2Fexample.org%2Fa.json",
                        "Transfer-Encoding: chunked\r\n");
    send_chunk(fd, "{}");
    send_chunk(fd, "");
    char answer[1024];
    read_answer(fd, "not both", answer, sizeof answer);
    close(fd);
    cr_expect(strstr(answer, " 400 ") && strstr(answer, "not both"), "%s", answer);
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM import_tasks"), before, "no task");
}

#define ORG(id) "{\"type\":\"Organization\",\"id\":\"" id "\",\"name\":\"O\"}"

Test(imports, an_upload_stalled_past_the_read_timeout_leaves_no_task) {
    harness_server s;
    harness_server_start_with(&s, 1, (const char *const[]){"--read-timeout", "1", "--upload-min-rate", "0", NULL});
    int fd = raw_upload_to(&s, "/manage/bulkimport/", "Content-Length: 100000\r\n");
    static const char part[] = ORG("Stalled") "\n{\"type\":\"Organiz";
    cr_assert_eq(write(fd, part, sizeof part - 1), (ssize_t)(sizeof part - 1));
    cr_expect(logged(&s, "abandoned mid-body"), "a stalled body is dropped after the read timeout");
    close(fd);
    cr_expect_eq(harness_sql(s.conninfo, "SELECT count(*) FROM import_tasks"), 0);
    cr_expect_eq(harness_sql(s.conninfo, "SELECT count(*) FROM import_chunks"), 0);
    cr_expect_eq(harness_server_stop(&s), 0);
}

/* At SIGTERM an upload that finishes within the grace is queued; one still running when the
 * grace ends rolls back; a new one is refused. */
Test(imports, at_shutdown_uploads_get_the_grace_and_the_rest_roll_back) {
    harness_server s;
    harness_server_start_with(&s, 1, (const char *const[]){"--shutdown-grace", "2", NULL});
    int finishing = raw_upload_to(&s, "/manage/bulkimport/", "Transfer-Encoding: chunked\r\n");
    int stalled = raw_upload_to(&s, "/manage/bulkimport/", "Transfer-Encoding: chunked\r\n");
    send_chunk(finishing, ORG("InGrace") "\n");
    send_chunk(stalled, ORG("PastGrace") "\n");
    usleep(300 * 1000); /* both bodies are being read */
    long start = (long)time(NULL);
    kill(s.pid, SIGTERM);
    cr_expect(logged(&s, "finishing in-flight requests"));
    harness_response *r = harness_request(&s, "POST", "/manage/bulkimport/", ROOT, ORG("Late") "\n");
    cr_expect_eq(r->status, 503, "a new upload once shutdown began: %s", r->body);
    harness_response_free(r);
    send_chunk(finishing, ORG("InGrace2") "\n");
    send_chunk(finishing, "");
    char answer[2048];
    read_answer(finishing, "\"task\"", answer, sizeof answer);
    cr_expect(strstr(answer, " 202 ") != NULL, "an upload done within the grace is queued: %s", answer);
    cr_expect_eq(harness_server_stop(&s), 0);
    long took = (long)time(NULL) - start;
    cr_expect(took < 10, "shutdown took %ld s with a stalled upload", took);
    read_answer(stalled, " 202 ", answer, sizeof answer);
    cr_expect(strstr(answer, " 202 ") == NULL, "the stalled upload was answered: %s", answer);
    close(finishing);
    close(stalled);
    cr_expect_eq(harness_sql(s.conninfo, "SELECT count(*) FROM import_tasks"), 1);
    cr_expect_eq(harness_sql(s.conninfo, "SELECT sum(last_line - first_line + 1) FROM import_chunks"), 2, "InGrace's two");
}

/* The database fails while results stream (its session is terminated mid-query): the
 * client must see a broken transfer, never a 200 that ends like a complete body. */
/* Queues ~4 MB of concept lines, whose results outgrow socket buffers, and waits for the task
 * (its id into task, cap bytes). */
static void submit_big_results(char *task, size_t task_cap) {
    size_t cap = 4u << 20, len = 0;
    char *body = malloc(cap);
    len += (size_t)snprintf(body, cap, "%s\n%s\n", ORG("Broken"),
                            "{\"type\":\"Source\",\"id\":\"S\",\"name\":\"S\",\"owner\":\"Broken\","
                            "\"owner_type\":\"Organization\"}");
    static char pad[1200];
    memset(pad, 'p', sizeof pad - 1);
    for (int i = 0; i < 3000; i++) /* ~4 MB of lines: their results outgrow socket buffers */
        len += (size_t)snprintf(body + len, cap - len,
                                "{\"type\":\"Concept\",\"id\":\"c%d\",\"concept_class\":\"Misc\","
                                "\"datatype\":\"N/A\",\"names\":[{\"name\":\"n%d %s\",\"locale\":"
                                "\"en\"}],\"owner\":\"Broken\",\"owner_type\":\"Organization\","
                                "\"source\":\"S\"}\n",
                                i, i, pad);
    submit("/manage/bulkimport/", ROOT, body, len, task, task_cap);
    free(body);
    harness_response_free(wait_result(task, ROOT, "summary"));
}

Test(imports, a_result_stream_the_database_breaks_is_visibly_broken) {
    char task[256];
    submit_big_results(task, sizeof task);
    char path[400];
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&result=json", task);
    int fd = raw_request(&srv, "GET", path, "", 4096); /* a small window: the server blocks soon */
    char head[4096];
    cr_assert_gt(read(fd, head, sizeof head), 0, "the answer began");
    /* Wait for the server's query to block on writing rows it cannot send, then end it. */
    long ended = 0;
    for (int i = 0; i < 200 && ended == 0; i++) {
        ended = harness_sql(srv.conninfo,
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE"
                            " query LIKE '%FROM import_results%' AND state = 'active'"
                            " AND wait_event = 'ClientWrite' AND pid <> pg_backend_pid()");
        if (ended == 0)
            usleep(50 * 1000);
    }
    cr_assert_eq(ended, 1, "the results query never blocked on its client");
    struct timeval wait = {.tv_sec = 20};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    char tail[8] = "", buf[65536];
    ssize_t got;
    size_t total = 0;
    while ((got = read(fd, buf, sizeof buf)) > 0) {
        total += (size_t)got;
        if (got >= 5)
            memcpy(tail, buf + got - 5, 5);
        else
            memmove(tail, tail + got, 5 - (size_t)got), memcpy(tail + 5 - got, buf, (size_t)got);
    }
    close(fd);
    cr_expect_eq(got, 0, "the server closed the connection (%s)", got < 0 ? strerror(errno) : "");
    cr_expect(memcmp(tail, "0\r\n\r\n", 5) != 0, "a broken stream ended with the terminating "
                                                   "chunk after %zu bytes", total);
    cr_expect(logged(&srv, "results stream broke off"));
    harness_response *r = harness_request(&srv, "GET", "/healthz", NULL, NULL);
    cr_expect_eq(r->status, 200, "the pool recovers: %s", r->body);
    harness_response_free(r);
}

/* A value the database itself refuses inside a set-wise statement (here a trigger raising a
 * data exception, SQLSTATE 22023, for two of the concepts): those two lines get their own
 * SKIP 400, every other line applies, the task succeeds — in test mode too. */
Test(imports, a_line_the_database_refuses_is_refused_alone) {
    harness_sql(srv.conninfo,
                "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                " RAISE EXCEPTION 'poisoned value %', NEW.mnemonic USING ERRCODE = '22023'; END $$;"
                " CREATE TRIGGER poison BEFORE INSERT ON concepts FOR EACH ROW"
                " WHEN (NEW.mnemonic LIKE 'poison%') EXECUTE FUNCTION poison()");
    char body[4096];
    size_t len = (size_t)snprintf(body, sizeof body, "%s\n%s\n", ORG("Refused"),
                                  "{\"type\":\"Source\",\"id\":\"S\",\"name\":\"S\","
                                  "\"owner\":\"Refused\",\"owner_type\":\"Organization\"}");
    static const char *const ids[] = {"c1", "c2", "poison1", "c3", "poison2", "c4"};
    for (size_t i = 0; i < 6; i++)
        len += (size_t)snprintf(body + len, sizeof body - len,
                                "{\"type\":\"Concept\",\"id\":\"%s\",\"concept_class\":\"Misc\","
                                "\"datatype\":\"N/A\",\"names\":[{\"name\":\"%s\",\"locale\":\"en\"}],"
                                "\"owner\":\"Refused\",\"owner_type\":\"Organization\",\"source\":\"S\"}\n",
                                ids[i], ids[i]);
    for (int test_mode = 1; test_mode >= 0; test_mode--) {
        char task[256];
        submit(test_mode ? "/manage/bulkimport/?test_mode=true" : "/manage/bulkimport/", ROOT, body,
               len, task, sizeof task);
        harness_response *r = wait_result(task, ROOT, "json");
        cr_expect_eq(json_count(r, "NEW", "201"), 6, "test_mode=%d: the org, the source, 4 concepts", test_mode);
        cr_expect_eq(json_count(r, "SKIP", "400"), 2, "test_mode=%d: the two refused lines", test_mode);
        cr_expect(strstr(r->body, "\"error_code\":\"refused_by_database\"") &&
                      strstr(r->body, "poisoned value poison1") && strstr(r->body, "poisoned value poison2"),
                  "%s", r->body);
        harness_response_free(r);
        char path[400];
        snprintf(path, sizeof path, "/manage/bulkimport/?task=%s", task);
        r = harness_request(&srv, "GET", path, ROOT, NULL);
        cr_expect(strncmp(r->body, "Processed 8 of 8 -- ", 20) == 0, "%s", r->body);
        harness_response_free(r);
        cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM concepts"), test_mode ? 0 : 4);
    }
}

/* One user's many queued tasks do not hold back another user's one: the standard queue
 * claims round-robin between users. */
Test(imports, the_standard_queue_takes_turns_between_users) {
    harness_server s;
    harness_server_start_with(&s, 1, (const char *const[]){NULL});
    char a[128], b[128];
    harness_create_user(&s, "usera", a, sizeof a);
    harness_create_user(&s, "userb", b, sizeof b);
    static char body[64 * 1024];
    for (int t = 0; t < 21; t++) {
        bool is_b = t == 20;
        size_t len = (size_t)snprintf(body, sizeof body, "{\"type\":\"Organization\",\"id\":\"%s%d\",\"name\":\"O\"}\n",
                                      is_b ? "B" : "A", t);
        for (int i = 0; i < 150; i++) /* enough lines that A's tasks queue up */
            len += (size_t)snprintf(body + len, sizeof body - len,
                                    "{\"type\":\"Organization\",\"id\":\"%s%d-%d\",\"name\":\"O\"}\n",
                                    is_b ? "B" : "A", t, i);
        harness_response *r = harness_request_bytes(&s, "POST", "/manage/bulkimport/", is_b ? b : a, body, len);
        cr_assert_eq(r->status, 202, "%s", r->body);
        harness_response_free(r);
    }
    for (int i = 0; i < 600 && harness_sql(s.conninfo, "SELECT count(*) FROM import_tasks WHERE state <> 'SUCCESS'") > 0; i++)
        usleep(100 * 1000);
    cr_assert_eq(harness_sql(s.conninfo, "SELECT count(*) FROM import_tasks WHERE state = 'SUCCESS'"), 21);
    long after_b = harness_sql(s.conninfo, "SELECT count(*) FROM import_tasks a, import_tasks b WHERE"
                                           " a.username = 'usera' AND b.username = 'userb'"
                                           " AND a.started_at > b.started_at");
    cr_expect_gt(after_b, 0, "user B's task started after all 20 of user A's");
    cr_expect_eq(harness_server_stop(&s), 0);
}

/* Ten uploads of one user trickling a byte at a time hold at most --max-user-uploads database
 * connections (the rest get 429 with Retry-After), so another user's requests and uploads and
 * the workers go on as usual. */
Test(imports, one_users_stalled_uploads_do_not_starve_the_others) {
    char alice[128], bob[128];
    harness_create_user(&srv, "alice", alice, sizeof alice);
    harness_create_user(&srv, "bob", bob, sizeof bob);
    int fds[10], refused = 0;
    for (int i = 0; i < 10; i++) {
        fds[i] = raw_request_as(&srv, alice, "POST", "/manage/bulkimport/",
                                "Transfer-Encoding: chunked\r\n", 0);
        send(fds[i], "1\r\n{\r\n", 6, MSG_NOSIGNAL); /* a refused one may be closed already */
    }
    for (int i = 0; i < 10; i++) { /* the refused ones are answered at once */
        struct timeval wait = {.tv_usec = 300 * 1000};
        setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
        char answer[1024] = "";
        if (read(fds[i], answer, sizeof answer - 1) > 0 && strstr(answer, " 429 ") &&
            strstr(answer, "Retry-After:"))
            refused++;
    }
    cr_expect_eq(refused, 7, "alice's uploads past --max-user-uploads (3 here) get 429");
    for (int i = 0; i < 10; i++) /* the admitted ones trickle on */
        send(fds[i], "1\r\n \r\n", 6, MSG_NOSIGNAL);
    harness_response *r = harness_request(&srv, "GET", "/user/", bob, NULL);
    cr_expect_eq(r->status, 200, "bob's read: %s", r->body);
    harness_response_free(r);
    char task[256];
    submit("/manage/bulkimport/", bob, ORG("BobsOrg") "\n", strlen(ORG("BobsOrg")) + 1, task, sizeof task);
    r = wait_result(task, bob, "summary");
    cr_expect(strncmp(r->body, "Processed 1 of 1", 16) == 0, "bob's upload imports: %s", r->body);
    harness_response_free(r);
    for (int i = 0; i < 10; i++)
        close(fds[i]);
}

/* A client that sends "Expect: 100-continue" (curl and libcurl do for bodies over 1 MB) waits
 * for "100 Continue" before its body: it comes at once (CivetWeb sends none to handlers, so
 * such clients waited a second per upload); a request refused before its body gets its final
 * answer instead, and the client never sends the body. */
Test(imports, expect_100_continue_is_answered) {
    int fd = raw_request(&srv, "POST", "/manage/bulkimport/",
                         "Content-Length: 45\r\nExpect: 100-continue\r\n", 0);
    char answer[2048];
    struct pollfd p = {.fd = fd, .events = POLLIN};
    cr_assert_gt(poll(&p, 1, 500), 0, "no answer within 500 ms: the client would wait a second");
    ssize_t got = recv(fd, answer, sizeof answer - 1, 0);
    answer[got > 0 ? got : 0] = '\0';
    cr_expect(strncmp(answer, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0, "%s", answer);
    static const char line[] = "{\"type\":\"Organization\",\"id\":\"Ex\",\"name\":\"E\"}\n";
    cr_assert_eq(sizeof line - 1, 45);
    cr_assert_eq(write(fd, line, sizeof line - 1), (ssize_t)(sizeof line - 1));
    read_answer(fd, "\"task\"", answer, sizeof answer);
    cr_expect(strstr(answer, " 202 ") != NULL, "%s", answer);
    close(fd);
    fd = raw_request_as(&srv, "Token not-a-token", "POST", "/manage/bulkimport/",
                        "Content-Length: 45\r\nExpect: 100-continue\r\n", 0);
    read_answer(fd, "}", answer, sizeof answer);
    cr_expect(strstr(answer, " 401 ") != NULL && strstr(answer, "100 Continue") == NULL,
              "refused before its body: %s", answer);
    close(fd);
}

/* A client trickling its headers a byte at a time is closed at --header-timeout (2 s here):
 * CivetWeb alone gives headers as long as a body's next bytes, --read-timeout (30 s), so a few
 * such clients would hold every handler thread. The server answers others meanwhile. */
Test(imports, headers_trickled_past_the_header_timeout_are_cut) {
    harness_server s;
    harness_server_start_with(&s, 1, (const char *const[]){"--header-timeout", "2", NULL});
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s.port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    static const char head[] = "GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: ";
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    bool cut = false;
    for (size_t i = 0; i < 100 && !cut; i++) { /* a byte every 100 ms, for up to 10 s */
        cut = send(fd, i < sizeof head - 1 ? &head[i] : "x", 1, MSG_NOSIGNAL) < 0;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char byte;
        cut |= poll(&p, 1, 100) > 0 && recv(fd, &byte, 1, 0) <= 0;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    double took = (double)(now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9;
    close(fd);
    cr_expect(cut, "a connection trickling its headers for 10 s is still open");
    cr_expect(took >= 1.5 && took < 4, "cut after %.1f s (--header-timeout 2)", took);
    cr_expect(logged(&s, "--header-timeout"));
    harness_response *r = harness_request(&s, "GET", "/healthz", NULL, NULL);
    cr_expect_eq(r->status, 200, "the server still answers");
    harness_response_free(r);
    cr_expect_eq(harness_server_stop(&s), 0);
}

/* An upload slower than --upload-min-rate, once --read-timeout has passed, is dropped: 408. */
Test(imports, an_upload_below_the_minimum_rate_is_dropped) {
    harness_server s;
    harness_server_start_with(&s, 1, (const char *const[]){"--read-timeout", "1", "--upload-min-rate", "1000", NULL});
    int fd = raw_upload_to(&s, "/manage/bulkimport/", "Transfer-Encoding: chunked\r\n");
    char answer[1024] = "";
    struct timeval wait = {.tv_usec = 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    for (int i = 0; i < 40 && answer[0] == '\0'; i++) {
        if (send(fd, "1\r\n \r\n", 6, MSG_NOSIGNAL) < 0)
            break;
        usleep(100 * 1000);
        ssize_t got = read(fd, answer, sizeof answer - 1);
        answer[got > 0 ? got : 0] = '\0';
    }
    read_answer(fd, "upload-min-rate", answer + strlen(answer), sizeof answer - strlen(answer));
    close(fd);
    cr_expect(strstr(answer, " 408 ") != NULL, "a 10 bytes/s upload: %s", answer);
    cr_expect_eq(harness_sql(s.conninfo, "SELECT count(*) FROM import_tasks"), 0);
    cr_expect_eq(harness_server_stop(&s), 0);
}

/* Result downloads hold a database connection while their client reads: past --max-streams
 * (2 on this server) another is 503 with Retry-After; a summary still answers, and the place
 * is free again once a download ends. */
Test(imports, slow_result_downloads_do_not_take_the_pool) {
    char task[256];
    submit_big_results(task, sizeof task);
    char path[400];
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&result=json", task);
    int slow[2];
    for (int i = 0; i < 2; i++) {
        slow[i] = raw_request(&srv, "GET", path, "", 4096);
        char head[256];
        cr_assert_gt(read(slow[i], head, sizeof head), 0, "download %d began", i);
    }
    harness_response *r = harness_request(&srv, "GET", path, ROOT, NULL);
    char retry[16];
    cr_expect_eq(r->status, 503, "a third download: %.200s", r->body);
    cr_expect_not_null(harness_response_header(r, "Retry-After", retry, sizeof retry));
    harness_response_free(r);
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s", task);
    r = harness_request(&srv, "GET", path, ROOT, NULL);
    cr_expect_eq(r->status, 200, "the summary still answers: %.200s", r->body);
    harness_response_free(r);
    close(slow[0]);
    close(slow[1]);
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&result=json", task);
    long status = 0;
    for (int i = 0; i < 100 && status != 200; i++) { /* the server notices the closed ones */
        r = harness_request(&srv, "GET", path, ROOT, NULL);
        status = r->status;
        harness_response_free(r);
        if (status != 200)
            usleep(100 * 1000);
    }
    cr_expect_eq(status, 200, "a download once the others ended");
}

Test(imports, ocl_files_import_with_their_summaries) {
    const char *text = harness_fixture(FIXTURES "pepfar_datim_moh_fy19.json");
    char task[256];
    submit("/manage/bulkimport/", ROOT, text, strlen(text), task, sizeof task);
    harness_response *r = wait_result(task, ROOT, "summary");
    expect_summary(r, "^Processed 413 of 413 -- 413 NEW \\(201:405, 200:8\\) in [0-9]+\\.[0-9]{2} secs$");
    harness_response_free(r);
    r = wait_result(task, ROOT, "json");
    cr_expect_eq(json_count(r, "NEW", "201"), 405);
    cr_expect_eq(json_count(r, "NEW", "200"), 8, "the reference lines");
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/orgs/PEPFAR/collections/MER-R-MOH-Facility-FY19/FY19.v0/concepts/?limit=1", ROOT, NULL);
    char total[16];
    cr_expect_eq(r->status, 200);
    cr_expect_gt(atol(harness_response_header(r, "X-Total-Count", total, sizeof total)), 100,
                 "the collection version holds the referenced concepts");
    harness_response_free(r);

    text = harness_fixture(FIXTURES "sample_collection_references_with_delete.json");
    submit("/manage/bulkimport/", ROOT, text, strlen(text), task, sizeof task);
    r = wait_result(task, ROOT, "summary");
    expect_summary(r, "^Processed 11 of 11 -- 7 UPDATE \\(200:7\\); 2 NEW \\(200:2\\); 2 DELETE \\(204:2\\) in ");
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/orgs/PEPFAR/collections/MER-R-MOH-Facility-FY19/references/?limit=1000", ROOT, NULL);
    for (int i = 0; i < cJSON_GetArraySize(r->json); i++) {
        const char *e = cJSON_GetObjectItem(cJSON_GetArrayItem(r->json, i), "expression")->valuestring;
        cr_expect(strstr(e, "/null-disag/") == NULL && strstr(e, "/HTS_TST_N_MOH/") == NULL,
                  "%s was deleted", e);
    }
    harness_response_free(r);
}

#define C(id, action) \
    "{\"type\":\"Concept\",\"id\":\"" id "\",\"concept_class\":\"M\",\"datatype\":\"N\",\"names\":[{\"name\":\"n\",\"locale\":\"en\"}]," \
    "\"owner\":\"O\",\"owner_type\":\"Organization\",\"source\":\"S\"" action "}\n"
#define ACT(name) ",\"__action\":\"" name "\""

Test(imports, every_directive_on_existing_and_missing_objects) {
    static const char body[] =
        "{\"type\":\"Organization\",\"id\":\"O\",\"name\":\"O\"}\n"
        "{\"type\":\"Source\",\"id\":\"S\",\"name\":\"S\",\"owner\":\"O\",\"owner_type\":\"Organization\"}\n"
        C("c1", ACT("NEW")) C("c1", ACT("CREATE")) C("c2", ACT("UPDATE")) C("c1", ACT("UPDATE"))
        C("c2", ACT("DELETE")) C("c1", ACT("DELETE")) C("c1", ACT("DELETE"))
        C("c2", ACT("DELETE_IF_EXISTS")) C("c1", ACT("DELETE_IF_EXISTS")) C("c1", ACT("SKIP"))
        C("c3", ACT("SKIP")) C("c1", "") C("c3", ACT("CREATE_OR_UPDATE"));
    char task[256];
    submit("/manage/bulkimport/", ROOT, body, sizeof body - 1, task, sizeof task);
    harness_response *r = wait_result(task, ROOT, "json");
    expect_line(r, 3, "NEW", "201", NULL);
    expect_line(r, 4, "NEW", "409", "conflict");
    expect_line(r, 5, "UPDATE", "404", "not_found");
    expect_line(r, 6, "UPDATE", "200", NULL);
    expect_line(r, 7, "DELETE", "404", "not_found");
    expect_line(r, 8, "DELETE", "204", NULL);
    expect_line(r, 9, "DELETE", "204", NULL);
    expect_line(r, 10, "SKIP", "skip", NULL);
    expect_line(r, 11, "DELETE", "204", NULL);
    expect_line(r, 12, "SKIP", "skip", NULL);
    expect_line(r, 13, "SKIP", "skip", NULL);
    expect_line(r, 14, "UPDATE", "200", NULL);
    expect_line(r, 15, "NEW", "201", NULL);
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/orgs/O/sources/S/concepts/c1/", ROOT, NULL);
    cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(r->json, "retired")), "CREATE_OR_UPDATE un-retires: %s", r->body);
    harness_response_free(r);
}

Test(imports, lines_run_with_the_submitters_rights) {
    char alice[128], bob[128], task[256];
    harness_create_user(&srv, "alice", alice, sizeof alice);
    harness_create_user(&srv, "bob", bob, sizeof bob);
    static const char setup[] =
        "{\"type\":\"Organization\",\"id\":\"O\",\"name\":\"O\"}\n"
        "{\"type\":\"Source\",\"id\":\"None\",\"name\":\"S\",\"owner\":\"O\",\"owner_type\":\"Organization\",\"public_access\":\"None\"}\n"
        "{\"type\":\"Source\",\"id\":\"View\",\"name\":\"S\",\"owner\":\"O\",\"owner_type\":\"Organization\"}\n"
        "{\"type\":\"Source\",\"id\":\"Edit\",\"name\":\"S\",\"owner\":\"O\",\"owner_type\":\"Organization\",\"public_access\":\"Edit\"}\n";
    submit("/manage/bulkimport/", alice, setup, sizeof setup - 1, task, sizeof task);
    harness_response_free(wait_result(task, alice, "summary"));
#define INTO(src) \
    "{\"type\":\"Concept\",\"id\":\"x\",\"concept_class\":\"M\",\"datatype\":\"N\",\"names\":[{\"name\":\"n\",\"locale\":\"en\"}]," \
    "\"owner\":\"O\",\"owner_type\":\"Organization\",\"source\":\"" src "\"}\n"
    static const char lines[] = INTO("None") INTO("View") INTO("Edit");
    submit("/manage/bulkimport/", bob, lines, sizeof lines - 1, task, sizeof task);
    harness_response *r = wait_result(task, bob, "json");
    expect_line(r, 1, "SKIP", "404", "not_found");
    expect_line(r, 2, "NEW", "403", "forbidden");
    expect_line(r, 3, "NEW", "201", NULL);
    harness_response_free(r);
    submit("/manage/bulkimport/", alice, lines, sizeof lines - 1, task, sizeof task);
    r = wait_result(task, alice, "summary");
    expect_summary(r, "^Processed 3 of 3 -- 2 NEW \\(201:2\\); 1 UPDATE \\(200:1\\) in ");
    harness_response_free(r);
}

Test(imports, a_named_queue_stays_serial_across_two_nodes) {
    harness_server other; /* a second node on the same database */
    const char *args[] = {"--database-url", srv.conninfo, "--root-token", HARNESS_ROOT_TOKEN,
                          "--workers", "3", NULL};
    harness_server_start(&other, args);
    char task[4][256];
    for (int i = 0; i < 4; i++) {
        size_t len;
        char *text = concept_file(i * 1000, 1000, &len);
        submit("/manage/bulkimport/shared/", ROOT, text, len, task[i], sizeof task[i]);
        free(text);
    }
    for (int i = 0; i < 4; i++)
        harness_response_free(wait_result(task[i], ROOT, "summary"));
    cr_expect_eq(harness_sql(srv.conninfo,
                             "SELECT count(*) FROM import_tasks a JOIN import_tasks b"
                             " ON a.queue = b.queue AND a.created_at < b.created_at"
                             " WHERE a.queue = 'shared' AND b.started_at < a.finished_at"),
                 0, "a later task started before an earlier one finished");
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM import_tasks WHERE queue = 'shared'"
                                           " AND state = 'SUCCESS'"), 4);
    cr_expect_eq(harness_server_stop(&other), 0);
}

Test(imports, an_interrupted_test_mode_task_starts_again_from_line_one) {
    static const char body[] =
        "{\"type\":\"Organization\",\"id\":\"T\",\"name\":\"T\"}\n"
        "{\"type\":\"Source\",\"id\":\"S\",\"name\":\"S\",\"owner\":\"T\",\"owner_type\":\"Organization\"}\n"
        "{\"type\":\"Concept\",\"id\":\"c\",\"concept_class\":\"M\",\"datatype\":\"N\",\"names\":[{\"name\":\"n\",\"locale\":\"en\"}],"
        "\"owner\":\"T\",\"owner_type\":\"Organization\",\"source\":\"S\"}\n";
    char task[256];
    submit("/manage/bulkimport/?test_mode=true&batch_size=1", ROOT, body, sizeof body - 1, task,
           sizeof task);
    harness_response *r = wait_result(task, ROOT, "summary");
    expect_summary(r, "^Processed 3 of 3 -- 3 NEW \\(201:3\\) in ");
    harness_response_free(r);
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM import_batches"), 3);
    /* As a node that died after line 1 leaves it once rescued: PENDING, checkpoint 1, one batch
     * recorded; line 1's organization rolled back with that node's transaction. */
    harness_sql(srv.conninfo, "DELETE FROM import_batches WHERE first_line > 1");
    harness_sql(srv.conninfo, "UPDATE import_tasks SET state = 'PENDING', finished_at = NULL,"
                              " checkpoint = 1; NOTIFY bulkimport_tasks");
    r = wait_result(task, ROOT, "summary");
    expect_summary(r, "^Processed 3 of 3 -- 3 NEW \\(201:3\\) in ");
    harness_response_free(r);
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM organizations"), 0);
}

Test(imports, a_large_task_runs_in_partitions_and_keeps_each_key_in_order) {
    /* 300 concepts created, then all of them changed; concept "k" appears three times, far
     * apart, and must end as its last line says, having been created once and updated twice. */
    size_t cap = 700 * 260, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text + len, cap - len,
                            "{\"type\":\"Organization\",\"id\":\"P\",\"name\":\"P\"}\n"
                            "{\"type\":\"Source\",\"id\":\"S\",\"name\":\"S\",\"owner\":\"P\","
                            "\"owner_type\":\"Organization\"}\n");
    for (int i = 0; i < 600; i++) {
        bool k = i == 40 || i == 290 || i == 560;
        len += (size_t)snprintf(text + len, cap - len,
                                "{\"type\":\"Concept\",\"id\":\"%s%d\",\"concept_class\":\"M\","
                                "\"datatype\":\"N\",\"names\":[{\"name\":\"v%d\",\"locale\":\"en\"}],"
                                "\"owner\":\"P\",\"owner_type\":\"Organization\",\"source\":\"S\"}\n",
                                k ? "k" : "p", k ? 0 : i % 300, i);
    }
    char task[256];
    submit("/manage/bulkimport/?batch_size=20", ROOT, text, len, task, sizeof task);
    free(text);
    harness_response *r = wait_result(task, ROOT, "json");
    expect_line(r, 43, "NEW", "201", NULL);
    expect_line(r, 293, "UPDATE", "200", NULL);
    expect_line(r, 563, "UPDATE", "200", NULL);
    harness_response_free(r);
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM concepts c JOIN repositories r"
                                           " ON r.id = c.repo_id WHERE c.mnemonic = 'k0'"
                                           " AND c.version = 3 AND c.data->'names'->0->>'name' = 'v560'"),
                 1, "the key's last line wins, after exactly two updates");
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM import_batches WHERE task_id = '%s'"
                              " AND line_no[cardinality(line_no)] - line_no[1] >= cardinality(line_no)",
             task);
    cr_expect_gt(harness_sql(srv.conninfo, sql), 0, "some batches are partitions, not ranges");
    snprintf(sql, sizeof sql, "SELECT sum(processed) FROM import_batches WHERE task_id = '%s'", task);
    cr_expect_eq(harness_sql(srv.conninfo, sql), 602);
}

/* Lines cJSON takes but jsonb refuses are refused alone, each with the byte at fault, inside
 * a batch of concepts that otherwise applies; values OCL's serializers take (numbers in string
 * fields, DRF's boolean spellings) import and are stored in OCL's canonical form. */
Test(imports, lines_jsonb_refuses_fail_alone_and_ocl_values_import) {
#define DRF_CONCEPT(id, rest) "{\"type\":\"Concept\",\"id\":" id ",\"concept_class\":\"M\",\"datatype\":\"N\"," \
    "\"names\":[{\"name\":\"n\",\"locale\":\"en\"}],\"owner\":\"Drf\",\"owner_type\":\"Organization\",\"source\":\"S\"" rest "}\n"
    static const char body[] =
        "{\"type\":\"Organization\",\"id\":\"Drf\",\"name\":\"D\"}\n"
        "{\"type\":\"Source\",\"id\":\"S\",\"name\":\"S\",\"owner\":\"Drf\",\"owner_type\":\"Organization\"}\n"
        DRF_CONCEPT("\"a\"", "")
        DRF_CONCEPT("\"b\"", ",\"extras\":{\"n\":01}")
        DRF_CONCEPT("\"c\"", ",\"extras\":{\"n\":1e999999}")
        DRF_CONCEPT("\"d\"", ",\"extras\":{\"n\":-.5}")
        "{\"type\":\"Concept\",\"id\":\"e\"} trailing\n"
        DRF_CONCEPT("1", ",\"retired\":\"yes\",\"extras\":{\"big\":12345678901234567890}")
        DRF_CONCEPT("1e2", "")
        "{\"type\":\"Concept\",\"id\":\"f\",\"concept_class\":7,\"datatype\":\"N\",\"names\":[{\"name\":42,"
        "\"locale\":\"en\",\"locale_preferred\":\"True\"}],\"owner\":\"Drf\",\"owner_type\":\"Organization\",\"source\":\"S\"}\n"
        DRF_CONCEPT("true", "")
        DRF_CONCEPT("\"g\"", ",\"retired\":\"maybe\"")
        DRF_CONCEPT("\"h\"", "");
#undef DRF_CONCEPT
    char task[256];
    submit("/manage/bulkimport/", ROOT, body, sizeof body - 1, task, sizeof task);
    harness_response *r = wait_result(task, ROOT, "json");
    cr_expect_eq(cJSON_GetObjectItem(r->json, "total_lines")->valueint, 13);
    static const struct {
        int line;
        const char *action, *status, *code;
    } want[] = {
        {3, "NEW", "201", NULL},          {4, "SKIP", "400", "invalid_json"},
        {5, "SKIP", "400", "invalid_json"}, {6, "SKIP", "400", "invalid_json"},
        {7, "SKIP", "400", "invalid_json"}, {8, "NEW", "201", NULL},
        {9, "NEW", "201", NULL},          {10, "NEW", "201", NULL},
        {11, "SKIP", "400", "wrong_field_type"}, {12, "SKIP", "400", "wrong_field_type"},
        {13, "NEW", "201", NULL},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        expect_line(r, want[i].line, want[i].action, want[i].status, want[i].code);
    const cJSON *message = cJSON_GetObjectItem(json_line(r, 4), "message");
    cr_expect(cJSON_IsString(message) && strstr(message->valuestring, "leading zero in a number at byte") != NULL,
              "the position: %s", cJSON_IsString(message) ? message->valuestring : "");
    message = cJSON_GetObjectItem(json_line(r, 12), "message");
    cr_expect(cJSON_IsString(message) && strstr(message->valuestring, "'retired'") != NULL, "names the field");
    harness_response_free(r);
    r = wait_result(task, ROOT, "summary");
    expect_summary(r, "^Processed 13 of 13 -- 7 NEW \\(201:7\\); 6 SKIP \\(400:6\\) in ");
    harness_response_free(r);

    r = harness_request(&srv, "GET", "/orgs/Drf/sources/S/concepts/1/", ROOT, NULL);
    cr_assert_eq(r->status, 200, "the number 1 is the id \"1\": %s", r->body);
    cr_expect_str_eq(harness_json_string(r, "id"), "1");
    cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(r->json, "retired")), "\"yes\" is true: %s", r->body);
    cr_expect(strstr(r->body, "12345678901234567890") != NULL, "other numbers stay as sent: %s", r->body);
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/orgs/Drf/sources/S/concepts/100.0/", ROOT, NULL);
    cr_expect_eq(r->status, 200, "1e2 is \"100.0\", as Python's str(): %s", r->body);
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/orgs/Drf/sources/S/concepts/f/", ROOT, NULL);
    cr_expect_str_eq(harness_json_string(r, "concept_class"), "7");
    const cJSON *name = cJSON_GetArrayItem(cJSON_GetObjectItem(r->json, "names"), 0);
    cr_expect_str_eq(cJSON_GetObjectItem(name, "name")->valuestring, "42");
    cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(name, "locale_preferred")), "%s", r->body);
    harness_response_free(r);
}

/* ---- compressed files ---------------------------------------------------------------------- */

static const char gz_lines[] =
    "{\"type\":\"Organization\",\"id\":\"Gz\",\"name\":\"G\"}\n"
    "{\"type\":\"Source\",\"id\":\"S\",\"name\":\"S\",\"owner\":\"Gz\",\"owner_type\":\"Organization\"}\n"
    "{\"type\":\"Concept\",\"id\":\"c1\",\"concept_class\":\"M\",\"datatype\":\"N\","
    "\"names\":[{\"name\":\"n\",\"locale\":\"en\"}],\"owner\":\"Gz\",\"owner_type\":\"Organization\","
    "\"source\":\"S\"}\n";

/* A gzip file is its lines, posted raw (with or without Content-Encoding) or as a multipart
 * file: the same results, line numbers and texts as the plain file. */
Test(imports, gzip_files_import_as_their_lines) {
    unsigned char gz[1024];
    size_t n = harness_gzip(gz_lines, sizeof gz_lines - 1, gz, sizeof gz);
    char task[256];
    submit("/manage/bulkimport/?queue=gz1", ROOT, (const char *)gz, n, task, sizeof task);
    harness_response *r = wait_result(task, ROOT, "json");
    cr_assert_eq(r->status, 200, "%s", r->body);
    expect_line(r, 1, "NEW", "201", NULL);
    expect_line(r, 2, "NEW", "201", NULL);
    expect_line(r, 3, "NEW", "201", NULL);
    cr_expect_str_eq(cJSON_GetObjectItem(json_line(r, 1), "text")->valuestring,
                     "{\"type\":\"Organization\",\"id\":\"Gz\",\"name\":\"G\"}");
    harness_response_free(r);

    r = harness_request_with_header(&srv, "POST", "/manage/bulkimport/?queue=gz2", ROOT,
                                    "Content-Encoding: gzip", "application/json", (const char *)gz, n);
    cr_assert_eq(r->status, 202, "%s", r->body);
    snprintf(task, sizeof task, "%s", harness_json_string(r, "task"));
    harness_response_free(r);
    r = wait_result(task, ROOT, "json");
    expect_line(r, 3, "UPDATE", "200", NULL); /* the same lines again: each found */
    harness_response_free(r);

    char body[2048];
    int head = snprintf(body, sizeof body, "--B\r\nContent-Disposition: form-data; name=\"file\";"
                                           " filename=\"lines.jsonl.gz\"\r\nContent-Type:"
                                           " application/gzip\r\n\r\n");
    memcpy(body + head, gz, n);
    int tail = snprintf(body + head + n, sizeof body - head - n, "\r\n--B--\r\n");
    r = harness_request_typed(&srv, "POST", "/manage/bulkimport/?queue=gz3", ROOT,
                              "multipart/form-data; boundary=B", body, (size_t)head + n + (size_t)tail);
    cr_assert_eq(r->status, 202, "%s", r->body);
    snprintf(task, sizeof task, "%s", harness_json_string(r, "task"));
    harness_response_free(r);
    r = wait_result(task, ROOT, "json");
    cr_expect_eq(json_count(r, "UPDATE", "200"), 3, "%s", r->body);
    harness_response_free(r);
}

/* Appends decoded bytes to a growing buffer. */
typedef struct inflated {
    char *text;
    size_t len;
} inflated;

static int inflated_add(const char *data, size_t len, void *ctx) {
    inflated *out = ctx;
    out->text = realloc(out->text, out->len + len + 1);
    memcpy(out->text + out->len, data, len);
    out->len += len;
    out->text[out->len] = '\0';
    return 0;
}

/* Downloads of results and failed lines come gzipped to a client whose Accept-Encoding takes
 * gzip (with Content-Encoding and Vary), and decode to the very bytes of the plain answer; a
 * client that refuses gzip (q=0), or names none, gets them plain. */
Test(imports, result_downloads_are_gzipped_when_the_client_takes_it) {
    char task[256], path[400];
    char body[1024];
    snprintf(body, sizeof body, "%s{\"type\":\"Nonsense\"}\n", gz_lines); /* one failed line */
    submit("/manage/bulkimport/", ROOT, body, strlen(body), task, sizeof task);
    harness_response_free(wait_result(task, ROOT, "json"));
    static const char *const formats[] = {"json", "report", "failed"};
    for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++) {
        snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&result=%s", task, formats[f]);
        harness_response *plain = harness_request(&srv, "GET", path, ROOT, NULL);
        harness_response *gz = harness_request_with_header(&srv, "GET", path, ROOT,
                                                           "Accept-Encoding: deflate, gzip;q=0.5",
                                                           NULL, NULL, 0);
        char value[64];
        cr_expect_str_eq(harness_response_header(gz, "Content-Encoding", value, sizeof value), "gzip",
                         "%s", formats[f]);
        cr_expect_str_eq(harness_response_header(gz, "Vary", value, sizeof value), "Accept-Encoding");
        inflated out = {calloc(1, 1), 0};
        gunzip *g = gunzip_create(inflated_add, &out);
        cr_expect_eq(gunzip_feed(g, gz->body, gz->body_len), 0, "%s", gunzip_error(g));
        cr_expect_eq(gunzip_finish(g), 0, "%s: a whole gzip", formats[f]);
        gunzip_free(g);
        cr_expect_eq(out.len, plain->body_len, "%s", formats[f]);
        cr_expect_str_eq(out.text, plain->body, "%s", formats[f]);
        free(out.text);
        harness_response *refused = harness_request_with_header(&srv, "GET", path, ROOT,
                                                                "Accept-Encoding: gzip;q=0", NULL,
                                                                NULL, 0);
        cr_expect_null(harness_response_header(refused, "Content-Encoding", value, sizeof value));
        cr_expect_str_eq(refused->body, plain->body);
        harness_response_free(refused);
        harness_response_free(gz);
        harness_response_free(plain);
    }
}

/* A gzip file cut short, or gzip's magic followed by something else, is refused whole with
 * the reason; nothing is stored. */
Test(imports, broken_gzip_files_are_refused_whole) {
    unsigned char gz[1024];
    size_t n = harness_gzip(gz_lines, sizeof gz_lines - 1, gz, sizeof gz);
    harness_response *r = harness_request_bytes(&srv, "POST", "/manage/bulkimport/", ROOT,
                                                (const char *)gz, n - 6);
    cr_expect_eq(r->status, 400, "%s", r->body);
    cr_expect(strstr(r->body, "the file is a truncated gzip file") != NULL, "%s", r->body);
    harness_response_free(r);
    static const char bad[] = "\x1f\x8b\x08\x00 this is not what gzip's magic promised";
    r = harness_request_bytes(&srv, "POST", "/manage/bulkimport/", ROOT, bad, sizeof bad - 1);
    cr_expect_eq(r->status, 400, "%s", r->body);
    cr_expect(strstr(r->body, "the file is not gzip data (") != NULL, "%s", r->body);
    harness_response_free(r);
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM import_tasks"), 0);
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM import_chunks"), 0);
}

/* The upload limit holds for the decompressed bytes: a few kilobytes of gzip that inflate past
 * it (a bomb) are refused with 413 as soon as they pass it, and nothing is stored. */
Test(imports, a_gzip_bomb_is_refused_at_the_upload_limit) {
    harness_server small;
    start_with(&small, (const char *[]){"--max-upload-bytes", "100000", NULL});
    static char blank[4 << 20];
    memset(blank, '\n', sizeof blank);
    memcpy(blank, gz_lines, sizeof gz_lines - 1);
    static unsigned char gz[1 << 16];
    size_t n = harness_gzip(blank, sizeof blank, gz, sizeof gz);
    cr_assert_lt(n, 100000, "the bomb is smaller than the limit: %zu bytes", n);
    harness_response *r = harness_request_bytes(&small, "POST", "/manage/bulkimport/", ROOT,
                                                (const char *)gz, n);
    cr_expect_eq(r->status, 413, "%s", r->body);
    cr_expect(strstr(r->body, "larger than 100000 bytes once decompressed") != NULL, "%s", r->body);
    harness_response_free(r);
    cr_expect_eq(harness_sql(small.conninfo, "SELECT count(*) FROM import_tasks"), 0);
    cr_expect_eq(harness_sql(small.conninfo, "SELECT count(*) FROM import_chunks"), 0);
    cr_expect_eq(harness_server_stop(&small), 0);
}

/* A file refused while it streams is answered once: a second answer on the connection would
 * be read by the client's next request on it. */
Test(imports, a_file_refused_midway_is_answered_once) {
    static const char bad[] = "\x1f\x8b\x08\x00 this is not what gzip's magic promised";
    char header[64];
    snprintf(header, sizeof header, "Content-Length: %zu\r\n", sizeof bad - 1);
    int fd = raw_upload("/manage/bulkimport/", header);
    cr_assert_eq(write(fd, bad, sizeof bad - 1), (ssize_t)(sizeof bad - 1));
    char got[8192];
    size_t len = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (len < sizeof got - 1 && poll(&p, 1, 1000) > 0) { /* all it sends within a second */
        ssize_t n = read(fd, got + len, sizeof got - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    got[len] = '\0';
    close(fd);
    int answers = 0;
    for (const char *at = got; (at = strstr(at, "HTTP/1.1 ")) != NULL; at++)
        answers++;
    cr_expect_eq(answers, 1, "%s", got);
    cr_expect(strstr(got, "HTTP/1.1 400") == got, "%s", got);
}
