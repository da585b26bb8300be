/* gunzip.h — gzip decoding as a stream: compressed bytes in, the file's bytes out as they come,
 * in bounded memory (zlib's window and one output buffer), members one after another as gzip
 * allows. A file is gzip when its first two bytes are gzip's magic (1f 8b), whatever its name
 * or Content-Encoding said: gunzip_is_magic tells.
 */
#ifndef BI_IMPORTER_GUNZIP_H
#define BI_IMPORTER_GUNZIP_H

#include <stdbool.h>
#include <stddef.h>

/* Receives decoded bytes; a negative return stops the decoding with that error. */
typedef int (*gunzip_emit)(const char *data, size_t len, void *ctx);

typedef struct gunzip gunzip;

/* Whether the len bytes at data (the start of a file) begin gzip's magic; with one byte, whether
 * it may. */
bool gunzip_is_magic(const unsigned char *data, size_t len);

/* A decoder that hands what it decodes to emit(ctx). Never NULL (aborts when out of memory). */
gunzip *gunzip_create(gunzip_emit emit, void *ctx);

/* Decodes the next len compressed bytes. Returns 0, BI_EINVAL when they are not gzip (the
 * reason in gunzip_error), or emit's error. */
int gunzip_feed(gunzip *g, const char *data, size_t len);

/* Ends the input: BI_EINVAL when it stopped inside a member (a truncated file), else 0. */
int gunzip_finish(gunzip *g);

/* Why the last BI_EINVAL was returned, to follow "the file": "is not gzip data (…)" or "is a
 * truncated gzip file". */
const char *gunzip_error(const gunzip *g);

/* The decoded bytes so far. */
unsigned long long gunzip_out_bytes(const gunzip *g);

void gunzip_free(gunzip *g);

#endif
