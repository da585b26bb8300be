/* OCL's standard CSV converter against ocldev's own expectations: the cases of ocldev's
 * test_csv_converter.py copied as data, and what ocldev makes of the CSV files in
 * tests/fixtures/csv (regenerated there by ./generate, from ocldev itself). */
#include "csv.h"
#include "csvconv.h"
#include "error.h"
#include "json_expect.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURES BI_SOURCE_DIR "/tests/fixtures/csv/"

typedef struct converted {
    csvconv *conv;
    size_t pass;
    bool header_seen;
    cJSON *lines; /* every line, parsed */
} converted;

static int keep_line(const char *line, size_t len, void *ctx) {
    converted *c = ctx;
    cr_assert_eq(strlen(line), len);
    cJSON *json = cJSON_Parse(line);
    cr_assert_not_null(json, "the converter wrote invalid JSON: %s", line);
    cJSON_AddItemToArray(c->lines, json);
    return 0;
}

static int take_record(const csv_record *rec, void *ctx) {
    converted *c = ctx;
    if (!c->header_seen) {
        char why[200];
        c->header_seen = true;
        if (c->pass == 0)
            cr_assert_eq(csvconv_header(c->conv, rec, why, sizeof why), 0, "%s", why);
        return 0;
    }
    if (c->pass == 0)
        csvconv_note(c->conv, rec);
    return csvconv_row(c->conv, c->pass, rec, keep_line, c);
}

/* Converts a CSV text as the intake does: one reading per pass. Returns the lines (free with
 * cJSON_Delete). */
static cJSON *convert(const char *text, size_t len) {
    converted c = {.conv = csvconv_create(), .lines = cJSON_CreateArray()};
    for (c.pass = 0; c.pass < csvconv_passes(c.conv); c.pass++) {
        if (!csvconv_pass_needed(c.conv, c.pass))
            continue;
        c.header_seen = false;
        csv_reader *r = csv_create(1 << 20, take_record, &c);
        cr_assert_eq(csv_feed(r, text, len), 0);
        cr_assert_eq(csv_finish(r), 0);
        csv_destroy(r);
    }
    csvconv_destroy(c.conv);
    return c.lines;
}

/* The rows of a JSON array of objects as CSV, the first object's keys as the header. */
static char *csv_of(const cJSON *rows) {
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    const cJSON *first = rows->child, *key;
    cJSON_ArrayForEach(key, first) len += (size_t)snprintf(out + len, cap - len, "%s%s",
                                                            key == first->child ? "" : ",",
                                                            key->string);
    len += (size_t)snprintf(out + len, cap - len, "\n");
    const cJSON *row;
    cJSON_ArrayForEach(row, rows) {
        cJSON_ArrayForEach(key, first) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, key->string);
            cr_assert(cJSON_IsString(v) && strpbrk(v->valuestring, ",\"\n") == NULL);
            len += (size_t)snprintf(out + len, cap - len, "%s%s", key == first->child ? "" : ",",
                                    v->valuestring);
        }
        len += (size_t)snprintf(out + len, cap - len, "\n");
    }
    return out;
}

/* Drops "__csv_row" from each line, checking it is a row number first. */
static void drop_rows(cJSON *lines) {
    cJSON *line;
    cJSON_ArrayForEach(line, lines) {
        cJSON *row = cJSON_DetachItemFromObjectCaseSensitive(line, "__csv_row");
        cr_assert(cJSON_IsNumber(row) && row->valuedouble >= 2);
        cJSON_Delete(row);
    }
}

Test(csvconv, ocldev_test_cases) {
    size_t len;
    char *text = read_file(FIXTURES "ocldev_tests.json", &len);
    cJSON *cases = cJSON_Parse(text);
    cr_assert(cJSON_GetArraySize(cases) >= 4);
    const cJSON *c;
    cJSON_ArrayForEach(c, cases) {
        char *csv = csv_of(cJSON_GetObjectItem(c, "input"));
        cJSON *got = convert(csv, strlen(csv));
        drop_rows(got);
        expect_lines(got, cJSON_GetObjectItem(c, "expected"), false,
                     cJSON_GetObjectItem(c, "name")->valuestring);
        cJSON_Delete(got);
        free(csv);
    }
    cJSON_Delete(cases);
    free(text);
}

