#include "http.h"

#include "auth.h"
#include "client_addr.h"
#include "error.h"
#include "log.h"
#include "metrics.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <dirent.h>
#include <netdb.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <zlib.h>

/* The response headers scripts of another origin may read (the safelisted ones aside). */
#define HTTP_EXPOSED_HEADERS                                                                       \
    "Access-Control-Expose-Headers: X-Total-Count, num_found, num_returned, pages, page_number,"  \
    " next, previous, X-Task-Id, X-Task-State, X-Task-Failed, Retry-After, Idempotent-Replayed,"  \
    " X-Request-Id,"  \
    " X-Task-Error, Location, Allow, WWW-Authenticate\r\n"

/* Whether origin (its_len bytes) is one of the comma-separated list. */
static bool http_origin_listed(const char *list, const char *origin) {
    size_t len = strlen(origin);
    for (const char *p = list; *p != '\0';) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ", ");
        if (n > 0 && n == len && memcmp(p, origin, n) == 0)
            return true;
        p += n;
    }
    return false;
}

/* Fills req->cors for the request's Origin. */
static void http_cors_prepare(http_req *req) {
    const char *allowed = req->app->cfg.cors_origins ? req->app->cfg.cors_origins : "*";
    const char *origin = mg_get_header(req->conn, "Origin");
    req->cors[0] = '\0';
    if (strcmp(allowed, "none") == 0)
        return;
    if (strcmp(allowed, "*") == 0)
        snprintf(req->cors, sizeof req->cors, "Access-Control-Allow-Origin: *\r\n" HTTP_EXPOSED_HEADERS);
    else if (origin != NULL && strlen(origin) < 512 && http_origin_listed(allowed, origin))
        snprintf(req->cors, sizeof req->cors,
                 "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n" HTTP_EXPOSED_HEADERS, origin);
    else
        snprintf(req->cors, sizeof req->cors, "Vary: Origin\r\n");
}

const char *http_cors_headers(const http_req *req) { return req->cors; }

void http_sent(http_req *req, int status, size_t bytes) {
    if (req->status == 0)
        req->status = status;
    req->bytes += (long long)bytes;
}

/* Takes the client's X-Request-Id when it is sane (1-128 of [A-Za-z0-9._:-]), else makes one
 * (16 random hex digits), and adds it to the header lines every response carries. */
