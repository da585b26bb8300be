/* Extracting the import file from raw, multipart, urlencoded and JSON-envelope bodies, whatever
 * the chunks, with the small fields beside it. */
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
static const char *const known[] = {"x", "y", "parallel", NULL};

static void expect_body(const char *ct, const char *body, size_t len, const char *want) {
    for (size_t chunk = 1; chunk <= 10; chunk++) {
        size_t step = chunk == 10 ? len : chunk;
        sink s = {.len = 0};
        const char *why = NULL;
        body_reader *r = body_reader_new(ct, known, collect, &s, &why);
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

#define EXPECT(ct, form_ok, body, want) expect_body(ct, body, sizeof body - 1, want)

Test(bodies, raw_passes_through) {
    EXPECT(NULL, false, "{\"a\":1}\n--x\r\n", "{\"a\":1}\n--x\r\n");
    EXPECT("application/json", true, "a=b", "a=b");
    /* curl --data-binary sends JSON lines as urlencoded: not a form, as no known field starts it */
    EXPECT("application/x-www-form-urlencoded", false, "{\"type\":\"Concept\",\"a\":\"b=c\"}\n",
           "{\"type\":\"Concept\",\"a\":\"b=c\"}\n");
    EXPECT("application/x-www-form-urlencoded", false, "zzz=1&data=x", "zzz=1&data=x");
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
    cr_expect_null(body_reader_new("multipart/form-data", known, collect, NULL, &why));
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
    body_reader *r = body_reader_new("multipart/form-data; boundary=XyZ", known, collect, &s, &why);
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

Test(bodies, json_envelope_streams_its_data_decoded) {
    const char *ct = "application/json";
    EXPECT(ct, true, "{\"parallel\":\"2\",\"data\":\"{\\\"type\\\":\\\"Concept\\\"}\\n{\\\"n\\\":\\\"\\u00e9\\ud83d\\ude00\\\\\\/\\t\\\"}\"}",
           "{\"type\":\"Concept\"}\n{\"n\":\"\xc3\xa9\xf0\x9f\x98\x80\\/\t\"}");
    EXPECT(ct, true, " { \"data\" : \"a\\nb\" , \"parallel\" : 5 } \n", "a\nb");
    /* A one-line import, a Reference whose data is an object, options alone: raw lines. */
    EXPECT(ct, true, "{\"type\":\"Concept\",\"id\":\"c\"}", "{\"type\":\"Concept\",\"id\":\"c\"}");
    EXPECT(ct, true, "{\"data\":{\"expressions\":[]},\"type\":\"Reference\"}",
           "{\"data\":{\"expressions\":[]},\"type\":\"Reference\"}");
    EXPECT(ct, true, "{\"parallel\":\"2\"}", "{\"parallel\":\"2\"}");
    EXPECT(ct, true, "[1,2]", "[1,2]");
    /* Broken envelopes are refused. */
    EXPECT(ct, true, "{\"data\":\"x\"} more", NULL);
    EXPECT(ct, true, "{\"data\":\"x", NULL);
    EXPECT(ct, true, "{\"data\":\"\\ud83d\"}", NULL);
    EXPECT(ct, true, "{\"data\":\"\\q\"}", NULL);
    EXPECT(ct, true, "{\"data\":\"x\",\"data\":\"y\"}", NULL);
    EXPECT(ct, true, "{\"data\":\"x\",\"file_url\":\"https://e.org/a\"}", NULL);
    EXPECT(ct, true, "{\"data\":\"x\",\"y\":[1]}", NULL);
    EXPECT(ct, true, "{\"data\":\"\\uD800\\u0041\\uDC00\"}", NULL);
    /* A broken field before the data: not an envelope, so the body is raw, all of it. */
    EXPECT(ct, true, "{\"parallel\":\"x\\q\",\"data\":\"abc\"}", "{\"parallel\":\"x\\q\",\"data\":\"abc\"}");
    EXPECT(ct, true, "{\"parallel\":\"\\uD800\",\"data\":\"\\uDC00xyz\"}",
           "{\"parallel\":\"\\uD800\",\"data\":\"\\uDC00xyz\"}");
}

Test(bodies, broken_escapes_and_twice_given_files_are_refused) {
    EXPECT("application/x-www-form-urlencoded", true, "data=abc%4", NULL);
    EXPECT("application/x-www-form-urlencoded", true, "data=x%4&parallel=1", NULL);
    EXPECT("multipart/form-data; boundary=B", false,
           "--B\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\na\r\n"
           "--B\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nb\r\n--B--\r\n", NULL);
}

/* Reads body (content type ct) whole; returns the fields as "name=value;..." in out. */
static int read_fields(const char *ct, const char *body, char *out, size_t out_len) {
    sink s = {.len = 0};
    const char *why = NULL;
    body_reader *r = body_reader_new(ct, known, collect, &s, &why);
    int rc = body_reader_feed(r, body, strlen(body));
    if (rc == 0)
        rc = body_reader_finish(r);
    const body_field *fields;
    size_t n = body_reader_fields(r, &fields), len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, out_len - len, "%s=%s%s;", fields[i].name, fields[i].value,
                                fields[i].after_file ? "(after)" : "");
    body_reader_free(r);
    return rc;
}

Test(bodies, small_fields_are_kept_in_every_form) {
    char fields[512];
    cr_expect_eq(read_fields("application/json", "{\"parallel\":\"2\",\"data\":\"a\",\"y\":true,\"z\":null}",
                             fields, sizeof fields), 0);
    cr_expect_str_eq(fields, "parallel=2;y=true(after);z=null(after);");
    cr_expect_eq(read_fields("application/x-www-form-urlencoded", "x=a+b%21&data=q&parallel=1",
                             fields, sizeof fields), 0);
    cr_expect_str_eq(fields, "x=a b!;parallel=1(after);");
    cr_expect_eq(read_fields("multipart/form-data; boundary=B",
                             "--B\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nL\r\n"
                             "--B\r\nContent-Disposition: form-data; name=\"parallel\"\r\n\r\n1\r\n--B--\r\n",
                             fields, sizeof fields), 0);
    cr_expect_str_eq(fields, "parallel=1(after);");
    cr_expect_eq(read_fields("application/x-www-form-urlencoded", "file_url=https%3A%2F%2Fe.org%2Fa",
                             fields, sizeof fields), 0);
}
