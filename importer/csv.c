#include "csv.h"

#include "error.h"
#include "utf8.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Python's _csv.c parser states, less those of options the excel dialect leaves off. */
enum csv_state {
    CSV_START_RECORD, /* nothing of this record yet */
    CSV_START_FIELD,  /* after a comma */
    CSV_IN_FIELD,
    CSV_IN_QUOTED,
    CSV_QUOTE_IN_QUOTED, /* a quote inside quotes: the end, or the first of '""' */
    CSV_EAT_NEWLINE,     /* after a CR: its LF belongs to the same line end */
};

struct csv_reader {
    size_t max_record;
    enum csv_state state;
    char *buf; /* the record's fields, each followed by NUL */
    size_t len, cap;
    size_t n; /* fields ended so far */
    const char **fields;
    size_t *lens;
    size_t fields_cap;
    bool too_long, has_nul;
    int bom_seen; /* bytes of the BOM matched at the start; -1 once past it */
    int64_t number;
    csv_emit emit;
    void *ctx;
};

csv_reader *csv_create(size_t max_record, csv_emit emit, void *ctx) {
    csv_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        abort();
    r->max_record = max_record;
    r->emit = emit;
    r->ctx = ctx;
    return r;
}

/* Appends c to buf (room for it made), whatever the limit. */
static void csv_put(csv_reader *r, char c) {
    if (r->len + 1 > r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        if ((r->buf = realloc(r->buf, r->cap)) == NULL)
            abort();
    }
    r->buf[r->len++] = c;
}

/* Adds c to the field being read, unless the record is already too long. */
static void csv_add_char(csv_reader *r, char c) {
    if (r->too_long)
        return;
    if (r->len - r->n >= r->max_record) { /* the NULs ending earlier fields do not count */
        r->too_long = true;
        return;
    }
    r->has_nul |= c == '\0';
    csv_put(r, c);
}

/* Ends the field being read; the next one starts after its NUL. */
static void csv_end_field(csv_reader *r) {
    if (!r->too_long)
        csv_put(r, '\0');
    r->n++;
}

/* Hands the record read so far to emit and starts the next. */
static int csv_end_record(csv_reader *r, int error) {
    r->number++;
    csv_record rec = {.number = r->number};
    if (r->fields_cap < r->n) {
        r->fields_cap = r->n;
        if (!(r->fields = realloc(r->fields, r->n * sizeof *r->fields)) ||
            !(r->lens = realloc(r->lens, r->n * sizeof *r->lens)))
            abort();
    }
    if (error == 0 && r->too_long)
        error = BI_ELINELONG;
    if (error == 0 && r->has_nul)
        error = BI_ENUL;
    if (error == 0 && utf8_invalid_at(r->buf, r->len) != r->len)
        error = BI_EUTF8;
    if (error == 0) {
        size_t at = 0;
        for (size_t i = 0; i < r->n; i++) {
            r->fields[i] = r->buf + at;
            r->lens[i] = strlen(r->buf + at);
            at += r->lens[i] + 1;
        }
        rec.n = r->n;
        rec.fields = r->fields;
        rec.lens = r->lens;
    }
    rec.error = error;
    r->n = 0;
    r->len = 0;
    r->too_long = r->has_nul = false;
    return r->emit(&rec, r->ctx);
}

/* A comma or a newline outside quotes: ends the field, and at a newline the record. */
static int csv_separator(csv_reader *r, char c) {
    csv_end_field(r);
    r->state = CSV_START_FIELD;
    if (c == ',')
        return 0;
    r->state = c == '\r' ? CSV_EAT_NEWLINE : CSV_START_RECORD;
    return csv_end_record(r, 0);
}

/* One byte; returns emit's error. */
static int csv_step(csv_reader *r, char c) {
    bool newline = c == '\n' || c == '\r';
    switch (r->state) {
    case CSV_EAT_NEWLINE:
        r->state = CSV_START_RECORD;
        if (c == '\n')
            return 0; /* CRLF */
        /* fall through */
    case CSV_START_RECORD:
        if (newline) { /* a blank record */
            r->state = c == '\r' ? CSV_EAT_NEWLINE : CSV_START_RECORD;
            return csv_end_record(r, 0);
        }
        /* fall through */
    case CSV_START_FIELD:
        if (c == '"') {
            r->state = CSV_IN_QUOTED;
        } else if (c == ',' || newline) {
    return csv_separator(r, c);
        } else {
            csv_add_char(r, c);
            r->state = CSV_IN_FIELD;
        }
        return 0;
    case CSV_IN_FIELD:
        if (c == ',' || newline) {
    return csv_separator(r, c);
        } else {
            csv_add_char(r, c);
        }
        return 0;
    case CSV_IN_QUOTED:
        if (c == '"')
            r->state = CSV_QUOTE_IN_QUOTED;
        else
            csv_add_char(r, c);
        return 0;
    case CSV_QUOTE_IN_QUOTED:
        if (c == '"') {
            csv_add_char(r, c);
            r->state = CSV_IN_QUOTED;
            return 0;
        }
        r->state = CSV_IN_FIELD;
        return csv_step(r, c); /* a comma or newline ends the field; other text joins it */
    }
    return 0;
}

int csv_feed(csv_reader *r, const char *data, size_t len) {
    static const char bom[] = "\xEF\xBB\xBF";
    for (size_t i = 0; i < len; i++) {
        if (r->bom_seen >= 0) {
            if (data[i] == bom[r->bom_seen]) {
                if (++r->bom_seen == 3)
                    r->bom_seen = -1;
                continue;
            }
            for (int k = 0; k < r->bom_seen; k++) { /* not a BOM after all: those bytes count */
                int err = csv_step(r, bom[k]);
                if (err < 0)
                    return err;
            }
            r->bom_seen = -1;
        }
        int err = csv_step(r, data[i]);
        if (err < 0)
            return err;
    }
    return 0;
}

int csv_finish(csv_reader *r) {
    if (r->bom_seen > 0) {
        int n = r->bom_seen;
        r->bom_seen = -1;
        int err = csv_feed(r, "\xEF\xBB\xBF", (size_t)n);
        if (err < 0)
            return err;
    }
    r->bom_seen = -1;
    switch (r->state) {
    case CSV_START_RECORD:
    case CSV_EAT_NEWLINE:
        return 0;
    case CSV_IN_QUOTED:
        r->state = CSV_START_RECORD;
        return csv_end_record(r, BI_EINVAL);
    default:
        csv_end_field(r);
        r->state = CSV_START_RECORD;
        return csv_end_record(r, 0);
    }
}

void csv_destroy(csv_reader *r) {
    if (r == NULL)
        return;
    free(r->buf);
    free(r->fields);
    free(r->lens);
    free(r);
}
