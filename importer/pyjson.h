/* pyjson.h — Python's dict and str semantics on cJSON values, for the ports of ocldev's
 * converters (csvconv.c, export.c), whose output must match ocldev's member for member. */
#ifndef BI_IMPORTER_PYJSON_H
#define BI_IMPORTER_PYJSON_H

#include <cjson/cJSON.h>

/* obj[key] = value as a Python dict assigns: in place when key is present, else last. Takes
 * value. */
void pyjson_set(cJSON *obj, const char *key, cJSON *value);

#endif
