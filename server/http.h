/* http.h — the HTTP front: CivetWeb start/stop, routing, authentication, JSON in and out.
 *
 * One CivetWeb handler receives every request and routes it through the table of routes.c on
 * the raw, still-encoded path (decode_url=no), so ids holding %2F reach handlers intact; each
 * path parameter is percent-decoded on its own. A trailing slash is optional. Unknown paths get
 * 404, known paths with another method 405 with an Allow header. Routes not marked public are
 * authenticated before the handler runs. Every error body is {"code", "message"}.
 *
 * Handlers run on CivetWeb threads: they do short work only (long work is queued).
 */
#ifndef BI_SERVER_HTTP_H
#define BI_SERVER_HTTP_H

#include "app.h"
#include "route.h"
#include "users.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

struct mg_connection;
struct mg_context;

#define HTTP_CORS_MAX 1200 /* the CORS header lines of one response, and X-Request-Id's */
#define HTTP_REQUEST_ID_MAX 128
#define HTTP_DB_WAIT_MS 5000 /* longest wait for a pooled connection before answering 503 */

typedef struct http_req {
    struct mg_connection *conn;
    app *app;
    const char *method;
    db_user user; /* the caller, on authenticated routes */
    bool ocl_errors; /* error bodies also carry OCL's "exception" (bulk-import routes) */
    int n_params;
    char params[HTTP_MAX_PARAMS][HTTP_PARAM_MAX]; /* decoded ":name" segments, in order */
    char cors[HTTP_CORS_MAX]; /* the header lines every response of it carries: CORS's and
                                 X-Request-Id */
    bool continued; /* its "100 Continue" went out (http_read) */
    char request_id[HTTP_REQUEST_ID_MAX + 1]; /* the client's X-Request-Id, or a new one */
    int status;        /* the response's status, once sent (http_sent) */
    long long bytes;   /* the response body's bytes so far */
} http_req;

/* Notes that req's response went out with status (the first call counts) and bytes more body
 * bytes: for the access line and the metrics. Every way of answering calls it. */
void http_sent(http_req *req, int status, size_t bytes);

/* A handler sends its response and returns 0, or returns a negative BI_E* code and sends
 * nothing: the router then answers with that code's status and default message. */
typedef int (*http_handler)(http_req *req);

typedef struct http_route {
    const char *method;
    const char *pattern; /* "/users/:username/token/": ":name" matches one non-empty segment,
                            ":name(a|b)" only the segment a or b */
    http_handler handler;
    int flags; /* HTTP_PUBLIC, HTTP_OCL */
} http_route;

#define HTTP_PUBLIC 1 /* no token needed */
#define HTTP_OCL 2    /* errors as {"exception", "code", "message"} (OCL's bulk-import API) */

/* The route table (routes.c): every endpoint the server serves. Static; *out_n gets its
 * length. */
const http_route *http_routes(size_t *out_n);

/* Starts CivetWeb on a->cfg.listen (a host name resolved to its first address) with
 * a->cfg.http_threads threads. Returns 0, the context in *out_ctx, the bound port in *out_port
 * (useful with port 0) and the address listened on, without its port, in host (cap bytes:
 * "127.0.0.1", "[::1]"); or BI_EINVAL / BI_EINTERNAL after logging why (a name that does not
 * resolve, an address in use). */
int http_start(app *a, struct mg_context **out_ctx, int *out_port, char *host, size_t cap);

/* Stops accepting, waits for in-flight requests to finish, frees the context. NULL does
 * nothing. */
void http_stop(struct mg_context *ctx);

/* The CORS header lines (each ending in CRLF; "" when none) that every response to req carries,
 * for handlers that write their own status line: the allowed origin for the request's Origin
 * (--cors-origins), Vary: Origin when it depends on it, and the headers scripts may read. */
const char *http_cors_headers(const http_req *req);

/* Sends status with body as compact JSON (body is borrowed). Returns 0. */
int http_send_json(http_req *req, int status, const cJSON *body);

/* Sends status with text (len bytes of JSON) and extra header lines (each ending in CRLF, or
 * NULL). Returns 0. */
int http_send_json_text(http_req *req, int status, const char *extra_headers, const char *text,
                        size_t len);

/* A response streamed with chunked transfer encoding through a buffer, so a body of any size
 * is sent in bounded memory. */
