/* The contract as users meet it: results they can act on (failed lines with their reasons,
 * the lines a task never reached, one result per line), a JSON status at every state, and task
 * lists that never guess. */
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROOT "Token " HARNESS_ROOT_TOKEN

static harness_server srv;

static void start(void) { harness_server_start_with(&srv, 1, (const char *const[]){NULL}); }
static void stop(void) { cr_expect_eq(harness_server_stop(&srv), 0, "bulkimportd did not exit cleanly"); }

TestSuite(contract, .init = start, .fini = stop, .timeout = 240);

/* An organization, a source and n concepts of it, as JSON lines (malloc'd, *len its size). */
static char *concepts_file(const char *org, int n, size_t *len) {
    size_t cap = 256 + (size_t)n * 256, at = 0;
    char *text = malloc(cap);
    cr_assert_not_null(text);
    at += (size_t)snprintf(text + at, cap - at,
                           "{\"type\":\"Organization\",\"id\":\"%s\",\"name\":\"O\"}\n"
                           "{\"type\":\"Source\",\"id\":\"S\",\"name\":\"S\",\"owner\":\"%s\","
                           "\"owner_type\":\"Organization\"}\n",
                           org, org);
    for (int i = 0; i < n; i++)
        at += (size_t)snprintf(text + at, cap - at,
                               "{\"type\":\"Concept\",\"id\":\"c%d\",\"concept_class\":\"M\","
                               "\"datatype\":\"N\",\"names\":[{\"name\":\"n\",\"locale\":\"en\"}],"
                               "\"owner\":\"%s\",\"owner_type\":\"Organization\",\"source\":\"S\"}\n",
                               i, org);
    *len = at;
    return text;
}

static long count_lines(const char *text) {
    long n = 0;
    for (const char *p = text; (p = strchr(p, '\n')) != NULL; p++)
        n++;
    return n;
}

/* A task queued behind another in its named queue says how many run before it; cancelled
 * there, every line is unprocessed (given back as submitted) and none is failed. */
Test(contract, a_cancelled_tasks_lines_are_unprocessed_not_failed) {
    size_t big_len, small_len;
    char *big = concepts_file("First", 20000, &big_len);
    char *small = concepts_file("Second", 3, &small_len);
    char first[256], second[256], path[512];
    harness_submit(&srv, "/manage/bulkimport/q/", ROOT, NULL, big, big_len, first, sizeof first);
    harness_submit(&srv, "/manage/bulkimport/q/", ROOT, NULL, small, small_len, second, sizeof second);
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s", second);
    harness_response *r = harness_request_with_header(&srv, "GET", path, ROOT,
                                                      "Accept: application/json", NULL, NULL, 0);
    cr_assert_eq(r->status, 202, "%s", r->body);
    cr_expect_str_eq(harness_json_string(r, "state"), "PENDING");
    cr_expect_eq(cJSON_GetObjectItem(r->json, "ahead")->valueint, 1, "the first runs before it: %s", r->body);
    cr_expect(cJSON_IsNull(cJSON_GetObjectItem(r->json, "duration")), "%s", r->body);
    harness_response_free(r);
    r = harness_request(&srv, "DELETE", path, ROOT, NULL);
    cr_assert_eq(r->status, 204, "%s", r->body);
    harness_response_free(r);

    r = harness_wait_result(&srv, second, ROOT, "unprocessed", NULL);
    cr_expect_eq(r->status, 200, "%s", r->body);
    cr_expect_str_eq(r->body, small, "every line, as submitted");
    harness_response_free(r);
    r = harness_wait_result(&srv, second, ROOT, "failed", NULL);
    cr_expect_str_eq(r->body, "", "none failed");
    harness_response_free(r);
    /* A task that ran to its end has nothing unprocessed. */
    r = harness_wait_result(&srv, first, ROOT, "unprocessed", NULL);
    cr_expect_eq(r->status, 200);
    cr_expect_str_eq(r->body, "");
    harness_response_free(r);
    r = harness_wait_result(&srv, first, ROOT, "failed", "&format=lines");
    cr_expect_eq(r->status, 400, "format belongs to result=json: %s", r->body);
    harness_response_free(r);
    free(big);
    free(small);
}

