/* compact.h — strips the layout PostgreSQL puts in the JSON it renders (jsonb writes
 * `{"a": 1, "b": [1, 2]}`, json_build_object `{"a" : 1}`), so every JSON body bulkimportd sends
 * is compact, as oclapi2's are. Only whitespace outside strings goes; strings keep every byte.
 */
#ifndef BI_DB_COMPACT_H
#define BI_DB_COMPACT_H

#include <stddef.h>

/* Rewrites the NUL-terminated JSON text json in place without whitespace outside strings and
 * returns its new length. Text that is not JSON is compacted the same way and never overrun. */
size_t db_json_compact(char *json);

/* Copies the first len bytes of json, compacted, into *buf (grown as needed, *cap its size;
 * *buf may start NULL) and returns the copy's length; the copy is NUL-terminated. */
size_t db_json_compact_copy(const char *json, size_t len, char **buf, size_t *cap);

#endif
