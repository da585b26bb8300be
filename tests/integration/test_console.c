/* The console and the endpoints it reads, against the real server: its embedded files and their
 * headers, a task's per-line results paged and filtered, its batches' commit times, its webhook
 * deliveries, the list-level event stream, and the tasks list's queue filter. */
#include "harness.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <criterion/criterion.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ROOT "Token " HARNESS_ROOT_TOKEN

static harness_server srv;

static void start(void) {
    harness_server_start_with(&srv, 2, (const char *const[]){"--fetch-allow-private", "--max-waiters",
                                                            "1", "--webhook-retry-ms", "200", NULL});
}
static void stop(void) { cr_expect_eq(harness_server_stop(&srv), 0, "bulkimportd did not exit cleanly"); }

TestSuite(console, .init = start, .fini = stop, .timeout = 240);

/* An organization, a source, six concepts; lines 4 and 8 fail (bad JSON, unknown type). */
static const char lines8[] =
    "{\"type\":\"Organization\",\"id\":\"CO\",\"name\":\"C\"}\n"
    "{\"type\":\"Source\",\"id\":\"S\",\"owner\":\"CO\",\"owner_type\":\"Organization\",\"name\":\"S\"}\n"
    "{\"type\":\"Concept\",\"id\":\"A1\",\"owner\":\"CO\",\"owner_type\":\"Organization\",\"source\":\"S\",\"concept_class\":\"Misc\",\"datatype\":\"N/A\",\"names\":[{\"name\":\"a1\",\"locale\":\"en\",\"name_type\":\"FULLY_SPECIFIED\",\"locale_preferred\":true}]}\n"
    "{\"type\": \"Concept\", \"id\": \n"
    "{\"type\":\"Concept\",\"id\":\"A2\",\"owner\":\"CO\",\"owner_type\":\"Organization\",\"source\":\"S\",\"concept_class\":\"Misc\",\"datatype\":\"N/A\",\"names\":[{\"name\":\"a2\",\"locale\":\"en\",\"name_type\":\"FULLY_SPECIFIED\",\"locale_preferred\":true}]}\n"
    "{\"type\":\"Concept\",\"id\":\"A3\",\"owner\":\"CO\",\"owner_type\":\"Organization\",\"source\":\"S\",\"concept_class\":\"Misc\",\"datatype\":\"N/A\",\"names\":[{\"name\":\"a3\",\"locale\":\"en\",\"name_type\":\"FULLY_SPECIFIED\",\"locale_preferred\":true}]}\n"
    "{\"type\":\"Concept\",\"id\":\"A4\",\"owner\":\"CO\",\"owner_type\":\"Organization\",\"source\":\"S\",\"concept_class\":\"Misc\",\"datatype\":\"N/A\",\"names\":[{\"name\":\"a4\",\"locale\":\"en\",\"name_type\":\"FULLY_SPECIFIED\",\"locale_preferred\":true}]}\n"
    "{\"type\":\"Kite\",\"id\":\"K\"}\n";

/* Imports lines8 as auth with batch_size=2 and waits for its end; the id goes to task. */
static void import8(const char *auth, const char *query, char *task, size_t cap) {
    char path[256];
    snprintf(path, sizeof path, "/manage/bulkimport/?batch_size=2%s", query ? query : "");
    harness_submit(&srv, path, auth, NULL, lines8, sizeof lines8 - 1, task, cap);
    harness_response_free(harness_wait_result(&srv, task, auth, "summary", NULL));
}

/* GET /tasks/<task>/<tail> as auth. */
static harness_response *get(const char *auth, const char *task, const char *tail) {
    char path[512];
    snprintf(path, sizeof path, "/tasks/%s/%s", task, tail);
    return harness_request(&srv, "GET", path, auth, NULL);
}

/* The "line" numbers of a results page, as "1,2,3". */
static void lines_of(const harness_response *r, char *out, size_t cap) {
    cJSON *items = cJSON_Parse(r->body);
    cr_assert(cJSON_IsArray(items), "%s", r->body);
    size_t at = 0;
    out[0] = '\0';
    const cJSON *item;
    cJSON_ArrayForEach(item, items) {
        at += (size_t)snprintf(out + at, cap - at, "%s%d", at ? "," : "",
                               cJSON_GetObjectItem(item, "line")->valueint);
    }
    cJSON_Delete(items);
}

