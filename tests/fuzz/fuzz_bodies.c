/* Fuzzes the request body reader: the first byte picks the content type (multipart, form, the
 * JSON envelope, raw), the rest is the body, fed in two pieces split where the second byte
 * says. Whatever the bytes, the reader must not crash, leak or pass on more than it got. */
#include "bodies.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int sink(const char *data, size_t len, void *ctx) {
    (void)data;
    *(size_t *)ctx += len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const types[] = {"multipart/form-data; boundary=XyZ",
                                        "application/x-www-form-urlencoded", "application/json",
                                        "application/x-ndjson", NULL};
    static const char *const known[] = {"queue", "parallel", "update_if_exists", NULL};
    if (size < 2)
        return 0;
    const char *type = types[data[0] % 5];
    size_t cut = data[1] % (size - 1), body_len = size - 2;
    const char *body = (const char *)data + 2;
    size_t passed = 0;
    const char *why = NULL;
    body_reader *r = body_reader_new(type, known, sink, &passed, &why);
    if (r == NULL)
        return 0;
    if (body_reader_feed(r, body, cut < body_len ? cut : body_len) == 0 && cut < body_len)
        body_reader_feed(r, body + cut, body_len - cut);
    body_reader_finish(r);
    const body_field *fields;
    size_t n = body_reader_fields(r, &fields);
    for (size_t i = 0; i < n; i++)
        if (strlen(fields[i].name) >= BODY_FIELD_NAME_MAX || strlen(fields[i].value) >= BODY_FIELD_VALUE_MAX)
            abort();
    const char *url = body_reader_file_url(r);
    if (passed > body_len || (url != NULL && strlen(url) > BODY_FILE_URL_MAX))
        abort(); /* decoding never grows the file; the URL stays within its cap */
    body_reader_free(r);
    return 0;
}
