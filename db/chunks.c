#include "chunks.h"

#include "array.h"
#include "error.h"
#include "pgconn.h"
#include "pool.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COPY_BUFFER (256 * 1024) /* COPY data is sent in pieces of about this size */

#define STR(x) #x
#define XSTR(x) STR(x)

/* The chunks holding lines $2 + 1 .. $2 + $3, within a text budget of $4 bytes (the first
 * always). A chunk ends at most DB_CHUNK_LINES - 1 lines after its first, which bounds the
 * index range on last_line. octet_length reads an out-of-line body's size, not its bytes. */
static const db_stmt stmt_read = {
    "chunks_read",
    "SELECT first_line, last_line, starts::text, array_to_string(errors, ',', ''),"
    " convert_from(body, 'UTF8') FROM (SELECT *, coalesce(sum(octet_length(body)) OVER (ORDER BY"
    " last_line ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before"
    " FROM import_chunks WHERE task_id = $1 AND last_line > $2::integer"
    " AND last_line < $2::integer + $3::integer + " XSTR(DB_CHUNK_LINES)
    " AND first_line <= $2::integer + $3::integer) c"
    " WHERE before = 0 OR before + octet_length(body) <= $4::bigint ORDER BY last_line",
    4};

/* ---- writing ---- */

struct db_chunks {
    db_conn *conn;
    char task_id[256];
    size_t task_id_len;
    char *out; /* COPY data not sent yet */
    size_t out_len;
    char *body; /* the chunk being filled: its lines' bytes, */
    size_t body_len;
    int64_t first;    /* its first line, */
    int n;            /* how many it holds, */
    db_barray starts; /* where each begins in body (the end is added as it is written), */
    db_barray errors; /* the upload's verdict on each (NULL: none), */
    bool flagged;     /* and whether any has one */
};

/* Sends the buffered COPY data. */
static int chunks_flush(db_chunks *w) {
    int err = w->out_len > 0 ? db_copy_put(w->conn, w->out, w->out_len) : 0;
    w->out_len = 0;
    return err;
}

/* Appends len bytes to the COPY data; bytes larger than the buffer go out directly. */
static int chunks_put(db_chunks *w, const void *data, size_t len) {
    if (w->out_len + len > COPY_BUFFER) {
        int err = chunks_flush(w);
        if (err < 0)
            return err;
        if (len > COPY_BUFFER)
            return db_copy_put(w->conn, data, len);
    }
    memcpy(w->out + w->out_len, data, len);
    w->out_len += len;
    return 0;
}

/* Appends a big-endian integer of size bytes (2 or 4), as binary COPY spells them. */
static int chunks_put_int(db_chunks *w, uint32_t value, int size) {
    unsigned char be[4] = {value >> 24, value >> 16, value >> 8, value};
    return chunks_put(w, be + 4 - size, (size_t)size);
}

/* Appends one field: its length, then its bytes; NULL when data is. */
static int chunks_put_field(db_chunks *w, const void *data, size_t len) {
    int err = chunks_put_int(w, data == NULL ? UINT32_MAX : (uint32_t)len, 4);
    return err < 0 || data == NULL ? err : chunks_put(w, data, len);
}

/* Writes the chunk being filled, whose bytes are body (w->body, or one long line's own text),
 * as one row: task_id, first_line, last_line, starts, errors, body. */
static int chunks_write(db_chunks *w, const char *body, size_t body_len) {
    db_barray_add_int32(&w->starts, (int32_t)body_len);
    int starts_len, errors_len;
    const char *starts = db_barray_bytes(&w->starts, &starts_len);
    const char *errors = db_barray_bytes(&w->errors, &errors_len);
    int err = chunks_put_int(w, 6, 2); /* fields */
    if (err == 0)
        err = chunks_put_field(w, w->task_id, w->task_id_len);
    for (int k = 0; k < 2 && err == 0; k++) {
        err = chunks_put_int(w, 4, 4);
        if (err == 0)
            err = chunks_put_int(w, (uint32_t)(w->first + (k ? w->n - 1 : 0)), 4);
    }
    if (err == 0)
        err = chunks_put_field(w, starts, (size_t)starts_len);
    if (err == 0)
        err = chunks_put_field(w, w->flagged ? errors : NULL, (size_t)errors_len);
    if (err == 0)
        err = chunks_put_field(w, body, body_len);
    w->first += w->n;
    w->n = 0;
    w->body_len = 0;
    w->flagged = false;
    db_barray_reset(&w->starts);
    db_barray_reset(&w->errors);
    return err;
}

