/* line_errors.h — a task's failed and unprocessed lines as result=failed and result=unprocessed
 * give them back (README "Results"): ready to fix and post again.
 *
 * A failed line that is a JSON object keeps every byte as submitted, with its reason spliced
 * in as its first member:
 *   {"__error":{"code":"not_found","message":"…","line":7},"type":"Concept",…}
 * A line that is not one (invalid JSON, or text the upload could not keep: invalid UTF-8, a
 * NUL byte, too long) becomes {"__error":{…},"__line":"<its text>"} ("__line" is null when
 * the upload kept no text). A line converted from CSV adds the row to the reason: "row": 12.
 * The importer ignores "__error" as it ignores every "__" key that is not a directive.
 */
#ifndef BI_SERVER_LINE_ERRORS_H
#define BI_SERVER_LINE_ERRORS_H

#include "tasks.h"

#include <stddef.h>

/* Receives the output in pieces; a non-zero return stops the writing and is returned. */
typedef int (*line_errors_write_fn)(const char *data, size_t len, void *ctx);

/* Writes line (a failed one: its code and message are its result's) as one NDJSON line, with
 * its newline. Returns 0 or what write returned. */
int line_errors_write_failed(const db_line *line, line_errors_write_fn write, void *ctx);

/* Writes line (one a task never reached) as one NDJSON line: as submitted, or, when the
 * upload kept no text, as a failed line with the upload's reason. Returns as above. */
int line_errors_write_unprocessed(const db_line *line, line_errors_write_fn write, void *ctx);

#endif
