/* Every route the server registers is in openapi/openapi.yaml, and every operation there is a
 * route. Reads the YAML's "paths:" block by indentation: two spaces for a path, four for a
 * method, as the file is written. */
#include "http.h"

#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define MAX_OPS 256

static char ops[MAX_OPS][600]; /* "GET /users/{username}/token/" */
static int n_ops;

static void load_openapi(void) {
    FILE *f = fopen(BI_SOURCE_DIR "/openapi/openapi.yaml", "r");
    cr_assert_not_null(f, "cannot open openapi/openapi.yaml");
    char line[512], path[512] = "";
    bool in_paths = false;
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] != ' ' && line[0] != '\0') {
            in_paths = strcmp(line, "paths:") == 0;
            continue;
        }
        if (!in_paths)
            continue;
        if (strncmp(line, "  /", 3) == 0) {
            snprintf(path, sizeof path, "%s", line + 2);
            path[strcspn(path, ":")] = '\0';
        } else if (strncmp(line, "    ", 4) == 0 && line[4] != ' ') {
            static const char *methods[] = {"get", "post", "put", "delete", "patch"};
            for (size_t i = 0; i < 5; i++) {
                size_t len = strlen(methods[i]);
                if (strncmp(line + 4, methods[i], len) == 0 && line[4 + len] == ':') {
                    cr_assert_lt(n_ops, MAX_OPS);
                    char upper[8] = "";
                    for (size_t k = 0; k < len; k++)
                        upper[k] = (char)toupper((unsigned char)methods[i][k]);
                    snprintf(ops[n_ops++], sizeof ops[0], "%s %s", upper, path);
                }
            }
        }
    }
    fclose(f);
}

/* "/users/:username/token/" -> "/users/{username}/token/"; ":a(x|y)" -> "{a}" */
static void route_to_openapi(const http_route *r, char *out, size_t out_len) {
    size_t n = (size_t)snprintf(out, out_len, "%s ", r->method);
    for (const char *p = r->pattern; *p != '\0' && n + 3 < out_len; p++) {
        if (*p == ':') {
            out[n++] = '{';
            while (p[1] != '\0' && p[1] != '/' && p[1] != '(' && n + 2 < out_len)
                out[n++] = *++p;
            out[n++] = '}';
            while (p[1] != '\0' && p[1] != '/') /* "(a|b)": an enum in the OpenAPI file */
                p++;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
}

Test(openapi, routes_and_operations_agree) {
    load_openapi();
    cr_assert_gt(n_ops, 0, "no operations found under paths:");
    size_t n_routes;
    const http_route *routes = http_routes(&n_routes);
    bool documented[MAX_OPS] = {false};
    for (size_t i = 0; i < n_routes; i++) {
        char op[600];
        route_to_openapi(&routes[i], op, sizeof op);
        bool found = false;
        for (int k = 0; k < n_ops; k++) {
            if (strcmp(ops[k], op) == 0) {
                found = true;
                documented[k] = true;
            }
        }
        cr_expect(found, "route %s is not in openapi/openapi.yaml", op);
    }
    for (int k = 0; k < n_ops; k++)
        cr_expect(documented[k], "openapi/openapi.yaml has %s, which the server does not serve",
                  ops[k]);
}
