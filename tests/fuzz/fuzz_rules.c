/* Fuzzes a line's way to its rules: jsonb's strict scan, cJSON, DRF's coercion and the line
 * rules with their directive parser, in the order the importer runs them. */
#include "drf.h"
#include "jsontext.h"
#include "rules.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    jsontext_error jerr = {0};
    if (jsontext_scan(text, size, 64, NULL, NULL, &jerr) != 0)
        return 0;
    cJSON *line = cJSON_ParseWithLength(text, size);
    if (line == NULL)
        return 0;
    rules_error err;
    char *canonical = NULL;
    size_t canonical_len = 0;
    if (drf_canonicalize(line, text, size, &canonical, &canonical_len, &err) == 0 &&
        canonical != NULL) {
        jsontext_error again = {0};
        if (jsontext_scan(canonical, canonical_len, 64, NULL, NULL, &again) != 0)
            abort(); /* the rewritten text is still JSON jsonb takes */
    }
    free(canonical);
    rules_line *out = calloc(1, sizeof *out);
    if (rules_check_line(line, out, &err) == 0 && out->type == RULES_NO_TYPE)
        abort(); /* an accepted line has a type */
    free(out);
    cJSON_Delete(line);
    return 0;
}
