/* export.h — an OCL source-version export ({"type":"Source Version", …, "concepts":[…],
 * "mappings":[…]}, one JSON document) converted to import lines as ocldev's
 * OCLExportToImportConverter converts it: the owner, the source, each concept, each mapping,
 * then the version (unless it is HEAD), with owner, owner_type and version taken from the
 * request when given (and the export's owner URL replaced by the new one in their strings).
 *
 * Streamed: a bounded scanner reads the document's top level, keeping its members but the two
 * arrays (whose places it notes), then reads the arrays an element at a time, so an export of
 * any size needs one element's memory (at most max_line bytes; a longer one becomes a flagged
 * line too long). The file must be seekable: the arrays are read after the header, wherever
 * they are in it.
 */
#ifndef BI_IMPORTER_EXPORT_H
#define BI_IMPORTER_EXPORT_H

#include <stddef.h>
#include <stdio.h>

typedef struct export_options {
    const char *owner, *owner_type, *version; /* NULL or "": the export's own */
    size_t max_line;                          /* an element longer than this is flagged */
} export_options;

/* Receives one line: JSON text of len bytes, or NULL with error (BI_ELINELONG) for an element
 * too long to keep. A negative return stops the conversion. */
typedef int (*export_emit)(const char *text, size_t len, int error, void *ctx);

/* Whether the len bytes at head (a file's start) may begin an export: they start as oclapi2
 * looks for, {"type": "Source Version" or {"type":"Source Version" (a prefix of either, when
 * len is short, counts). */
int export_may_begin(const char *head, size_t len);

/* Converts the export in f (read from its start). Returns 1 when it converted; 0 when f is not
 * one document with type Source Version and concepts and mappings arrays (nothing emitted:
 * read it as JSON lines); BI_EINVAL with the reason in why (a broken document, or owner options
 * ocldev refuses); BI_EIO; or emit's error. */
int export_convert(FILE *f, const export_options *opt, export_emit emit, void *ctx, char *why,
                   size_t why_len);

#endif