static void expect_lines(const char *auth, const char *task, const char *tail, const char *want,
                         const char *found) {
    harness_response *r = get(auth, task, tail);
    cr_assert_eq(r->status, 200, "%s: %s", tail, r->body);
    char got[256], header[32];
    lines_of(r, got, sizeof got);
    cr_expect_str_eq(got, want, "%s", tail);
    cr_expect_str_eq(harness_response_header(r, "num_found", header, sizeof header), found, "%s", tail);
    harness_response_free(r);
}

Test(console, files_are_served_without_a_token_under_a_strict_policy) {
    harness_response *r = harness_request(&srv, "GET", "/", NULL, NULL);
    char h[512];
    cr_expect_eq(r->status, 302);
    cr_expect_str_eq(harness_response_header(r, "Location", h, sizeof h), "/console/");
    harness_response_free(r);

    r = harness_request(&srv, "GET", "/console/", NULL, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_expect_str_eq(harness_response_header(r, "Content-Type", h, sizeof h), "text/html; charset=utf-8");
    cr_expect(strstr(r->body, "<script type=\"module\" src=\"/console/app.js\"></script>") != NULL);
    const char *csp = harness_response_header(r, "Content-Security-Policy", h, sizeof h);
    cr_assert_not_null(csp);
    cr_expect(strstr(csp, "script-src 'self'") && strstr(csp, "default-src 'none'") &&
              !strstr(csp, "unsafe-inline") && !strstr(csp, "unsafe-eval"), "%s", csp);
    char etag[64];
    cr_assert_not_null(harness_response_header(r, "ETag", etag, sizeof etag));
    harness_response_free(r);

    char header[128];
    snprintf(header, sizeof header, "If-None-Match: %s", etag);
    r = harness_request_with_header(&srv, "GET", "/console/", NULL, header, NULL, NULL, 0);
    cr_expect_eq(r->status, 304);
    cr_expect_eq(r->body_len, 0);
    harness_response_free(r);

    r = harness_request(&srv, "GET", "/console/tasks.js", NULL, NULL);
    cr_expect_eq(r->status, 200);
    cr_expect_str_eq(harness_response_header(r, "Content-Type", h, sizeof h), "text/javascript; charset=utf-8");
    cr_expect(strstr(r->body, "/tasks/events/") != NULL, "the tasks page follows the list stream");
    cr_expect_str_eq(harness_response_header(r, "X-Content-Type-Options", h, sizeof h), "nosniff");
    harness_response_free(r);

    r = harness_request(&srv, "GET", "/console/nothing.js", NULL, NULL);
    cr_expect_eq(r->status, 404, "%s", r->body);
    cr_expect(strstr(r->body, "console has no file nothing.js") != NULL, "%s", r->body);
    harness_response_free(r);
}

Test(console, results_are_paged_and_filtered_by_the_server) {
    char task[256];
    import8(ROOT, NULL, task, sizeof task);
    expect_lines(ROOT, task, "results/", "1,2,3,4,5,6,7,8", "8");
    expect_lines(ROOT, task, "results/?status=failed", "4,8", "2");
    expect_lines(ROOT, task, "results/?status=succeeded", "1,2,3,5,6,7", "6");
    expect_lines(ROOT, task, "results/?status=201&type=Concept", "3,5,6,7", "4");
    expect_lines(ROOT, task, "results/?action=NEW&from=2&to=5", "2,3,5", "3");
    expect_lines(ROOT, task, "results/?status=skipped", "", "0");
    expect_lines(ROOT, task, "results/?limit=3&page=2", "4,5,6", "8");

    /* A failed line keeps its text and its reason. */
    harness_response *r = get(ROOT, task, "results/?status=failed&limit=1");
    cJSON *items = cJSON_Parse(r->body);
    const cJSON *first = cJSON_GetArrayItem(items, 0);
    cr_expect_str_eq(cJSON_GetObjectItem(first, "text")->valuestring, "{\"type\": \"Concept\", \"id\": ");
    cr_expect_str_eq(cJSON_GetObjectItem(first, "error_code")->valuestring, "invalid_json");
    cr_expect_eq(cJSON_GetObjectItem(first, "status_code")->valueint, 400);
    cJSON_Delete(items);
    char h[512];
    cr_expect_str_eq(harness_response_header(r, "pages", h, sizeof h), "2");
    cr_expect(strstr(harness_response_header(r, "next", h, sizeof h), "page=2") != NULL, "%s", h);
    harness_response_free(r);

    struct { const char *query, *message; } bad[] = {
        {"status=bogus", "status must be failed, succeeded, skipped or a status code"},
        {"limit=501", "limit"},
        {"page=0", "page"},
        {"from=x", "from"},
        {"color=red", "color"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char tail[128];
        snprintf(tail, sizeof tail, "results/?%s", bad[i].query);
        r = get(ROOT, task, tail);
        cr_expect_eq(r->status, 400, "%s: %s", bad[i].query, r->body);
        cr_expect(strstr(r->body, bad[i].message) != NULL, "%s: %s", bad[i].query, r->body);
        harness_response_free(r);
    }
}

Test(console, a_task_s_details_are_its_owner_s_and_root_s_only) {
    char ann[128], bob[128], task[256];
    harness_create_user(&srv, "ann", ann, sizeof ann);
    harness_create_user(&srv, "bob", bob, sizeof bob);
    import8(ann, NULL, task, sizeof task);
    const char *routes[] = {"results/", "batches/", "deliveries/"};
    for (size_t i = 0; i < 3; i++) {
        harness_response *r = get(bob, task, routes[i]);
        cr_expect_eq(r->status, 404, "%s as another user: %s", routes[i], r->body);
        cr_expect(strstr(r->body, "No Task matches the given query.") != NULL, "%s", r->body);
        harness_response_free(r);
        cr_expect_eq((r = get(ann, task, routes[i]))->status, 200, "%s as its owner", routes[i]);
        harness_response_free(r);
        cr_expect_eq((r = get(ROOT, task, routes[i]))->status, 200, "%s as root", routes[i]);
        harness_response_free(r);
        cr_expect_eq((r = get(ann, "no-such-task", routes[i]))->status, 404);
        harness_response_free(r);
        r = get(ann, "%FF", routes[i]); /* not UTF-8: no task, not a database error */
        cr_expect_eq(r->status, 404, "%s: %s", routes[i], r->body);
        harness_response_free(r);
    }
}

Test(console, batches_tell_when_each_committed) {
    char task[256];
    import8(ROOT, NULL, task, sizeof task);
    harness_response *r = get(ROOT, task, "batches/");
    cr_assert_eq(r->status, 200, "%s", r->body);
    cJSON *batches = cJSON_Parse(r->body);
    cr_assert(cJSON_IsArray(batches), "%s", r->body);
    int processed = 0, failed = 0, created = 0;
    char previous[64] = "";
    const cJSON *b;
    cJSON_ArrayForEach(b, batches) {
        processed += cJSON_GetObjectItem(b, "processed")->valueint;
        failed += cJSON_GetObjectItem(b, "failed")->valueint;
        created += cJSON_GetObjectItem(b, "created")->valueint;
        const char *recorded = cJSON_GetObjectItem(b, "recorded_at")->valuestring;
        const char *began = cJSON_GetObjectItem(b, "began_at")->valuestring;
        cr_assert(recorded && began, "%s", r->body);
        cr_expect_leq(strcmp(began, recorded), 0, "a batch began before it was recorded");
        cr_expect_geq(strcmp(recorded, previous), 0, "batches in commit order: %s", r->body);
        snprintf(previous, sizeof previous, "%s", recorded);
    }
    cr_expect_geq(cJSON_GetArraySize(batches), 4, "8 lines in batches of 2: %s", r->body);
    cr_expect_eq(processed, 8);
    cr_expect_eq(failed, 2);
    cr_expect_eq(created, 6);
    cJSON_Delete(batches);
    harness_response_free(r);
}

static int hook_hits;

/* The webhook's receiver: the first POST is refused (500), the next ones are taken (200). */
static int hook_handle(struct mg_connection *conn, void *data) {
    (void)data;
    char buf[4096];
    while (mg_read(conn, buf, sizeof buf) > 0) {
    }
    int status = __atomic_fetch_add(&hook_hits, 1, __ATOMIC_SEQ_CST) == 0 ? 500 : 200;
    mg_printf(conn, "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status);
    return status;
}

Test(console, deliveries_show_each_webhook_s_attempts) {
    int port;
    struct mg_context *peer = harness_peer_start(hook_handle, NULL, 2, &port);
    char task[256], query[128];
    snprintf(query, sizeof query, "&callback_url=http://127.0.0.1:%d/hook", port);
    import8(ROOT, query, task, sizeof task);
    cJSON *list = NULL;
    const cJSON *d = NULL;
    for (int i = 0; i < 100; i++) { /* the retry comes 200 ms after the refusal */
        harness_response *r = get(ROOT, task, "deliveries/");
        cr_assert_eq(r->status, 200, "%s", r->body);
        cJSON_Delete(list);
        list = cJSON_Parse(r->body);
        harness_response_free(r);
        d = cJSON_GetArrayItem(list, 0);
        if (d && cJSON_IsString(cJSON_GetObjectItem(d, "delivered_at")))
            break;
        usleep(100 * 1000);
    }
    harness_peer_stop(peer);
    cr_assert_eq(cJSON_GetArraySize(list), 1);
    cr_expect(cJSON_IsString(cJSON_GetObjectItem(d, "delivered_at")), "never delivered");
    cr_expect_eq(cJSON_GetObjectItem(d, "attempts")->valueint, 2);
    cr_expect_eq(cJSON_GetObjectItem(d, "last_status")->valueint, 200);
    cr_expect(strstr(cJSON_GetObjectItem(d, "url")->valuestring, "/hook") != NULL);
    cJSON_Delete(list);

    char untold[256];
    import8(ROOT, NULL, untold, sizeof untold);
    harness_response *r = get(ROOT, untold, "deliveries/");
    cr_expect_str_eq(r->body, "[]");
    harness_response_free(r);
}

/* An open GET /tasks/events/ as auth, read by hand: the stream never ends by itself. */
static int events_open(const char *auth) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    char req[512];
    int n = snprintf(req, sizeof req, "GET /tasks/events/ HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"
                                      "Accept: text/event-stream\r\n\r\n", auth);
    cr_assert_eq(write(fd, req, (size_t)n), n);
    return fd;
}

/* Reads the stream into buf (cap bytes, NUL-terminated, appended at *len) until it holds want,
 * or seconds pass. Returns whether it came. */
static bool events_until(int fd, char *buf, size_t cap, size_t *len, const char *want, int seconds) {
    time_t end = time(NULL) + seconds;
    while (strstr(buf, want) == NULL && time(NULL) < end && *len < cap - 1) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0)
            continue;
        ssize_t n = read(fd, buf + *len, cap - 1 - *len);
        if (n <= 0)
            break;
        *len += (size_t)n;
        buf[*len] = '\0';
    }
    return strstr(buf, want) != NULL;
}

