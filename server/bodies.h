/* bodies.h — the import file inside a request body, extracted as it streams, in bounded
 * memory: the raw body, the field "file" (or "data") of a multipart/form-data body, or the
 * field "data" of an application/x-www-form-urlencoded body (the parallel-inline path). A
 * multipart body may instead carry a field "file_url": the file is then downloaded later.
 */
#ifndef BI_SERVER_BODIES_H
#define BI_SERVER_BODIES_H

#include <stdbool.h>
#include <stddef.h>

/* Receives the file's bytes; a negative return stops the extraction and is returned. */
typedef int (*body_emit)(const char *data, size_t len, void *ctx);

enum body_kind { BODY_RAW, BODY_MULTIPART, BODY_FORM };

typedef struct body_reader body_reader;

/* Chooses the extraction for content_type (NULL: raw; urlencoded counts only when form_ok).
 * Returns a reader, or NULL with *why set when the content type is multipart without a usable
 * boundary. */
body_reader *body_reader_new(const char *content_type, bool form_ok, body_emit emit, void *ctx,
                             const char **why);

/* Consumes len bytes of the request body. Returns 0, emit's error, or BI_EINVAL with
 * body_reader_error telling why (malformed multipart). */
int body_reader_feed(body_reader *r, const char *data, size_t len);

/* Ends the body. Returns 0, or BI_EINVAL when neither the wanted field nor file_url came, both
 * came, or the body was cut short. */
int body_reader_finish(body_reader *r);

#define BODY_FILE_URL_MAX 2048

/* The multipart field file_url (NUL-terminated, at most BODY_FILE_URL_MAX bytes), or NULL when
 * the body had none. Valid after body_reader_finish. */
const char *body_reader_file_url(const body_reader *r);

/* Why the last BI_EINVAL. */
const char *body_reader_error(const body_reader *r);

void body_reader_free(body_reader *r);

#endif
