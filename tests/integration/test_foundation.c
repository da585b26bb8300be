/* The foundation end to end: probes, root bootstrap, users and tokens, auth failures, error
 * shapes, the data-dir lock and the embedded PostgreSQL across restarts. */
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROOT "Token " HARNESS_ROOT_TOKEN

static harness_server srv;

static void start(void) { harness_server_start_default(&srv); }

static void stop(void) {
    /* A clean exit also proves no leak under AddressSanitizer (LeakSanitizer exits non-zero). */
    cr_expect_eq(harness_server_stop(&srv), 0, "bulkimportd did not exit cleanly");
}

TestSuite(foundation, .init = start, .fini = stop, .timeout = 120);

/* Asserts status and the error body's code. */
static void expect_error(harness_response *r, long status, const char *code) {
    cr_expect_eq(r->status, status, "status %ld, body %s", r->status, r->body);
    cr_expect_str_eq(harness_json_string(r, "code") ? harness_json_string(r, "code") : "(none)",
                     code, "body %s", r->body);
    cr_expect_not_null(harness_json_string(r, "message"), "body %s", r->body);
}

Test(foundation, health_and_readiness_need_no_token) {
    harness_response *r = harness_request(&srv, "GET", "/healthz", NULL, NULL);
    cr_expect_eq(r->status, 200);
    cr_expect_str_eq(r->body, "{\"status\":\"ok\"}");
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/healthz/", NULL, NULL);
    cr_expect_eq(r->status, 200, "trailing slash is optional");
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/readyz", NULL, NULL);
    cr_expect_eq(r->status, 200);
    cr_expect_str_eq(r->body, "{\"status\":\"ready\"}");
    char type[64];
    cr_expect_str_eq(harness_response_header(r, "Content-Type", type, sizeof type),
                     "application/json");
    harness_response_free(r);
}

Test(foundation, root_is_bootstrapped_with_the_given_token) {
    harness_response *r = harness_request(&srv, "GET", "/user/", ROOT, NULL);
    cr_expect_eq(r->status, 200);
    cr_expect_str_eq(r->body, "{\"username\":\"root\",\"is_root\":true}");
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/user", "Bearer " HARNESS_ROOT_TOKEN, NULL);
    cr_expect_eq(r->status, 200, "Bearer works too, and no trailing slash");
    harness_response_free(r);
}

Test(foundation, create_user_use_and_rotate_its_token) {
    harness_response *r =
        harness_request(&srv, "POST", "/users/", ROOT, "{\"username\":\"alice\",\"is_root\":false}");
    cr_assert_eq(r->status, 201, "%s", r->body);
    cr_expect_str_eq(harness_json_string(r, "username"), "alice");
    cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(r->json, "is_root")));
    const char *token = harness_json_string(r, "token");
    cr_assert_not_null(token);
    cr_expect_eq(strlen(token), 64);
    char alice[96];
    snprintf(alice, sizeof alice, "Token %s", token);
    harness_response_free(r);

    r = harness_request(&srv, "GET", "/user/", alice, NULL);
    cr_expect_str_eq(r->body, "{\"username\":\"alice\",\"is_root\":false}");
    harness_response_free(r);

    r = harness_request(&srv, "POST", "/user/token/", alice, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    char rotated[96];
    snprintf(rotated, sizeof rotated, "Token %s", harness_json_string(r, "token"));
    cr_expect_str_neq(rotated, alice);
    harness_response_free(r);

    r = harness_request(&srv, "GET", "/user/", alice, NULL);
    expect_error(r, 401, "unauthorized");
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/user/", rotated, NULL);
    cr_expect_eq(r->status, 200);
    cr_expect_str_eq(harness_json_string(r, "username"), "alice");
    harness_response_free(r);
}

