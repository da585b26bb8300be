/* gzip decoding as a stream: the same bytes whatever the pieces, members one after another,
 * and a clear refusal of what is not gzip or stops short. */
#include "error.h"
#include "gunzip.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define OUT_MAX (1 << 20)

/* What the decoder emitted; stops it with BI_ETOOBIG past limit bytes when limit is set. */
typedef struct collected {
    char out[OUT_MAX];
    size_t len, limit;
} collected;

static int collect(const char *data, size_t len, void *ctx) {
    collected *c = ctx;
    if (c->limit > 0 && c->len + len > c->limit)
        return BI_ETOOBIG;
    cr_assert_leq(c->len + len, sizeof c->out);
    memcpy(c->out + c->len, data, len);
    c->len += len;
    return 0;
}

/* gzip of text (len bytes) with zlib's deflate, into out; returns its length. */
static size_t gzip_of(const char *text, size_t len, unsigned char *out, size_t cap) {
    z_stream z = {0};
    cr_assert_eq(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (unsigned char *)text;
    z.avail_in = (unsigned)len;
    z.next_out = out;
    z.avail_out = (unsigned)cap;
    cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    return n;
}

/* Decodes data (len bytes) fed in pieces of piece bytes into c; returns feed's, then finish's
 * result. */
static int decode(const unsigned char *data, size_t len, size_t piece, collected *c,
                  char *why, size_t why_len) {
    gunzip *g = gunzip_create(collect, c);
    int err = 0;
    for (size_t at = 0; at < len && err == 0; at += piece)
        err = gunzip_feed(g, (const char *)data + at, len - at < piece ? len - at : piece);
    if (err == 0)
        err = gunzip_finish(g);
    snprintf(why, why_len, "%s", gunzip_error(g));
    gunzip_free(g);
    return err;
}

Test(gunzip, the_magic_bytes_tell_gzip) {
    cr_expect(gunzip_is_magic((const unsigned char *)"\x1f\x8b\x08", 3));
    cr_expect(gunzip_is_magic((const unsigned char *)"\x1f", 1), "one byte: it may be");
    cr_expect_not(gunzip_is_magic((const unsigned char *)"{\"", 2));
    cr_expect_not(gunzip_is_magic((const unsigned char *)"\x1f\x8c", 2));
    cr_expect_not(gunzip_is_magic((const unsigned char *)"", 0));
}

Test(gunzip, decodes_the_same_bytes_whatever_the_pieces) {
    static char text[300000];
    for (size_t i = 0; i < sizeof text; i++) /* compressible but not trivial */
        text[i] = (char)("{\"type\":\"Concept\",\"id\":\"c\"}\n"[i % 28] + (i / 28 % 3 == 0));
    static unsigned char gz[400000];
    size_t n = gzip_of(text, sizeof text, gz, sizeof gz);
    static const size_t pieces[] = {1, 7, 4096, 400000};
    for (size_t p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
        static collected c;
        c.len = c.limit = 0;
        char why[160];
        cr_assert_eq(decode(gz, n, pieces[p], &c, why, sizeof why), 0, "%s", why);
        cr_expect_eq(c.len, sizeof text, "pieces of %zu", pieces[p]);
        cr_expect_eq(memcmp(c.out, text, sizeof text), 0, "pieces of %zu", pieces[p]);
    }
}

Test(gunzip, members_one_after_another_are_one_file) {
    unsigned char gz[512];
    size_t n = gzip_of("a\nb\n", 4, gz, sizeof gz);
    n += gzip_of("c\n", 2, gz + n, sizeof gz - n);
    static collected c;
    char why[160];
    cr_assert_eq(decode(gz, n, 3, &c, why, sizeof why), 0, "%s", why);
    cr_expect_eq(c.len, 6);
    cr_expect_eq(memcmp(c.out, "a\nb\nc\n", 6), 0);
}

/* Zero bytes after the last member (tape padding) end the file, as gzip(1) takes them; data
 * after them is refused. */
Test(gunzip, trailing_zero_padding_is_ignored) {
    unsigned char gz[1024];
    size_t n = gzip_of("a\n", 2, gz, sizeof gz);
    memset(gz + n, 0, 300);
    static collected c;
    char why[160];
    c.len = 0;
    cr_assert_eq(decode(gz, n + 300, 7, &c, why, sizeof why), 0, "%s", why);
    cr_expect_eq(c.len, 2);
    gz[n + 299] = 'x';
    c.len = 0;
    cr_expect_eq(decode(gz, n + 300, 7, &c, why, sizeof why), BI_EINVAL);
    cr_expect_str_eq(why, "has data after the zero bytes that end it");
}

Test(gunzip, a_file_that_stops_short_is_truncated) {
    unsigned char gz[512];
    size_t n = gzip_of("{\"type\":\"Concept\"}\n", 19, gz, sizeof gz);
    static collected c;
    char why[160];
    cr_expect_eq(decode(gz, n - 5, 4, &c, why, sizeof why), BI_EINVAL, "its CRC and length missing");
    cr_expect_str_eq(why, "is a truncated gzip file");
    c.len = 0;
    cr_expect_eq(decode(gz, 1, 1, &c, why, sizeof why), BI_EINVAL, "the magic's first byte only");
}

Test(gunzip, bytes_after_the_magic_that_are_not_gzip_are_refused) {
    static collected c;
    char why[160];
    const unsigned char bad[] = "\x1f\x8b\x09garbage that is not deflate";
    cr_expect_eq(decode(bad, sizeof bad - 1, 5, &c, why, sizeof why), BI_EINVAL);
    cr_expect(strncmp(why, "is not gzip data (", 18) == 0, "%s", why);
    unsigned char gz[512]; /* a good member, then garbage where a next member would begin */
    size_t n = gzip_of("x\n", 2, gz, sizeof gz);
    memcpy(gz + n, "junk", 4);
    c.len = 0;
    cr_expect_eq(decode(gz, n + 4, 64, &c, why, sizeof why), BI_EINVAL);
}

Test(gunzip, the_receiver_stops_a_bomb_early) {
    static char zeros[1 << 20];
    memset(zeros, '\n', sizeof zeros);
    static unsigned char gz[1 << 16];
    size_t n = gzip_of(zeros, sizeof zeros, gz, sizeof gz);
    cr_assert_lt(n, 4096, "a megabyte of newlines packs small: %zu", n);
    static collected c;
    c.len = 0;
    c.limit = 100000;
    char why[160];
    cr_expect_eq(decode(gz, n, n, &c, why, sizeof why), BI_ETOOBIG);
    cr_expect_leq(c.len, 100000, "nothing past the receiver's limit");
}