/* result=json&format=lines: one result object per line, in line order. */
Test(contract, json_results_line_by_line) {
    static const char body[] =
        "{\"type\":\"Organization\",\"id\":\"L\",\"name\":\"L\"}\n"
        "{\"type\":\"Nonsense\"}\n"
        "{\"type\":\"Organization\",\"id\":\"L\",\"name\":\"L2\"}\n";
    char task[256];
    harness_submit(&srv, "/manage/bulkimport/", ROOT, NULL, body, sizeof body - 1, task, sizeof task);
    harness_response *r = harness_wait_result(&srv, task, ROOT, "json", "&format=lines");
    cr_assert_eq(r->status, 200, "%s", r->body);
    char type[128];
    cr_expect_str_eq(harness_response_header(r, "Content-Type", type, sizeof type),
                     "application/x-ndjson");
    cr_assert_eq(count_lines(r->body), 3, "%s", r->body);
    const char *at = r->body;
    const char *const actions[] = {"NEW", "SKIP", "UPDATE"};
    const int statuses[] = {201, 400, 200};
    for (int i = 0; i < 3; i++) {
        size_t n = strcspn(at, "\n");
        cJSON *item = cJSON_ParseWithLength(at, n);
        cr_assert_not_null(item, "%.*s", (int)n, at);
        cr_expect_eq(cJSON_GetObjectItem(item, "line")->valueint, i + 1);
        cr_expect_str_eq(cJSON_GetObjectItem(item, "action_type")->valuestring, actions[i]);
        cr_expect_eq(cJSON_GetObjectItem(item, "status_code")->valueint, statuses[i]);
        cJSON_Delete(item);
        at += n + 1;
    }
    harness_response_free(r);
    r = harness_wait_result(&srv, task, ROOT, "json", "&format=rows");
    cr_expect_eq(r->status, 400);
    cr_expect(strstr(r->body, "format must be grouped or lines") != NULL, "%s", r->body);
    harness_response_free(r);
}

/* A finished task is JSON for a client that asks for it: its counts by action and status, its
 * timings and, when it failed, why. */
Test(contract, a_finished_tasks_json_status_counts_and_times_it) {
    static const char body[] =
        "{\"type\":\"Organization\",\"id\":\"J\",\"name\":\"J\"}\n"
        "{\"type\":\"Organization\",\"id\":\"J2\",\"name\":\"J\"}\n"
        "{\"type\":\"Nonsense\"}\n";
    char task[256], path[512];
    harness_submit(&srv, "/manage/bulkimport/", ROOT, NULL, body, sizeof body - 1, task, sizeof task);
    harness_response_free(harness_wait_result(&srv, task, ROOT, "summary", NULL));
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s", task);
    harness_response *r = harness_request_with_header(&srv, "GET", path, ROOT,
                                                      "Accept: application/json", NULL, NULL, 0);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_expect_str_eq(harness_json_string(r, "state"), "SUCCESS");
    cr_expect(cJSON_IsNumber(cJSON_GetObjectItem(r->json, "duration")), "%s", r->body);
    cr_expect(cJSON_GetObjectItem(r->json, "wait_seconds")->valuedouble >= 0, "%s", r->body);
    cr_expect(cJSON_IsNull(cJSON_GetObjectItem(r->json, "ahead")), "%s", r->body);
    const cJSON *counts = cJSON_GetObjectItem(r->json, "counts");
    cr_assert_eq(cJSON_GetArraySize(counts), 2, "%s", r->body);
    const cJSON *created = cJSON_GetArrayItem(counts, 0), *refused = cJSON_GetArrayItem(counts, 1);
    cr_expect_str_eq(cJSON_GetObjectItem(created, "action")->valuestring, "NEW");
    cr_expect_eq(cJSON_GetObjectItem(created, "status")->valueint, 201);
    cr_expect_eq(cJSON_GetObjectItem(created, "count")->valueint, 2);
    cr_expect_str_eq(cJSON_GetObjectItem(refused, "action")->valuestring, "SKIP");
    cr_expect_eq(cJSON_GetObjectItem(refused, "status")->valueint, 400);
    cr_expect_eq(cJSON_GetObjectItem(refused, "count")->valueint, 1);
    harness_response_free(r);
}

/* Submits a one-line task (an organization named id) as auth; returns its id in out. */
static void submit_small(const char *id, const char *auth, char *out, size_t out_len) {
    char body[256];
    int n = snprintf(body, sizeof body, "{\"type\":\"Organization\",\"id\":\"%s\",\"name\":\"x\"}\n", id);
    harness_submit(&srv, "/manage/bulkimport/", auth, NULL, body, (size_t)n, out, out_len);
    harness_response_free(harness_wait_result(&srv, out, auth, "summary", NULL));
}

