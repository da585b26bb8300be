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

/* ---- binary arrays ---- */

#define BARRAY_HEADER 20 /* dimensions, null flag, element oid, length, lower bound */

static void db_barray_reserve(db_barray *a, size_t more) {
    if (a->len + more <= a->cap)
        return;
    size_t cap = a->cap ? a->cap : 256;
    while (cap < a->len + more)
        cap *= 2;
    if ((a->buf = realloc(a->buf, cap)) == NULL)
        abort();
    a->cap = cap;
}

/* Writes value big-endian at at. */
static void db_barray_put32(char *at, uint32_t value) {
    unsigned char be[4] = {value >> 24, value >> 16, value >> 8, value};
    memcpy(at, be, 4);
}

void db_barray_init(db_barray *a, uint32_t oid) {
    *a = (db_barray){.oid = oid};
    db_barray_reserve(a, BARRAY_HEADER);
    a->len = BARRAY_HEADER;
}

void db_barray_fini(db_barray *a) {
    free(a->buf);
    *a = (db_barray){0};
}

void db_barray_reset(db_barray *a) {
    a->len = BARRAY_HEADER;
    a->n = 0;
    a->nulls = false;
}

/* Appends one element: its length (-1: NULL) and, after a prefix of prefix_len bytes, its
 * bytes. */
static void db_barray_element(db_barray *a, const void *prefix, size_t prefix_len,
                              const void *bytes, size_t len) {
    a->n++;
    db_barray_reserve(a, 4 + prefix_len + len);
    if (bytes == NULL) {
        a->nulls = true;
        db_barray_put32(a->buf + a->len, UINT32_MAX);
        a->len += 4;
        return;
    }
    db_barray_put32(a->buf + a->len, (uint32_t)(prefix_len + len));
    a->len += 4;
    if (prefix_len > 0)
        memcpy(a->buf + a->len, prefix, prefix_len);
    a->len += prefix_len;
    if (len > 0)
        memcpy(a->buf + a->len, bytes, len);
    a->len += len;
}

void db_barray_add_text(db_barray *a, const char *text, size_t len) {
    static const char jsonb_version = 1; /* jsonb's binary form: a version byte, then the text */
    bool jsonb = a->oid == DB_OID_JSONB;
    db_barray_element(a, &jsonb_version, jsonb ? 1 : 0, text, len);
}

void db_barray_add(db_barray *a, const char *text) {
    db_barray_add_text(a, text, text ? strlen(text) : 0);
}

void db_barray_add_int64(db_barray *a, int64_t value) {
    char be[8];
    db_barray_put32(be, (uint32_t)((uint64_t)value >> 32));
    db_barray_put32(be + 4, (uint32_t)value);
    db_barray_element(a, NULL, 0, be, sizeof be);
}

void db_barray_add_int32(db_barray *a, int32_t value) {
    char be[4];
    db_barray_put32(be, (uint32_t)value);
    db_barray_element(a, NULL, 0, be, sizeof be);
}

void db_barray_add_bool(db_barray *a, bool value) {
    char byte = value ? 1 : 0;
    db_barray_element(a, NULL, 0, &byte, 1);
}

/* The value of hex digit c (callers pass digests they computed: lowercase or uppercase). */
static unsigned db_barray_nibble(char c) {
    return c >= '0' && c <= '9' ? (unsigned)(c - '0') : ((unsigned)c | 0x20) - 'a' + 10;
}

void db_barray_add_uuid_hex(db_barray *a, const char *hex) {
    unsigned char bytes[16];
    for (int i = 0; hex != NULL && i < 16; i++)
        bytes[i] = (unsigned char)(db_barray_nibble(hex[2 * i]) << 4 | db_barray_nibble(hex[2 * i + 1]));
    db_barray_element(a, NULL, 0, hex ? bytes : NULL, sizeof bytes);
}

const char *db_barray_bytes(db_barray *a, int *len) {
    /* An empty array has no dimension: its header is the first three words only, written
     * where they end at the elements. */
    int words = a->n > 0 ? 5 : 3;
    char *at = a->buf + BARRAY_HEADER - 4 * words;
    db_barray_put32(at, a->n > 0 ? 1 : 0);
    db_barray_put32(at + 4, a->nulls);
    db_barray_put32(at + 8, a->oid);
    if (a->n > 0) {
        db_barray_put32(at + 12, a->n);
        db_barray_put32(at + 16, 1);
    }
    *len = (int)(a->len - (size_t)(at - a->buf));
    return at;
}
