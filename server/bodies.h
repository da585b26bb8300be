/* bodies.h — the import file inside a request body, extracted as it streams, in bounded
 * memory, in every form OCL accepts: the raw body; the field "file" (or "data") of a
 * multipart/form-data body; the field "data" of an application/x-www-form-urlencoded body;
 * the string member "data" of a JSON envelope {"data": "<lines>", ...} (what OCL's web app
 * sends when a user pastes JSON), its escapes undone as it streams. Each form may carry
 * "file_url" instead (the file is then downloaded later) and other small fields, kept for the
 * caller as the task's options (BODY_FIELDS_MAX of at most BODY_FIELD_VALUE_MAX bytes).
 *
 * A urlencoded body is a form only when it starts with a known field (body_reader_new's
 * fields); a JSON object body is an envelope only when its members before "data" or
 * "file_url" are all known fields and that member is a string. Anything else — curl
 * --data-binary sends JSON lines as urlencoded, and a one-line import is a JSON object — is a
 * raw body, passed on byte for byte.
 */
#ifndef BI_SERVER_BODIES_H
#define BI_SERVER_BODIES_H

#include <stdbool.h>
#include <stddef.h>

/* Receives the file's bytes; a negative return stops the extraction and is returned. */
typedef int (*body_emit)(const char *data, size_t len, void *ctx);

enum body_kind { BODY_RAW, BODY_MULTIPART, BODY_FORM, BODY_ENVELOPE };

typedef struct body_reader body_reader;

#define BODY_FIELDS_MAX 32
#define BODY_FIELD_NAME_MAX 32
#define BODY_FIELD_VALUE_MAX 1024

/* A small field of the body (not the file): a form field or an envelope member (its JSON
 * string decoded; a number, true, false or null as its text). */
typedef struct body_field {
    char name[BODY_FIELD_NAME_MAX];
    char value[BODY_FIELD_VALUE_MAX];
    bool after_file; /* it came after the file's bytes began */
} body_field;

/* Chooses the extraction for content_type (NULL: raw). known (NULL-terminated; borrowed for
 * the reader's life) names the fields a urlencoded body or an envelope may start with besides
 * "data" and "file_url". Returns a reader, or NULL with *why set when the content type is
 * multipart without a usable boundary. */
body_reader *body_reader_new(const char *content_type, const char *const *known, body_emit emit,
                             void *ctx, const char **why);

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

/* The small fields read so far, in order, into *out; returns how many. */
size_t body_reader_fields(const body_reader *r, const body_field **out);

#define BODY_FILE_NAME_MAX 255

/* The filename= of the multipart part that holds the file ("" when none, or not multipart):
 * known before the file's first byte is passed on. */
const char *body_reader_file_name(const body_reader *r);

/* Whether the file's first byte has been passed on. */
bool body_reader_file_began(const body_reader *r);

/* Why the last BI_EINVAL. */
const char *body_reader_error(const body_reader *r);

void body_reader_free(body_reader *r);

#endif
