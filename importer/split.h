/* split.h — cuts an upload into JSON lines as it streams, in bounded memory.
 *
 * Lines end with LF or CRLF; a last line without a newline counts; blank lines (nothing but
 * spaces, tabs or CR) are skipped and not numbered; a UTF-8 BOM at the very start is dropped.
 * A line that is not valid UTF-8, holds a NUL byte or is longer than max_line bytes is still
 * numbered and emitted, with its problem and without its text, so that it gets its own result
 * while the others import. Memory: one line buffer of at most max_line bytes.
 */
#ifndef BI_IMPORTER_SPLIT_H
#define BI_IMPORTER_SPLIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct split_line {
    const char *text; /* not NUL-terminated; valid during the callback; NULL when error != 0 */
    size_t len;
    int64_t number;   /* 1-based, blank lines not counted */
    uint64_t offset;  /* of its first byte in the upload */
    int error;        /* 0, BI_EUTF8, BI_ENUL or BI_ELINELONG */
} split_line;

/* Receives each line; a negative return stops the split and is returned by split_feed. */
typedef int (*split_emit)(const split_line *line, void *ctx);

typedef struct splitter {
    size_t max_line;
    char *buf; /* the line so far */
    size_t len;
    uint64_t offset;      /* bytes consumed so far */
    uint64_t line_offset; /* where the current line began */
    int64_t number;
    int error;    /* of the current line */
    int bom_seen; /* bytes of the BOM matched at the start; -1 once past it */
    split_emit emit;
    void *ctx;
} splitter;

/* Prepares s for an upload; lines longer than max_line bytes (CR/LF excluded) are errors. */
void split_init(splitter *s, size_t max_line, split_emit emit, void *ctx);

/* Consumes len bytes of the upload. Returns 0, or the first negative return of emit. */
int split_feed(splitter *s, const char *data, size_t len);

/* Ends the upload: emits a last line without a newline. Returns 0 or emit's error. */
int split_finish(splitter *s);

/* Frees s's buffer. */
void split_fini(splitter *s);

#endif