Test(foundation, root_user_can_be_created) {
    harness_response *r =
        harness_request(&srv, "POST", "/users", ROOT, "{\"username\":\"admin2\",\"is_root\":true}");
    cr_assert_eq(r->status, 201, "%s", r->body);
    char token[96];
    snprintf(token, sizeof token, "Token %s", harness_json_string(r, "token"));
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/user/", token, NULL);
    cr_expect_str_eq(r->body, "{\"username\":\"admin2\",\"is_root\":true}");
    harness_response_free(r);
}

Test(foundation, root_issues_a_new_token_for_a_user) {
    char bob[96];
    harness_create_user(&srv, "bob", bob, sizeof bob);
    harness_response *r = harness_request(&srv, "POST", "/users/bob/token/", ROOT, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_expect_str_eq(harness_json_string(r, "username"), "bob");
    char fresh[96];
    snprintf(fresh, sizeof fresh, "Token %s", harness_json_string(r, "token"));
    harness_response_free(r);

    r = harness_request(&srv, "GET", "/user/", bob, NULL);
    expect_error(r, 401, "unauthorized");
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/user/", fresh, NULL);
    cr_expect_eq(r->status, 200);
    harness_response_free(r);

    r = harness_request(&srv, "POST", "/users/nobody/token/", ROOT, NULL);
    expect_error(r, 404, "not_found");
    harness_response_free(r);
    r = harness_request(&srv, "POST", "/users/root/token/", fresh, NULL);
    expect_error(r, 403, "forbidden");
    harness_response_free(r);
}

Test(foundation, missing_and_wrong_tokens_get_the_same_401) {
    const char *auths[] = {NULL, "Token wrong-token-0123456789", "Bearer ", "Basic cm9vdDpyb290",
                           "Token " HARNESS_ROOT_TOKEN "x", HARNESS_ROOT_TOKEN};
    char first[256] = "";
    for (size_t i = 0; i < sizeof auths / sizeof auths[0]; i++) {
        harness_response *r = harness_request(&srv, "GET", "/user/", auths[i], NULL);
        expect_error(r, 401, "unauthorized");
        cJSON_DeleteItemFromObject(r->json, "request_id"); /* each request's own */
        char *body = cJSON_PrintUnformatted(r->json);
        if (i == 0)
            snprintf(first, sizeof first, "%s", body);
        cr_expect_str_eq(body, first, "the same body for every failure");
        free(body);
        char challenge[64];
        cr_expect_not_null(harness_response_header(r, "WWW-Authenticate", challenge,
                                                   sizeof challenge));
        harness_response_free(r);
    }
    harness_response *r = harness_request(&srv, "POST", "/users/", NULL, "{\"username\":\"x\"}");
    expect_error(r, 401, "unauthorized");
    harness_response_free(r);
}

Test(foundation, user_creation_errors) {
    char carol[96];
    harness_create_user(&srv, "carol", carol, sizeof carol);
    struct {
        const char *auth, *body;
        long status;
        const char *code, *message_part;
    } cases[] = {
        {ROOT, "{\"username\":\"carol\"}", 409, "conflict", "carol"},
        {ROOT, "{\"username\":\"a b\"}", 400, "bad_request", "username"},
        {ROOT, "{\"username\":\"\"}", 400, "bad_request", "username"},
        {ROOT, "{\"username\":\"x1234567890123456789012345678901234567890123456789012345678901234\"}",
         400, "bad_request", "username"},
        {ROOT, "{\"username\":42}", 400, "bad_request", "username"},
        {ROOT, "{\"username\":\"dave\",\"is_root\":\"yes\"}", 400, "bad_request", "is_root"},
        {ROOT, "{\"username\":\"dave\",\"color\":\"red\"}", 400, "bad_request", "color"},
        {ROOT, "{}", 400, "bad_request", "username"},
        {ROOT, "[\"dave\"]", 400, "bad_request", "JSON object"},
        {ROOT, "{\"username\":", 400, "bad_request", "JSON object"},
        {ROOT, "", 400, "bad_request", "JSON object"},
        {carol, "{\"username\":\"dave\"}", 403, "forbidden", "root"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        harness_response *r = harness_request(&srv, "POST", "/users/", cases[i].auth, cases[i].body);
        expect_error(r, cases[i].status, cases[i].code);
        const char *message = harness_json_string(r, "message");
        cr_expect(message != NULL && strstr(message, cases[i].message_part) != NULL,
                  "case %zu: message %s lacks '%s'", i, r->body, cases[i].message_part);
        harness_response_free(r);
    }
    /* None of them created a user: dave does not exist. */
    harness_response *r = harness_request(&srv, "POST", "/users/dave/token/", ROOT, NULL);
    expect_error(r, 404, "not_found");
    harness_response_free(r);
}

Test(foundation, oversized_user_body_is_413) {
    static char body[70000];
    memset(body, ' ', sizeof body - 1);
    memcpy(body, "{\"username\":\"eve\"", 17);
    body[sizeof body - 2] = '}';
    harness_response *r = harness_request(&srv, "POST", "/users/", ROOT, body);
    expect_error(r, 413, "payload_too_large");
    harness_response_free(r);
}

Test(foundation, unknown_route_is_404_and_wrong_method_405) {
    harness_response *r = harness_request(&srv, "GET", "/no/such/thing/", ROOT, NULL);
    expect_error(r, 404, "not_found");
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/no/such/thing/", NULL, NULL);
    expect_error(r, 404, "not_found");
    harness_response_free(r);

    r = harness_request(&srv, "DELETE", "/users/", ROOT, NULL);
    expect_error(r, 405, "method_not_allowed");
    char allow[64];
    cr_expect_str_eq(harness_response_header(r, "Allow", allow, sizeof allow), "GET, POST");
    harness_response_free(r);
    r = harness_request(&srv, "POST", "/healthz", NULL, NULL);
    expect_error(r, 405, "method_not_allowed");
    cr_expect_str_eq(harness_response_header(r, "Allow", allow, sizeof allow), "GET");
    harness_response_free(r);
}

Test(foundation, pool_reconnects_after_the_server_closed_its_connections) {
    for (int round = 0; round < 3; round++) {
        long killed = harness_sql(srv.conninfo,
                                  "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                                  " WHERE datname = current_database() AND pid <> pg_backend_pid()");
        cr_expect_gt(killed, 0, "round %d: bulkimportd held no connection", round);
        /* pg_terminate_backend only signals: wait until the backends are gone. */
        for (int wait = 0; wait < 500 && harness_sql(srv.conninfo,
                                                     "SELECT count(*) FROM pg_stat_activity"
                                                     " WHERE datname = current_database()"
                                                     " AND pid <> pg_backend_pid()") > 0;
             wait++)
            usleep(10000);
        /* Every request right after succeeds: broken connections are replaced and the
         * statements prepared again. */
        for (int i = 0; i < 4; i++) {
            harness_response *r = harness_request(&srv, "GET", "/user/", ROOT, NULL);
            cr_expect_eq(r->status, 200, "round %d request %d: %s", round, i, r->body);
            harness_response_free(r);
        }
    }
}

Test(foundation, later_start_with_root_token_replaces_it) {
    char conninfo[512];
    harness_database_create(conninfo, sizeof conninfo);
    harness_server other;
    const char *first[] = {"--database-url", conninfo, "--root-token", "first-token-0123456789", NULL};
    harness_server_start(&other, first);
    cr_assert_eq(harness_server_stop(&other), 0);
    const char *second[] = {"--database-url", conninfo, "--root-token", "second-token-0123456789",
                            NULL};
    harness_server_start(&other, second);
    harness_response *r = harness_request(&other, "GET", "/user/", "Token first-token-0123456789", NULL);
    expect_error(r, 401, "unauthorized");
    harness_response_free(r);
    r = harness_request(&other, "GET", "/user/", "Token second-token-0123456789", NULL);
    cr_expect_eq(r->status, 200);
    harness_response_free(r);
    cr_expect_eq(harness_server_stop(&other), 0);
}

Test(cli, bad_flag_exits_2_naming_it) {
    const char *args[] = {"--workers", "lots", NULL};
    char out[4096];
    cr_expect_eq(harness_run_to_exit(args, 30, out, sizeof out), 2);
    cr_expect(strstr(out, "--workers") != NULL, "%s", out);
    const char *token_args[] = {"--root-token", "short", NULL};
    cr_expect_eq(harness_run_to_exit(token_args, 30, out, sizeof out), 2);
    cr_expect(strstr(out, "--root-token") != NULL, "%s", out);
}

Test(cli, help_lists_options) {
    const char *args[] = {"--help", NULL};
    char out[8192];
    cr_expect_eq(harness_run_to_exit(args, 30, out, sizeof out), 0);
    cr_expect(strstr(out, "--database-url") != NULL && strstr(out, "BULKIMPORT_WORKERS") != NULL);
}

/* The embedded mode: no --database-url. */
Test(embedded, starts_on_an_empty_data_dir_and_keeps_data_across_restarts, .timeout = 240) {
    char dir[256], token_path[300], root_token[128], root[160];
    snprintf(dir, sizeof dir, "%s", harness_temp_dir());
    const char *args[] = {"--data-dir", dir, "--workers", "1", NULL};
    harness_server s;
    harness_server_start(&s, args);

    struct stat st;
    cr_assert_eq(stat(dir, &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0700, "data dir mode %o", st.st_mode & 0777);
    snprintf(token_path, sizeof token_path, "%s/root-token", dir);
    cr_assert_eq(stat(token_path, &st), 0, "root-token file written");
    cr_expect_eq(st.st_mode & 0777, 0600);
    cr_assert_gt(harness_read_file(token_path, root_token, sizeof root_token), 0);
    root_token[strcspn(root_token, "\n")] = '\0';
    cr_expect_eq(strlen(root_token), 64);
    snprintf(root, sizeof root, "Token %s", root_token);
    char log[65536] = "";
    harness_read_file(s.log_path, log, sizeof log);
    cr_expect(strstr(log, root_token) == NULL, "the generated token went into a non-terminal log");
    cr_expect(strstr(log, "printed only to a terminal") != NULL, "%s", log);

    harness_response *r = harness_request(&s, "POST", "/users/", root, "{\"username\":\"kept\"}");
    cr_assert_eq(r->status, 201, "%s", r->body);
    char kept[96];
    snprintf(kept, sizeof kept, "Token %s", harness_json_string(r, "token"));
    harness_response_free(r);
    cr_assert_eq(harness_server_stop(&s), 0);

    harness_server_start(&s, args);
    r = harness_request(&s, "GET", "/user/", kept, NULL);
    cr_expect_eq(r->status, 200, "the user survived the restart: %s", r->body);
    harness_response_free(r);
    r = harness_request(&s, "GET", "/user/", root, NULL);
    cr_expect_eq(r->status, 200, "the root token too");
    harness_response_free(r);
    char again[128];
    harness_read_file(token_path, again, sizeof again);
    again[strcspn(again, "\n")] = '\0';
    cr_expect_str_eq(again, root_token, "a later start keeps the token file");
    cr_expect_eq(harness_server_stop(&s), 0);
}

Test(embedded, second_server_on_the_same_data_dir_is_refused, .timeout = 240) {
    char dir[256];
    snprintf(dir, sizeof dir, "%s", harness_temp_dir());
    const char *args[] = {"--data-dir", dir, "--workers", "1", NULL};
    harness_server s;
    harness_server_start(&s, args);
    const char *second[] = {"--data-dir", dir, "--listen", "127.0.0.1:0", NULL};
    char out[8192];
    int code = harness_run_to_exit(second, 60, out, sizeof out);
    cr_expect_eq(code, 1, "%s", out);
    cr_expect(strstr(out, "another bulkimportd") != NULL, "%s", out);
    harness_response *r = harness_request(&s, "GET", "/readyz", NULL, NULL);
    cr_expect_eq(r->status, 200, "the first server is unharmed");
    harness_response_free(r);
    cr_expect_eq(harness_server_stop(&s), 0);
}
