/* The streaming line splitter: the same lines whatever the chunk sizes. */
#include "error.h"
#include "split.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#define MAX_OUT 4096

/* Each emitted line as "number@offset:text" or "number@offset!code", joined by "|". */
typedef struct collected {
    char out[MAX_OUT];
    size_t len;
} collected;

static int collect(const split_line *line, void *ctx) {
    collected *c = ctx;
    if (line->error != 0)
        c->len += (size_t)snprintf(c->out + c->len, MAX_OUT - c->len, "%s%lld@%llu!%s",
                                   c->len ? "|" : "", (long long)line->number,
                                   (unsigned long long)line->offset, error_code(line->error));
    else
        c->len += (size_t)snprintf(c->out + c->len, MAX_OUT - c->len, "%s%lld@%llu:%.*s",
                                   c->len ? "|" : "", (long long)line->number,
                                   (unsigned long long)line->offset, (int)line->len, line->text);
    return 0;
}

/* Splits input (len bytes) in chunks of chunk bytes with lines of at most max bytes. */
static void split_in_chunks(const char *input, size_t len, size_t chunk, size_t max,
                            collected *c) {
    memset(c, 0, sizeof *c);
    splitter s;
    split_init(&s, max, collect, c);
    for (size_t i = 0; i < len; i += chunk)
        cr_assert_eq(split_feed(&s, input + i, len - i < chunk ? len - i : chunk), 0);
    cr_assert_eq(split_finish(&s), 0);
    split_fini(&s);
}

static void expect_split(const char *input, size_t len, size_t max, const char *want) {
    static const size_t chunks[] = {1, 2, 3, 5, 7, 64, 100000};
    for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
        collected c;
        split_in_chunks(input, len, chunks[k], max, &c);
        cr_expect_str_eq(c.out, want, "chunks of %zu", chunks[k]);
    }
}

#define EXPECT(input, max, want) expect_split(input, sizeof input - 1, max, want)

Test(split, lines_as_a_table) {
    EXPECT("a\nb\n", 16, "1@0:a|2@2:b");
    EXPECT("a\r\nb", 16, "1@0:a|2@3:b");                  /* CRLF; last line without newline */
    EXPECT("\n\n  \r\n\ta\n\n", 16, "1@6:\ta");           /* blank lines not counted */
    EXPECT("\xEF\xBB\xBF{}\n", 16, "1@3:{}");               /* BOM dropped */
    EXPECT("\xEF\xBB{}\n", 16, "1@0!invalid_utf8");        /* half a BOM is content */
    EXPECT("x\xEF\xBB\xBF\n", 16, "1@0:x\xEF\xBB\xBF");       /* a BOM later is content */
    EXPECT("ok\nab\xff\nok2", 16, "1@0:ok|2@3!invalid_utf8|3@7:ok2");
    EXPECT("a\0b\nc\n", 16, "1@0!nul_byte|2@4:c");
    EXPECT("1234\n12345\n123456\nz", 5, "1@0:1234|2@5:12345|3@11!line_too_long|4@18:z");
    EXPECT("12345\r\n123456\r\n", 5, "1@0:12345|2@7!line_too_long");
    EXPECT("", 16, "");
    EXPECT("\n\n", 16, "");
    EXPECT("\xEF\xBB\xBF", 16, "");
}

static int stop_at_two(const split_line *line, void *ctx) {
    (void)ctx;
    return line->number == 2 ? BI_ETOOBIG : 0;
}

Test(split, emit_can_stop_the_split) {
    splitter s;
    split_init(&s, 8, stop_at_two, NULL);
    cr_expect_eq(split_feed(&s, "a\nb\nc\n", 6), BI_ETOOBIG);
    split_fini(&s);
}
