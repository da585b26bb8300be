/* The strict scan: what PostgreSQL's jsonb refuses although cJSON takes it, with the byte at
 * fault, and the spans of the scalar values in document order. */
#include "jsontext.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static int scan(const char *text, jsontext_error *err) {
    memset(err, 0, sizeof *err);
    return jsontext_scan(text, strlen(text), 1000, NULL, NULL, err);
}

Test(jsontext, what_jsonb_takes_and_refuses_as_a_table) {
    static const struct {
        const char *text;
        bool ok;
    } cases[] = {
        {"{\"a\":\"plain\"}", true},
        {"{\"a\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}", true},
        {"{\"a\":\"\\u00e9 \\ud83d\\ude00 \\\\u0000 \\\"\"}", true}, /* an escaped backslash */
        {"{\t\"a\":\r\n1}", true}, /* whitespace between tokens is fine */
        {"{\"a\":[1,-0,0.5,-1.5e+3,2E-2,1e131071,1e-16383,0e999999]}", true},
        {" {\"a\":{}, \"b\":[], \"c\":[true,false,null]} ", true},
        {"{\"a\":\"tab\tinside\"}", false},
        {"{\"a\":\"nl\ninside\"}", false},
        {"{\"a\":\"\\u0000\"}", false},
        {"{\"a\":\"\\ud83d\"}", false},
        {"{\"a\":\"\\ude00\"}", false},
        {"{\"a\":\"\\ud83d\\u0041\"}", false},
        {"{\"a\":\"\\x41\"}", false},
        {"{\"a\":\"\xc3\"}", false},          /* truncated sequence */
        {"{\"a\":\"\xc0\xaf\"}", false},      /* overlong */
        {"{\"a\":\"\xed\xa0\x80\"}", false},  /* an encoded surrogate */
        {"{\"a\":\"\xf4\x90\x80\x80\"}", false}, /* beyond U+10FFFF */
        {"{\"\xff\":1}", false},
        {"{\"a\":1} trailing", false},
        {"{\"a\":1}{\"b\":2}", false},
        {"{\"a\":01}", false},
        {"{\"a\":1.}", false},
        {"{\"a\":-.5}", false},
        {"{\"a\":.5}", false},
        {"{\"a\":+1}", false},
        {"{\"a\":1e}", false},
        {"{\"a\":1e999999}", false},
        {"{\"a\":1e131072}", false},
        {"{\"a\":1e-16384}", false},
        {"{\"a\":0.0e-20000}", false},
        {"{\"a\":NaN}", false},
        {"{\"a\":Infinity}", false},
        {"{\"a\":-Infinity}", false},
        {"{\"a\":tru}", false},
        {"{\"a\":1,}", false},
        {"{\"a\" 1}", false},
        {"{a:1}", false},
        {"[1,2", false},
        {"", false},
        {"\"unterminated", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        jsontext_error err;
        int rc = scan(cases[i].text, &err);
        cr_expect_eq(rc == 0, cases[i].ok, "case %zu (%s): %s", i, cases[i].text, err.why);
        if (!cases[i].ok)
            cr_expect(rc == -1 && err.at >= 1 && strstr(err.why, "invalid JSON") != NULL,
                      "case %zu: %s", i, err.why);
    }
}

Test(jsontext, names_the_byte_at_fault) {
    jsontext_error err;
    cr_assert_eq(scan("{\"a\":01}", &err), -1);
    cr_expect_eq(err.at, 6);
    cr_expect_str_eq(err.why, "invalid JSON: leading zero in a number at byte 6");
    cr_assert_eq(scan("{\"a\":1} x", &err), -1);
    cr_expect_str_eq(err.why, "invalid JSON: text after the value at byte 9");
    cr_assert_eq(scan("{\"a\":1e999999}", &err), -1);
    cr_expect_str_eq(err.why, "invalid JSON: number out of range at byte 6");
}

Test(jsontext, nesting_is_bounded) {
    char deep[64] = "";
    for (int i = 0; i < 20; i++)
        strcat(deep, "[");
    jsontext_error err;
    cr_expect_eq(jsontext_scan(deep, strlen(deep), 10, NULL, NULL, &err), -1);
    cr_expect(strstr(err.why, "nesting too deep") != NULL, "%s", err.why);
}

typedef struct spans {
    char text[256];
    const char *source;
} spans;

static int record(size_t at, size_t len, void *ctx) {
    spans *s = ctx;
    size_t n = strlen(s->text);
    snprintf(s->text + n, sizeof s->text - n, "%.*s|", (int)len, s->source + at);
    return 0;
}

Test(jsontext, hands_out_values_in_document_order_without_keys) {
    const char *text = "{\"id\":1,\"names\":[{\"name\":\"a\",\"x\":true}],\"e\":{\"k\":null},\"n\":-2.5e3}";
    spans s = {"", text};
    cr_assert_eq(jsontext_scan(text, strlen(text), 1000, record, &s, &(jsontext_error){0}), 0);
    cr_expect_str_eq(s.text, "1|\"a\"|true|null|-2.5e3|");
}
