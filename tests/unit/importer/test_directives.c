/* Directives from the data: which options are good, and which lines they turn into deletes. */
#include "directives.h"

#include <criterion/criterion.h>

Test(directives, options_go_together_and_are_checked) {
    cr_expect_null(directives_check("", ""));
    cr_expect_null(directives_check(NULL, NULL));
    cr_expect_null(directives_check("status", "[\"DELETED\",\"INACTIVE\"]"));
    cr_expect_not_null(directives_check("status", ""));
    cr_expect_not_null(directives_check("", "[\"DELETED\"]"));
    cr_expect_not_null(directives_check("__action", "[\"DELETED\"]"));
    cr_expect_not_null(directives_check("status", "DELETED"));
    cr_expect_not_null(directives_check("status", "[]"));
    cr_expect_not_null(directives_check("status", "[\"A\", 1]"));
    cr_expect_not_null(directives_check("status", "[\"A\"] trailing"));
}

static bool deletes(const char *line) {
    cJSON *values = cJSON_Parse("[\"DELETED\",\"0\",\"false\"]");
    cJSON *json = cJSON_Parse(line);
    bool d = directives_deletes("status", values, json);
    cJSON_Delete(json);
    cJSON_Delete(values);
    return d;
}

Test(directives, the_fields_text_decides_and_an_own_action_wins) {
    cr_expect(deletes("{\"status\":\"DELETED\"}"));
    cr_expect(!deletes("{\"status\":\"deleted\"}")); /* as text: case counts */
    cr_expect(!deletes("{\"status\":\"ACTIVE\"}"));
    cr_expect(!deletes("{\"other\":\"DELETED\"}"));
    cr_expect(deletes("{\"status\":0}"));
    cr_expect(deletes("{\"status\":false}"));
    cr_expect(!deletes("{\"status\":null}"));
    cr_expect(!deletes("{\"status\":[\"DELETED\"]}"));
    cr_expect(!deletes("{\"status\":\"DELETED\",\"__action\":\"UPDATE\"}"));
}
