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

/* ---- binary arrays ----
 * The same arrays in PostgreSQL's binary form, for a parameter sent in binary format: the
 * elements go as their bytes, nothing quoted or escaped, and the server reads them without
 * parsing a literal (array_in was a fifth of PostgreSQL's time in set-wise writes). The element
 * type must be the one the statement's cast names: the server checks it. */

#define DB_OID_BOOL 16 /* PostgreSQL's fixed type oids */
#define DB_OID_INT8 20
#define DB_OID_INT4 23
#define DB_OID_TEXT 25
#define DB_OID_UUID 2950
#define DB_OID_JSONB 3802

typedef struct db_barray {
    char *buf; /* room for the header, then the elements */
    size_t len, cap;
    uint32_t n, oid;
    bool nulls;
} db_barray;

/* Starts an empty array of elements of type oid (one of the above); free with db_barray_fini. */
void db_barray_init(db_barray *a, uint32_t oid);
void db_barray_fini(db_barray *a);
/* Empties a for reuse, keeping its memory and element type. */
void db_barray_reset(db_barray *a);

/* Appends a text, or for a jsonb array a JSON text (len bytes; NULL appends SQL NULL). */
void db_barray_add_text(db_barray *a, const char *text, size_t len);
/* db_barray_add_text of a NUL-terminated string, or NULL. */
void db_barray_add(db_barray *a, const char *text);
void db_barray_add_int64(db_barray *a, int64_t value);
void db_barray_add_int32(db_barray *a, int32_t value);
void db_barray_add_bool(db_barray *a, bool value);
/* Appends the uuid spelled by 32 hex digits (no dashes), or NULL. */
void db_barray_add_uuid_hex(db_barray *a, const char *hex);

/* Returns the array's bytes and their length in *len, valid until the next call on a. */
const char *db_barray_bytes(db_barray *a, int *len);

#endif
