/* directives.h — directives from the data, for sources that do not speak OCL's __action: a
 * line whose top-level field action_field holds one of delete_values (compared as text: a
 * string as it is, a number or boolean as its JSON text) becomes DELETE_IF_EXISTS; the others
 * stay CREATE_OR_UPDATE; a line's own __action wins. Pure.
 */
#ifndef BI_IMPORTER_DIRECTIVES_H
#define BI_IMPORTER_DIRECTIVES_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define DIRECTIVES_FIELD_MAX 128 /* bytes of action_field */
#define DIRECTIVES_VALUES_MAX 1024 /* bytes of delete_values as JSON text */
#define DIRECTIVES_VALUES_COUNT 32

/* Why the options are refused (static text naming the option), or NULL when they are good:
 * both or neither given, action_field a field name that is not a directive, delete_values a
 * JSON array of 1 to 32 strings. */
const char *directives_check(const char *action_field, const char *delete_values);

/* As directives_check, each option alone (either may be absent): for options that may come
 * apart, checked together once all are known. */
const char *directives_check_one(const char *action_field, const char *delete_values);

/* Whether line (an object) is to be deleted under action_field and delete_values (a checked
 * JSON array, borrowed): it has no __action and its field's text is one of the values. */
bool directives_deletes(const char *action_field, const cJSON *delete_values, const cJSON *line);

#endif
