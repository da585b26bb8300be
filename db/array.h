/* array.h — builds PostgreSQL array literals ({"a","b",NULL}) for set-wise statements that take
 * one array parameter per column: INSERT ... SELECT FROM unnest($1::text[], $2::jsonb[], ...).
 * Every element is quoted and escaped, so any text (quotes, backslashes, braces, commas, newlines,
 * unicode) round-trips; the literal is sent as a parameter, never spliced into SQL.
 */
#ifndef BI_DB_ARRAY_H
#define BI_DB_ARRAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct db_array {
    char *buf;
    size_t len;
    size_t cap;
    size_t n; /* elements added */
} db_array;

/* Starts an empty array; free with db_array_fini. */
void db_array_init(db_array *a);

/* Frees a's memory; a may be re-initialised. */
void db_array_fini(db_array *a);

/* Appends text (len bytes; NULL text appends SQL NULL). */
void db_array_add_text(db_array *a, const char *text, size_t len);

/* Appends a NUL-terminated string, or NULL. */
void db_array_add(db_array *a, const char *text);

void db_array_add_int64(db_array *a, int64_t value);
void db_array_add_bool(db_array *a, bool value);

/* Returns the literal, valid until the next call on a. */
const char *db_array_literal(db_array *a);

#endif
