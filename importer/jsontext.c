#include "jsontext.h"

#include "utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* PostgreSQL's numeric (src/backend/utils/adt/numeric.c): at most this many digits before the
 * decimal point and after it. */
#define JSONTEXT_NUMERIC_WEIGHT_MAX 131072
#define JSONTEXT_NUMERIC_SCALE_MAX 16383

typedef struct scanner {
    const char *s;
    size_t len, i;
    int depth, max_depth;
    jsontext_value_fn each;
    void *ctx;
    jsontext_error *err;
} scanner;

static int scan_fail(scanner *c, const char *what) {
    c->err->at = c->i + 1;
    snprintf(c->err->why, sizeof c->err->why, "invalid JSON: %s at byte %zu", what, c->i + 1);
    return -1;
}

static void scan_space(scanner *c) {
    while (c->i < c->len && (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n' ||
                             c->s[c->i] == '\r'))
        c->i++;
}

static long scan_hex4(const scanner *c, size_t at) {
    if (at + 4 > c->len)
        return -1;
    long v = 0;
    for (size_t k = at; k < at + 4; k++) {
        char ch = c->s[k];
        int d = ch >= '0' && ch <= '9'   ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                         : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* A string at c->i (its opening quote). */
static int scan_string(scanner *c) {
    const unsigned char *u = (const unsigned char *)c->s;
    c->i++;
    while (c->i < c->len) {
        unsigned char ch = u[c->i];
        if (ch == '"') {
            c->i++;
            return 0;
        }
        if (ch < 0x20)
            return scan_fail(c, "raw control character in a string");
        if (ch >= 0x80) {
            size_t n = utf8_sequence_len(u + c->i, c->len - c->i);
            if (n == 0)
                return scan_fail(c, "invalid UTF-8");
            c->i += n;
            continue;
        }
        if (ch != '\\') {
            c->i++;
            continue;
        }
        if (c->i + 1 >= c->len)
            break;
        char e = c->s[c->i + 1];
        if (strchr("\"\\/bfnrt", e) != NULL && e != '\0') {
            c->i += 2;
            continue;
        }
        if (e != 'u')
            return scan_fail(c, "invalid escape in a string");
        long v = scan_hex4(c, c->i + 2);
        if (v < 0)
            return scan_fail(c, "invalid \\u escape");
        if (v == 0)
            return scan_fail(c, "\\u0000 in a string");
        if (v >= 0xDC00 && v <= 0xDFFF)
            return scan_fail(c, "unpaired surrogate escape");
        if (v >= 0xD800 && v <= 0xDBFF) {
            long low = c->i + 7 < c->len && c->s[c->i + 6] == '\\' && c->s[c->i + 7] == 'u'
                           ? scan_hex4(c, c->i + 8)
                           : -1;
            if (!(low >= 0xDC00 && low <= 0xDFFF))
                return scan_fail(c, "unpaired surrogate escape");
            c->i += 6;
        }
        c->i += 6;
    }
    return scan_fail(c, "unterminated string");
}

static bool scan_digit(const scanner *c) {
    return c->i < c->len && c->s[c->i] >= '0' && c->s[c->i] <= '9';
}

/* A number at c->i: RFC 8259's grammar, and a value numeric can hold. */
static int scan_number(scanner *c) {
    size_t start = c->i;
    if (c->s[c->i] == '-')
        c->i++;
    if (!scan_digit(c))
        return scan_fail(c, "invalid number");
    /* The value is 0.<significant digits> x 10^point: point counts the digits before the
     * decimal point once leading zeros are gone. */
    bool nonzero = false;
    int64_t point = 0, fraction = 0;
    if (c->s[c->i] == '0') {
        c->i++;
        if (scan_digit(c)) {
            c->i = start;
            return scan_fail(c, "leading zero in a number");
        }
    } else {
        nonzero = true;
        while (scan_digit(c))
            c->i++, point++;
    }
    if (c->i < c->len && c->s[c->i] == '.') {
        c->i++;
        if (!scan_digit(c))
            return scan_fail(c, "invalid number");
        while (scan_digit(c)) {
            if (!nonzero && c->s[c->i] == '0')
                point--;
            nonzero |= c->s[c->i] != '0';
            c->i++, fraction++;
        }
    }
    int64_t exponent = 0;
    if (c->i < c->len && (c->s[c->i] == 'e' || c->s[c->i] == 'E')) {
        c->i++;
        bool negative = c->i < c->len && c->s[c->i] == '-';
        if (c->i < c->len && (c->s[c->i] == '-' || c->s[c->i] == '+'))
            c->i++;
        if (!scan_digit(c))
            return scan_fail(c, "invalid number");
        for (; scan_digit(c); c->i++)
            if (exponent < INT64_C(1) << 40) /* saturates far beyond numeric's range */
                exponent = exponent * 10 + (c->s[c->i] - '0');
        if (negative)
            exponent = -exponent;
    }
    int64_t scale = fraction - exponent;
    if ((nonzero && point + exponent > JSONTEXT_NUMERIC_WEIGHT_MAX) ||
        scale > JSONTEXT_NUMERIC_SCALE_MAX) {
        c->i = start;
        return scan_fail(c, "number out of range");
    }
    return 0;
}

static int scan_literal(scanner *c, const char *word) {
    size_t n = strlen(word);
    if (c->len - c->i < n || memcmp(c->s + c->i, word, n) != 0)
        return scan_fail(c, "unexpected character");
    c->i += n;
    return 0;
}

static int scan_value(scanner *c);

/* An object or an array at c->i (its opening bracket). */
static int scan_container(scanner *c) {
    bool object = c->s[c->i] == '{';
    char close = object ? '}' : ']';
    if (++c->depth > c->max_depth)
        return scan_fail(c, "nesting too deep");
    c->i++;
    scan_space(c);
    if (c->i < c->len && c->s[c->i] == close) {
        c->i++;
        c->depth--;
        return 0;
    }
    for (;;) {
        int rc;
        scan_space(c);
        if (object) {
            if (c->i >= c->len || c->s[c->i] != '"')
                return scan_fail(c, "expected a member name");
            if ((rc = scan_string(c)) != 0)
                return rc;
            scan_space(c);
            if (c->i >= c->len || c->s[c->i] != ':')
                return scan_fail(c, "expected ':'");
            c->i++;
        }
        if ((rc = scan_value(c)) != 0)
            return rc;
        scan_space(c);
        if (c->i < c->len && c->s[c->i] == ',') {
            c->i++;
            continue;
        }
        if (c->i < c->len && c->s[c->i] == close) {
            c->i++;
            c->depth--;
            return 0;
        }
        return scan_fail(c, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int scan_value(scanner *c) {
    scan_space(c);
    if (c->i >= c->len)
        return scan_fail(c, "unexpected end");
    size_t start = c->i;
    int rc;
    switch (c->s[c->i]) {
    case '{':
    case '[':
        return scan_container(c);
    case '"':
        rc = scan_string(c);
        break;
    case 't':
        rc = scan_literal(c, "true");
        break;
    case 'f':
        rc = scan_literal(c, "false");
        break;
    case 'n':
        rc = scan_literal(c, "null");
        break;
    default:
        rc = c->s[c->i] == '-' || (c->s[c->i] >= '0' && c->s[c->i] <= '9')
                 ? scan_number(c)
                 : scan_fail(c, "unexpected character");
    }
    if (rc == 0 && c->each != NULL)
        rc = c->each(start, c->i - start, c->ctx);
    return rc;
}

int jsontext_scan(const char *text, size_t len, int max_depth, jsontext_value_fn each,
                  void *ctx, jsontext_error *err) {
    scanner c = {text, len, 0, 0, max_depth, each, ctx, err};
    int rc = scan_value(&c);
    if (rc != 0)
        return rc;
    scan_space(&c);
    return c.i < c.len ? scan_fail(&c, "text after the value") : 0;
}