Test(console, one_stream_follows_every_running_task_of_the_caller) {
    char cy[128];
    harness_create_user(&srv, "cy", cy, sizeof cy);
    int fd = events_open(cy);
    static char buf[1 << 20];
    size_t len = 0;
    buf[0] = '\0';
    cr_assert(events_until(fd, buf, sizeof buf, &len, "event: active\ndata: {\"tasks\":[]}", 10), "%s", buf);
    cr_expect(strstr(buf, "HTTP/1.1 200") && strstr(buf, "Content-Type: text/event-stream"), "%s", buf);

    /* Only one stream fits --max-waiters 1: the next gets 503 with Retry-After. */
    harness_response *r = harness_request_with_header(&srv, "GET", "/tasks/events/", cy,
                                                      "Accept: text/event-stream", NULL, NULL, 0);
    cr_expect_eq(r->status, 503, "%s", r->body);
    char h[64];
    cr_expect_not_null(harness_response_header(r, "Retry-After", h, sizeof h));
    harness_response_free(r);

    /* A task of cy's shows up, then ends; root's never does on cy's stream. */
    static char big[400 * 64];
    size_t n = 0;
    for (int i = 0; i < 400; i++)
        n += (size_t)snprintf(big + n, sizeof big - n,
                              "{\"type\":\"Organization\",\"id\":\"EV%d\",\"name\":\"E\"}\n", i);
    char task[256], roots[256], want[300];
    harness_submit(&srv, "/manage/bulkimport/evq/?batch_size=5", cy, NULL, big, n, task, sizeof task);
    harness_submit(&srv, "/manage/bulkimport/", ROOT, NULL, lines8, sizeof lines8 - 1, roots, sizeof roots);
    snprintf(want, sizeof want, "\"id\":\"%s\"", task);
    cr_expect(events_until(fd, buf, sizeof buf, &len, want, 30), "cy's task never appeared:\n%.2000s", buf);
    snprintf(want, sizeof want, "event: ended\ndata: {\"id\":\"%s\"}", task);
    cr_expect(events_until(fd, buf, sizeof buf, &len, want, 60), "cy's task never ended:\n%.3000s",
              buf + (len > 3000 ? len - 3000 : 0));
    cr_expect(strstr(buf, roots) == NULL, "root's task on cy's stream");
    close(fd);

    /* The place came back: after the close, a new stream is taken (the server notices the
     * close at its next event, within a second). */
    int status = 0;
    for (int i = 0; i < 30 && status != 200; i++) {
        usleep(200 * 1000);
        int again = events_open(cy);
        char head[256] = "";
        size_t hl = 0;
        events_until(again, head, sizeof head, &hl, "\r\n", 5);
        status = strncmp(head, "HTTP/1.1 200", 12) == 0 ? 200 : 503;
        close(again);
    }
    cr_expect_eq(status, 200, "the stream's place was never given back");
    harness_response_free(harness_wait_result(&srv, roots, ROOT, "summary", NULL));
}