typedef struct http_stream http_stream;

/* Sends status and content_type and starts the chunked body. */
http_stream *http_stream_begin(http_req *req, int status, const char *content_type);

/* http_stream_begin with extra header lines (each ending in CRLF, or NULL). */
http_stream *http_stream_begin_with(http_req *req, int status, const char *content_type,
                                    const char *extra_headers);

/* http_stream_begin for a download (results, failed lines): gzipped, with Content-Encoding,
 * when the request's Accept-Encoding takes gzip. */
http_stream *http_stream_begin_download(http_req *req, int status, const char *content_type);

/* Appends len bytes to the body. Returns 0, or BI_EIO when the client went away. */
int http_stream_write(http_stream *s, const char *data, size_t len);

/* Appends printf-style text. */
int http_stream_printf(http_stream *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* With err 0, ends the body; with err < 0 (what was being streamed failed), breaks it off:
 * what was buffered goes out, then the connection is shut without the terminating chunk, so
 * the client sees a broken transfer, never a complete-looking truncated body. Frees s.
 * Returns 0. */
int http_stream_end(http_stream *s, int err);

/* Reads up to len bytes of req's body into buf, as mg_read: returns how many, 0 at its end, or
 * < 0 when the connection failed. A client that sent "Expect: 100-continue" waits for the
 * server's "100 Continue" before it sends the body, and CivetWeb sends none to handlers: the
 * first read sends it (so a request refused before its body is read never has it sent). */
int http_read(http_req *req, void *buf, size_t len);

/* Stops req (an http_req) from receiving more: a read waiting for its body returns at once,
 * and an answer can still be sent. Any thread may call it while req is being handled. */
void http_stop_reading(void *req);

/* Shuts down CivetWeb connection conn (a struct mg_connection whose headers are overdue:
 * server/header_watch.h), from any thread, while conn cannot close. */
void http_cut_connection(const void *conn);

/* Sends 204 with no body. Returns 0. */
int http_send_no_content(http_req *req);

/* Checks that every query parameter is named in allowed (NULL-terminated). Returns 0, or
 * answers 400 naming the first that is not and returns BI_EINVAL. */
int http_query_only(http_req *req, const char *const *allowed);

/* Copies the decoded query parameter name into out (out_len bytes). Returns 1 when given, 0
 * when absent, or answers 400 ("name is longer than ...") and returns BI_EINVAL when it does
 * not fit: a value too long is an error, never taken for an absent one. */
int http_query_text(http_req *req, const char *name, char *out, size_t out_len);

/* Like http_query_text for a parameter that may repeat (state=A&state=B): every value given,
 * joined by commas, into out. Same returns. */
int http_query_joined(http_req *req, const char *name, char *out, size_t out_len);

/* Whose items a list request means: the user of ?username= (only root may name another: 403 is
 * answered and BI_EPERM returned), else the caller, or everyone (NULL) for root. what names
 * the items in the 403's message; username is a buffer of DB_USERNAME_MAX + 1 bytes that
 * *out_who may point into. */
int http_list_owner(http_req *req, const char *what, char *username, const char **out_who);

/* Reads the optional query parameter name, "true" or "false", into *out (left as is when the
 * parameter is absent). Returns 0, or BI_EINVAL with the reason in why (why_len bytes). */
int http_query_bool(http_req *req, const char *name, bool *out, char *why, size_t why_len);

/* Reads the optional integer query parameter name, from min to max, into *out (left as is when
 * absent). Returns 0, or BI_EINVAL with the reason in why. */
int http_query_long(http_req *req, const char *name, long min, long max, long *out, char *why,
                    size_t why_len);

/* Sends the error err as {"code", "message"} with its HTTP status; message is printf-style, or
 * NULL for the code's default message. Returns 0. */
int http_send_error(http_req *req, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* http_send_error with extra response headers ("Name: value\r\n" each). */
int http_send_error_headers(http_req *req, int err, const char *headers, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reads the request body as a JSON object of at most max_bytes. Returns 0 and a new object in
 * *out (cJSON_Delete it), or sends 400/413 itself and returns the error (BI_EINVAL,
 * BI_ETOOBIG) — the caller then just returns 0. */
int http_read_json_object(http_req *req, size_t max_bytes, cJSON **out);

#endif
