/* Array parameters: the binary form PostgreSQL's array_recv reads. (Their round trip through
 * PostgreSQL is what the store's tests check, with every kind of text.) */
#include "array.h"

#include <criterion/criterion.h>
#include <string.h>

/* The big-endian word at p. */
static uint32_t word(const char *p) {
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

Test(array, a_binary_array_has_its_header_then_each_element_with_its_length) {
    db_barray a;
    db_barray_init(&a, DB_OID_TEXT);
    db_barray_add(&a, "a\"b\\c");
    db_barray_add(&a, NULL);
    db_barray_add_text(&a, "", 0);
    int len;
    const char *b = db_barray_bytes(&a, &len);
    cr_assert_eq(len, 20 + (4 + 5) + 4 + 4);
    cr_expect_eq(word(b), 1, "one dimension");
    cr_expect_eq(word(b + 4), 1, "has NULLs");
    cr_expect_eq(word(b + 8), DB_OID_TEXT);
    cr_expect_eq(word(b + 12), 3, "three elements");
    cr_expect_eq(word(b + 16), 1, "from 1");
    cr_expect_eq(word(b + 20), 5);
    cr_expect_eq(memcmp(b + 24, "a\"b\\c", 5), 0, "the bytes as they are, nothing escaped");
    cr_expect_eq(word(b + 29), UINT32_MAX, "NULL: length -1");
    cr_expect_eq(word(b + 33), 0, "the empty text");
    db_barray_fini(&a);
}

Test(array, jsonb_int8_bool_and_uuid_elements_take_their_binary_forms) {
    db_barray j, i, t, u;
    db_barray_init(&j, DB_OID_JSONB);
    db_barray_init(&i, DB_OID_INT8);
    db_barray_init(&t, DB_OID_BOOL);
    db_barray_init(&u, DB_OID_UUID);
    db_barray_add(&j, "{}");
    db_barray_add_int64(&i, -2);
    db_barray_add_bool(&t, true);
    db_barray_add_uuid_hex(&u, "00112233445566778899aabbccddeeFF");
    int len;
    const char *b = db_barray_bytes(&j, &len);
    cr_expect_eq(word(b + 4), 0, "no NULLs");
    cr_expect_eq(word(b + 20), 3);
    cr_expect_eq(memcmp(b + 24, "\x01{}", 3), 0, "jsonb: version 1, then the text");
    b = db_barray_bytes(&i, &len);
    cr_expect_eq(word(b + 20), 8);
    cr_expect_eq(memcmp(b + 24, "\xff\xff\xff\xff\xff\xff\xff\xfe", 8), 0);
    b = db_barray_bytes(&t, &len);
    cr_expect_eq(word(b + 20), 1);
    cr_expect_eq(b[24], 1);
    b = db_barray_bytes(&u, &len);
    cr_expect_eq(word(b + 20), 16);
    cr_expect_eq(memcmp(b + 24, "\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff", 16), 0);
    db_barray_fini(&j);
    db_barray_fini(&i);
    db_barray_fini(&t);
    db_barray_fini(&u);
}

Test(array, an_empty_binary_array_has_no_dimension) {
    db_barray a;
    db_barray_init(&a, DB_OID_INT8);
    int len;
    const char *b = db_barray_bytes(&a, &len);
    cr_assert_eq(len, 12);
    cr_expect_eq(word(b), 0);
    cr_expect_eq(word(b + 8), DB_OID_INT8);
    db_barray_fini(&a);
}