/* fixture.csv against fixture.expected.jsonl, line by line, member order included. */
static void expect_fixture(const char *name) {
    char path[512];
    size_t len;
    snprintf(path, sizeof path, FIXTURES "%s.csv", name);
    char *csv = read_file(path, &len);
    snprintf(path, sizeof path, FIXTURES "%s.expected.jsonl", name);
    cJSON *want = read_jsonl(path);
    cJSON *got = convert(csv, len);
    drop_rows(got);
    expect_lines(got, want, true, name);
    cJSON_Delete(got);
    cJSON_Delete(want);
    free(csv);
}

Test(csvconv, ocldev_sample_csv) { expect_fixture("ocldev_sample"); }

Test(csvconv, every_column_kind_as_ocldev_converts_it) { expect_fixture("edge_cases"); }

/* The row numbers of edge_cases.csv's lines: the header is row 1; a quoted newline does not
 * start a row; ocldev's order puts the organization (row 4) first. */
Test(csvconv, lines_carry_their_csv_row_first) {
    size_t len;
    char *csv = read_file(FIXTURES "edge_cases.csv", &len);
    cJSON *got = convert(csv, len);
    const cJSON *first = cJSON_GetArrayItem(got, 0);
    cr_assert_str_eq(first->child->string, "__csv_row");
    cr_assert_eq(first->child->valueint, 4);
    cr_assert_eq(cJSON_GetArrayItem(got, 3)->child->valueint, 2); /* the first concept */
    cJSON_Delete(got);
    free(csv);
}

/* The line a refused row becomes, found by its row. */
static const char *error_of(const cJSON *lines, int row) {
    const cJSON *line;
    cJSON_ArrayForEach(line, lines) {
        const cJSON *r = cJSON_GetObjectItem(line, "__csv_row");
        const cJSON *e = cJSON_GetObjectItem(line, "__csv_error");
        if (r && r->valueint == row && cJSON_IsString(e))
            return e->valuestring;
    }
    return NULL;
}

Test(csvconv, a_row_ocldev_would_refuse_is_one_error_line_and_the_others_convert) {
    const char *csv = "resource_type,id,owner_id,source,name,concept_class,retired,"
                      "map_to_concept_id[1],map_to_concept_owner_type[1]\n"
                      "Concept,A,O,S,Alpha,Misc,maybe,,\n"       /* 2: not a truth value */
                      "Concept,B,O,S,Beta,Misc\n"                  /* 3: short, still fine */
                      "Concept,C,O,S,Gamma,Misc,,T,Team\n"         /* 4: a mapping's owner type */
                      "Concept,D,O,S,Delta,Misc,,,,,extra\n"       /* 5: more fields than names */
                      "Organization\n"                             /* 6: id None: refused */
                      "Concept,E,O,S,Eps,Misc,true,,\n";
    cJSON *got = convert(csv, strlen(csv));
    cr_assert_str_eq(error_of(got, 2), "invalid truth value 'maybe'");
    cr_assert_null(error_of(got, 3));
    cr_assert_str_eq(error_of(got, 4), "Invalid owner type \"Team\"");
    cr_assert_str_eq(error_of(got, 5), "the row has 11 fields, more than the header's 9");
    cr_assert_str_eq(error_of(got, 6), "ID column id not set or empty in row");
    int concepts = 0;
    const cJSON *line;
    cJSON_ArrayForEach(line, got) {
        const cJSON *type = cJSON_GetObjectItem(line, "type");
        concepts += type && strcmp(type->valuestring, "Concept") == 0;
    }
    cr_assert_eq(concepts, 3, "B, C and E convert; C's mapping is what failed");
    /* and, as in ocldev, short row 3's missing map_to_concept_id[1] (None, not '') does not
     * skip its mapping: 4 errors, 3 concepts, that mapping */
    cr_assert_eq(cJSON_GetArraySize(got), 8);
    cJSON_Delete(got);
}

Test(csvconv, an_unreadable_header_is_refused_with_the_reason) {
    csvconv *c = csvconv_create();
    char why[200];
    csv_record blank = {.number = 1};
    cr_assert_eq(csvconv_header(c, &blank, why, sizeof why), BI_EINVAL);
    cr_assert_str_eq(why, "has a blank header row");
    csv_record bad = {.number = 1, .error = BI_EUTF8};
    cr_assert_eq(csvconv_header(c, &bad, why, sizeof why), BI_EINVAL);
    cr_assert(strstr(why, "UTF-8") != NULL, "%s", why);
    csvconv_destroy(c);
    csvconv_destroy(NULL);
}