int db_chunks_begin(db_conn *conn, const char *task_id, db_chunks **out) {
    int err = db_copy_begin(conn, "COPY import_chunks (task_id, first_line, last_line, starts,"
                                  " errors, body) FROM STDIN (FORMAT binary)");
    if (err < 0)
        return err;
    db_chunks *w = calloc(1, sizeof *w);
    if (w == NULL || (w->out = malloc(COPY_BUFFER)) == NULL ||
        (w->body = malloc(DB_CHUNK_BYTES)) == NULL)
        abort();
    w->conn = conn;
    db_barray_init(&w->starts, DB_OID_INT4);
    db_barray_init(&w->errors, DB_OID_TEXT);
    w->task_id_len = strlen(task_id) < sizeof w->task_id ? strlen(task_id) : sizeof w->task_id - 1;
    memcpy(w->task_id, task_id, w->task_id_len);
    w->first = 1;
    /* Binary COPY's header: its signature, flags and header extension length. */
    static const char header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
    memcpy(w->out, header, sizeof header);
    w->out_len = sizeof header;
    *out = w;
    return 0;
}

int db_chunks_line(db_chunks *w, int64_t line_no, const char *text, size_t len,
                   const char *error_code) {
    if (line_no != w->first + w->n)
        return BI_EINTERNAL; /* lines come in order, each once */
    if (text == NULL)
        len = 0;
    int err = 0;
    if (w->n == DB_CHUNK_LINES || (w->n > 0 && w->body_len + len > DB_CHUNK_BYTES))
        err = chunks_write(w, w->body, w->body_len);
    if (err < 0)
        return err;
    const char *code = text == NULL ? error_code : NULL;
    db_barray_add(&w->errors, code);
    w->flagged |= code != NULL;
    db_barray_add_int32(&w->starts, (int32_t)w->body_len);
    w->n++;
    if (len > DB_CHUNK_BYTES) /* a long line: a chunk of its own, sent from where it is */
        return chunks_write(w, text, len);
    if (len > 0)
        memcpy(w->body + w->body_len, text, len);
    w->body_len += len;
    return 0;
}

int db_chunks_end(db_chunks *w, const char *error) {
    int err = 0;
    if (error == NULL) {
        if (w->n > 0)
            err = chunks_write(w, w->body, w->body_len);
        if (err == 0)
            err = chunks_put_int(w, UINT16_MAX, 2); /* the trailer */
        if (err == 0)
            err = chunks_flush(w);
    }
    int end = db_copy_end(w->conn, error == NULL && err == 0 ? NULL : error ? error : "failed");
    free(w->out);
    free(w->body);
    db_barray_fini(&w->starts);
    db_barray_fini(&w->errors);
    free(w);
    return err < 0 ? err : error == NULL ? end : 0;
}

/* ---- reading ---- */

typedef struct db_line {
    int64_t number;
    const char *text; /* NULL: flagged */
    size_t len;
    const char *error;
} db_line;

struct db_lines {
    PGresult *res;
    db_line *line;
    size_t n;
    char *errors; /* the flagged chunks' codes, each NUL-terminated */
};

/* Reads "{0,12,40}" into starts (count entries at most); returns how many there were. */
static int lines_parse_starts(const char *text, int32_t *starts, int count) {
    int n = 0;
    for (const char *p = text + 1; *p != '\0' && *p != '}' && n < count; n++) {
        char *end;
        starts[n] = (int32_t)strtol(p, &end, 10);
        p = *end == ',' ? end + 1 : end;
    }
    return n;
}

