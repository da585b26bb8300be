/* intake.h — the bytes of an import file, from an upload or a download, cut into lines and
 * stored in the task's COPY as they arrive: the one path every file takes into a task.
 */
#ifndef BI_IMPORTER_INTAKE_H
#define BI_IMPORTER_INTAKE_H

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
    /* Optional: sees each readable line as it is stored (a feed's cursor_field). */
    void (*observe)(const char *text, size_t len, void *ctx);
    void *observe_ctx;
} intake;

/* Prepares in to store into db: lines longer than max_line bytes are flagged; more than
 * max_lines lines (0: any number) stop the intake with BI_ETOOBIG; hash: keep a SHA-256. */
void intake_init(intake *in, db_upload *db, size_t max_line, int64_t max_lines, bool hash);

/* Takes the next len bytes of the file (ctx: the intake). Returns 0, BI_ETOOBIG (too many
 * lines, in->too_many_lines set) or the database's error. */
int intake_feed(const char *data, size_t len, void *ctx);

/* Ends the file: stores a last line without a newline and, when hashing, writes the SHA-256
 * to sha256 (32 bytes; NULL when not hashing). Returns 0 or as intake_feed. */
int intake_finish(intake *in, unsigned char *sha256);

/* Frees what in holds (not db). */
void intake_fini(intake *in);

#endif