Test(console, the_task_list_filters_by_queue) {
    char dee[128], a[256], b[256];
    harness_create_user(&srv, "dee", dee, sizeof dee);
    const char line[] = "{\"type\":\"Organization\",\"id\":\"QF\",\"name\":\"Q\"}\n";
    harness_submit(&srv, "/manage/bulkimport/alpha/", dee, NULL, line, sizeof line - 1, a, sizeof a);
    harness_submit(&srv, "/manage/bulkimport/beta/", dee, NULL, line, sizeof line - 1, b, sizeof b);
    harness_response *r = harness_request(&srv, "GET", "/tasks/?queue=beta", dee, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_expect(strstr(r->body, b) != NULL && strstr(r->body, a) == NULL, "%s", r->body);
    char h[32];
    cr_expect_str_eq(harness_response_header(r, "num_found", h, sizeof h), "1");
    harness_response_free(r);
    harness_response_free(harness_wait_result(&srv, a, dee, "summary", NULL));
    harness_response_free(harness_wait_result(&srv, b, dee, "summary", NULL));
}

Test(console, the_stream_ends_once_its_user_is_disabled) {
    char eve[128];
    harness_create_user(&srv, "eve", eve, sizeof eve);
    int fd = events_open(eve);
    static char buf[1 << 16];
    size_t len = 0;
    buf[0] = '\0';
    cr_assert(events_until(fd, buf, sizeof buf, &len, "event: active", 10), "%s", buf);
    harness_response *r = harness_request(&srv, "PATCH", "/users/eve/", ROOT, "{\"disabled\": true}");
    cr_assert_eq(r->status, 200, "%s", r->body);
    harness_response_free(r);
    time_t disabled = time(NULL);
    bool closed = false;
    while (!closed && time(NULL) - disabled < 15) { /* reads until the server closes it */
        struct pollfd p = {fd, POLLIN, 0};
        char chunk[4096];
        closed = poll(&p, 1, 500) > 0 && read(fd, chunk, sizeof chunk) <= 0;
    }
    close(fd);
    cr_expect(closed, "the stream of a disabled user still runs after 15 s");
}
