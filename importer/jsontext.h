/* jsontext.h — one import line's raw JSON text, checked as PostgreSQL's jsonb reads it.
 *
 * cJSON is lenient: it ignores text after the value and takes "01", "1.", "-.5" and numbers
 * jsonb's numeric cannot hold ("1e999999"). A line is stored as jsonb, so a line jsonb would
 * refuse must be refused alone, before it reaches a set-wise statement (where it would fail
 * the whole batch). This is a strict RFC 8259 scan of the text: one value, whitespace around
 * it, valid UTF-8, no raw control characters or \u0000 in strings, surrogate escapes paired,
 * numbers in jsonb's range. It also hands out the spans of the scalar values, so a caller can
 * rewrite a value in place without reprinting the line (drf.h). Pure; allocates nothing.
 */
#ifndef BI_IMPORTER_JSONTEXT_H
#define BI_IMPORTER_JSONTEXT_H

#include <stdbool.h>
#include <stddef.h>

#define JSONTEXT_WHY_MAX 160

typedef struct jsontext_error {
    size_t at;                   /* 1-based byte offset of the fault */
    char why[JSONTEXT_WHY_MAX];  /* "invalid JSON: number out of range at byte 7" */
} jsontext_error;

/* Receives each scalar value that is not an object key — strings (with their quotes), numbers
 * and literals — in document order (the order of a preorder walk of a cJSON tree of the same
 * text) as text[at .. at+len). A non-zero return stops the scan and is returned. */
typedef int (*jsontext_value_fn)(size_t at, size_t len, void *ctx);

/* Scans text (len bytes). each may be NULL. Returns 0, the non-zero value each returned, or
 * -1 with *err filled when jsonb would refuse the text. */
int jsontext_scan(const char *text, size_t len, int max_depth, jsontext_value_fn each,
                  void *ctx, jsontext_error *err);

#endif
