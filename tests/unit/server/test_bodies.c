/* Extracting the import file from raw, multipart and urlencoded bodies, whatever the chunks. */
#include "bodies.h"
#include "error.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

typedef struct sink {
    char data[4096];
    size_t len;
} sink;

static int collect(const char *data, size_t len, void *ctx) {
    sink *s = ctx;
    cr_assert_lt(s->len + len, sizeof s->data);
    memcpy(s->data + s->len, data, len);
    s->len += len;
    s->data[s->len] = '\0';
    return 0;
}

/* Extracts body (content type ct) in chunks of every size from 1 to 9 and whole; asserts the
 * result is want each time (want NULL: finish fails). */
static void expect_body(const char *ct, bool form_ok, const char *body, size_t len,
                        const char *want) {
    for (size_t chunk = 1; chunk <= 10; chunk++) {
        size_t step = chunk == 10 ? len : chunk;
        sink s = {.len = 0};
        const char *why = NULL;
        body_reader *r = body_reader_new(ct, form_ok, collect, &s, &why);
        cr_assert_not_null(r, "%s", why);
        int rc = 0;
        for (size_t i = 0; i < len && rc == 0; i += step)
            rc = body_reader_feed(r, body + i, len - i < step ? len - i : step);
        if (rc == 0)
            rc = body_reader_finish(r);
        if (want == NULL)
            cr_expect_eq(rc, BI_EINVAL, "chunk %zu: got '%s'", chunk, s.data);
        else
            cr_expect(rc == 0 && s.len == strlen(want) && memcmp(s.data, want, s.len) == 0,
                      "chunk %zu: rc %d '%s' (%s), want '%s'", chunk, rc, s.data,
                      body_reader_error(r), want);
        body_reader_free(r);
    }
}

#define EXPECT(ct, form_ok, body, want) expect_body(ct, form_ok, body, sizeof body - 1, want)

Test(bodies, raw_passes_through) {
    EXPECT(NULL, false, "{\"a\":1}\n--x\r\n", "{\"a\":1}\n--x\r\n");
    EXPECT("application/json", true, "a=b", "a=b");
    EXPECT("application/x-www-form-urlencoded", false, "data=x", "data=x"); /* not on this path */
}

Test(bodies, multipart_field_file_or_data) {
    const char *ct = "multipart/form-data; boundary=XyZ";
    EXPECT(ct, false,
           "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n"
           "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.json\"\r\n"
           "Content-Type: application/json\r\n\r\n{\"a\":1}\r\n{\"b\":\"\r\n--Xy\"}\r\n--XyZ--\r\n",
           "{\"a\":1}\r\n{\"b\":\"\r\n--Xy\"}");
    EXPECT("multipart/form-data; boundary=\"q q\"", false,
           "--q q\r\nContent-Disposition: form-data; name=data\r\n\r\nL1\nL2\n\r\n--q q--", "L1\nL2\n");
    /* filename="file" is not the field name; a part that never ends is an error. */
    EXPECT(ct, false, "--XyZ\r\nContent-Disposition: form-data; name=\"x\"; filename=\"file\"\r\n\r\nz\r\n--XyZ--",
           NULL);
    EXPECT(ct, false, "--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nz", NULL);
    EXPECT(ct, false, "--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n\r\n--XyZ--", "");
}

Test(bodies, multipart_without_boundary_is_refused) {
    const char *why = NULL;
    cr_expect_null(body_reader_new("multipart/form-data", false, collect, NULL, &why));
    cr_expect_not_null(why);
}

Test(bodies, form_field_data_is_decoded) {
    const char *ct = "application/x-www-form-urlencoded";
    EXPECT(ct, true, "x=1&data=%7B%22a%22%3A+1%7D%0A%7B%7D&y=2", "{\"a\": 1}\n{}");
    EXPECT(ct, true, "data=", "");
    EXPECT(ct, true, "x=1", NULL);
    EXPECT(ct, true, "data=%ZZ", NULL);
}

/* Reads body whole as multipart with boundary XyZ; returns finish's code, the file_url in url. */
static int read_form(const char *body, char *url, size_t url_len) {
    sink s = {.len = 0};
    const char *why = NULL;
    body_reader *r = body_reader_new("multipart/form-data; boundary=XyZ", false, collect, &s, &why);
    cr_assert_not_null(r);
    int rc = 0;
    for (size_t i = 0; body[i] != '\0' && rc == 0; i++) /* byte by byte: the hardest split */
        rc = body_reader_feed(r, body + i, 1);
    if (rc == 0)
        rc = body_reader_finish(r);
    const char *found = rc == 0 ? body_reader_file_url(r) : NULL;
    snprintf(url, url_len, "%s", found ? found : "(none)");
    body_reader_free(r);
    return rc;
}

Test(bodies, multipart_file_url_field) {
    char url[4096];
    cr_expect_eq(read_form("--XyZ\r\nContent-Disposition: form-data; name=\"file_url\"\r\n\r\n"
                           "https://example.org/a.jsonl\r\n--XyZ--\r\n", url, sizeof url), 0);
    cr_expect_str_eq(url, "https://example.org/a.jsonl");
    cr_expect_eq(read_form("--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n"
                           "{}\r\n--XyZ--\r\n", url, sizeof url), 0);
    cr_expect_str_eq(url, "(none)");
    cr_expect_eq(read_form("--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n{}\r\n"
                           "--XyZ\r\nContent-Disposition: form-data; name=\"file_url\"\r\n\r\n"
                           "https://example.org/a.jsonl\r\n--XyZ--\r\n", url, sizeof url),
                 BI_EINVAL, "both is ambiguous");
    char body[3000];
    int n = snprintf(body, sizeof body, "--XyZ\r\nContent-Disposition: form-data; "
                                        "name=\"file_url\"\r\n\r\nhttps://example.org/");
    memset(body + n, 'a', 2100);
    strcpy(body + n + 2100, "\r\n--XyZ--\r\n");
    cr_expect_eq(read_form(body, url, sizeof url), BI_EINVAL, "longer than 2048 bytes");
}
