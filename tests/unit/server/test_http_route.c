#include "http.h"

#include <criterion/criterion.h>
#include <string.h>

static char params[HTTP_MAX_PARAMS][HTTP_PARAM_MAX];
static int n;

static bool match(const char *pattern, const char *path) {
    n = -1;
    return http_route_match(pattern, path, params, &n);
}

Test(http_route, trailing_slash_is_optional) {
    cr_expect(match("/user/", "/user/"));
    cr_expect(match("/user/", "/user"));
    cr_expect(match("/healthz", "/healthz/"));
    cr_expect(match("/healthz", "/healthz"));
    cr_expect_eq(n, 0);
}

Test(http_route, literal_mismatch) {
    cr_expect(!match("/user/", "/users/"));
    cr_expect(!match("/users/", "/user/"));
    cr_expect(!match("/user/", "/user/x/"));
    cr_expect(!match("/user/", "/user//"));
    cr_expect(!match("/user/", "/"));
}

Test(http_route, parameters_are_decoded_per_segment) {
    cr_assert(match("/users/:username/token/", "/users/alice/token/"));
    cr_expect_eq(n, 1);
    cr_expect_str_eq(params[0], "alice");
    cr_assert(match("/a/:x/b/:y/", "/a/x%2Fy%20z/b/caf%C3%A9"));
    cr_expect_eq(n, 2);
    cr_expect_str_eq(params[0], "x/y z");
    cr_expect_str_eq(params[1], "caf\xc3\xa9");
}

Test(http_route, bad_parameters_do_not_match) {
    cr_expect(!match("/users/:u/token/", "/users//token/"), "empty segment");
    cr_expect(!match("/users/:u/token/", "/users/a%2/token/"), "short escape");
    cr_expect(!match("/users/:u/token/", "/users/a%zz/token/"), "bad hex");
    cr_expect(!match("/users/:u/token/", "/users/a%00b/token/"), "NUL");
    cr_expect(!match("/users/:u/", "/users/a%"), "escape at the end");
    char long_path[HTTP_PARAM_MAX + 32] = "/users/";
    memset(long_path + 7, 'x', HTTP_PARAM_MAX);
    long_path[7 + HTTP_PARAM_MAX] = '\0';
    cr_expect(!match("/users/:u/", long_path), "too long");
}

Test(http_route, alternatives_restrict_a_parameter) {
    const char *pattern = "/:owner_type(orgs|users)/:owner/:repo_type(sources|collections)/";
    cr_assert(match(pattern, "/orgs/A/sources/"));
    cr_expect_eq(n, 3);
    cr_expect_str_eq(params[0], "orgs");
    cr_expect_str_eq(params[2], "sources");
    cr_expect(match(pattern, "/users/b/collections"));
    cr_expect(!match(pattern, "/org/A/sources/"));
    cr_expect(!match(pattern, "/orgsx/A/sources/"));
    cr_expect(!match(pattern, "/orgs/A/source/"));
    cr_expect(!match(pattern, "/no/such/thing/"));
    cr_expect(match("/:t(a|bb)/", "/bb/"));
    cr_expect(!match("/:t(a|bb)/", "/b/"));
}
