#include "split.h"

#include "error.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};

void split_init(splitter *s, size_t max_line, split_emit emit, void *ctx) {
    memset(s, 0, sizeof *s);
    s->max_line = max_line;
    s->buf = malloc(max_line + 1);
    if (s->buf == NULL)
        abort();
    s->emit = emit;
    s->ctx = ctx;
}

void split_fini(splitter *s) {
    free(s->buf);
    s->buf = NULL;
}

static int split_is_blank(const char *text, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r')
            return 0;
    return 1;
}

/* Emits the line in the buffer (if it is not blank) and starts the next one at s->offset. */
static int split_end_line(splitter *s) {
    size_t len = s->len;
    if (len > 0 && s->buf[len - 1] == '\r')
        len--;
    int rc = 0;
    if (s->error != 0 || !split_is_blank(s->buf, len)) {
        split_line line = {.text = s->buf, .len = len, .number = ++s->number,
                           .offset = s->line_offset, .error = s->error};
        if (line.error == 0 && utf8_invalid_at(s->buf, len) != len)
            line.error = BI_EUTF8;
        if (line.error == 0 && memchr(s->buf, '\0', len) != NULL)
            line.error = BI_ENUL;
        if (line.error != 0) {
            line.text = NULL;
            line.len = 0;
        }
        rc = s->emit(&line, s->ctx);
    }
    s->len = 0;
    s->error = 0;
    s->line_offset = s->offset;
    return rc;
}

int split_feed(splitter *s, const char *data, size_t len) {
    size_t i = 0;
    /* A BOM may arrive split across chunks: match it byte by byte at the start. */
    while (s->bom_seen >= 0 && i < len) {
        if ((unsigned char)data[i] != bom[s->bom_seen]) {
            /* Not a BOM: the bytes matched so far are content. */
            memcpy(s->buf, bom, (size_t)s->bom_seen);
            s->len = (size_t)s->bom_seen;
            s->bom_seen = -1;
            break;
        }
        i++;
        s->offset++;
        if (++s->bom_seen == 3) {
            s->bom_seen = -1;
            s->line_offset = s->offset;
        }
    }
    while (i < len) {
        const char *nl = memchr(data + i, '\n', len - i);
        size_t chunk = nl ? (size_t)(nl - (data + i)) : len - i;
        /* The line's bytes: kept while they fit (one more byte than max for a final CR). */
        if (s->error != BI_ELINELONG) {
            size_t room = s->max_line + 1 - s->len;
            size_t take = chunk < room ? chunk : room;
            memcpy(s->buf + s->len, data + i, take);
            s->len += take;
            if (take < chunk || (s->len > s->max_line && s->buf[s->len - 1] != '\r')) {
                s->error = BI_ELINELONG;
                s->len = 0;
            }
        }
        i += chunk;
        s->offset += chunk;
        if (nl != NULL) {
            i++;
            s->offset++;
            int rc = split_end_line(s);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

int split_finish(splitter *s) {
    if (s->bom_seen > 0) { /* an upload that is a BOM prefix and nothing else */
        memcpy(s->buf, bom, (size_t)s->bom_seen);
        s->len = (size_t)s->bom_seen;
        s->bom_seen = -1;
    }
    if (s->len == 0 && s->error == 0)
        return 0;
    return split_end_line(s);
}
