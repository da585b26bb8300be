/* routes.c — the table of contents of the HTTP API. Every endpoint is one row; openapi/
 * describes the same set (a unit test checks both ways). */
#include "health.h"
#include "http.h"
#include "users_api.h"

static const http_route routes[] = {
    {"GET", "/healthz", health_get_healthz, true},
    {"GET", "/readyz", health_get_readyz, true},
    {"GET", "/user/", users_api_get_me, false},
    {"POST", "/user/token/", users_api_rotate_own_token, false},
    {"POST", "/users/", users_api_create, false},
    {"POST", "/users/:username/token/", users_api_issue_token, false},
};

const http_route *http_routes(size_t *out_n) {
    *out_n = sizeof routes / sizeof routes[0];
    return routes;
}
