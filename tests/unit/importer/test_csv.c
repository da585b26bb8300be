/* The CSV reader: Python's csv module's records, whatever the chunk sizes. */
#include "csv.h"
#include "error.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#define MAX_OUT 4096

/* Each record as "number:[field|field]", "number:-" (blank) or "number!code", joined by " ". */
typedef struct collected {
    char out[MAX_OUT];
    size_t len;
} collected;

static int collect(const csv_record *rec, void *ctx) {
    collected *c = ctx;
    c->len += (size_t)snprintf(c->out + c->len, MAX_OUT - c->len, "%s%lld", c->len ? " " : "",
                               (long long)rec->number);
    if (rec->error != 0) {
        c->len += (size_t)snprintf(c->out + c->len, MAX_OUT - c->len, "!%s", error_code(rec->error));
        return 0;
    }
    if (rec->n == 0) {
        c->len += (size_t)snprintf(c->out + c->len, MAX_OUT - c->len, ":-");
        return 0;
    }
    c->len += (size_t)snprintf(c->out + c->len, MAX_OUT - c->len, ":[");
    for (size_t i = 0; i < rec->n; i++) {
        cr_assert_eq(strlen(rec->fields[i]), rec->lens[i]);
        c->len += (size_t)snprintf(c->out + c->len, MAX_OUT - c->len, "%s%s", i ? "|" : "",
                                   rec->fields[i]);
    }
    c->len += (size_t)snprintf(c->out + c->len, MAX_OUT - c->len, "]");
    return 0;
}

/* Reads input in chunks of every size from 1 to its length, expecting the same records. */
static void expect_records(const char *input, size_t max, const char *want) {
    size_t len = strlen(input);
    for (size_t chunk = 1; chunk <= (len ? len : 1); chunk++) {
        collected c = {.len = 0};
        csv_reader *r = csv_create(max, collect, &c);
        for (size_t i = 0; i < len; i += chunk)
            cr_assert_eq(csv_feed(r, input + i, len - i < chunk ? len - i : chunk), 0);
        cr_assert_eq(csv_finish(r), 0);
        csv_destroy(r);
        cr_assert_str_eq(c.out, want, "chunk %zu of %s", chunk, input);
    }
}

Test(csv, plain_fields_and_line_ends) {
    expect_records("a,b\n1,2\n", 100, "1:[a|b] 2:[1|2]");
    expect_records("a,b\r\n1,2\r\n", 100, "1:[a|b] 2:[1|2]");
    expect_records("a,b\r1,2", 100, "1:[a|b] 2:[1|2]");
    expect_records("a,,\n", 100, "1:[a||]");
    expect_records("a,", 100, "1:[a|]");
}

Test(csv, blank_records_are_numbered_and_empty) {
    expect_records("a\n\n\r\nb\n", 100, "1:[a] 2:- 3:- 4:[b]");
}

Test(csv, quotes_as_python_reads_them) {
    expect_records("\"a,b\",\"say \"\"hi\"\"\"\n", 100, "1:[a,b|say \"hi\"]");
    expect_records("\"two\nlines\",x\r\nnext\n", 100, "1:[two\nlines|x] 2:[next]");
    expect_records("\"ab\"c,d\n", 100, "1:[abc|d]"); /* text after the closing quote joins */
    expect_records("a\"b,c\n", 100, "1:[a\"b|c]");   /* a quote inside a field is text */
    expect_records("\"\"\n", 100, "1:[]");           /* one empty field */
    expect_records("\"crlf\r\nkept\"\n", 100, "1:[crlf\r\nkept]");
}

Test(csv, a_bom_at_the_start_is_dropped_and_only_there) {
    expect_records("\xEF\xBB\xBFresource_type,id\n", 100, "1:[resource_type|id]");
    expect_records("\xEF\xBB", 100, "1!invalid_utf8");
    expect_records("a,\xEF\xBB\xBF\n", 100, "1:[a|\xEF\xBB\xBF]");
}

Test(csv, bad_records_are_flagged_and_the_next_ones_read) {
    expect_records("\"open\nnever closed", 100, "1!bad_request");
    expect_records("ok\n\xff\xfe\nok\n", 100, "1:[ok] 2!invalid_utf8 3:[ok]");
    char nul[] = "a\nb?c\nd\n";
    nul[3] = '\0';
    collected c = {.len = 0};
    csv_reader *r = csv_create(100, collect, &c);
    cr_assert_eq(csv_feed(r, nul, sizeof nul - 1), 0);
    cr_assert_eq(csv_finish(r), 0);
    csv_destroy(r);
    cr_assert_str_eq(c.out, "1:[a] 2!nul_byte 3:[d]");
}

Test(csv, a_record_longer_than_the_limit_is_flagged_whole) {
    expect_records("abcde,fg\nabc,def\n", 6, "1!line_too_long 2:[abc|def]"); /* field bytes */
    expect_records("\"a\nbcdefgh\"\nx\n", 4, "1!line_too_long 2:[x]");
}

static int stop_at_two(const csv_record *rec, void *ctx) {
    (void)ctx;
    return rec->number == 2 ? BI_EINTERNAL : 0;
}

Test(csv, the_callback_stops_the_reading) {
    csv_reader *r = csv_create(100, stop_at_two, NULL);
    cr_assert_eq(csv_feed(r, "a\nb\nc\n", 6), BI_EINTERNAL);
    csv_destroy(r);
    csv_destroy(NULL);
}
