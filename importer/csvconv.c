#include "csvconv.h"

#include "error.h"
#include "pyjson.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ocldev's standard definitions, as JSON. */
static const char csvconv_definitions[] =
#include "csv_definitions.inc"
    ;

#define CSVCONV_MAX_PASSES 16
#define CSVCONV_ERROR_MAX 300

struct csvconv {
    cJSON *defs;                             /* ocldev's list, all of it */
    const cJSON *pass[CSVCONV_MAX_PASSES];   /* the active definitions, in order */
    bool needed[CSVCONV_MAX_PASSES];
    size_t passes;
    /* The header: each distinct name once, in the order of its first column; a name repeated
     * takes its last column's value (Python's dict(zip(names, row))). */
    char **names;
    size_t *column;
    size_t n_names;
    size_t n_columns;
    size_t *slots; /* open addressing over names: index + 1, 0 empty; n_slots a power of 2 */
    size_t n_slots;
    /* Per pass, what depends on the header only: the trigger's column (-1: absent), and for an
     * AUTO-RESOURCE definition its indexes and the definitions generated for them. */
    ssize_t trigger_column[CSVCONV_MAX_PASSES];
    cJSON *generated[CSVCONV_MAX_PASSES]; /* NULL: not an AUTO-RESOURCE definition */
};

/* A row as the converter reads it: a CSV row, or (where ocldev checks a built sub-resource with
 * the same code) a JSON object. */
typedef struct conv_row {
    const csvconv *c;
    const csv_record *rec;
    const cJSON *obj;
} conv_row;

typedef struct conv_error {
    char message[CSVCONV_ERROR_MAX];
} conv_error;

