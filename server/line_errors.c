#include "line_errors.h"

#include "jsontext.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define LINE_ERRORS_DEPTH 1000 /* as deep as the importer reads */

/* What the upload's flag on a line means, for a line that never got a result of its own. */
static const char *line_errors_upload_message(const char *code) {
    if (strcmp(code, "invalid_utf8") == 0)
        return "the line is not valid UTF-8";
    if (strcmp(code, "nul_byte") == 0)
        return "the line holds a NUL byte";
    if (strcmp(code, "line_too_long") == 0)
        return "the line is longer than the server's --max-line-bytes";
    return "the upload could not keep the line";
}

/* The CSV row a converted line names in its first member ("__csv_row": N), or 0. */
static long line_errors_csv_row(const char *text, size_t len) {
    static const char prefix[] = "{\"__csv_row\":";
    if (len < sizeof prefix || memcmp(text, prefix, sizeof prefix - 1) != 0 ||
        !isdigit((unsigned char)text[sizeof prefix - 1]))
        return 0;
    return strtol(text + sizeof prefix - 1, NULL, 10);
}

/* Writes "{\"__error\":{…}" (code, message, line, row) without closing the object. */
static int line_errors_open(const db_line *line, const char *code, const char *message,
                            line_errors_write_fn write, void *ctx) {
    cJSON *error = cJSON_CreateObject();
    cJSON_AddStringToObject(error, "code", code ? code : "failed");
    cJSON_AddStringToObject(error, "message", message ? message : "");
    cJSON_AddNumberToObject(error, "line", (double)line->line_no);
    long row = line->text ? line_errors_csv_row(line->text, line->len) : 0;
    if (row > 0)
        cJSON_AddNumberToObject(error, "row", (double)row);
    char *text = cJSON_PrintUnformatted(error);
    cJSON_Delete(error);
    if (text == NULL)
        abort();
    int err = write("{\"__error\":", 11, ctx);
    if (err == 0)
        err = write(text, strlen(text), ctx);
    free(text);
    return err;
}

/* Whether text is one JSON object as the importer reads it; *brace is where its '{' is. */
static bool line_errors_is_object(const char *text, size_t len, size_t *brace) {
    size_t at = 0;
    while (at < len && (text[at] == ' ' || text[at] == '\t' || text[at] == '\r'))
        at++;
    jsontext_error jerr;
    *brace = at;
    return at < len && text[at] == '{' &&
           jsontext_scan(text, len, LINE_ERRORS_DEPTH, NULL, NULL, &jerr) == 0;
}

/* Writes line with the reason (code, message) as described in line_errors.h. */
static int line_errors_write_with(const db_line *line, const char *code, const char *message,
                                  line_errors_write_fn write, void *ctx) {
    int err = line_errors_open(line, code, message, write, ctx);
    size_t brace;
    if (err == 0 && line->text != NULL && line_errors_is_object(line->text, line->len, &brace)) {
        const char *rest = line->text + brace + 1; /* the members, byte for byte */
        size_t rest_len = line->len - brace - 1;
        size_t gap = 0;
        while (gap < rest_len && strchr(" \t\r\n", rest[gap]) != NULL && rest[gap] != '\0')
            gap++;
        bool empty = gap < rest_len && rest[gap] == '}';
        if (!empty)
            err = write(",", 1, ctx);
        if (err == 0)
            err = write(rest, rest_len, ctx);
    } else if (err == 0) {
        char *quoted = NULL;
        if (line->text != NULL) {
            char *copy = strndup(line->text, line->len);
            cJSON *s = cJSON_CreateString(copy);
            if (copy == NULL || s == NULL || (quoted = cJSON_PrintUnformatted(s)) == NULL)
                abort();
            cJSON_Delete(s);
            free(copy);
        }
        err = write(",\"__line\":", 10, ctx);
        if (err == 0)
            err = quoted ? write(quoted, strlen(quoted), ctx) : write("null", 4, ctx);
        if (err == 0)
            err = write("}", 1, ctx);
        free(quoted);
    }
    return err == 0 ? write("\n", 1, ctx) : err;
}

int line_errors_write_failed(const db_line *line, line_errors_write_fn write, void *ctx) {
    return line_errors_write_with(line, line->code, line->message, write, ctx);
}

int line_errors_write_unprocessed(const db_line *line, line_errors_write_fn write, void *ctx) {
    if (line->text == NULL)
        return line_errors_write_with(line, line->upload_error,
                                      line_errors_upload_message(line->upload_error ? line->upload_error : ""),
                                      write, ctx);
    int err = write(line->text, line->len, ctx);
    return err == 0 ? write("\n", 1, ctx) : err;
}
