/* Fuzzes path decoding: a raw request path against every route pattern the server has. A
 * match yields NUL-free parameters within their cap. */
#include "route.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const patterns[] = {
        "/orgs/:org/:kind(sources|collections)/:repo/:version/concepts/:concept/",
        "/users/:user/tasks/", "/tasks/:id/", "/manage/bulkimport/:queue/",
        "/importers/bulk-import/:queue/", "/", "/orgs/:org/"};
    char *path = malloc(size + 1);
    memcpy(path, data, size);
    path[size] = '\0';
    static char params[HTTP_MAX_PARAMS][HTTP_PARAM_MAX];
    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
        int n = -1;
        if (!http_route_match(patterns[i], path, params, &n))
            continue;
        if (n < 0 || n > HTTP_MAX_PARAMS)
            abort();
        for (int p = 0; p < n; p++)
            if (params[p][0] == '\0' || memchr(params[p], '\0', HTTP_PARAM_MAX) == NULL)
                abort(); /* a parameter is one non-empty, terminated segment */
    }
    free(path);
    return 0;
}