/* Adds the lines of row's chunk numbered after + 1 .. through to lines. */
static void lines_add_chunk(db_lines *lines, int row, int64_t after, int64_t through,
                            char **errors_at) {
    const PGresult *res = lines->res;
    int64_t first = strtoll(PQgetvalue(res, row, 0), NULL, 10);
    int64_t last = strtoll(PQgetvalue(res, row, 1), NULL, 10);
    int32_t starts[DB_CHUNK_LINES + 1];
    int n_starts = lines_parse_starts(PQgetvalue(res, row, 2), starts, DB_CHUNK_LINES + 1);
    const char *body = PQgetvalue(res, row, 4);
    size_t body_len = (size_t)PQgetlength(res, row, 4);
    const char *code = NULL, *codes_end = NULL; /* the next line's error code, if any */
    if (!PQgetisnull(res, row, 3)) {
        code = *errors_at;
        size_t len = (size_t)PQgetlength(res, row, 3);
        codes_end = code + len + 1;
        memcpy(*errors_at, PQgetvalue(res, row, 3), len + 1);
        for (size_t i = 0; i < len; i++)
            if ((*errors_at)[i] == ',')
                (*errors_at)[i] = '\0';
        *errors_at += len + 1;
    }
    for (int64_t number = first; number <= last; number++) {
        int k = (int)(number - first);
        const char *error = code != NULL && *code != '\0' ? code : NULL;
        if (code != NULL) /* a damaged row with fewer codes than lines: the rest have none */
            code = code + strlen(code) + 1 < codes_end ? code + strlen(code) + 1 : NULL;
        if (number <= after || number > through)
            continue;
        size_t begin = k < n_starts ? (size_t)starts[k] : body_len;
        size_t end = k + 1 < n_starts ? (size_t)starts[k + 1] : body_len;
        if (begin > body_len || end > body_len || end < begin)
            begin = end = body_len; /* a damaged row: its lines read as empty, never past it */
        lines->line[lines->n++] = (db_line){number, error ? NULL : body + begin,
                                            error ? 0 : end - begin, error};
    }
}

int db_lines_read(db_conn *conn, const char *task_id, int64_t after, long limit,
                  int64_t max_bytes, db_lines **out) {
    db_int after_text = db_int_text(after), limit_text = db_int_text(limit),
           bytes_text = db_int_text(max_bytes);
    const char *values[] = {task_id, after_text.s, limit_text.s, bytes_text.s};
    PGresult *res = NULL;
    int err = db_exec_text(conn, &stmt_read, values, PGRES_TUPLES_OK, &res);
    if (err < 0)
        return err;
    db_lines *lines = calloc(1, sizeof *lines);
    size_t errors_len = 0;
    for (int row = 0; row < PQntuples(res); row++)
        errors_len += (size_t)PQgetlength(res, row, 3) + 1;
    if (lines == NULL || (lines->line = malloc(((size_t)limit + 1) * sizeof *lines->line)) == NULL ||
        (lines->errors = malloc(errors_len + 1)) == NULL)
        abort();
    lines->res = res;
    char *errors_at = lines->errors;
    for (int row = 0; row < PQntuples(res); row++)
        lines_add_chunk(lines, row, after, after + limit, &errors_at);
    *out = lines;
    return 0;
}

size_t db_lines_count(const db_lines *lines) { return lines->n; }

const char *db_lines_get(const db_lines *lines, size_t i, int64_t *number, size_t *len,
                         const char **error_code) {
    *number = lines->line[i].number;
    *len = lines->line[i].len;
    *error_code = lines->line[i].error;
    return lines->line[i].text;
}

void db_lines_free(db_lines *lines) {
    if (lines == NULL)
        return;
    PQclear(lines->res);
    free(lines->line);
    free(lines->errors);
    free(lines);
}
