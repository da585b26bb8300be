/* The OCL export converter against ocldev's own output for ocldev's DemoSource export
 * (tests/fixtures/export, regenerated there by ./generate from ocldev itself), and the
 * scanner on documents that are not exports, cut off or hostile. */
#include "error.h"
#include "export.h"
#include "json_expect.h"

#define FIXTURES BI_SOURCE_DIR "/tests/fixtures/export/"

typedef struct emitted {
    cJSON *lines;
    int flagged;
} emitted;

static int keep(const char *text, size_t len, int error, void *ctx) {
    emitted *e = ctx;
    if (text == NULL) {
        cr_assert_eq(error, BI_ELINELONG);
        e->flagged++;
        return 0;
    }
    cJSON_AddItemToArray(e->lines, cJSON_ParseWithLength(text, len) ?: cJSON_CreateString("?"));
    return 0;
}

/* Converts the len bytes at text; returns export_convert's answer, the lines in *out. */
static int convert(const char *text, size_t len, const export_options *opt, emitted *out,
                   char *why, size_t why_len) {
    out->lines = cJSON_CreateArray();
    out->flagged = 0;
    FILE *f = fmemopen((void *)text, len, "r");
    cr_assert_not_null(f);
    int rc = export_convert(f, opt, keep, out, why, why_len);
    fclose(f);
    return rc;
}

static void expect_fixture(const char *export_name, const export_options *opt,
                           const char *expected_name) {
    char path[512], why[200] = "";
    size_t len;
    snprintf(path, sizeof path, FIXTURES "%s", export_name);
    char *text = read_file(path, &len);
    emitted e;
    cr_assert_eq(convert(text, len, opt, &e, why, sizeof why), 1, "%s", why);
    snprintf(path, sizeof path, FIXTURES "%s", expected_name);
    cJSON *want = read_jsonl(path);
    expect_lines(e.lines, want, true, export_name);
    cJSON_Delete(want);
    cJSON_Delete(e.lines);
    free(text);
}

Test(export, ocldevs_demo_export_converts_as_ocldev_converts_it) {
    export_options opt = {.max_line = 1 << 20};
    expect_fixture("DemoSource.v1.export.json", &opt, "DemoSource.v1.expected.jsonl");
}

Test(export, a_new_owner_and_version_from_the_request) {
    export_options opt = {.owner = "foobar", .owner_type = "Organization",
                          .version = "first-version", .max_line = 1 << 20};
    expect_fixture("DemoSource.v1.export.json", &opt, "DemoSource.v1.foobar.expected.jsonl");
}

/* The arrays before the members that name the source, the document pretty-printed: read in
 * two passes, the same lines. */
Test(export, members_after_the_arrays_are_read_first) {
    export_options opt = {.max_line = 1 << 20};
    expect_fixture("DemoSource.v1.arrays-first.export.json", &opt, "DemoSource.v1.expected.jsonl");
}

static int rc_of(const char *text, const export_options *opt, char *why, int *lines) {
    emitted e;
    int rc = convert(text, strlen(text), opt, &e, why, 200);
    *lines = cJSON_GetArraySize(e.lines) + e.flagged;
    cJSON_Delete(e.lines);
    return rc;
}

Test(export, what_is_not_an_export_is_left_to_be_read_as_json_lines) {
    export_options opt = {.max_line = 1000};
    char why[200];
    int lines;
    static const char *const not_exports[] = {
        "{\"type\": \"Source Version\", \"id\": \"v1\", \"source\": \"S\"}\n", /* an import line */
        "{\"type\": \"Source Version\", \"concepts\": []}\n{\"type\": \"Concept\"}\n",
        "{\"type\": \"Source\", \"concepts\": [], \"mappings\": []}",
        "{\"type\": \"Source Version\", \"concepts\": [], \"mappings\": []}\n{\"more\": 1}\n",
        "[1, 2]",
        "",
        "{\"type\": \"Source Version\", \"name\": \"cut off",
        "{\"type\": \"Source Version\"}}",
    };
    for (size_t i = 0; i < sizeof not_exports / sizeof *not_exports; i++) {
        cr_assert_eq(rc_of(not_exports[i], &opt, why, &lines), 0, "%s", not_exports[i]);
        cr_assert_eq(lines, 0);
    }
}

Test(export, a_broken_export_is_refused_whole) {
    export_options opt = {.max_line = 1000};
    char why[200];
    int lines;
    const char *cut = "{\"type\": \"Source Version\", \"short_code\": \"S\", \"concepts\": [],"
                      " \"mappings\": [{\"id\": \"m\"}, {\"id\": ";
    cr_assert_eq(rc_of(cut, &opt, why, &lines), BI_EINVAL);
    cr_assert_str_eq(why, "is an OCL export that is cut off or not valid JSON");
    const char *unbalanced = "{\"type\": \"Source Version\", \"concepts\": [], \"mappings\": [}]}";
    cr_assert_eq(rc_of(unbalanced, &opt, why, &lines), BI_EINVAL);
}