static int conv_fail(conv_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int conv_fail(conv_error *e, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return BI_EINVAL;
}

static void *conv_check(void *p) {
    if (p == NULL)
        abort();
    return p;
}

/* ---- definitions ---- */

static const char *def_string(const cJSON *def, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(def, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Python's truth of def[key], absent being false. */
static bool def_truthy(const cJSON *def, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(def, key);
    if (v == NULL || cJSON_IsNull(v) || cJSON_IsFalse(v))
        return false;
    if (cJSON_IsString(v))
        return v->valuestring[0] != '\0';
    if (cJSON_IsArray(v) || cJSON_IsObject(v))
        return v->child != NULL;
    if (cJSON_IsNumber(v))
        return v->valuedouble != 0;
    return true;
}

static bool def_has(const cJSON *def, const char *key) {
    return cJSON_GetObjectItemCaseSensitive(def, key) != NULL;
}

/* ---- rows ---- */

static size_t conv_hash(const char *name) {
    size_t h = 2166136261u; /* FNV-1a */
    for (; *name; name++)
        h = (h ^ (unsigned char)*name) * 16777619u;
    return h;
}

static ssize_t conv_name_index(const csvconv *c, const char *name) {
    if (c->n_slots == 0)
        return -1;
    for (size_t at = conv_hash(name) & (c->n_slots - 1);; at = (at + 1) & (c->n_slots - 1)) {
        size_t slot = c->slots[at];
        if (slot == 0)
            return -1;
        if (strcmp(c->names[slot - 1], name) == 0)
            return (ssize_t)slot - 1;
    }
}

/* Whether row has column name, and its value in *value: a string, or NULL for Python's None
 * (a CSV row shorter than the header; a JSON value that is not a string). */
static bool row_get(const conv_row *row, const char *name, const char **value) {
    *value = NULL;
    if (row->obj != NULL) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(row->obj, name);
        if (v != NULL && cJSON_IsString(v))
            *value = v->valuestring;
        return v != NULL;
    }
    ssize_t i = conv_name_index(row->c, name);
    if (i < 0)
        return false;
    size_t col = row->c->column[i];
    if (col < row->rec->n)
        *value = row->rec->fields[col];
    return true;
}

/* Python's csv_row[name] != '' for a present name: None and non-strings are not ''. */
static bool row_nonempty_cell(const conv_row *row, const char *name) {
    const char *v;
    if (!row_get(row, name, &v))
        return false;
    if (row->obj != NULL && v == NULL)
        return true; /* a JSON value that is not a string */
    return v == NULL || v[0] != '\0';
}

/* ---- values ---- */

/* Python's repr of a float, which json.dumps writes: the shortest digits that read back. */
static cJSON *conv_float(double d) {
    char digits[40], out[48];
    int p = 1;
    for (; p < 17; p++) {
        snprintf(digits, sizeof digits, "%.*e", p - 1, d);
        if (strtod(digits, NULL) == d)
            break;
    }
    snprintf(digits, sizeof digits, "%.*e", p - 1, d);
    int exp = atoi(strchr(digits, 'e') + 1);
    if (exp >= -4 && exp < 16) {
        int decimals = p - 1 - exp;
        snprintf(out, sizeof out, "%.*f", decimals < 1 ? 1 : decimals, d);
    } else {
        snprintf(out, sizeof out, "%s", digits);
    }
    return conv_check(cJSON_CreateRaw(out));
}

static void conv_strip(const char **s, size_t *len) {
    while (*len > 0 && strchr(" \t\n\r\f\v", (*s)[0]) != NULL)
        (*s)++, (*len)--;
    while (*len > 0 && strchr(" \t\n\r\f\v", (*s)[*len - 1]) != NULL)
        (*len)--;
}

/* Python's int(value): decimal digits, optional sign, single underscores between digits,
 * surrounding whitespace; any size. */
static cJSON *conv_int(const char *value, conv_error *e) {
    const char *s = value;
    size_t len = strlen(s);
    conv_strip(&s, &len);
    char *out = conv_check(malloc(len + 2));
    size_t n = 0;
    size_t i = 0;
    if (i < len && (s[i] == '+' || s[i] == '-')) {
        if (s[i] == '-')
            out[n++] = '-';
        i++;
    }
    bool ok = i < len, digit_before = false;
    for (; ok && i < len; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            out[n++] = s[i];
            digit_before = true;
        } else {
            ok = s[i] == '_' && digit_before && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '9';
            digit_before = false;
        }
    }
    out[n] = '\0';
    cJSON *v = NULL;
    if (ok) {
        char *d = out + (out[0] == '-'); /* no leading zeros: int("007") is 7 */
        size_t zeros = strspn(d, "0");
        if (d[zeros] == '\0')
            zeros--;
        memmove(d, d + zeros, strlen(d + zeros) + 1);
        if (strcmp(out, "-0") == 0)
            strcpy(out, "0");
        v = conv_check(cJSON_CreateRaw(out));
    } else {
        conv_fail(e, "invalid literal for int() with base 10: '%.100s'", value);
    }
    free(out);
    return v;
}

/* Python's float(value), for finite values (JSON has no others). */
static cJSON *conv_float_of(const char *value, conv_error *e) {
    const char *s = value;
    size_t len = strlen(s);
    conv_strip(&s, &len);
    char *text = conv_check(malloc(len + 1)), *end;
    size_t n = 0;
    bool ok = len > 0;
    for (size_t i = 0; ok && i < len; i++) { /* digits may be grouped by single underscores */
        if (s[i] == '_')
            ok = i > 0 && i + 1 < len && s[i - 1] >= '0' && s[i - 1] <= '9' && s[i + 1] >= '0' &&
                 s[i + 1] <= '9';
        else if (strchr("0123456789+-.eE", s[i]) == NULL)
            ok = false; /* strtod's hex, inf and nan are not Python's, or not JSON */
        else
            text[n++] = s[i];
    }
    text[n] = '\0';
    double d = ok ? strtod(text, &end) : 0;
    ok = ok && n > 0 && *end == '\0' && isfinite(d);
    free(text);
    if (!ok) {
        conv_fail(e, "could not convert string to float: '%.100s'", value);
        return NULL;
    }
    return conv_float(d);
}

/* ocldev's do_datatype_conversion. Returns new memory, or NULL with e set. */
static cJSON *conv_datatype(const char *value, const char *datatype, conv_error *e) {
    if (strcmp(datatype, "bool") == 0) {
        static const char *yes[] = {"y", "yes", "t", "true", "on", "1"};
        static const char *no[] = {"n", "no", "f", "false", "off", "0"};
        for (size_t i = 0; i < 6; i++) {
            if (strcasecmp(value, yes[i]) == 0)
                return conv_check(cJSON_CreateTrue());
            if (strcasecmp(value, no[i]) == 0)
                return conv_check(cJSON_CreateFalse());
        }
        conv_fail(e, "invalid truth value '%.100s'", value);
        return NULL;
    }
    if (strcmp(datatype, "int") == 0)
        return conv_int(value, e);
    if (strcmp(datatype, "float") == 0)
        return conv_float_of(value, e);
    if (strcmp(datatype, "list") == 0) { /* [v.strip() for v in value.strip('][').split(',')] */
        const char *s = value;
        size_t len = strlen(s);
        while (len > 0 && (s[0] == '[' || s[0] == ']'))
            s++, len--;
        while (len > 0 && (s[len - 1] == '[' || s[len - 1] == ']'))
            len--;
        cJSON *list = conv_check(cJSON_CreateArray());
        for (;;) {
            const char *comma = memchr(s, ',', len);
            size_t part = comma ? (size_t)(comma - s) : len;
            const char *item = s;
            size_t item_len = part;
            conv_strip(&item, &item_len);
            char *copy = conv_check(strndup(item, item_len));
            cJSON_AddItemToArray(list, conv_check(cJSON_CreateString(copy)));
            free(copy);
            if (comma == NULL)
                break;
            s += part + 1;
            len -= part + 1;
        }
        return list;
    }
    if (strcmp(datatype, "json") == 0) {
        cJSON *v = cJSON_ParseWithOpts(value, NULL, true);
        return v != NULL ? v : conv_check(cJSON_CreateString(value));
    }
    return conv_check(cJSON_CreateString(value));
}

/* ocldev's get_csv_value for field definition fd. Returns 0 with *out new memory or NULL
 * (None), or BI_EINVAL with e set. */
static int conv_value(const conv_row *row, const cJSON *fd, cJSON **out, conv_error *e) {
    *out = NULL;
    const cJSON *column = cJSON_GetObjectItemCaseSensitive(fd, "column");
    if (column != NULL) {
        const cJSON *one = cJSON_IsArray(column) ? column->child : column;
        for (; one != NULL; one = cJSON_IsArray(column) ? one->next : NULL) {
            const char *v;
            if (!cJSON_IsString(one) || !row_get(row, one->valuestring, &v) || v == NULL ||
                v[0] == '\0')
                continue;
            const char *datatype = def_string(fd, "datatype");
            if (datatype == NULL) {
                *out = conv_check(cJSON_CreateString(v));
                return 0;
            }
            return (*out = conv_datatype(v, datatype, e)) != NULL ? 0 : BI_EINVAL;
        }
        const cJSON *dflt = cJSON_GetObjectItemCaseSensitive(fd, "default");
        if (dflt != NULL) {
            if (!cJSON_IsNull(dflt))
                *out = conv_check(cJSON_Duplicate(dflt, true));
            return 0;
        }
        if (def_truthy(fd, "required")) {
            char *names = conv_check(cJSON_PrintUnformatted(column));
            conv_fail(e, "Missing required column %.100s in CSV row", names);
            free(names);
            return BI_EINVAL;
        }
        return 0;
    }
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(fd, "value");
    if (value != NULL) {
        if (!cJSON_IsNull(value))
            *out = conv_check(cJSON_Duplicate(value, true));
        return 0;
    }
    return conv_fail(e, "the field definition of '%.60s' has no column this server reads",
                     def_string(fd, "resource_field") ? def_string(fd, "resource_field") : "?");
}

/* ocldev's process_resource_def: the object fds' values make. Returns new memory or NULL. */
static cJSON *conv_fields(const conv_row *row, const cJSON *fds, conv_error *e) {
    cJSON *obj = conv_check(cJSON_CreateObject());
    const cJSON *fd;
    cJSON_ArrayForEach(fd, fds) {
        const char *field = def_string(fd, "resource_field");
        if (field == NULL) {
            conv_fail(e, "a field definition has no resource_field");
            cJSON_Delete(obj);
            return NULL;
        }
        cJSON *v;
        if (conv_value(row, fd, &v, e) < 0) {
            cJSON_Delete(obj);
            return NULL;
        }
        if (v != NULL)
            pyjson_set(obj, field, v);
    }
    return obj;
}

/* ocldev's is_skip_row: whether every skip_if_empty_column of def is empty in row. */
static bool conv_skip_row(const cJSON *def, const conv_row *row) {
    if (!def_truthy(def, "skip_if_empty_column"))
        return false;
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(def, "skip_if_empty_column");
    const cJSON *one = cJSON_IsArray(cols) ? cols->child : cols;
    for (; one != NULL; one = cJSON_IsArray(cols) ? one->next : NULL)
        if (cJSON_IsString(one) && row_nonempty_cell(row, one->valuestring))
            return false;
    return true;
}

/* ---- auto indexes ([01], [2], [en] …) ---- */

/* If column is prefix + ip + index + ipost, with an index of ocldev's standard characters
 * [a-zA-Z0-9-_]+, returns the index's length and its start in *index; else 0. */
static size_t conv_index_of(const char *column, const char *prefix, const char *ip,
                            const char *ipost, const char **index) {
    size_t pl = strlen(prefix), il = strlen(ip), ol = strlen(ipost);
    if (strncmp(column, prefix, pl) != 0 || strncmp(column + pl, ip, il) != 0)
        return 0;
    const char *s = column + pl + il;
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");
    if (n == 0 || strcmp(s + n, ipost) != 0 || ol == 0)
        return 0;
    *index = s;
    return n;
}

static const char *const conv_field_groups[] = {"core_fields", "subresources", "key_value_pairs"};

/* Appends the indexes that columns of row give the field definitions (a list) or the resource
 * definition (an object) template, as ocldev's get_unique_csv_row_auto_indexes. */
static void conv_indexes(const conv_row *row, const cJSON *tpl, const char *ip, const char *ipost,
                         cJSON *out) {
    if (cJSON_IsObject(tpl)) {
        cJSON *all = conv_check(cJSON_CreateArray());
        for (size_t g = 0; g < 3; g++) {
            const cJSON *group = cJSON_GetObjectItemCaseSensitive(tpl, conv_field_groups[g]);
            if (group != NULL)
                conv_indexes(row, group, ip, ipost, all);
        }
        /* each index once, where it last appears */
        for (cJSON *i = all->child; i != NULL; i = i->next) {
            bool later = false;
            for (cJSON *j = i->next; j != NULL && !later; j = j->next)
                later = strcmp(i->valuestring, j->valuestring) == 0;
            if (!later)
                cJSON_AddItemToArray(out, conv_check(cJSON_CreateString(i->valuestring)));
        }
        cJSON_Delete(all);
        return;
    }
    cJSON *mine = conv_check(cJSON_CreateArray());
    for (size_t k = 0; k < row->c->n_names; k++) {
        const char *column = row->c->names[k];
        const cJSON *fd;
        cJSON_ArrayForEach(fd, tpl) {
            const char *prefix = def_string(fd, "column_prefix"), *index;
            size_t n = prefix ? conv_index_of(column, prefix, ip, ipost, &index) : 0;
            if (n == 0)
                continue;
            char *copy = conv_check(strndup(index, n));
            bool seen = false;
            const cJSON *s;
            cJSON_ArrayForEach(s, mine) seen |= strcmp(s->valuestring, copy) == 0;
            if (!seen)
                cJSON_AddItemToArray(mine, conv_check(cJSON_CreateString(copy)));
            free(copy);
        }
    }
    const cJSON *s;
    cJSON_ArrayForEach(s, mine) cJSON_AddItemToArray(out, conv_check(cJSON_CreateString(s->valuestring)));
    cJSON_Delete(mine);
}

static char *conv_indexed(const char *prefix, const char *ip, const char *index,
                          const char *ipost) {
    size_t len = strlen(prefix) + strlen(ip) + strlen(index) + strlen(ipost) + 1;
    char *name = conv_check(malloc(len));
    snprintf(name, len, "%s%s%s%s", prefix, ip, index, ipost);
    return name;
}

/* ocldev's generate_resource_def_from_template: tpl with its column_prefix fields (and
 * skip_if_empty_column_prefix, __trigger_column_prefix) made index's columns. New memory. */
static cJSON *conv_generate(const cJSON *tpl, const char *ip, const char *index,
                            const char *ipost) {
    cJSON *def = conv_check(cJSON_Duplicate(tpl, true));
    if (cJSON_IsObject(def)) {
        static const char *const replaced[][2] = {
            {"__trigger_column_prefix", "__trigger_column"},
            {"skip_if_empty_column_prefix", "skip_if_empty_column"},
        };
        for (size_t r = 0; r < 2; r++) {
            cJSON *prefixes = cJSON_DetachItemFromObjectCaseSensitive(def, replaced[r][0]);
            if (prefixes == NULL)
                continue;
            cJSON *names = conv_check(cJSON_CreateArray());
            const cJSON *one = cJSON_IsArray(prefixes) ? prefixes->child : prefixes;
            for (; one != NULL; one = cJSON_IsArray(prefixes) ? one->next : NULL) {
                char *name = conv_indexed(cJSON_IsString(one) ? one->valuestring : "", ip, index,
                                          ipost);
                cJSON_AddItemToArray(names, conv_check(cJSON_CreateString(name)));
                free(name);
            }
            cJSON_Delete(prefixes);
            int n = cJSON_GetArraySize(names);
            if (n == 1) {
                pyjson_set(def, replaced[r][1], cJSON_DetachItemFromArray(names, 0));
                cJSON_Delete(names);
            } else if (n > 1) {
                pyjson_set(def, replaced[r][1], names);
            } else {
                cJSON_Delete(names);
            }
        }
        for (size_t g = 0; g < 3; g++) {
            const cJSON *group = cJSON_GetObjectItemCaseSensitive(def, conv_field_groups[g]);
            if (group != NULL)
                pyjson_set(def, conv_field_groups[g], conv_generate(group, ip, index, ipost));
        }
        return def;
    }
    cJSON *fd;
    cJSON_ArrayForEach(fd, def) {
        cJSON *prefix = cJSON_DetachItemFromObjectCaseSensitive(fd, "column_prefix");
        if (prefix == NULL)
            continue;
        char *name = conv_indexed(cJSON_IsString(prefix) ? prefix->valuestring : "", ip, index,
                                  ipost);
        cJSON_Delete(prefix);
        cJSON *column = cJSON_GetObjectItemCaseSensitive(fd, "column");
        if (def_truthy(fd, "column")) {
            if (!cJSON_IsArray(column)) {
                cJSON *list = conv_check(cJSON_CreateArray());
                cJSON_AddItemToArray(list, conv_check(cJSON_Duplicate(column, true)));
                pyjson_set(fd, "column", list);
                column = list;
            }
            cJSON_InsertItemInArray(column, 0, conv_check(cJSON_CreateString(name)));
        } else {
            pyjson_set(fd, "column", conv_check(cJSON_CreateString(name)));
        }
        free(name);
    }
    return def;
}

/* ---- sub-resources and extras ---- */

/* ocldev's get_auto_sub_resources: names or descriptions. New memory, or NULL with e set. */
static cJSON *conv_auto_subresources(const conv_row *row, const cJSON *def, conv_error *e) {
    cJSON *list = conv_check(cJSON_CreateArray());
    const cJSON *primary = cJSON_GetObjectItemCaseSensitive(def, "primary_sub_resource");
    if (primary != NULL) {
        cJSON *sub = conv_fields(row, primary, e);
        if (sub == NULL)
            goto fail;
        if (sub->child != NULL && !conv_skip_row(def, row))
            cJSON_AddItemToArray(list, sub);
        else
            cJSON_Delete(sub);
    }
    const cJSON *tpl = cJSON_GetObjectItemCaseSensitive(def, "auto_sub_resources");
    if (tpl != NULL) {
        const char *ip = def_string(def, "index_prefix"), *ipost = def_string(def, "index_postfix");
        cJSON *indexes = conv_check(cJSON_CreateArray());
        conv_indexes(row, tpl, ip ? ip : "", ipost ? ipost : "", indexes);
        const cJSON *index;
        cJSON_ArrayForEach(index, indexes) {
            cJSON *fds = conv_generate(tpl, ip ? ip : "", index->valuestring, ipost ? ipost : "");
            cJSON *sub = conv_fields(row, fds, e);
            cJSON_Delete(fds);
            if (sub == NULL) {
                cJSON_Delete(indexes);
                goto fail;
            }
            conv_row as_row = {.c = row->c, .obj = sub}; /* ocldev checks the built name */
            if (sub->child != NULL && !conv_skip_row(def, &as_row))
                cJSON_AddItemToArray(list, sub);
            else
                cJSON_Delete(sub);
        }
        cJSON_Delete(indexes);
    }
    return list;
fail:
    cJSON_Delete(list);
    return NULL;
}

/* A pending half of an attr_key[i]/attr_value[i] pair. */
typedef struct conv_half {
    char *index, *text;
} conv_half;

static ssize_t conv_half_find(conv_half *h, size_t n, const char *index, size_t index_len) {
    for (size_t i = 0; i < n; i++)
        if (h[i].index && strlen(h[i].index) == index_len &&
            strncmp(h[i].index, index, index_len) == 0)
            return (ssize_t)i;
    return -1;
}

/* ocldev's get_auto_extra_attributes. New memory, or NULL with e set. */
static cJSON *conv_extras(const conv_row *row, const cJSON *def, conv_error *e) {
    static const char *const datatypes[] = {"bool", "str", "int", "float", "list", "json"};
    const char *std = def_string(def, "standard_column_prefix"), *sep = def_string(def, "separator");
    const char *kp = def_string(def, "key_column_prefix"), *vp = def_string(def, "value_column_prefix");
    const char *ip = def_string(def, "index_prefix"), *ipost = def_string(def, "index_postfix");
    bool omit = !(def_has(def, "omit_if_empty_value") && !def_truthy(def, "omit_if_empty_value"));
    char *needle = conv_indexed(std ? std : "", sep ? sep : "", "", "");
    size_t needle_len = strlen(needle);
    cJSON *extras = conv_check(cJSON_CreateObject());
    size_t n = row->c->n_names;
    conv_half *keys = conv_check(calloc(n + 1, sizeof *keys));   /* keys without values yet */
    conv_half *values = conv_check(calloc(n + 1, sizeof *values)); /* values without keys */
    size_t n_keys = 0, n_values = 0;
    bool ok = true;
    for (size_t k = 0; k < n && ok; k++) {
        const char *column = row->c->names[k], *value, *index;
        row_get(row, column, &value);
        const char *datatype = "str";
        const char *c1 = strchr(column, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2 != NULL && strchr(c2 + 1, ':') == NULL) { /* exactly two ':' */
            const char *suffix = c2 + 1;
            size_t len = strlen(suffix);
            conv_strip(&suffix, &len);
            for (size_t t = 0; t < 6; t++)
                if (strlen(datatypes[t]) == len && strncmp(datatypes[t], suffix, len) == 0)
                    datatype = datatypes[t];
        }
        size_t il;
        if (strncmp(column, needle, needle_len) == 0) {
            if (omit && (value == NULL || value[0] == '\0'))
                continue;
            /* the key, less every ":<datatype>" when it ends with one (Python's replace) */
            const char *key = column + needle_len;
            size_t tl = strlen(datatype) + 1, kl = strlen(key);
            char *name = conv_check(malloc(kl + 1)), *tail = conv_check(malloc(tl + 1));
            snprintf(tail, tl + 1, ":%s", datatype);
            size_t out = 0;
            bool ends = kl >= tl && strcmp(key + kl - tl, tail) == 0;
            for (size_t i = 0; i < kl;) {
                if (ends && strncmp(key + i, tail, tl) == 0) {
                    i += tl;
                } else {
                    name[out++] = key[i++];
                }
            }
            name[out] = '\0';
            cJSON *v = value == NULL ? conv_check(cJSON_CreateNull())
                                     : conv_datatype(value, datatype, e);
            if (v != NULL)
                pyjson_set(extras, name, v);
            ok = v != NULL;
            free(name);
            free(tail);
        } else if ((il = conv_index_of(column, kp ? kp : "", ip ? ip : "", ipost ? ipost : "",
                                       &index)) > 0) {
            if (value == NULL || value[0] == '\0')
                continue;
            ssize_t h = conv_half_find(values, n_values, index, il);
            if (h >= 0) {
                pyjson_set(extras, value, conv_check(cJSON_CreateString(values[h].text)));
                free(values[h].index), free(values[h].text);
                values[h] = (conv_half){0};
            } else { /* Python's dict: the same index again replaces its key */
                ssize_t at = conv_half_find(keys, n_keys, index, il);
                conv_half *slot = at >= 0 ? &keys[at] : &keys[n_keys++];
                free(slot->text);
                if (slot->index == NULL)
                    slot->index = conv_check(strndup(index, il));
                slot->text = conv_check(strdup(value));
            }
        } else if ((il = conv_index_of(column, vp ? vp : "", ip ? ip : "", ipost ? ipost : "",
                                       &index)) > 0) {
            if ((value == NULL || value[0] == '\0') && omit)
                continue;
            ssize_t h = conv_half_find(keys, n_keys, index, il);
            if (h >= 0) {
                pyjson_set(extras, keys[h].text, conv_check(cJSON_CreateString(value ? value : "")));
                free(keys[h].index), free(keys[h].text);
                keys[h] = (conv_half){0};
            } else {
                ssize_t at = conv_half_find(values, n_values, index, il);
                conv_half *slot = at >= 0 ? &values[at] : &values[n_values++];
                free(slot->text);
                if (slot->index == NULL)
                    slot->index = conv_check(strndup(index, il));
                slot->text = conv_check(strdup(value ? value : ""));
            }
        }
    }
    for (size_t i = 0; i < n_keys; i++)
        free(keys[i].index), free(keys[i].text);
    for (size_t i = 0; i < n_values; i++)
        free(values[i].index), free(values[i].text);
    free(keys);
    free(values);
    free(needle);
    if (!ok) {
        cJSON_Delete(extras);
        return NULL;
    }
    return extras;
}

/* ---- mappings ---- */

/* Pops obj[key] as a string: its text, or dflt when absent (new memory). */
static char *conv_pop(cJSON *obj, const char *key, const char *dflt) {
    cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(obj, key);
    char *text;
    if (v == NULL)
        text = strdup(dflt);
    else if (cJSON_IsString(v))
        text = strdup(v->valuestring);
    else
        text = cJSON_PrintUnformatted(v);
    cJSON_Delete(v);
    return conv_check(text);
}

/* OclConstants.get_repository_url for a source: "/orgs/<owner>/sources/<source>". */
static int conv_repo_url(const char *owner, const char *owner_type, const char *source,
                         char **out, conv_error *e) {
    const char *stem = strcmp(owner_type, "Organization") == 0 ? "orgs"
                       : strcmp(owner_type, "User") == 0   ? "users"
                                                           : NULL;
    if (stem == NULL)
        return conv_fail(e, "Invalid owner type \"%.60s\"", owner_type);
    size_t len = strlen(stem) + strlen(owner) + strlen(source) + 16;
    *out = conv_check(malloc(len));
    snprintf(*out, len, "/%s/%s/sources/%s", stem, owner, source);
    return 0;
}

/* ocldev's get_concept_url from the popped fields <side>_concept_url, _owner_id, _owner_type,
 * _source and _code, set as obj[<side>_concept_url] (last). */
static int conv_concept_url(cJSON *obj, const char *side, conv_error *e) {
    char key[64];
    snprintf(key, sizeof key, "%s_concept_url", side);
    char *url = conv_pop(obj, key, "");
    snprintf(key, sizeof key, "%s_concept_owner_id", side);
    char *owner = conv_pop(obj, key, "");
    snprintf(key, sizeof key, "%s_concept_owner_type", side);
    char *owner_type = conv_pop(obj, key, "Organization");
    snprintf(key, sizeof key, "%s_concept_source", side);
    char *source = conv_pop(obj, key, "");
    snprintf(key, sizeof key, "%s_concept_code", side);
    char *code = conv_pop(obj, key, "");
    int err = 0;
    if (url[0] == '\0') {
        char *repo = NULL;
        if ((err = conv_repo_url(owner, owner_type, source, &repo, e)) == 0) {
            free(url);
            size_t len = strlen(repo) + strlen(code) + 16;
            url = conv_check(malloc(len));
            snprintf(url, len, "%s/concepts/%s/", repo, code);
            free(repo);
        }
    }
    if (err == 0) {
        snprintf(key, sizeof key, "%s_concept_url", side);
        cJSON_AddItemToObject(obj, key, conv_check(cJSON_CreateString(url)));
    }
    free(url), free(owner), free(owner_type), free(source), free(code);
    return err;
}

/* The mapping part of ocldev's build_resource: concept URLs from their parts. */
static int conv_mapping(cJSON *obj, conv_error *e) {
    char *target = conv_pop(obj, "map_target", "Internal");
    bool external = strcmp(target, "External") == 0;
    free(target);
    int err = conv_concept_url(obj, "from", e);
    if (err < 0 || !external)
        return err < 0 ? err : conv_concept_url(obj, "to", e);
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(obj, "to_concept_url");
    if (def_truthy(obj, "to_concept_url"))
        return conv_fail(e, "External mapping must not have a \"to_concept_url\": %.100s",
                         cJSON_IsString(to) ? to->valuestring : "");
    char *url = conv_pop(obj, "to_source_url", "");
    char *owner = conv_pop(obj, "to_concept_owner_id", "");
    char *owner_type = conv_pop(obj, "to_concept_owner_type", "Organization");
    char *source = conv_pop(obj, "to_concept_source", "");
    if (url[0] == '\0') {
        char *repo = NULL;
        if ((err = conv_repo_url(owner, owner_type, source, &repo, e)) == 0) {
            free(url);
            url = conv_indexed(repo, "/", "", "");
            free(repo);
        }
    }
    if (err == 0)
        cJSON_AddItemToObject(obj, "to_source_url", conv_check(cJSON_CreateString(url)));
    free(url), free(owner), free(owner_type), free(source);
    return err;
}

/* ---- resources ---- */

/* ocldev's build_resource. New memory, or NULL with e set. */
static cJSON *conv_build(const conv_row *row, const cJSON *def, conv_error *e) {
    const char *type = def_string(def, "resource_type");
    cJSON *obj = conv_check(cJSON_CreateObject());
    cJSON_AddItemToObject(obj, "type", conv_check(cJSON_CreateString(type)));
    if (def_truthy(def, "id_column")) {
        const char *column = def_string(def, "id_column"), *id;
        if (!row_get(row, column, &id) || id == NULL || id[0] == '\0') {
            conv_fail(e, "ID column %.60s not set or empty in row", column);
            goto fail;
        }
        cJSON_AddItemToObject(obj, "id", conv_check(cJSON_CreateString(id)));
    }
    if (def_truthy(def, "core_fields")) {
        cJSON *core = conv_fields(row, cJSON_GetObjectItemCaseSensitive(def, "core_fields"), e);
        if (core == NULL)
            goto fail;
        while (core->child != NULL) {
            cJSON *f = cJSON_DetachItemViaPointer(core, core->child);
            char *key = conv_check(strdup(f->string));
            pyjson_set(obj, key, f);
            free(key);
        }
        cJSON_Delete(core);
    }
    if (strcmp(type, "Mapping") == 0 && conv_mapping(obj, e) < 0)
        goto fail;
    static const char *const subs[][2] = {{"auto_concept_names", "names"},
                                          {"auto_concept_descriptions", "descriptions"}};
    for (size_t s = 0; s < 2; s++) {
        const cJSON *sub_def = cJSON_GetObjectItemCaseSensitive(def, subs[s][0]);
        if (sub_def == NULL)
            continue;
        cJSON *list = conv_auto_subresources(row, sub_def, e);
        if (list == NULL)
            goto fail;
        if (list->child != NULL)
            pyjson_set(obj, subs[s][1], list);
        else
            cJSON_Delete(list);
    }
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(def, "auto_attributes");
    if (attrs != NULL) {
        cJSON *extras = conv_extras(row, attrs, e);
        if (extras == NULL)
            goto fail;
        if (extras->child != NULL)
            pyjson_set(obj, "extras", extras);
        else
            cJSON_Delete(extras);
    }
    return obj;
fail:
    cJSON_Delete(obj);
    return NULL;
}

/* The definitions an AUTO-RESOURCE definition makes for the indexes the header's columns give
 * (they depend on the names only, not on a row's values). New memory. */
static cJSON *conv_auto_definitions(const conv_row *row, const cJSON *def) {
    const cJSON *tpl = cJSON_GetObjectItemCaseSensitive(def, "auto_resource_template");
    const char *ip = def_string(tpl, "index_prefix"), *ipost = def_string(tpl, "index_postfix");
    cJSON *indexes = conv_check(cJSON_CreateArray()), *defs = conv_check(cJSON_CreateArray());
    conv_indexes(row, tpl, ip ? ip : "", ipost ? ipost : "", indexes);
    const cJSON *index;
    cJSON_ArrayForEach(index, indexes) {
        cJSON_AddItemToArray(defs, conv_generate(tpl, ip ? ip : "", index->valuestring,
                                                 ipost ? ipost : ""));
    }
    cJSON_Delete(indexes);
    return defs;
}

/* ocldev's process_csv_row_with_definition: appends def's resources for row to out (cached:
 * the definitions an AUTO-RESOURCE def generates, when known). Returns 0 or BI_EINVAL with e
 * set. */
static int conv_definition(const conv_row *row, const cJSON *def, const cJSON *cached, cJSON *out,
                           conv_error *e) {
    const char *trigger = def_string(def, "__trigger_column");
    if (trigger != NULL) {
        const char *v, *want = def_string(def, "__trigger_value");
        if (!row_get(row, trigger, &v) || v == NULL || want == NULL || strcmp(v, want) != 0)
            return 0;
    }
    if (conv_skip_row(def, row))
        return 0;
    const char *type = def_string(def, "resource_type");
    if (type == NULL)
        return conv_fail(e, "a definition has no resource_type");
    if (strcmp(type, "AUTO-RESOURCE") != 0) {
        cJSON *obj = conv_build(row, def, e);
        if (obj == NULL)
            return BI_EINVAL;
        cJSON_AddItemToArray(out, obj);
        return 0;
    }
    cJSON *generated = cached ? NULL : conv_auto_definitions(row, def);
    const cJSON *defs = cached ? cached : generated, *one;
    int err = 0;
    cJSON_ArrayForEach(one, defs) {
        if ((err = conv_definition(row, one, NULL, out, e)) < 0)
            break;
    }
    cJSON_Delete(generated);
    return err;
}

/* ---- the public face ---- */

csvconv *csvconv_create(void) {
    csvconv *c = conv_check(calloc(1, sizeof *c));
    c->defs = conv_check(cJSON_Parse(csvconv_definitions));
    const cJSON *def;
    cJSON_ArrayForEach(def, c->defs) {
        if (def_has(def, "is_active") && !def_truthy(def, "is_active"))
            continue;
        if (c->passes == CSVCONV_MAX_PASSES)
            abort(); /* the generated table grew: raise the bound */
        c->pass[c->passes++] = def;
    }
    return c;
}

int csvconv_header(csvconv *c, const csv_record *header, char *why, size_t why_len) {
    if (header->error != 0 || header->n == 0) {
        snprintf(why, why_len, "%s",
                 header->error ? "has a header row that cannot be read: " : "has a blank header row");
        if (header->error)
            snprintf(why + strlen(why), why_len - strlen(why), "%s", error_message(header->error));
        return BI_EINVAL;
    }
    c->names = conv_check(calloc(header->n, sizeof *c->names));
    c->column = conv_check(calloc(header->n, sizeof *c->column));
    c->n_columns = header->n;
    for (c->n_slots = 16; c->n_slots < 2 * header->n; c->n_slots *= 2)
        ;
    c->slots = conv_check(calloc(c->n_slots, sizeof *c->slots));
    for (size_t i = 0; i < header->n; i++) {
        ssize_t at = conv_name_index(c, header->fields[i]);
        if (at >= 0) {
            c->column[at] = i;
            continue;
        }
        c->names[c->n_names] = conv_check(strdup(header->fields[i]));
        c->column[c->n_names] = i;
        size_t slot = conv_hash(header->fields[i]) & (c->n_slots - 1);
        while (c->slots[slot] != 0)
            slot = (slot + 1) & (c->n_slots - 1);
        c->slots[slot] = ++c->n_names;
    }
    csv_record none = {.number = 1};
    conv_row names_only = {.c = c, .rec = &none};
    for (size_t p = 0; p < c->passes; p++) {
        const char *trigger = def_string(c->pass[p], "__trigger_column");
        c->trigger_column[p] = trigger ? conv_name_index(c, trigger) : -1;
        const char *type = def_string(c->pass[p], "resource_type");
        if (type != NULL && strcmp(type, "AUTO-RESOURCE") == 0)
            c->generated[p] = conv_auto_definitions(&names_only, c->pass[p]);
    }
    return 0;
}

size_t csvconv_passes(const csvconv *c) { return c->passes; }

void csvconv_note(csvconv *c, const csv_record *row) {
    conv_row r = {.c = c, .rec = row};
    const char *v;
    for (size_t p = 0; p < c->passes; p++) {
        const char *trigger = def_string(c->pass[p], "__trigger_column");
        const char *want = def_string(c->pass[p], "__trigger_value");
        if (trigger == NULL || (row->error == 0 && row_get(&r, trigger, &v) && v != NULL &&
                                want != NULL && strcmp(v, want) == 0))
            c->needed[p] = true;
    }
}

bool csvconv_pass_needed(const csvconv *c, size_t p) {
    if (p == 0)
        return true; /* it also reports the rows the reader flagged */
    /* no row triggers it, or it is an AUTO-RESOURCE definition no column feeds */
    return c->needed[p] && (c->generated[p] == NULL || c->generated[p]->child != NULL);
}

/* Emits {"__csv_row":N,"__csv_error":message}. */
static int conv_emit_error(int64_t number, const char *message, csvconv_emit emit, void *ctx) {
    cJSON *line = conv_check(cJSON_CreateObject());
    cJSON_AddItemToObject(line, "__csv_row", conv_check(cJSON_CreateNumber((double)number)));
    cJSON_AddItemToObject(line, "__csv_error", conv_check(cJSON_CreateString(message)));
    char *text = conv_check(cJSON_PrintUnformatted(line));
    int err = emit(text, strlen(text), ctx);
    free(text);
    cJSON_Delete(line);
    return err;
}

int csvconv_row(csvconv *c, size_t p, const csv_record *row, csvconv_emit emit, void *ctx) {
    if (row->error != 0 || row->n > c->n_columns) {
        if (p != 0)
            return 0;
        char message[CSVCONV_ERROR_MAX];
        if (row->error == BI_EINVAL)
            snprintf(message, sizeof message, "the file ends inside a quoted field of this row");
        else if (row->error != 0)
            snprintf(message, sizeof message, "%s", error_message(row->error));
        else
            snprintf(message, sizeof message, "the row has %zu fields, more than the header's %zu",
                     row->n, c->n_columns);
        return conv_emit_error(row->number, message, emit, ctx);
    }
    if (row->n == 0 || p >= c->passes)
        return 0; /* Python's DictReader skips blank rows */
    conv_row r = {.c = c, .rec = row};
    conv_error e = {{0}};
    cJSON *out = conv_check(cJSON_CreateArray());
    int err = 0;
    const char *trigger = def_string(c->pass[p], "__trigger_value");
    ssize_t col = c->trigger_column[p];
    if (trigger != NULL && (col < 0 || c->column[col] >= row->n ||
                            strcmp(row->fields[c->column[col]], trigger) != 0)) {
        cJSON_Delete(out);
        return 0; /* the trigger, checked fast: most rows are for other passes */
    }
    if (conv_definition(&r, c->pass[p], c->generated[p], out, &e) < 0) {
        err = conv_emit_error(row->number, e.message, emit, ctx);
    } else {
        for (cJSON *o = out->child; o != NULL && err == 0; o = o->next) {
            /* the row first, where a reader looks */
            cJSON *num = conv_check(cJSON_CreateNumber((double)row->number));
            cJSON_AddItemToObject(o, "__csv_row", num);
            cJSON_InsertItemInArray(o, 0, cJSON_DetachItemViaPointer(o, num));
            char *text = conv_check(cJSON_PrintUnformatted(o));
            err = emit(text, strlen(text), ctx);
            free(text);
        }
    }
    cJSON_Delete(out);
    return err;
}

void csvconv_destroy(csvconv *c) {
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_names; i++)
        free(c->names[i]);
    free(c->names);
    free(c->column);
    free(c->slots);
    for (size_t p = 0; p < c->passes; p++)
        cJSON_Delete(c->generated[p]);
    cJSON_Delete(c->defs);
    free(c);
}
