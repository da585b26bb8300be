/* unzip.h — the one file of a ZIP archive, as a stream of its bytes: libarchive (Debian's) reads
 * the archive from a seekable descriptor (a spooled upload), its central directory telling that
 * it holds exactly one regular file (directories aside), then hands that file's bytes on a block
 * at a time, in bounded memory. Nothing is ever written to disk: entry names are only names.
 */
#ifndef BI_IMPORTER_UNZIP_H
#define BI_IMPORTER_UNZIP_H

#include <stddef.h>

#define UNZIP_NAME_MAX 255
#define UNZIP_WHY_MAX 320

typedef struct unzip_sink {
    /* Called once, with the file's name, before its bytes; a negative return stops. */
    int (*begin)(const char *name, void *ctx);
    /* Receives the file's bytes; a negative return stops and is returned. */
    int (*bytes)(const char *data, size_t len, void *ctx);
    void *ctx;
} unzip_sink;

/* Reads the archive on fd (from its start; fd is not closed) into sink. Returns 0; BI_EINVAL
 * with why set (UNZIP_WHY_MAX bytes, to follow "the file ": "is not a readable ZIP archive (…)",
 * "is a ZIP archive with 2 files: it must hold exactly one", "in the ZIP archive cannot be read
 * (…)"); or the sink's error, why left "". */
int unzip_one(int fd, const unzip_sink *sink, char *why);

#endif
