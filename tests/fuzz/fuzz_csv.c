/* Fuzzes the CSV reader and OCL's CSV converter: any bytes, fed whole and in pieces whose
 * sizes come from the input itself, must read as the same records; every record converts
 * under every pass into lines that are JSON objects carrying their row. */
#include "csv.h"
#include "csvconv.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct tally {
    uint64_t hash;
    int64_t records;
    csvconv *conv;
    size_t pass;
} tally;

static int check_line(const char *line, size_t len, void *ctx) {
    (void)ctx;
    if (strlen(line) != len)
        abort();
    cJSON *json = cJSON_Parse(line);
    if (!cJSON_IsObject(json) || !cJSON_IsNumber(json->child) ||
        strcmp(json->child->string, "__csv_row") != 0)
        abort(); /* every line is an object whose first member is its row */
    cJSON_Delete(json);
    return 0;
}

static int take(const csv_record *rec, void *ctx) {
    tally *t = ctx;
    if (rec->number != ++t->records)
        abort();
    t->hash = t->hash * 131 + (uint64_t)rec->error + rec->n;
    for (size_t i = 0; i < rec->n; i++) {
        if (strlen(rec->fields[i]) != rec->lens[i])
            abort();
        for (size_t k = 0; k < rec->lens[i]; k++)
            t->hash = t->hash * 131 + (unsigned char)rec->fields[i][k];
    }
    if (t->conv == NULL)
        return 0;
    if (rec->number == 1) {
        char why[200];
        csvconv_header(t->conv, rec, why, sizeof why);
        return 0;
    }
    csvconv_note(t->conv, rec);
    for (size_t p = 0; p < csvconv_passes(t->conv); p++)
        csvconv_row(t->conv, p, rec, check_line, NULL);
    return 0;
}

static void read_all(const uint8_t *data, size_t size, size_t piece, tally *t) {
    csv_reader *r = csv_create(4096, take, t);
    for (size_t at = 0; at < size; at += piece)
        csv_feed(r, (const char *)data + at, size - at < piece ? size - at : piece);
    csv_finish(r);
    csv_destroy(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tally whole = {.conv = csvconv_create()}, pieces = {0};
    read_all(data, size, size ? size : 1, &whole);
    read_all(data, size, size ? (size_t)data[size - 1] % 7 + 1 : 1, &pieces);
    if (whole.hash != pieces.hash || whole.records != pieces.records)
        abort();
    csvconv_destroy(whole.conv);
    return 0;
}
