#include "compact.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

struct row {
    const char *in;
    const char *out;
};

static const struct row rows[] = {
    {"{\"a\": 1, \"b\": [1, 2]}", "{\"a\":1,\"b\":[1,2]}"},            /* jsonb */
    {"{\"a\" : 1, \"b\" : {\"c\" : null}}", "{\"a\":1,\"b\":{\"c\":null}}"}, /* json_build_object */
    {"[\n\t{\"x\": \"a b\"}\r\n]", "[{\"x\":\"a b\"}]"},
    {"{\"s\": \"keeps  \\\"quoted\\\" : , spaces\"}", "{\"s\":\"keeps  \\\"quoted\\\" : , spaces\"}"},
    {"{\"s\": \"ends in a backslash \\\\\", \"t\": 1}", "{\"s\":\"ends in a backslash \\\\\",\"t\":1}"},
    {"\"unterminated  string", "\"unterminated  string"},
    {"", ""},
};

Test(compact, strips_whitespace_outside_strings_only) {
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *text = strdup(rows[i].in);
        size_t n = db_json_compact(text);
        cr_expect_str_eq(text, rows[i].out, "row %zu", i);
        cr_expect_eq(n, strlen(rows[i].out), "row %zu", i);
        free(text);
    }
}

Test(compact, a_copy_grows_its_buffer_and_stops_at_len) {
    char *buf = NULL;
    size_t cap = 0;
    const char *in = "{\"a\": 1} trailing";
    size_t n = db_json_compact_copy(in, 8, &buf, &cap);
    cr_expect_str_eq(buf, "{\"a\":1}");
    cr_expect_eq(n, 7);
    cr_expect_geq(cap, 9);
    n = db_json_compact_copy(rows[1].in, strlen(rows[1].in), &buf, &cap);
    cr_expect_str_eq(buf, rows[1].out);
    cr_expect_eq(n, strlen(rows[1].out));
    free(buf);
}
