/* Fuzzes the line splitter: any bytes, fed in pieces whose sizes come from the input itself,
 * must cut into the same lines as one whole feed, and every line obeys split.h's contract. */
#include "split.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_LINE 64

typedef struct tally {
    uint64_t hash;
    int64_t lines, last;
} tally;

static int count_line(const split_line *l, void *ctx) {
    tally *t = ctx;
    if (l->number != t->last + 1 || (l->error == 0) != (l->text != NULL) ||
        (l->text != NULL && l->len > FUZZ_MAX_LINE))
        abort(); /* numbered in order; text exactly when there is no error; within the cap */
    t->last = l->number;
    t->lines++;
    t->hash = t->hash * 31 + l->len + (uint64_t)l->error * 7919 + l->offset;
    for (size_t i = 0; l->text != NULL && i < l->len; i++)
        t->hash = t->hash * 131 + (unsigned char)l->text[i];
    return 0;
}

static tally split_all(const uint8_t *data, size_t size, size_t piece) {
    tally t = {0};
    splitter s;
    split_init(&s, FUZZ_MAX_LINE, count_line, &t);
    for (size_t at = 0; at < size; at += piece)
        split_feed(&s, (const char *)data + at, size - at < piece ? size - at : piece);
    split_finish(&s);
    split_fini(&s);
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tally whole = split_all(data, size, size ? size : 1);
    tally pieces = split_all(data, size, size ? (size_t)data[0] % 7 + 1 : 1);
    if (whole.hash != pieces.hash || whole.lines != pieces.lines)
        abort(); /* the cut must not depend on how the bytes arrive */
    return 0;
}
