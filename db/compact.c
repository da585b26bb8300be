/* compact.c — see compact.h. */
#include "compact.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Moves n bytes from src to dst (dst <= src, or a distinct buffer of room) without the
 * whitespace outside strings; returns the bytes written. */
static size_t compact_into(char *dst, const char *src, size_t n) {
    size_t out = 0;
    bool in_string = false, escaped = false;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
            continue;
        } else if (c == '"') {
            in_string = true;
        }
        dst[out++] = c;
    }
    return out;
}

size_t db_json_compact(char *json) {
    size_t out = compact_into(json, json, strlen(json));
    json[out] = '\0';
    return out;
}

size_t db_json_compact_copy(const char *json, size_t len, char **buf, size_t *cap) {
    if (*buf == NULL || *cap < len + 1) {
        size_t grown = len + 1 > 2 * *cap ? len + 1 : 2 * *cap;
        char *bigger = realloc(*buf, grown);
        if (bigger == NULL)
            abort();
        *buf = bigger;
        *cap = grown;
    }
    size_t out = compact_into(*buf, json, len);
    (*buf)[out] = '\0';
    return out;
}