static void http_request_id(http_req *req) {
    const char *given = mg_get_header(req->conn, "X-Request-Id");
    static const char sane[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-";
    size_t len = given ? strlen(given) : 0;
    if (len > 0 && len <= HTTP_REQUEST_ID_MAX && strspn(given, sane) == len) {
        memcpy(req->request_id, given, len + 1);
    } else {
        unsigned char random[8] = {0};
        if (getrandom(random, sizeof random, 0) != (ssize_t)sizeof random)
            memset(random, 0, sizeof random); /* an id of zeros rather than none */
        for (size_t i = 0; i < sizeof random; i++)
            snprintf(req->request_id + 2 * i, 3, "%02x", random[i]);
    }
    size_t at = strlen(req->cors);
    snprintf(req->cors + at, sizeof req->cors - at, "X-Request-Id: %s\r\n", req->request_id);
}

/* Answers a CORS preflight (OPTIONS with Access-Control-Request-Method) for any path: the
 * browser then sends the real request, which is authenticated and routed as any other. */
static void http_send_preflight(http_req *req) {
    const char *asked = mg_get_header(req->conn, "Access-Control-Request-Headers");
    char headers[512] = "Authorization, Content-Type, Accept, Idempotency-Key, X-Request-Id";
    if (asked != NULL && strlen(asked) < sizeof headers &&
        strspn(asked, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_, ") ==
            strlen(asked))
        snprintf(headers, sizeof headers, "%s", asked); /* a header name list, echoed */
    mg_printf(req->conn,
              "HTTP/1.1 204 No Content\r\n%sAccess-Control-Allow-Methods: GET, POST, PUT, PATCH,"
              " DELETE, OPTIONS\r\nAccess-Control-Allow-Headers: %s\r\n"
              "Access-Control-Max-Age: 600\r\nContent-Length: 0\r\n\r\n",
              req->cors, headers);
    http_sent(req, 204, 0);
}

int http_send_json_text(http_req *req, int status, const char *extra_headers, const char *text,
                        size_t len) {
    mg_printf(req->conn,
              "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
              "Cache-Control: no-store\r\n%s%s\r\n",
              status, mg_get_response_code_text(req->conn, status), len, req->cors,
              extra_headers ? extra_headers : "");
    mg_write(req->conn, text, len);
    http_sent(req, status, len);
    return 0;
}

/* Sends status with body as compact JSON, plus extra header lines (each ending in CRLF). */
static int http_send_json_with(http_req *req, int status, const char *extra_headers,
                               const cJSON *body) {
    char *text = cJSON_PrintUnformatted(body);
    if (text == NULL)
        abort();
    http_send_json_text(req, status, extra_headers, text, strlen(text));
    free(text);
    return 0;
}

#define HTTP_STREAM_BUFFER (64 * 1024)

struct http_stream {
    http_req *req;
    size_t len;
    int err;
    z_stream *gz; /* the body is gzipped: what is written goes through it into buf */
    char buf[HTTP_STREAM_BUFFER];
};

http_stream *http_stream_begin(http_req *req, int status, const char *content_type) {
    return http_stream_begin_with(req, status, content_type, NULL);
}

/* Starts s's chunked answer, with Content-Encoding when gzipped. */
static http_stream *http_stream_start(http_req *req, int status, const char *content_type,
                                      const char *extra_headers, bool gzip) {
    http_stream *s = calloc(1, sizeof *s);
    if (s == NULL)
        abort();
    s->req = req;
    if (gzip && ((s->gz = calloc(1, sizeof *s->gz)) == NULL ||
                 deflateInit2(s->gz, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK))
        abort();
    mg_printf(req->conn,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n"
              "Cache-Control: no-store\r\n%s%s%s\r\n",
              status, mg_get_response_code_text(req->conn, status), content_type, req->cors,
              gzip ? "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n" : "",
              extra_headers ? extra_headers : "");
    http_sent(req, status, 0);
    return s;
}

http_stream *http_stream_begin_with(http_req *req, int status, const char *content_type,
                                    const char *extra_headers) {
    return http_stream_start(req, status, content_type, extra_headers, false);
}

/* Whether req's Accept-Encoding takes gzip (a q of 0 refuses it). */
static bool http_accepts_gzip(http_req *req) {
    const char *p = mg_get_header(req->conn, "Accept-Encoding");
    while (p != NULL && *p != '\0') {
        p += strspn(p, " \t,");
        size_t name = strcspn(p, " \t;,"), item = strcspn(p, ",");
        bool gzip = (name == 4 && strncasecmp(p, "gzip", 4) == 0) ||
                    (name == 6 && strncasecmp(p, "x-gzip", 6) == 0);
        const char *q = memchr(p, ';', item);
        if (gzip)
            return q == NULL || (q = strstr(q, "q=")) == NULL || q > p + item ||
                   strtod(q + 2, NULL) > 0;
        p += item;
    }
    return false;
}

http_stream *http_stream_begin_download(http_req *req, int status, const char *content_type) {
    return http_stream_start(req, status, content_type, NULL, http_accepts_gzip(req));
}

/* Sends what buf holds as one chunk. */
static int http_stream_send(http_stream *s) {
    if (s->len > 0 && s->err == 0 && mg_send_chunk(s->req->conn, s->buf, (unsigned)s->len) < 0)
        s->err = BI_EIO;
    if (s->err == 0)
        http_sent(s->req, 0, s->len);
    s->len = 0;
    return s->err;
}

/* Deflates len bytes into buf, sending it as it fills; Z_FINISH also ends the gzip. */
static int http_stream_deflate(http_stream *s, const char *data, size_t len, int flush) {
    s->gz->next_in = (unsigned char *)data;
    s->gz->avail_in = (unsigned)len;
    for (;;) {
        if (s->len == sizeof s->buf && http_stream_send(s) < 0)
            return s->err;
        s->gz->next_out = (unsigned char *)s->buf + s->len;
        s->gz->avail_out = (unsigned)(sizeof s->buf - s->len);
        int rc = deflate(s->gz, flush);
        s->len = sizeof s->buf - s->gz->avail_out;
        if (rc == Z_STREAM_ERROR) /* never with a stream begun here; never loop on it */
            return s->err = BI_EIO;
        if (flush == Z_FINISH ? rc == Z_STREAM_END : s->gz->avail_in == 0 && s->gz->avail_out > 0)
            return 0;
    }
}

/* Sends everything written so far. */
static int http_stream_flush(http_stream *s) {
    if (s->gz != NULL && s->err == 0)
        http_stream_deflate(s, NULL, 0, Z_FINISH);
    return http_stream_send(s);
}

int http_stream_write(http_stream *s, const char *data, size_t len) {
    if (s->gz != NULL)
        return s->err == 0 ? http_stream_deflate(s, data, len, Z_NO_FLUSH) : s->err;
    while (len > 0 && s->err == 0) {
        if (s->len == sizeof s->buf)
            http_stream_send(s);
        size_t take = sizeof s->buf - s->len < len ? sizeof s->buf - s->len : len;
        memcpy(s->buf + s->len, data, take);
        s->len += take;
        data += take;
        len -= take;
    }
    return s->err;
}

int http_stream_printf(http_stream *s, const char *fmt, ...) {
    char text[4096];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return http_stream_write(s, text, len < (int)sizeof text ? (size_t)len : sizeof text - 1);
}

/* Whether socket fd is the TCP connection from remote_addr:remote_port to server_port. */
static bool http_socket_is(int fd, const char *remote_addr, int remote_port, int server_port) {
    struct sockaddr_storage peer, local;
    socklen_t peer_len = sizeof peer, local_len = sizeof local;
    if (getpeername(fd, (struct sockaddr *)&peer, &peer_len) != 0 ||
        getsockname(fd, (struct sockaddr *)&local, &local_len) != 0)
        return false;
    char addr[INET6_ADDRSTRLEN] = "";
    int peer_port, local_port;
    if (peer.ss_family == AF_INET && local.ss_family == AF_INET) {
        const struct sockaddr_in *p = (const void *)&peer, *l = (const void *)&local;
        inet_ntop(AF_INET, &p->sin_addr, addr, sizeof addr);
        peer_port = ntohs(p->sin_port), local_port = ntohs(l->sin_port);
    } else if (peer.ss_family == AF_INET6 && local.ss_family == AF_INET6) {
        const struct sockaddr_in6 *p = (const void *)&peer, *l = (const void *)&local;
        inet_ntop(AF_INET6, &p->sin6_addr, addr, sizeof addr);
        peer_port = ntohs(p->sin6_port), local_port = ntohs(l->sin6_port);
    } else {
        return false;
    }
    return peer_port == remote_port && local_port == server_port &&
           strcmp(addr, remote_addr) == 0;
}

/* Shuts down the TCP connection from remote_addr:remote_port to server_port how (SHUT_RD,
 * SHUT_RDWR). CivetWeb has no call for it and keeps the descriptor (it closes it when the
 * connection ends), so the socket is found by its addresses among the process's descriptors.
 * Rare: only broken streams, cut uploads and overdue headers. */
static void http_shutdown_socket(const char *remote_addr, int remote_port, int server_port,
                                 int how) {
    DIR *fds = opendir("/proc/self/fd");
    if (fds == NULL)
        return;
    for (struct dirent *e; (e = readdir(fds)) != NULL;) {
        char *end, link[64];
        long fd = strtol(e->d_name, &end, 10);
        struct stat st;
        /* Other threads open and close descriptors meanwhile: the link is looked at by its
         * path, not its descriptor; one closed since fails, one reused is told by its
         * addresses. */
        snprintf(link, sizeof link, "/proc/self/fd/%ld", fd);
        if (*end != '\0' || fd == dirfd(fds) || stat(link, &st) != 0 || !S_ISSOCK(st.st_mode))
            continue;
        if (http_socket_is((int)fd, remote_addr, remote_port, server_port)) {
            shutdown((int)fd, how);
            break;
        }
    }
    closedir(fds);
}

/* Shuts down req's TCP connection how. */
static void http_shutdown_connection(http_req *req, int how) {
    const struct mg_request_info *ri = mg_get_request_info(req->conn);
    http_shutdown_socket(ri->remote_addr, ri->remote_port, ri->server_port, how);
}

void http_stop_reading(void *req) { http_shutdown_connection(req, SHUT_RD); }

void http_cut_connection(const void *conn) {
    /* The addresses were set before the connection's headers began to be read; CivetWeb
     * shows them once it has marked the connection a request, just after it opened. */
    const struct mg_request_info *ri = mg_get_request_info(conn);
    if (ri != NULL)
        http_shutdown_socket(ri->remote_addr, ri->remote_port, ri->server_port, SHUT_RDWR);
}

int http_stream_end(http_stream *s, int err) {
    if (err == 0)
        http_stream_flush(s); /* the gzip's end too */
    else
        http_stream_send(s); /* a broken body: no gzip trailer that would make it look whole */
    if (s->err == 0 && err == 0)
        mg_send_chunk(s->req->conn, "", 0);
    else if (s->err == 0)
        http_shutdown_connection(s->req, SHUT_RDWR);
    if (s->gz != NULL) {
        deflateEnd(s->gz);
        free(s->gz);
    }
    free(s);
    return 0;
}

int http_send_no_content(http_req *req) {
    mg_printf(req->conn, "HTTP/1.1 204 No Content\r\n%sContent-Length: 0\r\n\r\n", req->cors);
    http_sent(req, 204, 0);
    return 0;
}

/* Decodes the query parameter name into out: its length, -1 when absent, -2 when too long. */
static int http_query_var(http_req *req, const char *name, char *out, size_t out_len) {
    const char *query = mg_get_request_info(req->conn)->query_string;
    return query != NULL ? mg_get_var(query, strlen(query), name, out, out_len) : -1;
}

int http_query_text(http_req *req, const char *name, char *out, size_t out_len) {
    int n = http_query_var(req, name, out, out_len);
    if (n == -1)
        return 0;
    if (n < 0) {
        http_send_error(req, BI_EINVAL, "%s is longer than %zu bytes", name, out_len - 1);
        return BI_EINVAL;
    }
    return 1;
}

int http_query_joined(http_req *req, const char *name, char *out, size_t out_len) {
    const char *query = mg_get_request_info(req->conn)->query_string;
    size_t at = 0;
    out[0] = '\0';
    for (int i = 0; query != NULL; i++) {
        int n = mg_get_var2(query, strlen(query), name, out + at + (at > 0),
                            out_len - at - (at > 0), i);
        if (n == -1)
            break;
        if (n < 0) {
            http_send_error(req, BI_EINVAL, "%s is longer than %zu bytes", name, out_len - 1);
            return BI_EINVAL;
        }
        if (at > 0)
            out[at] = ',';
        at += (size_t)n + (at > 0);
    }
    return at > 0 ? 1 : 0;
}

int http_list_owner(http_req *req, const char *what, char *username, const char **out_who) {
    int got = http_query_text(req, "username", username, DB_USERNAME_MAX + 1);
    if (got < 0)
        return got;
    bool given = got > 0;
    if (!req->user.is_root && given && strcmp(username, req->user.username) != 0) {
        http_send_error(req, BI_EPERM, "only root may list another user's %s", what);
        return BI_EPERM;
    }
    *out_who = given ? username : req->user.is_root ? NULL : req->user.username;
    return 0;
}

int http_query_only(http_req *req, const char *const *allowed) {
    const char *query = mg_get_request_info(req->conn)->query_string;
    for (const char *p = query; p != NULL && *p != '\0';) {
        size_t len = strcspn(p, "&");
        size_t name_len = strcspn(p, "=&");
        bool known = name_len == 0;
        for (const char *const *a = allowed; *a != NULL && !known; a++)
            known = strlen(*a) == name_len && strncmp(*a, p, name_len) == 0;
        if (!known) {
            http_send_error(req, BI_EINVAL, "unknown query parameter '%.*s'",
                            (int)(name_len < 64 ? name_len : 64), p);
            return BI_EINVAL;
        }
        p += len + (p[len] == '&');
    }
    return 0;
}

int http_query_bool(http_req *req, const char *name, bool *out, char *why, size_t why_len) {
    char value[16];
    int n = http_query_var(req, name, value, sizeof value);
    if (n == -1)
        return 0;
    if (n < 0 || (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)) {
        snprintf(why, why_len, "%s must be either 'true' or 'false'", name);
        return BI_EINVAL;
    }
    *out = value[0] == 't';
    return 0;
}

int http_query_long(http_req *req, const char *name, long min, long max, long *out, char *why,
                    size_t why_len) {
    char value[24], *end;
    int got = http_query_var(req, name, value, sizeof value);
    if (got == -1)
        return 0;
    long n = got < 0 ? 0 : strtol(value, &end, 10);
    if (got <= 0 || *end != '\0' || n < min || n > max) {
        snprintf(why, why_len, "%s must be an integer from %ld to %ld", name, min, max);
        return BI_EINVAL;
    }
    *out = n;
    return 0;
}

int http_send_json(http_req *req, int status, const cJSON *body) {
    return http_send_json_with(req, status, NULL, body);
}

static int http_send_error_with(http_req *req, int err, const char *extra_headers,
                                const char *message) {
    cJSON *body = cJSON_CreateObject();
    if (req->ocl_errors)
        cJSON_AddStringToObject(body, "exception", message ? message : error_message(err));
    cJSON_AddStringToObject(body, "code", error_code(err));
    cJSON_AddStringToObject(body, "message", message ? message : error_message(err));
    if (req->request_id[0])
        cJSON_AddStringToObject(body, "request_id", req->request_id);
    if (err == BI_EAUTH && extra_headers == NULL)
        extra_headers = "WWW-Authenticate: Token realm=\"bulkimport\"\r\n";
    http_send_json_with(req, error_http_status(err), extra_headers, body);
    cJSON_Delete(body);
    return 0;
}

int http_send_error(http_req *req, int err, const char *fmt, ...) {
    char message[1024];
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(message, sizeof message, fmt, ap);
        va_end(ap);
    }
    return http_send_error_with(req, err, NULL, fmt ? message : NULL);
}

int http_send_error_headers(http_req *req, int err, const char *headers, const char *fmt, ...) {
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return http_send_error_with(req, err, headers, message);
}

int http_read(http_req *req, void *buf, size_t len) {
    if (!req->continued) {
        req->continued = true;
        const char *expect = mg_get_header(req->conn, "Expect");
        const char *version = mg_get_request_info(req->conn)->http_version;
        /* HTTP/1.0 clients know no 100 (RFC 9110 10.1.1: ignore their expectation). */
        if (expect != NULL && strcasecmp(expect, "100-continue") == 0 && version != NULL &&
            strcmp(version, "1.0") != 0)
            mg_printf(req->conn, "HTTP/1.1 100 Continue\r\n\r\n");
    }
    return mg_read(req->conn, buf, len);
}

int http_read_json_object(http_req *req, size_t max_bytes, cJSON **out) {
    const struct mg_request_info *info = mg_get_request_info(req->conn);
    if (info->content_length > (long long)max_bytes) {
        http_send_error(req, BI_ETOOBIG, "the request body exceeds %zu bytes", max_bytes);
        return BI_ETOOBIG;
    }
    char *body = malloc(max_bytes + 1);
    if (body == NULL)
        abort();
    size_t len = 0;
    int n;
    /* Read one byte past the cap to tell "exactly max" from "more than max". */
    while (len <= max_bytes && (n = http_read(req, body + len, max_bytes + 1 - len)) > 0)
        len += (size_t)n;
    if (len > max_bytes) {
        free(body);
        http_send_error(req, BI_ETOOBIG, "the request body exceeds %zu bytes", max_bytes);
        return BI_ETOOBIG;
    }
    cJSON *json = cJSON_ParseWithLength(body, len);
    free(body);
    if (!cJSON_IsObject(json)) {
        cJSON_Delete(json);
        http_send_error(req, BI_EINVAL, "the request body must be a JSON object");
        return BI_EINVAL;
    }
    *out = json;
    return 0;
}

/* Answers 404 or 405 for a request no route takes. */
static void http_send_no_route(http_req *req, const char *path) {
    size_t n_routes;
    const http_route *routes = http_routes(&n_routes);
    char allow[128] = "";
    char params[HTTP_MAX_PARAMS][HTTP_PARAM_MAX];
    int n_params;
    for (size_t i = 0; i < n_routes; i++) {
        if (!http_route_match(routes[i].pattern, path, params, &n_params) ||
            strstr(allow, routes[i].method) != NULL)
            continue;
        size_t len = strlen(allow);
        snprintf(allow + len, sizeof allow - len, "%s%s", len ? ", " : "", routes[i].method);
    }
    if (allow[0] == '\0') {
        http_send_error(req, BI_ENOTFOUND, "no such endpoint: %s %s", req->method, path);
        return;
    }
    char header[160], message[256];
    snprintf(header, sizeof header, "Allow: %s\r\n", allow);
    snprintf(message, sizeof message, "%s is not allowed here; allowed: %s", req->method, allow);
    http_send_error_with(req, BI_EMETHOD, header, message);
}

/* Query parameters whose values never reach a log: credentials, and URLs that may hold them. */
static bool http_query_secret(const char *name, size_t len) {
    static const char *const secret[] = {"token", "key", "secret", "password", "signature",
                                         "api_key", "access_token", "file_url", "callback_url", NULL};
    for (const char *const *s = secret; *s != NULL; s++)
        if (strlen(*s) == len && strncasecmp(*s, name, len) == 0)
            return true;
    return len >= 5 && strncasecmp(name + len - 5, "token", 5) == 0;
}

/* The query as logged: each secret parameter's value replaced by "[redacted]". */
static void http_logged_query(const char *query, char *out, size_t cap) {
    size_t at = 0;
    out[0] = '\0';
    for (const char *p = query; p != NULL && *p != '\0' && at + 1 < cap;) {
        size_t len = strcspn(p, "&"), name_len = strcspn(p, "=&");
        int n = http_query_secret(p, name_len) && name_len < len
                    ? snprintf(out + at, cap - at, "%s%.*s=[redacted]", at ? "&" : "", (int)name_len, p)
                    : snprintf(out + at, cap - at, "%s%.*s", at ? "&" : "", (int)len, p);
        at = n > 0 && (size_t)n < cap - at ? at + (size_t)n : cap - 1;
        p += len + (p[len] == '&');
    }
}

/* The access line of a request: what was asked, by whom, and how it was answered; and the
 * response's count in the metrics. */
static void http_log_access(http_req *req, const char *path, const struct timespec *began) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double ms = (double)(now.tv_sec - began->tv_sec) * 1e3 + (double)(now.tv_nsec - began->tv_nsec) / 1e6;
    char query[1024];
    http_logged_query(mg_get_request_info(req->conn)->query_string, query, sizeof query);
    metrics_http_response(req->status);
    char remote[64];
    client_addr_resolve(req->app->cfg.trusted_proxies, mg_get_request_info(req->conn)->remote_addr,
                        mg_get_header(req->conn, "X-Forwarded-For"), remote, sizeof remote);
    log_field fields[] = {
        LOG_TEXT("method", req->method), LOG_TEXT("path", path),
        LOG_TEXT("query", query[0] ? query : NULL), LOG_NUMBER("status", req->status),
        LOG_NUMBER("bytes", req->bytes), LOG_NUMBER("duration_ms", (double)(long long)(ms * 1000) / 1000),
        LOG_TEXT("user", req->user.username[0] ? req->user.username : NULL),
        LOG_TEXT("request_id", req->request_id), LOG_TEXT("remote", remote)};
    log_event(BI_LOG_INFO, "request", fields, sizeof fields / sizeof fields[0]);
}

static int http_dispatch(struct mg_connection *conn, void *cbdata) {
    const struct mg_request_info *info = mg_get_request_info(conn);
    http_req *req = calloc(1, sizeof *req); /* ~4 KiB of params: keep it off small stacks */
    if (req == NULL)
        abort();
    req->conn = conn;
    req->app = cbdata;
    header_watch_arrived(req->app->header_watch, mg_get_user_connection_data(conn));
    req->method = info->request_method;
    const char *path = info->local_uri_raw ? info->local_uri_raw : info->local_uri;
    struct timespec began;
    clock_gettime(CLOCK_MONOTONIC, &began);
    http_cors_prepare(req);
    http_request_id(req);
    log_context_set(req->request_id, NULL, NULL);
    if (strcmp(req->method, "OPTIONS") == 0 &&
        mg_get_header(conn, "Access-Control-Request-Method") != NULL) {
        http_send_preflight(req);
        goto done;
    }

    /* --metrics-listen's port serves /metrics alone, and the API's port not it. */
    bool metrics_path = strcmp(path, "/metrics") == 0 || strcmp(path, "/metrics/") == 0;
    if (req->app->metrics_port > 0 && (info->server_port == req->app->metrics_port) != metrics_path) {
        http_send_error(req, BI_ENOTFOUND, metrics_path ? "the metrics are on --metrics-listen"
                                                        : "the metrics listener serves /metrics alone");
        goto done;
    }
    size_t n_routes;
    const http_route *routes = http_routes(&n_routes);
    const http_route *route = NULL;
    for (size_t i = 0; i < n_routes && route == NULL; i++)
        if (strcmp(routes[i].method, req->method) == 0 &&
            http_route_match(routes[i].pattern, path, req->params, &req->n_params))
            route = &routes[i];
    if (route == NULL) {
        http_send_no_route(req, path);
        goto done;
    }
    req->ocl_errors = route->flags & HTTP_OCL;
    if (!(route->flags & HTTP_PUBLIC)) {
        int err = auth_authenticate(req->app->pool, mg_get_header(conn, "Authorization"),
                                    &req->user);
        if (err < 0) {
            http_send_error(req, err, NULL);
            goto done;
        }
        log_context_set(req->request_id, req->user.username, NULL);
        if (req->user.read_only && strcmp(req->method, "GET") != 0) {
            http_send_error(req, BI_EPERM, "this token may only read (GET)");
            goto done;
        }
    }
    int err = route->handler(req);
    if (err < 0)
        http_send_error(req, err, NULL);
done:
    http_log_access(req, path, &began);
    log_context_clear();
    header_watch_awaiting(req->app->header_watch, mg_get_user_connection_data(conn));
    free(req);
    return 1; /* handled: CivetWeb must not look for a file */
}

static int http_log_message(const struct mg_connection *conn, const char *message) {
    (void)conn;
    log_warn("http: %.*s", (int)strcspn(message, "\n"), message);
    return 1;
}

/* A new connection: its headers are awaited under --header-timeout. */
static int http_connection_opened(const struct mg_connection *conn, void **conn_data) {
    const app *a = mg_get_user_data(mg_get_context(conn));
    *conn_data = header_watch_open(a->header_watch, conn);
    return 0;
}

static void http_connection_closing(const struct mg_connection *conn) {
    const app *a = mg_get_user_data(mg_get_context(conn));
    header_watch_close(a->header_watch, mg_get_user_connection_data(conn));
    mg_set_user_connection_data(conn, NULL);
}

/* The address CivetWeb listens on for "HOST:PORT": a host name is resolved here (CivetWeb
 * takes numbers only), to its first IPv4 address, else its first; numeric ones pass as they
 * are. */
static int http_listen_address(const char *listen, char *out, size_t cap) {
    const char *colon = strrchr(listen, ':');
    char host[256];
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
    unsigned char addr[16];
    if (host[0] == '[' || inet_pton(AF_INET, host, addr) == 1) {
        snprintf(out, cap, "%s", listen);
        return 0;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_ADDRCONFIG}, *found = NULL;
    int rc = getaddrinfo(host, NULL, &hints, &found);
    if (rc != 0) {
        log_error("--listen %s: cannot resolve %s: %s", listen, host, gai_strerror(rc));
        return BI_EINVAL;
    }
    const struct addrinfo *pick = found; /* its first IPv4 address, else its first */
    for (const struct addrinfo *ai = found; ai != NULL; ai = ai->ai_next)
        if (ai->ai_family == AF_INET) {
            pick = ai;
            break;
        }
    char number[INET6_ADDRSTRLEN] = "";
    if (pick->ai_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)pick->ai_addr)->sin_addr, number,
                  sizeof number);
    else
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)pick->ai_addr)->sin6_addr, number,
                  sizeof number);
    snprintf(out, cap, pick->ai_family == AF_INET ? "%s%s" : "[%s]%s", number, colon);
    freeaddrinfo(found);
    log_info("--listen %s: %s resolves to %s", listen, host, out);
    return 0;
}

