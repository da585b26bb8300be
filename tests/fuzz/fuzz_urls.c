/* Fuzzes OCL URL parsing: any text either is refused or parses to a reference that formats
 * back to a URL which parses to the same reference. */
#include "urls.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    urls_ref ref, again;
    char url[URLS_MAX];
    if (urls_parse(text, &ref) == 0 && urls_format(&ref, url, sizeof url) == 0) {
        if (urls_parse(url, &again) != 0)
            abort(); /* what urls_format writes, urls_parse reads */
        char url2[URLS_MAX];
        if (urls_format(&again, url2, sizeof url2) != 0 || strcmp(url, url2) != 0)
            abort(); /* and the round trip is stable */
    }
    free(text);
    return 0;
}
