/* ids.h — syntax of the names OCL uses as path segments: usernames, organization, source,
 * collection and version ids, queue names. Pure functions: no I/O.
 */
#ifndef BI_IMPORTER_IDS_H
#define BI_IMPORTER_IDS_H

#include <stdbool.h>
#include <stddef.h>

#define IDS_NAME_MAX 64

/* Returns true when name (len bytes, need not be NUL-terminated) matches
 * [A-Za-z0-9._@-]{1,64}. */
bool ids_name_is_valid(const char *name, size_t len);

#endif
