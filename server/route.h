/* route.h — matches a request's raw path against a route pattern and decodes its parameters.
 *
 * A pattern is literal text with ":name" segments (any one segment) and ":name(a|b)" segments
 * (one of the alternatives), e.g. "/orgs/:org/:kind(sources|collections)/:repo/". Kept apart
 * from http.c, which needs a server, so the decoder of untrusted paths can be fuzzed alone.
 */
#ifndef BI_SERVER_ROUTE_H
#define BI_SERVER_ROUTE_H

#include <stdbool.h>

#define HTTP_MAX_PARAMS 6
#define HTTP_PARAM_MAX 1024 /* decoded bytes of one path parameter, NUL included */

/* Matches path (raw, percent-encoded, query excluded) against pattern, ignoring one trailing
 * slash on either. Returns true and fills params/n_params (decoded) on a match; false when the
 * path differs, a segment has bad percent-encoding, decodes to a NUL byte or is too long. */
bool http_route_match(const char *pattern, const char *path,
                      char params[HTTP_MAX_PARAMS][HTTP_PARAM_MAX], int *out_n_params);

#endif
