/* csv.h — a CSV file read as a stream of records, the way Python's csv module reads it with its
 * default ("excel") dialect, which is what OCL's CSV import uses: fields separated by commas,
 * quoted with '"' ('""' inside quotes is one quote; text after a closing quote joins the field),
 * newlines inside quotes kept, records ended by LF, CRLF or CR. Unlike Python, a UTF-8 BOM at
 * the very start is dropped, and bad records do not fail the file: a record that is not valid
 * UTF-8, holds a NUL byte, has more than max_record bytes in its fields or is cut off inside quotes by the
 * end of the file is still numbered and emitted, with its problem and without its fields.
 * Memory: one record of at most max_record bytes.
 */
#ifndef BI_IMPORTER_CSV_H
#define BI_IMPORTER_CSV_H

#include <stddef.h>
#include <stdint.h>

typedef struct csv_record {
    int64_t number;       /* 1-based, blank records counted too (as a spreadsheet numbers rows) */
    size_t n;             /* fields; 0 for a blank record */
    const char **fields;  /* each NUL-terminated (a field never holds NUL); valid in the callback */
    const size_t *lens;
    int error;            /* 0, BI_EUTF8, BI_ENUL, BI_ELINELONG or BI_EINVAL (unclosed quote) */
} csv_record;

/* Receives each record; a negative return stops the reading and is returned by csv_feed. */
typedef int (*csv_emit)(const csv_record *rec, void *ctx);

typedef struct csv_reader csv_reader;

/* A reader that hands each record to emit(ctx). Never NULL (aborts when out of memory). */
csv_reader *csv_create(size_t max_record, csv_emit emit, void *ctx);

/* Consumes the next len bytes. Returns 0, or the first negative return of emit. */
int csv_feed(csv_reader *r, const char *data, size_t len);

/* Ends the file: emits a last record without a newline. Returns 0 or emit's error. */
int csv_finish(csv_reader *r);

/* Frees r; NULL does nothing. */
void csv_destroy(csv_reader *r);

#endif
