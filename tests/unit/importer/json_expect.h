/* Helpers of the converter tests: fixture files, and lines compared with ocldev's. */
#ifndef BI_TEST_JSON_EXPECT_H
#define BI_TEST_JSON_EXPECT_H

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The whole file at path, NUL-terminated, its length in *len (new memory). */
static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    char *text = malloc(*len + 1);
    cr_assert_eq(fread(text, 1, *len, f), *len);
    text[*len] = '\0';
    fclose(f);
    return text;
}

/* Whether a and b have their members in the same order, all the way down (Python's dicts keep
 * insertion order, and so should the port). */
static bool same_order(const cJSON *a, const cJSON *b) {
    if (cJSON_IsObject(a) || cJSON_IsArray(a)) {
        const cJSON *x = a->child, *y = b->child;
        for (; x && y; x = x->next, y = y->next)
            if ((cJSON_IsObject(a) && strcmp(x->string, y->string) != 0) || !same_order(x, y))
                return false;
        return x == NULL && y == NULL;
    }
    return true;
}

/* Expects got and want (arrays of lines) equal, line by line; with check_order, members in
 * the same order too. */
static void expect_lines(cJSON *got, const cJSON *want, bool check_order, const char *what) {
    cr_assert_eq(cJSON_GetArraySize(got), cJSON_GetArraySize(want), "%s: %d lines, not %d", what,
                 cJSON_GetArraySize(got), cJSON_GetArraySize(want));
    for (int i = 0; i < cJSON_GetArraySize(want); i++) {
        const cJSON *g = cJSON_GetArrayItem(got, i), *w = cJSON_GetArrayItem(want, i);
        char *gs = cJSON_PrintUnformatted(g), *ws = cJSON_PrintUnformatted(w);
        cr_assert(cJSON_Compare(g, w, true), "%s line %d:\n got  %s\n want %s", what, i + 1, gs, ws);
        cr_assert(!check_order || same_order(g, w), "%s line %d in another order:\n got  %s\n want %s",
                  what, i + 1, gs, ws);
        free(gs), free(ws);
    }
}

/* The lines of a JSON-lines file, parsed (free with cJSON_Delete). */
static cJSON *read_jsonl(const char *path) {
    size_t len;
    char *text = read_file(path, &len);
    cJSON *lines = cJSON_CreateArray();
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        cJSON_AddItemToArray(lines, cJSON_Parse(line));
    free(text);
    return lines;
}

#endif
