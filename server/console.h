/* console.h — the web console (console/): its files, embedded in the binary at build time
 * (cmake/embed_console.cmake), served at /console/ without a token (a browser's navigation
 * sends none; every API call the page makes carries the token it was given), under a
 * Content-Security-Policy that allows only the page's own files.
 */
#ifndef BI_SERVER_CONSOLE_H
#define BI_SERVER_CONSOLE_H

#include "http.h"

#include <stddef.h>

typedef struct console_file {
    const char *name;         /* "app.js" */
    const char *content_type; /* "text/javascript; charset=utf-8" */
    const char *etag;         /* quoted, from its SHA-256 */
    const unsigned char *data;
    size_t len;
} console_file;

extern const console_file console_files[];
extern const size_t console_files_count;

/* GET /: 302 to /console/. */
int console_redirect(http_req *req);

/* GET /console/ (index.html) and /console/:file: the file, 304 when If-None-Match names its
 * ETag, or 404. */
int console_get_file(http_req *req);

#endif
