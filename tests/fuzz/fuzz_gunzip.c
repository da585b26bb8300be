/* Fuzzes the gzip decoder: any bytes, fed whole and in pieces whose sizes come from the input
 * itself, must decode to the same bytes and the same verdict, within the receiver's limit. */
#include "gunzip.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_LIMIT (1 << 20) /* the receiver stops a bomb here, as the intake does */

typedef struct tally {
    uint64_t hash, bytes;
} tally;

static int count(const char *data, size_t len, void *ctx) {
    tally *t = ctx;
    if (len == 0)
        abort(); /* nothing empty is handed on */
    for (size_t i = 0; i < len; i++)
        t->hash = t->hash * 131 + (unsigned char)data[i];
    t->bytes += len;
    return t->bytes > FUZZ_LIMIT ? -7 : 0;
}

static int decode(const uint8_t *data, size_t size, size_t piece, tally *t) {
    gunzip *g = gunzip_create(count, t);
    int err = 0;
    for (size_t at = 0; at < size && err == 0; at += piece)
        err = gunzip_feed(g, (const char *)data + at, size - at < piece ? size - at : piece);
    if (err == 0)
        err = gunzip_finish(g);
    if (err != 0 && gunzip_error(g)[0] == '\0' && err != -7)
        abort(); /* every refusal says why */
    gunzip_free(g);
    return err;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tally whole = {0}, pieces = {0};
    int a = decode(data, size, size ? size : 1, &whole);
    int b = decode(data, size, size ? (size_t)data[size - 1] % 13 + 1 : 1, &pieces);
    /* A bomb stops wherever the limit falls, and what comes out before a refusal depends on
     * where the pieces end; otherwise the pieces change nothing. */
    if (a != -7 && b != -7 && (a != b || (a == 0 && (whole.hash != pieces.hash ||
                                                     whole.bytes != pieces.bytes))))
        abort();
    return 0;
}
