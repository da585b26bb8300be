#include "task_state.h"

#include <criterion/criterion.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Test(task_state, names_read_back) {
    for (int i = 0; i < DB_TASK_N_STATES; i++) {
        enum db_task_state s;
        cr_expect(db_task_state_parse(db_task_state_name((enum db_task_state)i), &s));
        cr_expect_eq(s, i);
    }
    for (int i = 0; i < DB_TASK_N_PHASES; i++) {
        enum db_task_phase p;
        cr_expect(db_task_phase_parse(db_task_phase_name((enum db_task_phase)i), &p));
        cr_expect_eq(p, i);
    }
    enum db_task_state s;
    cr_expect_not(db_task_state_parse("pending", &s), "names are exact");
    cr_expect_not(db_task_state_parse("RECEIVED", &s), "Celery's other states are not ours");
    cr_expect(db_task_state_running(DB_TASK_PENDING) && db_task_state_running(DB_TASK_STARTED));
    cr_expect_not(db_task_state_running(DB_TASK_SUCCESS) || db_task_state_running(DB_TASK_FAILURE) ||
                  db_task_state_running(DB_TASK_REVOKED));
    cr_expect_str_eq(db_task_phase_name((enum db_task_phase)0), "import", "a zeroed task imports");
}

/* The file at path under the source tree, whole (malloc'd). */
static char *source_file(const char *path) {
    char full[512];
    snprintf(full, sizeof full, "%s/%s", BI_SOURCE_DIR, path);
    FILE *f = fopen(full, "rb");
    cr_assert_not_null(f, "%s", full);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *text = malloc((size_t)n + 1);
    cr_assert_eq(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = '\0';
    fclose(f);
    return text;
}

/* The diagram names, for every transition, a C function and a statement: both must exist, so
 * the diagram cannot drift from the code unnoticed. */
Test(task_state, the_diagram_names_real_functions_and_statements) {
    char *header = source_file("db/task_state.h");
    char *decls = source_file("db/tasks.h");
    char *stmts = source_file("db/tasks.c");
    regex_t pair;
    cr_assert_eq(regcomp(&pair, "(db_[a-z_]+) \"(tasks_[a-z_]+)\"", REG_EXTENDED), 0);
    int pairs = 0;
    for (const char *p = header; *p != '\0';) {
        regmatch_t m[3];
        if (regexec(&pair, p, 3, m, 0) != 0)
            break;
        char function[64], statement[64], want[80];
        snprintf(function, sizeof function, "%.*s(", (int)(m[1].rm_eo - m[1].rm_so), p + m[1].rm_so);
        snprintf(statement, sizeof statement, "%.*s", (int)(m[2].rm_eo - m[2].rm_so), p + m[2].rm_so);
        snprintf(want, sizeof want, "\"%s\",", statement);
        cr_expect(strstr(decls, function) != NULL, "the diagram's %s is not in db/tasks.h", function);
        cr_expect(strstr(stmts, want) != NULL, "the diagram's statement %s is not in db/tasks.c", statement);
        pairs++;
        p += m[0].rm_eo;
    }
    cr_expect_geq(pairs, 9, "the diagram names claim, release, rescue, cancel, resume, finish, ...");
    regfree(&pair);
    free(header), free(decls), free(stmts);
}
