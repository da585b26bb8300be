#include "directives.h"

#include <stdio.h>
#include <string.h>

const char *directives_check_one(const char *action_field, const char *delete_values) {
    if (action_field && action_field[0] &&
        (strlen(action_field) > DIRECTIVES_FIELD_MAX || strncmp(action_field, "__", 2) == 0))
        return "action_field must be a top-level field name of at most 128 bytes, not a "
               "directive";
    if (!delete_values || !delete_values[0])
        return NULL;
    static const char bad[] =
        "delete_values must be a JSON array of 1 to 32 strings, e.g. [\"DELETED\",\"INACTIVE\"]";
    cJSON *values = cJSON_ParseWithOpts(delete_values, NULL, true);
    int n = cJSON_IsArray(values) ? cJSON_GetArraySize(values) : -1;
    const char *why =
        n < 1 || n > DIRECTIVES_VALUES_COUNT || strlen(delete_values) >= DIRECTIVES_VALUES_MAX
            ? bad
            : NULL;
    const cJSON *v;
    cJSON_ArrayForEach(v, values) if (!cJSON_IsString(v)) why = bad;
    cJSON_Delete(values);
    return why;
}

const char *directives_check(const char *action_field, const char *delete_values) {
    bool has_field = action_field && action_field[0], has_values = delete_values && delete_values[0];
    if (has_field != has_values)
        return "action_field and delete_values go together: give both or neither";
    return directives_check_one(action_field, delete_values);
}

bool directives_deletes(const char *action_field, const cJSON *delete_values, const cJSON *line) {
    if (cJSON_GetObjectItemCaseSensitive(line, "__action") != NULL)
        return false;
    const cJSON *field = cJSON_GetObjectItemCaseSensitive(line, action_field);
    char number[64];
    const char *text = NULL;
    if (cJSON_IsString(field))
        text = field->valuestring;
    else if (cJSON_IsBool(field))
        text = cJSON_IsTrue(field) ? "true" : "false";
    else if (cJSON_IsNumber(field) && cJSON_PrintPreallocated((cJSON *)field, number,
                                                             sizeof number, false))
        text = number;
    if (text == NULL)
        return false;
    const cJSON *v;
    cJSON_ArrayForEach(v, delete_values) if (cJSON_IsString(v) && strcmp(v->valuestring, text) == 0)
        return true;
    return false;
}