/* The members besides the arrays are kept, up to 4 MB: past it the export is refused saying so
 * (not held in memory). */
Test(export, a_header_past_its_bound_is_refused_saying_so) {
    size_t pad = 5 << 20;
    char *doc = malloc(pad + 200);
    int n = snprintf(doc, 200, "{\"type\": \"Source Version\", \"concepts\": [], \"mappings\": [],"
                               " \"description\": \"");
    memset(doc + n, 'x', pad);
    strcpy(doc + n + pad, "\"}");
    export_options opt = {.max_line = 1000};
    char why[200];
    int lines;
    cr_assert_eq(rc_of(doc, &opt, why, &lines), BI_EINVAL);
    cr_assert_str_eq(why, "is an OCL export whose members besides concepts and mappings pass 4 MB");
    free(doc);
}

Test(export, owner_options_ocldev_refuses_are_refused) {
    const char *doc = "{\"type\": \"Source Version\", \"concepts\": [], \"mappings\": []}";
    char why[200];
    int lines;
    export_options no_type = {.owner = "o", .max_line = 100};
    cr_assert_eq(rc_of(doc, &no_type, why, &lines), BI_EINVAL);
    cr_assert_str_eq(why, "is an OCL export, and ocldev says: 'owner_type' needs to be either "
                          "'User or 'Organization'.");
    export_options no_owner = {.owner_type = "User", .max_line = 100};
    cr_assert_eq(rc_of(doc, &no_owner, why, &lines), BI_EINVAL);
    cr_assert_str_eq(why, "is an OCL export, and ocldev says: 'owner' needs to be present when "
                          "'owner_type' is provided.");
    export_options bad_type = {.owner = "o", .owner_type = "Team", .max_line = 100};
    cr_assert_eq(rc_of(doc, &bad_type, why, &lines), BI_EINVAL);
}

/* An element longer than max_line is one flagged line; one that is not an object goes as its
 * text, for the importer to refuse; the others convert; HEAD has no version line. */
Test(export, each_element_is_its_own_line_whatever_it_holds) {
    const char *doc = "{\"type\": \"Source Version\", \"version\": \"HEAD\", \"short_code\": \"S\","
                      " \"owner\": \"O\", \"owner_type\": \"Organization\", \"owner_url\": \"/orgs/O/\","
                      " \"concepts\": [{\"id\": \"c1\", \"names\": [], \"pad\": \"" 
                      "0123456789012345678901234567890123456789"
                      "0123456789012345678901234567890123456789\"}, 7, {\"id\": \"c2\","
                      " \"names\": [{\"name\": \"n\", \"uuid\": \"u\"}], \"uuid\": \"x\"}],"
                      " \"mappings\": [{\"id\": \"m\", \"from_source_owner\": \"O\","
                      " \"from_source_owner_type\": \"Organization\"}]}";
    export_options opt = {.owner = "N", .owner_type = "User", .max_line = 90};
    emitted e;
    char why[200];
    cr_assert_eq(convert(doc, strlen(doc), &opt, &e, why, sizeof why), 1);
    cr_assert_eq(e.flagged, 1, "c1, longer than max_line");
    cr_assert_eq(cJSON_GetArraySize(e.lines), 5, "owner, source, 7, c2, m");
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(e.lines, 0), "url")->valuestring,
                     "/users/N/");
    cr_assert(cJSON_IsNumber(cJSON_GetArrayItem(e.lines, 2)));
    const cJSON *c2 = cJSON_GetArrayItem(e.lines, 3);
    cr_assert_null(cJSON_GetObjectItem(c2, "uuid"));
    cr_assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(c2, "names"), 0), "uuid"));
    cr_assert_str_eq(cJSON_GetObjectItem(c2, "owner")->valuestring, "N");
    const cJSON *m = cJSON_GetArrayItem(e.lines, 4);
    cr_assert_str_eq(cJSON_GetObjectItem(m, "from_source_owner")->valuestring, "N");
    cr_assert_str_eq(cJSON_GetObjectItem(m, "from_source_owner_type")->valuestring, "User");
    cJSON_Delete(e.lines);
}

Test(export, may_begin_as_oclapi2_looks) {
    cr_assert(export_may_begin("{\"type\": \"Source Version\", ", 27));
    cr_assert(export_may_begin("{\"type\":\"Source Version\"", 24));
    cr_assert(export_may_begin("{\"ty", 4));
    cr_assert(!export_may_begin("{\"type\": \"Concept\"", 18));
    cr_assert(!export_may_begin(" {\"type\": \"Source Version\"", 26));
}
