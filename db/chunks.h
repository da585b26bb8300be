/* chunks.h — a task's upload as stored: its lines in chunks of consecutive lines
 * (migrations/0015), written by one binary COPY and read back a range at a time.
 */
#ifndef BI_DB_CHUNKS_H
#define BI_DB_CHUNKS_H

#include <stddef.h>
#include <stdint.h>

typedef struct db_conn db_conn;

#define DB_CHUNK_LINES 256           /* lines of a chunk at most, */
#define DB_CHUNK_BYTES (64 * 1024)   /* and about this much of their text (a longer line: alone) */

/* ---- writing ---- */

typedef struct db_chunks db_chunks;

/* Starts the COPY of task_id's chunks on conn, in the transaction the caller has begun.
 * Returns 0 and a writer in *out, or the database's error (BI_EUNAVAIL, BI_EINTERNAL). */
int db_chunks_begin(db_conn *conn, const char *task_id, db_chunks **out);

/* Adds line line_no, which must be the line after the last one added (the first is 1): its text
 * of len bytes, or NULL with error_code, the upload's verdict on it. */
int db_chunks_line(db_chunks *w, int64_t line_no, const char *text, size_t len,
                   const char *error_code);

/* Writes the last chunk and ends the COPY (error NULL), or abandons it with that message, which
 * fails the caller's transaction. Frees w either way; returns 0 or the database's error. */
int db_chunks_end(db_chunks *w, const char *error);

/* ---- reading ---- */

typedef struct db_lines db_lines;

/* Lines of a task after line after, in order: at most limit, from chunks of no more than
 * max_bytes of text in all (though always the first chunk, however long), so a read of huge
 * lines stays small. Returns 0 and the lines in *out (free with db_lines_free), or the
 * database's error. */
int db_lines_read(db_conn *conn, const char *task_id, int64_t after, long limit,
                  int64_t max_bytes, db_lines **out);
size_t db_lines_count(const db_lines *lines);
/* Line i: its number, text (NULL when the upload flagged it) with *len, and error code (NULL
 * when none). The text is not NUL-terminated; it lives as long as lines. */
const char *db_lines_get(const db_lines *lines, size_t i, int64_t *number, size_t *len,
                         const char **error_code);
void db_lines_free(db_lines *lines);

#endif
