/* intake.h — the bytes of an import file, from an upload or a download, cut into lines and
 * stored in the task's COPY as they arrive: the one path every file takes into a task. A file
 * whose first bytes are gzip's magic is decompressed on the way, whatever its name said.
 */
#ifndef BI_IMPORTER_INTAKE_H
#define BI_IMPORTER_INTAKE_H

#include "gunzip.h"
#include "split.h"
#include "tasks.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct intake {
    db_upload *db;
    splitter split;
    struct evp_md_ctx_st *sha; /* the SHA-256 of the bytes, when asked for */
    int64_t lines;
    int64_t max_lines; /* 0: no cap (test mode has one) */
    bool too_many_lines;
    int64_t bytes;     /* the file's bytes so far, decompressed */
    int64_t max_bytes; /* 0: no cap */
    bool too_big;      /* a compressed file passed max_bytes once decompressed */
    unsigned char head[4]; /* the first bytes, until they tell what the file is */
    size_t head_len;
    bool decided;
    gunzip *gz; /* NULL: the bytes are the file's own */
    const char *refused; /* why the file is refused whole (static), or NULL */
    /* Optional: sees each readable line as it is stored (a feed's cursor_field). */
    void (*observe)(const char *text, size_t len, void *ctx);
    void *observe_ctx;
} intake;

/* Prepares in to store into db: lines longer than max_line bytes are flagged; more than
 * max_lines lines (0: any number) stop the intake with BI_ETOOBIG; so do more than max_bytes
 * bytes of a compressed file once decompressed (0: any size; an uncompressed file's size is
 * its reader's to limit); hash: keep a SHA-256 of the decompressed bytes, so that a file and
 * its gzip are the same content. */
void intake_init(intake *in, db_upload *db, size_t max_line, int64_t max_lines, int64_t max_bytes,
                 bool hash);

/* Takes the next len bytes of the file (ctx: the intake). Returns 0, BI_ETOOBIG (too many
 * lines: in->too_many_lines; too large decompressed: in->too_big), BI_EINVAL (not gzip after
 * gzip's magic, or a ZIP archive, which is not read yet: intake_error says why) or the
 * database's error. */
int intake_feed(const char *data, size_t len, void *ctx);

/* Ends the file: stores a last line without a newline and, when hashing, writes the SHA-256
 * to sha256 (32 bytes; NULL when not hashing). Returns 0 or as intake_feed (BI_EINVAL: a
 * truncated gzip file). */
int intake_finish(intake *in, unsigned char *sha256);

/* Why the intake returned BI_EINVAL ("" when it did not). */
const char *intake_error(const intake *in);

/* Frees what in holds (not db). */
void intake_fini(intake *in);

#endif
