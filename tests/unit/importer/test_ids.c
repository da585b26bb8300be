#include "ids.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

/* Parameters hold their text inline: Criterion re-executes the binary for each test, so
 * pointers to static data would not survive. */
struct name {
    char text[80];
};

static bool valid(const char *s) { return ids_name_is_valid(s, strlen(s)); }

ParameterizedTestParameters(ids, valid_names) {
    static struct name names[] = {{"a"}, {"root"}, {"Alice.Smith"}, {"user_1"}, {"x@example.org"},
                                  {"a-b"},
                                  {"0123456789012345678901234567890123456789012345678901234567890123"}};
    return cr_make_param_array(struct name, names, sizeof names / sizeof names[0]);
}

ParameterizedTest(struct name *name, ids, valid_names) {
    cr_expect(valid(name->text), "%s", name->text);
}

ParameterizedTestParameters(ids, invalid_names) {
    static struct name names[] = {{""}, {"a b"}, {"a/b"}, {"a%2F"}, {"\xc3\xa9mile"}, {"tab\t"},
                                  {"semi;colon"}, {"quote'"},
                                  {"01234567890123456789012345678901234567890123456789012345678901234"}};
    return cr_make_param_array(struct name, names, sizeof names / sizeof names[0]);
}

ParameterizedTest(struct name *name, ids, invalid_names) {
    cr_expect(!valid(name->text), "%s", name->text);
}

Test(ids, length_is_explicit_not_nul_terminated) {
    cr_expect(ids_name_is_valid("abc def", 3));
    cr_expect(!ids_name_is_valid("abc\0def", 7));
}

Test(ids, queue_names) {
    cr_expect(ids_queue_name_is_valid("nightly-sync"));
    cr_expect(ids_queue_name_is_valid("a.b@c_d"));
    const char *bad[] = {"default", "priority", ".", "..", "", "a b", "x/y"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect(!ids_queue_name_is_valid(bad[i]), "'%s' was accepted", bad[i]);
}