/* The ids of a task list's answer, joined by spaces, into out. */
static long list_ids(const char *path, char *out, size_t out_len) {
    harness_response *r = harness_request(&srv, "GET", path, ROOT, NULL);
    cr_assert_eq(r->status, 200, "GET %s: %ld %s", path, r->status, r->body);
    size_t at = 0;
    out[0] = '\0';
    const cJSON *t;
    cJSON_ArrayForEach(t, r->json)
        at += (size_t)snprintf(out + at, out_len - at, "%s%s", at ? " " : "",
                               cJSON_GetObjectItem(t, "task")->valuestring);
    long n = cJSON_GetArraySize(r->json);
    harness_response_free(r);
    return n;
}

static long get_status(const char *path, char *body, size_t cap) {
    harness_response *r = harness_request(&srv, "GET", path, ROOT, NULL);
    long status = r->status;
    snprintf(body, cap, "%s", r->body);
    harness_response_free(r);
    return status;
}

/* Every list reads several states either way, date ranges, page or offset, and refuses what it
 * does not know, naming it. */
Test(contract, task_lists_filter_page_and_refuse_what_they_do_not_know) {
    char a[256], b[256], ids[2048], ids2[2048], body[1024];
    submit_small("ListA", ROOT, a, sizeof a);
    submit_small("ListB", ROOT, b, sizeof b);
    char both[600];
    snprintf(both, sizeof both, "%s %s", b, a);
    const char *const lists[] = {"/manage/bulkimport/", "/tasks/", "/users/root/tasks/"};
    for (int i = 0; i < 3; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s?state=SUCCESS,REVOKED", lists[i]);
        list_ids(path, ids, sizeof ids);
        snprintf(path, sizeof path, "%s?state=SUCCESS&state=REVOKED", lists[i]);
        list_ids(path, ids2, sizeof ids2);
        cr_expect_str_eq(ids, ids2, "%s: both spellings of several states", lists[i]);
        cr_expect(strstr(ids, both) == ids, "%s: newest first: %s", lists[i], ids);
        snprintf(path, sizeof path, "%s?state=FAILURE&state=REVOKED", lists[i]);
        cr_expect_eq(list_ids(path, ids, sizeof ids), 0, "%s: %s", lists[i], ids);
        snprintf(path, sizeof path, "%s?limit=1&page=2", lists[i]);
        list_ids(path, ids, sizeof ids);
        cr_expect_str_eq(ids, a, "%s: the second page of one", lists[i]);
        snprintf(path, sizeof path, "%s?limit=1&offset=1", lists[i]);
        list_ids(path, ids, sizeof ids);
        cr_expect_str_eq(ids, a, "%s: offset as page", lists[i]);
        snprintf(path, sizeof path, "%s?created_after=2000-01-01&created_before=2999-01-01T00:00:00Z", lists[i]);
        cr_expect_eq(list_ids(path, ids, sizeof ids), 2, "%s: %s", lists[i], ids);
        snprintf(path, sizeof path, "%s?finished_before=2000-01-01", lists[i]);
        cr_expect_eq(list_ids(path, ids, sizeof ids), 0, "%s: %s", lists[i], ids);
        snprintf(path, sizeof path, "%s?finished_after=2000-01-01T00:00:00%%2B02:00", lists[i]);
        cr_expect_eq(list_ids(path, ids, sizeof ids), 2, "%s: %s", lists[i], ids);

        snprintf(path, sizeof path, "%s?page=1&offset=0", lists[i]);
        cr_expect_eq(get_status(path, body, sizeof body), 400, "%s", path);
        cr_expect(strstr(body, "page and offset cannot both be given") != NULL, "%s", body);
        snprintf(path, sizeof path, "%s?status=SUCCESS", lists[i]);
        cr_expect_eq(get_status(path, body, sizeof body), 400, "%s", path);
        cr_expect(strstr(body, "unknown query parameter 'status'") != NULL, "%s", body);
        snprintf(path, sizeof path, "%s?created_after=yesterday", lists[i]);
        cr_expect_eq(get_status(path, body, sizeof body), 400, "%s", path);
        cr_expect(strstr(body, "created_after must be an ISO 8601 date") != NULL, "%s", body);
        snprintf(path, sizeof path, "%s?state=SUCCESS&state=DONE", lists[i]);
        cr_expect_eq(get_status(path, body, sizeof body), 400, "%s", path);
        cr_expect(strstr(body, "(not 'DONE')") != NULL, "%s", body);
        snprintf(path, sizeof path, "%s?result=json", lists[i]);
        cr_expect_eq(get_status(path, body, sizeof body), 400, "a task's parameter on a list: %s", path);
    }
}

