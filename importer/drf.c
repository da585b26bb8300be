#include "drf.h"

#include "error.h"
#include "jsontext.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- numbers as Python prints them ---- */

/* Whether the number token (len bytes, not NUL-terminated) has a fraction or an exponent:
 * json.loads then gives a float, else an int. */
static bool drf_is_float(const char *token, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (token[i] == '.' || token[i] == 'e' || token[i] == 'E')
            return true;
    return false;
}

int drf_number_text(const char *token, size_t len, char *out, size_t cap) {
    if (!drf_is_float(token, len)) { /* json.loads gives an int: its digits, "-0" is 0 */
        bool zero = len == 2 && token[0] == '-' && token[1] == '0';
        const char *digits = zero ? "0" : token;
        size_t n = zero ? 1 : len;
        if (n + 1 > cap)
            return -1;
        memcpy(out, digits, n);
        out[n] = '\0';
        return (int)n;
    }
    if (cap < DRF_NUMBER_MAX)
        return -1;
    char *copy = strndup(token, len);
    if (copy == NULL)
        abort();
    double v = strtod(copy, NULL); /* correctly rounded, as Python's float() */
    free(copy);
    if (isinf(v))
        return snprintf(out, cap, "%s", v < 0 ? "-inf" : "inf");
    /* repr(): the shortest digits that read back as v ... */
    char digits[32];
    int precision = 1;
    for (; precision <= 17; precision++) {
        snprintf(digits, sizeof digits, "%.*e", precision - 1, v);
        if (strtod(digits, NULL) == v)
            break;
    }
    bool negative = digits[0] == '-';
    const char *mantissa = digits + negative;
    int exponent = atoi(strchr(mantissa, 'e') + 1);
    char sig[20];
    size_t n = 0;
    for (const char *p = mantissa; *p != 'e'; p++)
        if (*p != '.')
            sig[n++] = *p;
    while (n > 1 && sig[n - 1] == '0')
        n--;
    sig[n] = '\0';
    /* ... written as float_repr_style 'short' does: fixed for 1e-4 <= |v| < 1e16, with at
     * least one digit after the point; else d.ddde+XX. */
    size_t o = 0;
    char buf[DRF_NUMBER_MAX];
    if (negative)
        buf[o++] = '-';
    if (exponent >= -4 && exponent < 16) {
        if (exponent < 0) {
            o += (size_t)snprintf(buf + o, sizeof buf - o, "0.");
            for (int z = 0; z < -exponent - 1; z++)
                buf[o++] = '0';
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%s", sig);
        } else {
            for (int k = 0; k <= exponent; k++)
                buf[o++] = k < (int)n ? sig[k] : '0';
            buf[o++] = '.';
            if ((int)n > exponent + 1)
                o += (size_t)snprintf(buf + o, sizeof buf - o, "%s", sig + exponent + 1);
            else
                buf[o++] = '0';
        }
    } else {
        buf[o++] = sig[0];
        if (n > 1)
            o += (size_t)snprintf(buf + o, sizeof buf - o, ".%s", sig + 1);
        o += (size_t)snprintf(buf + o, sizeof buf - o, "e%c%02d", exponent < 0 ? '-' : '+',
                              abs(exponent));
    }
    buf[o] = '\0';
    return snprintf(out, cap, "%s", buf);
}

/* ---- which fields are strings and booleans ---- */

enum drf_kind { DRF_OTHER, DRF_STRING, DRF_BOOLEAN };

typedef struct drf_field {
    const char *name;
    enum drf_kind kind;
} drf_field;

/* A line's own members, the same for every type (a name means one thing across OCL's types). */
static const drf_field drf_line_fields[] = {
    {"id", DRF_STRING},           {"type", DRF_STRING},
    {"name", DRF_STRING},         {"full_name", DRF_STRING},
    {"mnemonic", DRF_STRING},     {"owner", DRF_STRING},
    {"owner_type", DRF_STRING},   {"owner_url", DRF_STRING},
    {"source", DRF_STRING},       {"collection", DRF_STRING},
    {"collection_url", DRF_STRING}, {"concept_class", DRF_STRING},
    {"datatype", DRF_STRING},     {"external_id", DRF_STRING},
    {"description", DRF_STRING},  {"website", DRF_STRING},
    {"location", DRF_STRING},     {"company", DRF_STRING},
    {"public_access", DRF_STRING}, {"default_locale", DRF_STRING},
    {"source_type", DRF_STRING},  {"collection_type", DRF_STRING},
    {"custom_validation_schema", DRF_STRING}, {"canonical_url", DRF_STRING},
    {"preferred_source", DRF_STRING}, {"map_type", DRF_STRING},
    {"from_concept_url", DRF_STRING}, {"from_source_url", DRF_STRING},
    {"from_concept_code", DRF_STRING}, {"from_concept_name", DRF_STRING},
    {"to_concept_url", DRF_STRING}, {"to_source_url", DRF_STRING},
    {"to_concept_code", DRF_STRING}, {"to_concept_name", DRF_STRING},
    {"username", DRF_STRING},     {"email", DRF_STRING},
    {"first_name", DRF_STRING},   {"last_name", DRF_STRING},
    {"preferred_locale", DRF_STRING}, {"publisher", DRF_STRING},
    {"purpose", DRF_STRING},      {"copyright", DRF_STRING},
    {"version", DRF_STRING},
    {"retired", DRF_BOOLEAN},     {"released", DRF_BOOLEAN},
    {"experimental", DRF_BOOLEAN}, {"immutable", DRF_BOOLEAN},
    {"autoexpand_head", DRF_BOOLEAN},
};

