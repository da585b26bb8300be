/* Fuzzes the strict JSON scan: whatever it accepts cJSON must parse too, with the values it
 * reports lying inside the text and in order. */
#include "jsontext.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct seen {
    size_t size, last_end;
} seen;

static int each_value(size_t at, size_t len, void *ctx) {
    seen *s = ctx;
    if (at < s->last_end || at + len > s->size || len == 0)
        abort();
    s->last_end = at + len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    seen s = {size, 0};
    jsontext_error err = {0};
    if (jsontext_scan((const char *)data, size, 64, each_value, &s, &err) != 0) {
        if (err.at == 0 || err.at > size + 1 || err.why[0] == '\0')
            abort(); /* a refusal says where and why */
        return 0;
    }
    cJSON *json = cJSON_ParseWithLength((const char *)data, size);
    if (json == NULL)
        abort(); /* stricter than cJSON, never laxer */
    cJSON_Delete(json);
    return 0;
}
