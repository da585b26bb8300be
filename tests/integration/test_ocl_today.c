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
