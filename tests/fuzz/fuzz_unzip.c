/* Fuzzes the ZIP reader: any bytes, as a spooled upload, either give one file's bytes (stopped
 * at the receiver's limit, as the intake stops a bomb) or a refusal that says why; never a
 * crash, a leak or a read past the archive. */
#include "error.h"
#include "unzip.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FUZZ_LIMIT (1 << 20)

typedef struct tally {
    int begun;
    size_t bytes;
} tally;

static int begin(const char *name, void *ctx) {
    tally *t = ctx;
    if (t->begun++ || strlen(name) > UNZIP_NAME_MAX)
        abort(); /* once, with a bounded name */
    return 0;
}

static int bytes(const char *data, size_t len, void *ctx) {
    tally *t = ctx;
    (void)data;
    if (!t->begun || len == 0)
        abort();
    t->bytes += len;
    return t->bytes > FUZZ_LIMIT ? BI_ETOOBIG : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int fd = memfd_create("fuzz-unzip", 0);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    tally t = {0};
    unzip_sink sink = {.begin = begin, .bytes = bytes, .ctx = &t};
    char why[UNZIP_WHY_MAX];
    int rc = unzip_one(fd, &sink, why);
    close(fd);
    if (rc == BI_EINVAL && why[0] == '\0')
        abort(); /* every refusal of the archive says why */
    if (rc != 0 && rc != BI_EINVAL && rc != BI_ETOOBIG)
        abort();
    return 0;
}