/* Members of each object in "names" and "descriptions". */
static const drf_field drf_locale_fields[] = {
    {"name", DRF_STRING},        {"description", DRF_STRING}, {"locale", DRF_STRING},
    {"name_type", DRF_STRING},   {"description_type", DRF_STRING},
    {"external_id", DRF_STRING}, {"locale_preferred", DRF_BOOLEAN},
};

static enum drf_kind drf_kind_of(const drf_field *fields, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(fields[i].name, name) == 0)
            return fields[i].kind;
    return DRF_OTHER;
}

/* DRF's BooleanField.TRUE_VALUES and FALSE_VALUES (strings; DRF 3.16 compares them lower-cased;
 * the numbers are 1 and 0). */
static int drf_boolean_spelling(const char *s) {
    static const char *const truths[] = {"t", "y", "yes", "true", "on", "1"};
    static const char *const lies[] = {"f", "n", "no", "false", "off", "0"};
    for (size_t i = 0; i < sizeof truths / sizeof truths[0]; i++) {
        if (strcasecmp(s, truths[i]) == 0)
            return 1;
        if (strcasecmp(s, lies[i]) == 0)
            return 0;
    }
    return -1;
}

/* ---- the rewrite ---- */

typedef struct drf_edit {
    size_t value; /* the preorder index of the scalar value it replaces */
    char text[DRF_NUMBER_MAX + 3]; /* its new JSON text; numbers of long integers go apart */
    char *long_text; /* malloc'd, when an integer's digits do not fit in text */
} drf_edit;

typedef struct drf_walk {
    const char *text;
    size_t len;
    size_t values;   /* scalars seen so far, in preorder */
    drf_edit *edits; /* in preorder */
    size_t n_edits, cap_edits;
    size_t *spans;   /* at, len of each edit's value, filled by the scan */
    size_t next;     /* the next edit the scan looks for */
    rules_error *err;
} drf_walk;

static int drf_fail(drf_walk *w, const char *field, const char *what) {
    w->err->code = BI_EFIELDTYPE;
    snprintf(w->err->field, sizeof w->err->field, "%s", field);
    snprintf(w->err->message, sizeof w->err->message, "'%s' must be %s", field, what);
    return BI_EFIELDTYPE;
}

static drf_edit *drf_add_edit(drf_walk *w) {
    if (w->n_edits == w->cap_edits) {
        w->cap_edits = w->cap_edits ? w->cap_edits * 2 : 8;
        if ((w->edits = realloc(w->edits, w->cap_edits * sizeof *w->edits)) == NULL)
            abort();
    }
    drf_edit *e = &w->edits[w->n_edits++];
    memset(e, 0, sizeof *e);
    e->value = w->values;
    return e;
}

/* The scan's callback: records the span of each scalar an edit replaces. */
static int drf_span(size_t at, size_t len, void *ctx) {
    drf_walk *w = ctx;
    size_t index = w->values++;
    if (w->next < w->n_edits && w->edits[w->next].value == index) {
        w->spans[2 * w->next] = at;
        w->spans[2 * w->next + 1] = len;
        w->next++;
    }
    return 0;
}

/* The number item (a scalar, the walk's current one) as its token in the text. Found by a scan
 * up to it: cJSON keeps only a double, and an integer's digits must stay exact. */
static int drf_token(drf_walk *w, const char **out, size_t *out_len) {
    drf_walk probe = {.edits = &(drf_edit){.value = w->values}, .n_edits = 1,
                      .spans = (size_t[2]){0, 0}};
    jsontext_error jerr;
    jsontext_scan(w->text, w->len, 1000, drf_span, &probe, &jerr);
    if (probe.next != 1)
        return -1;
    *out = w->text + probe.spans[0];
    *out_len = probe.spans[1];
    return 0;
}

/* Puts value in item's place in parent, under item's name; frees item. */
static void drf_replace(cJSON *parent, cJSON *item, cJSON *value) {
    if (value == NULL)
        abort();
    value->string = item->string; /* the name moves over */
    item->string = NULL;
    if (!cJSON_ReplaceItemViaPointer(parent, item, value))
        abort();
}

/* Canonicalizes item, a member of kind named field; replaces it in parent when its type
 * changes. Returns 0 or BI_EFIELDTYPE. */
