#include "gunzip.h"

#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

#define GUNZIP_OUT (64 * 1024)

struct gunzip {
    z_stream z;
    gunzip_emit emit;
    void *ctx;
    bool started;   /* a member began */
    bool in_member; /* a member began and has not ended */
    bool padding;   /* zero bytes after the last member (as tapes pad; gzip(1) ignores them) */
    unsigned long long out_bytes;
    char error[160];
    unsigned char out[GUNZIP_OUT];
};

bool gunzip_is_magic(const unsigned char *data, size_t len) {
    return len >= 1 && data[0] == 0x1f && (len == 1 || data[1] == 0x8b);
}

gunzip *gunzip_create(gunzip_emit emit, void *ctx) {
    gunzip *g = calloc(1, sizeof *g);
    /* 16 + MAX_WBITS: gzip's wrapper only, with its CRC and length checked. */
    if (g == NULL || inflateInit2(&g->z, 16 + MAX_WBITS) != Z_OK)
        abort();
    g->emit = emit;
    g->ctx = ctx;
    return g;
}

/* Records why the data is refused; returns BI_EINVAL. */
static int gunzip_refuse(gunzip *g, const char *why) {
    snprintf(g->error, sizeof g->error, "%s", why);
    return BI_EINVAL;
}

int gunzip_feed(gunzip *g, const char *data, size_t len) {
    g->z.next_in = (unsigned char *)data;
    g->z.avail_in = (unsigned)len; /* callers feed pieces far below 4 GiB */
    bool full = false;             /* the last call filled the output: inflate may hold more */
    while (g->z.avail_in > 0 || full) {
        if (!g->in_member) {
            if (g->z.avail_in == 0)
                break;
            if (g->started && (g->padding || g->z.next_in[0] == 0)) {
                for (; g->z.avail_in > 0; g->z.next_in++, g->z.avail_in--)
                    if (g->z.next_in[0] != 0)
                        return gunzip_refuse(g, "has data after the zero bytes that end it");
                g->padding = true;
                break;
            }
            /* Another member follows the last one: gzip files may be concatenated. */
            if (g->started && inflateReset(&g->z) != Z_OK)
                abort();
            g->in_member = g->started = true;
        }
        g->z.next_out = g->out;
        g->z.avail_out = sizeof g->out;
        int rc = inflate(&g->z, Z_NO_FLUSH);
        size_t produced = sizeof g->out - g->z.avail_out;
        if (rc == Z_BUF_ERROR && produced == 0)
            break; /* nothing more without more input */
        if (rc != Z_OK && rc != Z_STREAM_END) {
            char why[160];
            snprintf(why, sizeof why, "is not gzip data (%s)", g->z.msg ? g->z.msg : "unreadable");
            return gunzip_refuse(g, why);
        }
        g->out_bytes += produced;
        int err = produced > 0 ? g->emit((const char *)g->out, produced, g->ctx) : 0;
        if (err < 0)
            return err;
        if (rc == Z_STREAM_END)
            g->in_member = false;
        full = g->z.avail_out == 0;
    }
    return 0;
}

int gunzip_finish(gunzip *g) {
    return g->in_member ? gunzip_refuse(g, "is a truncated gzip file") : 0;
}

const char *gunzip_error(const gunzip *g) { return g->error; }

unsigned long long gunzip_out_bytes(const gunzip *g) { return g->out_bytes; }

void gunzip_free(gunzip *g) {
    if (g == NULL)
        return;
    inflateEnd(&g->z);
    free(g);
}
