/* Fuzzes the plan's identity scan, which reads a line's type and key without parsing it: it
 * must never read past the line, and a line it gives a parallel wave has a concept or mapping
 * type. */
#include "plan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *copy = malloc(size ? size : 1); /* exactly size bytes: ASan sees any overread */
    memcpy(copy, data, size);
    enum rules_type type;
    uint64_t key;
    plan_identity(copy, size, &type, &key);
    if (type != RULES_NO_TYPE && type != RULES_CONCEPT && type != RULES_MAPPING)
        abort();
    free(copy);
    return 0;
}