static int drf_member(drf_walk *w, cJSON *parent, cJSON *item, enum drf_kind kind,
                      const char *field) {
    if (kind == DRF_STRING) {
        if (cJSON_IsBool(item) || cJSON_IsObject(item) || cJSON_IsArray(item))
            return drf_fail(w, field, "a string");
        if (!cJSON_IsNumber(item))
            return 0;
        const char *token;
        size_t token_len;
        if (drf_token(w, &token, &token_len) < 0)
            return drf_fail(w, field, "a string");
        drf_edit *e = drf_add_edit(w);
        char *number = e->text + 1;
        size_t cap = sizeof e->text - 2;
        if (token_len + 1 > cap && !drf_is_float(token, token_len)) {
            if ((e->long_text = malloc(token_len + 3)) == NULL)
                abort();
            number = e->long_text + 1;
            cap = token_len + 1;
        }
        int n = drf_number_text(token, token_len, number, cap);
        if (n < 0)
            return drf_fail(w, field, "a string");
        drf_replace(parent, item, cJSON_CreateString(number)); /* the line gets it quoted */
        number[-1] = '"';
        number[n] = '"';
        number[n + 1] = '\0';
        return 0;
    }
    if (kind != DRF_BOOLEAN || cJSON_IsBool(item) || cJSON_IsNull(item))
        return 0;
    int truth = -1;
    if (cJSON_IsString(item))
        truth = drf_boolean_spelling(item->valuestring);
    else if (cJSON_IsNumber(item) && (item->valuedouble == 1 || item->valuedouble == 0))
        truth = item->valuedouble == 1;
    if (truth < 0)
        return drf_fail(w, field, "true or false");
    drf_edit *e = drf_add_edit(w);
    snprintf(e->text, sizeof e->text, "%s", truth ? "true" : "false");
    drf_replace(parent, item, cJSON_CreateBool(truth));
    return 0;
}

/* Walks value in preorder, counting scalars; fields (n of them) say what kind the members of
 * an object value are, NULL when none is known. */
static int drf_visit(drf_walk *w, cJSON *value, const drf_field *fields, size_t n,
                     bool top) {
    if (!cJSON_IsObject(value) && !cJSON_IsArray(value)) {
        w->values++;
        return 0;
    }
    for (cJSON *item = value->child, *next; item != NULL; item = next) {
        next = item->next;
        enum drf_kind kind =
            fields && cJSON_IsObject(value) ? drf_kind_of(fields, n, item->string) : DRF_OTHER;
        if (kind != DRF_OTHER) {
            int rc = drf_member(w, value, item, kind, item->string);
            if (rc < 0)
                return rc;
            w->values++;
            continue;
        }
        const drf_field *inner = NULL;
        size_t n_inner = 0;
        if (top && cJSON_IsArray(item) &&
            (strcmp(item->string, "names") == 0 || strcmp(item->string, "descriptions") == 0)) {
            inner = drf_locale_fields;
            n_inner = sizeof drf_locale_fields / sizeof drf_locale_fields[0];
        }
        if (inner != NULL) {
            for (cJSON *entry = item->child; entry != NULL; entry = entry->next) {
                int rc = drf_visit(w, entry, cJSON_IsObject(entry) ? inner : NULL, n_inner, false);
                if (rc < 0)
                    return rc;
            }
            continue;
        }
        int rc = drf_visit(w, item, NULL, 0, false);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void drf_walk_free(drf_walk *w) {
    for (size_t i = 0; i < w->n_edits; i++)
        free(w->edits[i].long_text);
    free(w->edits);
    free(w->spans);
}

int drf_canonicalize(cJSON *line, const char *text, size_t len, char **out_text, size_t *out_len,
                     rules_error *err) {
    *out_text = NULL;
    *out_len = 0;
    if (!cJSON_IsObject(line))
        return 0;
    drf_walk w = {.text = text, .len = len, .err = err};
    int rc = drf_visit(&w, line, drf_line_fields,
                       sizeof drf_line_fields / sizeof drf_line_fields[0], true);
    if (rc < 0 || w.n_edits == 0) {
        drf_walk_free(&w);
        return rc;
    }
    if ((w.spans = calloc(2 * w.n_edits, sizeof *w.spans)) == NULL)
        abort();
    w.values = 0;
    jsontext_error jerr;
    jsontext_scan(text, len, 1000, drf_span, &w, &jerr);
    size_t total = len;
    for (size_t i = 0; i < w.n_edits; i++) {
        const char *t = w.edits[i].long_text ? w.edits[i].long_text : w.edits[i].text;
        total += strlen(t) - w.spans[2 * i + 1];
    }
    char *out = malloc(total + 1);
    if (out == NULL)
        abort();
    size_t from = 0, o = 0;
    for (size_t i = 0; i < w.n_edits; i++) {
        const char *t = w.edits[i].long_text ? w.edits[i].long_text : w.edits[i].text;
        size_t at = w.spans[2 * i];
        memcpy(out + o, text + from, at - from);
        o += at - from;
        memcpy(out + o, t, strlen(t));
        o += strlen(t);
        from = at + w.spans[2 * i + 1];
    }
    memcpy(out + o, text + from, len - from);
    o += len - from;
    out[o] = '\0';
    drf_walk_free(&w);
    *out_text = out;
    *out_len = o;
    return 0;
}
