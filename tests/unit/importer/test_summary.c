/* OCL's summary line, byte for byte. */
#include "summary.h"

#include <criterion/criterion.h>

Test(summary, ocl_documentation_example) {
    summary s;
    summary_init(&s);
    summary_add(&s, "NEW", 200, 39);
    summary_add(&s, "NEW", 201, 307);
    summary_add(&s, "UPDATE", 200, 1);
    summary_add(&s, "DELETE", 204, 1);
    char line[512];
    summary_format(&s, 348, 348, 94.114, line, sizeof line);
    cr_expect_str_eq(line, "Processed 348 of 348 -- 346 NEW (200:39, 201:307); 1 UPDATE (200:1); "
                           "1 DELETE (204:1) in 94.11 secs");
}

Test(summary, skip_codes_and_counts) {
    summary s;
    summary_init(&s);
    summary_add(&s, "SKIP", 400, 2);
    summary_add(&s, "SKIP", 0, 3);
    summary_add(&s, "NEW", 201, 1);
    char line[512];
    summary_format(&s, 6, 10, 0, line, sizeof line);
    cr_expect_str_eq(line, "Processed 6 of 10 -- 5 SKIP (400:2, skip:3); 1 NEW (201:1) in 0.00 secs");
    cr_expect_eq(s.skipped, 5);
}

Test(summary, nothing_processed_leaves_two_spaces) {
    summary s;
    summary_init(&s);
    char line[512];
    summary_format(&s, 0, 7, 0, line, sizeof line);
    cr_expect_str_eq(line, "Processed 0 of 7 --  in 0.00 secs");
}
