#include "array.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void db_array_reserve(db_array *a, size_t more) {
    if (a->len + more + 2 <= a->cap)
        return;
    size_t cap = a->cap ? a->cap : 256;
    while (cap < a->len + more + 2)
        cap *= 2;
    a->buf = realloc(a->buf, cap);
    if (a->buf == NULL)
        abort();
    a->cap = cap;
}

void db_array_init(db_array *a) {
    memset(a, 0, sizeof *a);
    db_array_reserve(a, 0);
    a->buf[a->len++] = '{';
}

void db_array_fini(db_array *a) {
    free(a->buf);
    memset(a, 0, sizeof *a);
}

void db_array_add_text(db_array *a, const char *text, size_t len) {
    db_array_reserve(a, 2 * len + 8);
    if (a->n++ > 0)
        a->buf[a->len++] = ',';
    if (text == NULL) {
        memcpy(a->buf + a->len, "NULL", 4);
        a->len += 4;
        return;
    }
    a->buf[a->len++] = '"';
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '"' || text[i] == '\\')
            a->buf[a->len++] = '\\';
        a->buf[a->len++] = text[i];
    }
    a->buf[a->len++] = '"';
}

void db_array_add(db_array *a, const char *text) {
    db_array_add_text(a, text, text ? strlen(text) : 0);
}

void db_array_add_int64(db_array *a, int64_t value) {
    char digits[24];
    int len = snprintf(digits, sizeof digits, "%" PRId64, value);
    db_array_add_text(a, digits, (size_t)len);
}

void db_array_add_bool(db_array *a, bool value) { db_array_add_text(a, value ? "t" : "f", 1); }

const char *db_array_literal(db_array *a) {
    db_array_reserve(a, 0);
    a->buf[a->len] = '}';
    a->buf[a->len + 1] = '\0';
    return a->buf;
}
