#include "auth.h"
#include "error.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

/* Text is inline: Criterion re-executes the binary for each test, so pointers to static data
 * would not survive. */
struct header_case {
    char header[64];
    char token[64]; /* the expected token; "" when the header must be refused */
};

ParameterizedTestParameters(auth, header_parsing) {
    static struct header_case cases[] = {
        {"Token abc123", "abc123"},
        {"Bearer abc123", "abc123"},
        {"token abc123", "abc123"},
        {"BEARER abc123", "abc123"},
        {"Token    spaced", "spaced"},
        {"Token a!#$%&'*+-.^_`|~z", "a!#$%&'*+-.^_`|~z"},
        {"Token", ""},
        {"Token ", ""},
        {"Token  ", ""},
        {"Basic dXNlcjpwYXNz", ""},
        {"abc123", ""},
        {"Tokenabc", ""},
        {"Token abc def", ""},
        {"Token abc ", ""},
        {"Token abc\tdef", ""},
        {"Token ab\x01", ""},
        {"Token caf\xc3\xa9", ""},
        {"", ""},
    };
    return cr_make_param_array(struct header_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct header_case *c, auth, header_parsing) {
    const char *token = NULL;
    size_t len = 0;
    int err = auth_parse_header(c->header, &token, &len);
    if (c->token[0] == '\0') {
        cr_expect_eq(err, BI_EAUTH, "accepted '%s'", c->header);
    } else {
        cr_assert_eq(err, 0, "refused '%s'", c->header);
        cr_expect_eq(len, strlen(c->token));
        cr_expect(strncmp(token, c->token, len) == 0);
    }
}

Test(auth, missing_header_is_refused) {
    const char *token;
    size_t len;
    cr_expect_eq(auth_parse_header(NULL, &token, &len), BI_EAUTH);
}

Test(auth, sha256_known_vector) {
    unsigned char hash[32];
    auth_token_hash("abc", 3, hash);
    static const unsigned char expected[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
        0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    cr_expect_arr_eq(hash, expected, 32);
}

Test(auth, generated_tokens_are_hex_and_distinct) {
    char a[AUTH_TOKEN_HEX_LEN + 1], b[AUTH_TOKEN_HEX_LEN + 1];
    cr_assert_eq(auth_token_generate(a), 0);
    cr_assert_eq(auth_token_generate(b), 0);
    cr_expect_eq(strlen(a), 64);
    cr_expect_eq(strspn(a, "0123456789abcdef"), 64);
    cr_expect_str_neq(a, b);
}
