/* result=failed's and result=unprocessed's lines: the reason spliced in as the first member,
 * the rest byte for byte; lines that are not objects as __line. */
#include "line_errors.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

typedef struct out {
    char text[4096];
    size_t len;
} out;

static int take(const char *data, size_t len, void *ctx) {
    out *o = ctx;
    cr_assert_lt(o->len + len, sizeof o->text);
    memcpy(o->text + o->len, data, len);
    o->len += len;
    o->text[o->len] = '\0';
    return 0;
}

static const char *failed(const char *text, const char *code, const char *message, long line) {
    static out o;
    o.len = 0;
    db_line l = {.line_no = line, .code = code, .message = message, .text = text,
                 .len = text ? strlen(text) : 0};
    cr_assert_eq(line_errors_write_failed(&l, take, &o), 0);
    return o.text;
}

Test(line_errors, an_object_keeps_its_bytes_after_the_reason) {
    cr_expect_str_eq(failed("{\"type\": \"Concept\",  \"id\":\"x\" }", "not_found", "gone", 7),
                     "{\"__error\":{\"code\":\"not_found\",\"message\":\"gone\",\"line\":7},"
                     "\"type\": \"Concept\",  \"id\":\"x\" }\n");
    cr_expect_str_eq(failed("  {\"a\":1}", "c", "m", 1),
                     "{\"__error\":{\"code\":\"c\",\"message\":\"m\",\"line\":1},\"a\":1}\n");
    cr_expect_str_eq(failed("{ }", "c", "m", 2),
                     "{\"__error\":{\"code\":\"c\",\"message\":\"m\",\"line\":2} }\n",
                     "an empty object takes no comma");
}

Test(line_errors, a_message_is_escaped_as_json) {
    cr_expect_str_eq(failed("{}", "c", "say \"hi\"\n\\", 3),
                     "{\"__error\":{\"code\":\"c\",\"message\":\"say \\\"hi\\\"\\n\\\\\",\"line\":3}}\n");
}

Test(line_errors, what_is_not_an_object_is_its_line_as_a_string) {
    cr_expect_str_eq(failed("[1,2]", "not_an_object", "m", 4),
                     "{\"__error\":{\"code\":\"not_an_object\",\"message\":\"m\",\"line\":4},\"__line\":\"[1,2]\"}\n");
    cr_expect_str_eq(failed("{\"a\":", "invalid_json", "m", 5),
                     "{\"__error\":{\"code\":\"invalid_json\",\"message\":\"m\",\"line\":5},\"__line\":\"{\\\"a\\\":\"}\n",
                     "broken JSON that starts like an object");
    cr_expect_str_eq(failed("{\"a\":1} x", "invalid_json", "m", 6),
                     "{\"__error\":{\"code\":\"invalid_json\",\"message\":\"m\",\"line\":6},\"__line\":\"{\\\"a\\\":1} x\"}\n");
    cr_expect_str_eq(failed(NULL, "invalid_utf8", "m", 8),
                     "{\"__error\":{\"code\":\"invalid_utf8\",\"message\":\"m\",\"line\":8},\"__line\":null}\n",
                     "the upload kept no text");
}

Test(line_errors, a_converted_csv_line_names_its_row) {
    cr_expect_str_eq(failed("{\"__csv_row\":12,\"type\":\"Concept\"}", "not_found", "CSV row 12: gone", 3),
                     "{\"__error\":{\"code\":\"not_found\",\"message\":\"CSV row 12: gone\",\"line\":3,"
                     "\"row\":12},\"__csv_row\":12,\"type\":\"Concept\"}\n");
}

Test(line_errors, unprocessed_lines_come_back_as_submitted) {
    out o = {.len = 0};
    db_line l = {.line_no = 9, .text = "{\"type\" : \"Organization\"}", .len = 25};
    cr_assert_eq(line_errors_write_unprocessed(&l, take, &o), 0);
    cr_expect_str_eq(o.text, "{\"type\" : \"Organization\"}\n");
    o.len = 0;
    db_line flagged = {.line_no = 10, .upload_error = "nul_byte"};
    cr_assert_eq(line_errors_write_unprocessed(&flagged, take, &o), 0);
    cr_expect_str_eq(o.text, "{\"__error\":{\"code\":\"nul_byte\",\"message\":\"the line holds a NUL "
                             "byte\",\"line\":10},\"__line\":null}\n");
}
