/* Values as OCL's serializers take them: Python's str() of numbers in string fields, DRF's
 * boolean spellings, refusals naming the field, and the line's text rewritten in place. */
#include "drf.h"

#include "error.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

Test(drf, numbers_as_python_str_of_json_loads) {
    static const struct {
        const char *token, *python;
    } cases[] = {
        {"1", "1"},          {"-0", "0"},           {"0", "0"},
        {"1.5", "1.5"},      {"1e2", "100.0"},      {"1E2", "100.0"},
        {"-0.0", "-0.0"},    {"0.1", "0.1"},        {"1.0", "1.0"},
        {"100", "100"},      {"1e16", "1e+16"},     {"1.5e16", "1.5e+16"},
        {"1e15", "1000000000000000.0"},             {"0.0001", "0.0001"},
        {"0.00001", "1e-05"}, {"123456789.125", "123456789.125"},
        {"12345678901234567890123", "12345678901234567890123"},
        {"0.1e1", "1.0"},    {"2.5E-7", "2.5e-07"}, {"1e400", "inf"},
        {"-1e400", "-inf"},  {"1e-400", "0.0"},     {"3.14159265358979323846", "3.141592653589793"},
        {"1e22", "1e+22"},   {"9007199254740993.0", "9007199254740992.0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64];
        int n = drf_number_text(cases[i].token, strlen(cases[i].token), out, sizeof out);
        cr_expect_eq(n, (int)strlen(cases[i].python), "%s", cases[i].token);
        cr_expect_str_eq(out, cases[i].python, "%s", cases[i].token);
    }
}

/* Canonicalizes text; returns the new text ("" when unchanged, else malloc'd) or NULL with
 * *err filled. */
static char *canonical(const char *text, rules_error *err) {
    cJSON *line = cJSON_Parse(text);
    cr_assert_not_null(line, "%s", text);
    char *out = NULL;
    size_t len = 0;
    memset(err, 0, sizeof *err);
    int rc = drf_canonicalize(line, text, strlen(text), &out, &len, err);
    if (rc == 0 && out != NULL) {
        cr_expect_eq(len, strlen(out));
        cJSON *reparsed = cJSON_Parse(out);
        cr_expect(cJSON_Compare(line, reparsed, true), "the tree and the text agree: %s", out);
        cJSON_Delete(reparsed);
    }
    cJSON_Delete(line);
    if (rc < 0) {
        cr_expect_eq(rc, BI_EFIELDTYPE);
        return NULL;
    }
    return out ? out : strdup("");
}

Test(drf, each_field_kind_as_a_table) {
    static const struct {
        const char *in, *out; /* out "": unchanged; NULL: refused */
        const char *field;
    } cases[] = {
        {"{\"type\":\"Concept\",\"id\":\"c1\"}", "", ""},
        {"{\"type\":\"Concept\",\"id\":1}", "{\"type\":\"Concept\",\"id\":\"1\"}", ""},
        {"{\"type\":\"Concept\", \"id\" : 1e2 ,\"x\":1}", "{\"type\":\"Concept\", \"id\" : \"100.0\" ,\"x\":1}", ""},
        {"{\"id\":12345678901234567890123456789012345678901234567890}",
         "{\"id\":\"12345678901234567890123456789012345678901234567890\"}", ""},
        {"{\"owner\":7,\"source\":8.5,\"map_type\":-0}", "{\"owner\":\"7\",\"source\":\"8.5\",\"map_type\":\"0\"}", ""},
        {"{\"names\":[{\"name\":42,\"locale\":\"en\",\"locale_preferred\":\"yes\"}]}",
         "{\"names\":[{\"name\":\"42\",\"locale\":\"en\",\"locale_preferred\":true}]}", ""},
        {"{\"descriptions\":[{\"description\":1.25,\"locale_preferred\":0}]}",
         "{\"descriptions\":[{\"description\":\"1.25\",\"locale_preferred\":false}]}", ""},
        {"{\"retired\":\"True\",\"released\":\"off\"}", "{\"retired\":true,\"released\":false}", ""},
        {"{\"retired\":\"oN\",\"released\":\"nO\"}", "{\"retired\":true,\"released\":false}", ""},
        {"{\"retired\":1.0}", "{\"retired\":true}", ""},
        {"{\"retired\":null,\"id\":null}", "", ""},
        {"{\"extras\":{\"id\":1,\"retired\":\"yes\"},\"e\":[1,{\"name\":2}]}", "", ""},
        {"{\"id\":true}", NULL, "id"},
        {"{\"name\":{\"a\":1}}", NULL, "name"},
        {"{\"names\":[{\"locale\":[\"en\"]}]}", NULL, "locale"},
        {"{\"retired\":\"maybe\"}", NULL, "retired"},
        {"{\"retired\":2}", NULL, "retired"},
        {"{\"retired\":\"1.0\"}", NULL, "retired"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rules_error err;
        char *out = canonical(cases[i].in, &err);
        if (cases[i].out == NULL) {
            cr_expect_null(out, "case %zu: %s", i, out);
            cr_expect_str_eq(err.field, cases[i].field, "case %zu", i);
            cr_expect(strstr(err.message, cases[i].field) != NULL, "case %zu: %s", i, err.message);
        } else {
            cr_expect_str_eq(out, cases[i].out, "case %zu", i);
        }
        free(out);
    }
}
