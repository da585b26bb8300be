/* csvconv.h — OCL's standard CSV, converted to import lines as ocldev's
 * OclStandardCsvToJsonConverter converts it (called as oclapi2 calls it, ids kept verbatim):
 * the same definitions (importer/csv_definitions.inc, generated from ocldev's table) run by a
 * port of its engine — triggers on resource_type, skip-if-empty columns, core fields with
 * defaults and datatypes, names and descriptions with their [index] columns, attr: and
 * attr_key[i]/attr_value[i] extras, mappings from map_*[i] and extmap_*[i] columns and their
 * concept URLs.
 *
 * ocldev processes by definition: every row under the first definition (organizations), then
 * every row under the next (sources), and so on, so that a CSV listing concepts before their
 * source still imports. A caller does the same by reading the rows once per pass. Each line
 * carries "__csv_row" (the row's number, the header being row 1), a directive the importer
 * drops; a row the converter refuses under a definition becomes the line
 * {"__csv_row":N,"__csv_error":"…"}, which the importer answers SKIP 400 invalid_csv_row.
 * Pure: no I/O; memory: the header's names and one row's resources.
 */
#ifndef BI_IMPORTER_CSVCONV_H
#define BI_IMPORTER_CSVCONV_H

#include "csv.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct csvconv csvconv;

/* Receives one converted line (JSON, NUL-terminated, len bytes); a negative return stops. */
typedef int (*csvconv_emit)(const char *line, size_t len, void *ctx);

/* A converter with ocldev's standard definitions. Never NULL (aborts when out of memory). */
csvconv *csvconv_create(void);

/* Takes the CSV's first record as its header (borrowed: copied). Returns 0, or BI_EINVAL with
 * the reason in why (a header that is blank or unreadable). */
int csvconv_header(csvconv *c, const csv_record *header, char *why, size_t why_len);

/* Passes to run over the rows, one per active definition in ocldev's order. */
size_t csvconv_passes(const csvconv *c);

/* Notes a row of the first reading, so that passes no row triggers can be skipped. */
void csvconv_note(csvconv *c, const csv_record *row);

/* Whether pass p can produce a line from the rows noted. */
bool csvconv_pass_needed(const csvconv *c, size_t p);

/* Converts row (borrowed) under pass p's definition, handing emit its lines (none when the
 * definition does not apply to it). A record the CSV reader flagged becomes one error line, in
 * pass 0 only. Returns 0 or emit's error. */
int csvconv_row(csvconv *c, size_t p, const csv_record *row, csvconv_emit emit, void *ctx);

/* Frees c; NULL does nothing. */
void csvconv_destroy(csvconv *c);

#endif
