/* intake.h — the bytes of an import file, from an upload or a download, made the task's lines
 * and stored in the task's COPY as they arrive: the one path every file takes into a task.
 *
 * Every format oclapi2 reads, in bounded memory:
 *   gzip      decompressed on the way, whatever the name said (its magic bytes tell), the
 *             limit counting the decompressed bytes;
 *   JSON lines cut into lines as they stream (split.h);
 *   CSV       OCL's standard CSV (csvconv.h), spooled to a temporary file and read once per
 *             definition, as ocldev orders its lines;
 *   export    an OCL source-version export (export.h), spooled, then converted;
 *   ZIP       spooled (libarchive reads its central directory to know it holds exactly one
 *             file), then that file read as a file of its own.
 * The format is the caller's format option, else the name's suffix (.csv, .zip, .json …), else
 * the first bytes: ZIP's magic, a document starting as an export, a first line naming the
 * resource_type column. Converted lines are numbered as they are made; a CSV line carries its
 * row as "__csv_row". Spool files are unlinked at creation, in $TMPDIR (else /tmp).
 */
#ifndef BI_IMPORTER_INTAKE_H
#define BI_IMPORTER_INTAKE_H

#include "gunzip.h"
#include "split.h"
#include "tasks.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define INTAKE_HEAD_MAX 4096 /* bytes looked at to tell the format (less when a line ends) */

enum intake_format { INTAKE_UNDECIDED, INTAKE_LINES, INTAKE_CSV, INTAKE_ZIP, INTAKE_EXPORT };

/* What a file is said to be before its bytes come. */
typedef struct intake_file {
    char format[8]; /* "", "jsonl", "csv", "zip" or "export"; "" detects */
    char name[256]; /* the file's name or URL, whose suffix may tell; "" when unknown */
    char owner[DB_USERNAME_MAX + 1], owner_type[16], version[DB_USERNAME_MAX + 1]; /* export's */
} intake_file;

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
    size_t max_line;
    intake_file file;
    unsigned char head[4]; /* the first bytes, until they tell whether the file is gzip */
    size_t head_len;
    bool decided;
    gunzip *gz; /* NULL: the bytes are the file's own */
    /* After decompression: the format, from the first bytes while undecided */
    enum intake_format format;
    char *peek; /* INTAKE_HEAD_MAX bytes */
    size_t peek_len;
    FILE *spool;   /* the file so far, for formats read after it has all come */
    int depth;     /* 1 for the file inside a ZIP */
    bool limit_all; /* max_bytes caps the bytes even when not compressed (a ZIP's file) */
    char refused[320]; /* why the file is refused whole, "" when it is not */
    bool spool_failed; /* BI_EIO came from the spool file (refused says how), not the peer */
    /* Optional: sees each readable line as it is stored (a feed's cursor_field). */
    void (*observe)(const char *text, size_t len, void *ctx);
    void *observe_ctx;
} intake;

/* Prepares in to store into db: lines longer than max_line bytes are flagged; more than
 * max_lines lines (0: any number) stop the intake with BI_ETOOBIG; so do more than max_bytes
 * bytes of a compressed file once decompressed (0: any size; an uncompressed file's size is
 * its reader's to limit); hash: keep a SHA-256 of the decompressed bytes, so that a file and
 * its gzip are the same content. The file is detected; set in->file before the first byte to
 * say more (intake_file_of_task copies a task's options). */
void intake_init(intake *in, db_upload *db, size_t max_line, int64_t max_lines, int64_t max_bytes,
                 bool hash);

/* The format and export options of task, and name, as an intake_file. */
void intake_file_of_task(intake_file *out, const db_task *task, const char *name);

/* Whether format is one intake_file.format may hold. */
bool intake_format_known(const char *format);

/* Takes the next len bytes of the file (ctx: the intake). Returns 0, BI_ETOOBIG (too many
 * lines: in->too_many_lines; too large decompressed: in->too_big), BI_EINVAL (the file is
 * refused whole: intake_error says why), BI_EIO (a spool file failed: in->spool_failed, and
 * intake_error says how) or the database's error. */
int intake_feed(const char *data, size_t len, void *ctx);

/* Ends the file: converts what was spooled and stores a last line without a newline and, when
 * hashing, writes the SHA-256 to sha256 (32 bytes; NULL when not hashing). Returns 0 or as
 * intake_feed (BI_EINVAL: a truncated gzip file, a broken ZIP or export, …). */
int intake_finish(intake *in, unsigned char *sha256);

/* Why the intake returned BI_EINVAL, to follow "the file " ("" when it did not). */
const char *intake_error(const intake *in);

/* Frees what in holds (not db). */
void intake_fini(intake *in);

#endif
