#include "error.h"

#include <criterion/criterion.h>
#include <string.h>

struct row {
    int err;
    int status;
    const char *code;
};

static const struct row rows[] = {
#define ROW(name, value, status, code, message) {BI_##name, status, code},
    BI_ERRNO_MAP(ROW)
#undef ROW
};
#define N_ROWS (sizeof rows / sizeof rows[0])

Test(error, every_code_maps_to_its_status_and_name) {
    for (size_t i = 0; i < N_ROWS; i++) {
        cr_expect(rows[i].err < 0, "error values are negative");
        cr_expect_eq(error_http_status(rows[i].err), rows[i].status);
        cr_expect_str_eq(error_code(rows[i].err), rows[i].code);
        cr_expect(strlen(error_message(rows[i].err)) > 0);
    }
}

Test(error, values_and_codes_are_unique) {
    for (size_t i = 0; i < N_ROWS; i++)
        for (size_t j = i + 1; j < N_ROWS; j++) {
            cr_expect_neq(rows[i].err, rows[j].err);
            cr_expect_str_neq(rows[i].code, rows[j].code);
        }
}

Test(error, known_examples) {
    cr_expect_eq(error_http_status(BI_EAUTH), 401);
    cr_expect_eq(error_http_status(BI_ENOTFOUND), 404);
    cr_expect_eq(error_http_status(BI_EMETHOD), 405);
    cr_expect_eq(error_http_status(BI_ETOOBIG), 413);
    cr_expect_eq(error_http_status(BI_EUNAVAIL), 503);
    cr_expect_str_eq(error_code(BI_ECONFLICT), "conflict");
}

Test(error, unknown_values_are_internal_errors) {
    cr_expect_eq(error_http_status(-999), 500);
    cr_expect_str_eq(error_code(12345), "internal_error");
    cr_expect_str_eq(error_message(-999), error_message(BI_EINTERNAL));
}
