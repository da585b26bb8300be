#include "console.h"

#include "error.h"

#include <civetweb.h>
#include <string.h>

/* The page runs only its own script and style: no inline code, no other origin, no framing. */
#define CONSOLE_HEADERS                                                                            \
    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self';"          \
    " img-src 'self'; connect-src 'self'; form-action 'none'; frame-ancestors 'none';"     \
    " base-uri 'none'\r\n"                                                                        \
    "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n"                         \
    "X-Frame-Options: DENY\r\nCache-Control: no-cache\r\n"

int console_redirect(http_req *req) {
    mg_printf(req->conn, "HTTP/1.1 302 Found\r\nLocation: /console/\r\nContent-Length: 0\r\n%s\r\n",
              http_cors_headers(req));
    http_sent(req, 302, 0);
    return 0;
}

int console_get_file(http_req *req) {
    const char *name = req->n_params > 0 ? req->params[0] : "index.html";
    const console_file *file = NULL;
    for (size_t i = 0; i < console_files_count && file == NULL; i++)
        if (strcmp(console_files[i].name, name) == 0)
            file = &console_files[i];
    if (file == NULL)
        return http_send_error(req, BI_ENOTFOUND, "console has no file %.100s", name);
    const char *match = mg_get_header(req->conn, "If-None-Match");
    bool fresh = match != NULL && (strstr(match, file->etag) != NULL || strcmp(match, "*") == 0);
    if (fresh) { /* a 304 carries no Content-Length but the 200's (RFC 9110): none */
        mg_printf(req->conn, "HTTP/1.1 304 Not Modified\r\nETag: %s\r\n" CONSOLE_HEADERS "%s\r\n",
                  file->etag, http_cors_headers(req));
        http_sent(req, 304, 0);
        return 0;
    }
    mg_printf(req->conn,
              "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\nETag: %s\r\n" CONSOLE_HEADERS
              "%s\r\n",
              file->content_type, file->len, file->etag, http_cors_headers(req));
    mg_write(req->conn, file->data, file->len);
    http_sent(req, 200, file->len);
    return 0;
}