/* --listen takes a host name: the server resolves it and says the address it serves on. */
Test(contract, listen_takes_a_host_name) {
    harness_server named;
    harness_server_start_with(&named, 1, (const char *const[]){"--listen", "localhost:0", NULL});
    harness_response *r = harness_request(&named, "GET", "/healthz", NULL, NULL);
    cr_expect_eq(r->status, 200, "%s", r->body);
    harness_response_free(r);
    cr_expect_eq(harness_server_stop(&named), 0);
}

/* Brief list items hold the members their resource has, never a null for one it has not: a
 * concept its id and url, a reference its expression and type. */
Test(contract, brief_items_never_hold_nulls) {
    static const char body[] =
        "{\"type\":\"Organization\",\"id\":\"B\",\"name\":\"B\"}\n"
        "{\"type\":\"Source\",\"id\":\"S\",\"name\":\"S\",\"owner\":\"B\",\"owner_type\":\"Organization\"}\n"
        "{\"type\":\"Concept\",\"id\":\"c1\",\"concept_class\":\"M\",\"datatype\":\"N\",\"names\":[{\"name\":\"n\","
        "\"locale\":\"en\"}],\"owner\":\"B\",\"owner_type\":\"Organization\",\"source\":\"S\"}\n"
        "{\"type\":\"Collection\",\"id\":\"C\",\"name\":\"C\",\"owner\":\"B\",\"owner_type\":\"Organization\"}\n"
        "{\"type\":\"Reference\",\"collection_url\":\"/orgs/B/collections/C/\",\"data\":{\"expressions\":"
        "[\"/orgs/B/sources/S/concepts/c1/\"]}}\n";
    char task[256];
    harness_submit(&srv, "/manage/bulkimport/", ROOT, NULL, body, sizeof body - 1, task, sizeof task);
    harness_response *r = harness_wait_result(&srv, task, ROOT, "summary", NULL);
    cr_assert(strstr(r->body, "5 NEW") != NULL, "%s", r->body);
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/orgs/B/collections/C/references/?brief=true", ROOT, NULL);
    cr_expect_str_eq(r->body, "[{\"expression\":\"/orgs/B/sources/S/concepts/c1/\",\"reference_type\":\"concepts\"}]");
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/orgs/B/sources/S/concepts/?brief=true", ROOT, NULL);
    cr_expect_str_eq(r->body, "[{\"id\":\"c1\",\"url\":\"/orgs/B/sources/S/concepts/c1/\"}]");
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/orgs/?brief=true", ROOT, NULL);
    cr_expect(strstr(r->body, "{\"id\":\"B\",\"url\":\"/orgs/B/\",\"name\":\"B\"}") != NULL, "%s", r->body);
    harness_response_free(r);
}

/* The resource and feed lists, too, refuse a parameter they do not know, naming it. */
Test(contract, every_list_refuses_what_it_does_not_know) {
    static const char lines[] =
        "{\"type\":\"Organization\",\"id\":\"Lst\",\"name\":\"L\"}\n"
        "{\"type\":\"Source\",\"id\":\"S\",\"name\":\"S\",\"owner\":\"Lst\",\"owner_type\":\"Organization\"}\n";
    char task[256];
    harness_submit(&srv, "/manage/bulkimport/", ROOT, NULL, lines, sizeof lines - 1, task, sizeof task);
    harness_response_free(harness_wait_result(&srv, task, ROOT, "summary", NULL));
    const char *const paths[] = {"/orgs/?status=x", "/orgs/Lst/members/?x=1",
                                 "/orgs/Lst/sources/?sort=asc", "/orgs/Lst/sources/S/concepts/?sortAsc=1",
                                 "/orgs/Lst/sources/S/mappings/?q=x", "/orgs/Lst/sources/S/versions/?x=1",
                                 "/manage/feeds/?state=x", "/manage/feeds/nope/runs/?limit=5"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        char body[1024];
        cr_expect_eq(get_status(paths[i], body, sizeof body), 400, "%s: %s", paths[i], body);
        cr_expect(strstr(body, "unknown query parameter '") != NULL, "%s: %s", paths[i], body);
    }
    char body[1024];
    cr_expect_eq(get_status("/orgs/?page=1&limit=5&brief=true&verbose=true", body, sizeof body), 200, "%s", body);
    cr_expect_eq(get_status("/orgs/Lst/sources/S/concepts/?q=x&include_retired=true", body, sizeof body), 200,
                 "%s", body);
}