int http_start(app *a, struct mg_context **out_ctx, int *out_port, char *host, size_t cap) {
    char threads[16], timeout_ms[24], listen[300], metrics[300] = "", ports[610];
    if (http_listen_address(a->cfg.listen, listen, sizeof listen) < 0 ||
        (a->cfg.metrics_listen != NULL &&
         http_listen_address(a->cfg.metrics_listen, metrics, sizeof metrics) < 0))
        return BI_EINVAL;
    snprintf(ports, sizeof ports, "%s%s%s", listen, metrics[0] ? "," : "", metrics);
    snprintf(threads, sizeof threads, "%d", a->cfg.http_threads);
    snprintf(timeout_ms, sizeof timeout_ms, "%ld", a->cfg.read_timeout_s * 1000);
    const char *options[] = {
        "listening_ports", ports,
        "num_threads", threads,
        "decode_url", "no",
        "enable_keep_alive", "yes",
        "request_timeout_ms", timeout_ms,
        "access_control_allow_origin", "", /* CORS is ours (http_cors_prepare), not CivetWeb's */
        NULL,
    };
    struct mg_callbacks callbacks = {.log_message = http_log_message,
                                     .init_connection = http_connection_opened,
                                     .connection_close = http_connection_closing};
    mg_init_library(0);
    struct mg_context *ctx = mg_start(&callbacks, a, options);
    if (ctx == NULL) {
        log_error("cannot serve HTTP on %s", a->cfg.listen);
        mg_exit_library();
        return BI_EINTERNAL;
    }
    mg_set_request_handler(ctx, "/", http_dispatch, a);
    struct mg_server_port port[2] = {{0}, {0}};
    int n_ports = mg_get_server_ports(ctx, 2, port);
    *out_ctx = ctx;
    *out_port = port[0].port;
    if (metrics[0] && n_ports == 2) {
        a->metrics_port = port[1].port;
        log_info("metrics on http://%.*s:%d/metrics", (int)(strrchr(metrics, ':') - metrics),
                 metrics, a->metrics_port);
    }
    snprintf(host, cap, "%.*s", (int)(strrchr(listen, ':') - listen), listen);
    return 0;
}

void http_stop(struct mg_context *ctx) {
    if (ctx == NULL)
        return;
    mg_stop(ctx);
    mg_exit_library();
}
