/* Fuzzes the OCL export scanner and converter: any document (a file of any bytes) is either
 * not an export, a refused one with a reason, or lines that are each JSON or flagged; never a
 * crash, a leak or a read past the file. */
#include "error.h"
#include "export.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check(const char *text, size_t len, int error, void *ctx) {
    (void)ctx;
    if (text == NULL && error != BI_ELINELONG)
        abort();
    if (text != NULL && len == 0)
        abort(); /* a line is never empty */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0)
        return 0;
    FILE *f = fmemopen((void *)data, size, "r");
    if (f == NULL)
        return 0;
    export_options opt = {.max_line = 64};
    if (data[0] & 1) { /* sometimes a new owner */
        opt.owner = "N";
        opt.owner_type = data[0] & 2 ? "User" : "Organization";
        opt.version = "v9";
    }
    char why[200] = "";
    int rc = export_convert(f, &opt, check, NULL, why, sizeof why);
    fclose(f);
    if (rc == BI_EINVAL && why[0] == '\0')
        abort(); /* every refusal says why */
    if (rc != 0 && rc != 1 && rc != BI_EINVAL && rc != BI_EIO)
        abort();
    return 0;
}
