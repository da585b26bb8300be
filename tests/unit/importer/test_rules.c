#include "error.h"
#include "rules.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check(const char *text, rules_line *line, rules_error *err) {
    cJSON *json = cJSON_Parse(text);
    int rc = rules_check_line(json, line, err);
    line->expressions = NULL; /* borrowed from json, freed next */
    cJSON_Delete(json);
    return rc;
}

/* A well-formed line and what it means. Text inline: Criterion re-executes the binary. */
struct good_case {
    char line[600];
    int type;
    int action;
    char url[160];
    char parent[160];
    char root[160];
};

#define OWNER "\"owner\":\"O\",\"owner_type\":\"Organization\""
#define CONCEPT_BODY "\"concept_class\":\"Diagnosis\",\"datatype\":\"N/A\"," \
                     "\"names\":[{\"name\":\"n\",\"locale\":\"en\"}]"
#define MAPPING_BODY "\"map_type\":\"SAME-AS\",\"from_concept_url\":\"/orgs/O/sources/S/concepts/A/\""

ParameterizedTestParameters(rules, good_lines) {
    static struct good_case cases[] = {
        {"{\"type\":\"Organization\",\"id\":\"O\",\"name\":\"Org\"}", RULES_ORGANIZATION,
         RULES_CREATE_OR_UPDATE, "/orgs/O/", "", "/orgs/"},
        {"{\"type\":\"User\",\"username\":\"bob\"}", RULES_USER, RULES_CREATE_OR_UPDATE,
         "/users/bob/", "", "/users/"},
        {"{\"type\":\"Source\",\"id\":\"S\",\"name\":\"s\"," OWNER ",\"public_access\":\"None\"}",
         RULES_SOURCE, RULES_CREATE_OR_UPDATE, "/orgs/O/sources/S/", "/orgs/O/", "/orgs/O/"},
        {"{\"type\":\"Collection\",\"id\":\"C\",\"name\":\"c\",\"owner_url\":\"/users/u/\"}",
         RULES_COLLECTION, RULES_CREATE_OR_UPDATE, "/users/u/collections/C/", "/users/u/",
         "/users/u/"},
        {"{\"type\":\"Concept\",\"id\":\"A B/%\",\"source\":\"S\"," OWNER "," CONCEPT_BODY "}",
         RULES_CONCEPT, RULES_CREATE_OR_UPDATE, "/orgs/O/sources/S/concepts/A%20B%2F%25/",
         "/orgs/O/sources/S/", "/orgs/O/sources/S/"},
        {"{\"type\":\"concept\",\"__action\":\"delete\",\"id\":\"A\",\"source\":\"S\"," OWNER "}",
         RULES_CONCEPT, RULES_DELETE, "/orgs/O/sources/S/concepts/A/", "/orgs/O/sources/S/",
         "/orgs/O/sources/S/"},
        {"{\"type\":\"Mapping\",\"source\":\"S\"," OWNER "," MAPPING_BODY
         ",\"to_concept_url\":\"/orgs/O/sources/S/concepts/B/\"}",
         RULES_MAPPING, RULES_CREATE_OR_UPDATE, "", "/orgs/O/sources/S/", "/orgs/O/sources/S/"},
        {"{\"type\":\"Mapping\",\"id\":\"m1\",\"__action\":\"NEW\",\"source\":\"S\"," OWNER
         "," MAPPING_BODY ",\"to_source_url\":\"/orgs/X/sources/Y/\",\"to_concept_code\":\"123\"}",
         RULES_MAPPING, RULES_NEW, "/orgs/O/sources/S/mappings/m1/", "/orgs/O/sources/S/",
         "/orgs/O/sources/S/"},
        {"{\"type\":\"Reference\",\"collection_url\":\"/orgs/O/collections/C/\","
         "\"data\":{\"expressions\":[\"/orgs/O/sources/S/concepts/A/\"]}}",
         RULES_REFERENCE, RULES_CREATE_OR_UPDATE, "/orgs/O/collections/C/",
         "/orgs/O/collections/C/", "/orgs/O/collections/C/"},
        {"{\"type\":\"Reference\",\"__action\":\"DELETE\",\"collection\":\"C\"," OWNER
         ",\"data\":{\"expressions\":[\"*\"]}}",
         RULES_REFERENCE, RULES_DELETE, "/orgs/O/collections/C/", "/orgs/O/collections/C/",
         "/orgs/O/collections/C/"},
        {"{\"type\":\"Source Version\",\"id\":\"v1\",\"source\":\"S\"," OWNER
         ",\"released\":true}",
         RULES_SOURCE_VERSION, RULES_CREATE_OR_UPDATE, "/orgs/O/sources/S/v1/",
         "/orgs/O/sources/S/", "/orgs/O/"},
        {"{\"type\":\"Collection Version\",\"id\":\"v1\",\"collection\":\"C\",\"owner\":\"u\","
         "\"owner_type\":\"User\",\"__action\":\"SKIP\"}",
         RULES_COLLECTION_VERSION, RULES_SKIP, "/users/u/collections/C/v1/",
         "/users/u/collections/C/", "/users/u/"},
        {"{\"type\":\"Organization\",\"id\":\"O\",\"__action\":\"DELETE_IF_EXISTS\"}",
         RULES_ORGANIZATION, RULES_DELETE_IF_EXISTS, "/orgs/O/", "", "/orgs/"},
        {"{\"type\":\"Organization\",\"id\":\"O\",\"name\":\"n\",\"__action\":\"CREATE\","
         "\"extras\":null,\"public_access\":\"edit\"}",
         RULES_ORGANIZATION, RULES_NEW, "/orgs/O/", "", "/orgs/"},
    };
    return cr_make_param_array(struct good_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct good_case *c, rules, good_lines) {
    rules_line line;
    rules_error err;
    int rc = check(c->line, &line, &err);
    cr_assert_eq(rc, 0, "%s: %s (%s)", c->line, err.message, err.field);
    cr_expect_eq((int)line.type, c->type);
    cr_expect_eq((int)line.action, c->action);
    cr_expect_str_eq(line.url, c->url);
    cr_expect_str_eq(line.parent_url, c->parent);
    cr_expect_str_eq(line.root, c->root);
}

/* A bad line, the error it gets, the field named, and its root. */
struct bad_case {
    char line[600];
    int code;
    char field[40];
    char message_part[60];
    char root[80];
};

ParameterizedTestParameters(rules, bad_lines) {
    static struct bad_case cases[] = {
        {"[1,2]", BI_ENOTOBJECT, "", "JSON object", "/"},
        {"\"text\"", BI_ENOTOBJECT, "", "JSON object", "/"},
        {"{\"id\":\"O\"}", BI_ETYPE, "type", "no type", "/"},
        {"{\"type\":42}", BI_EFIELDTYPE, "type", "string", "/"},
        {"{\"type\":\"Widget\"}", BI_ETYPE, "type", "Widget", "/"},
        {"{\"type\":\"Organization\",\"id\":\"O\",\"name\":\"n\",\"__action\":\"MERGE\"}",
         BI_EACTION, "__action", "MERGE", "/"},
        {"{\"type\":\"Organization\",\"name\":\"n\"}", BI_EMISSING, "id",
         "Organization requires id", "/orgs/"},
        {"{\"type\":\"Organization\",\"id\":\"O\"}", BI_EMISSING, "name",
         "Organization requires name", "/orgs/"},
        {"{\"type\":\"Organization\",\"id\":\"a b\",\"name\":\"n\"}", BI_EBADID, "id", "id",
         "/orgs/"},
        {"{\"type\":\"Organization\",\"id\":\"O\",\"name\":\"n\",\"public_access\":\"Open\"}",
         BI_EBADVALUE, "public_access", "View, Edit or None", "/orgs/"},
        {"{\"type\":\"User\"}", BI_EMISSING, "username", "User requires username", "/users/"},
        {"{\"type\":\"Source\",\"id\":\"S\",\"name\":\"s\",\"owner\":\"O\"}", BI_EMISSING,
         "owner_type", "Source requires owner_type", "/"},
        {"{\"type\":\"Source\",\"id\":\"S\",\"name\":\"s\",\"owner\":\"O\",\"owner_type\":\"Team\"}",
         BI_EBADVALUE, "owner_type", "Organization or User", "/"},
        {"{\"type\":\"Source\",\"id\":\"S\",\"name\":\"s\",\"owner_url\":\"/orgs/O/sources/X/\"}",
         BI_EBADURL, "owner_url", "owner_url", "/"},
        {"{\"type\":\"Source\",\"id\":\"S\"," OWNER "}", BI_EMISSING, "name",
         "Source requires name", "/orgs/O/"},
        {"{\"type\":\"Source\",\"id\":\"S/T\",\"name\":\"s\"," OWNER "}", BI_EBADID, "id", "id",
         "/"},
        {"{\"type\":\"Concept\",\"id\":\"A\",\"source\":\"S\"," OWNER
         ",\"datatype\":\"N/A\",\"names\":[{\"name\":\"n\",\"locale\":\"en\"}]}",
         BI_EMISSING, "concept_class", "Concept requires concept_class", "/orgs/O/sources/S/"},
        {"{\"type\":\"Concept\",\"id\":\"A\",\"source\":\"S\"," OWNER
         ",\"concept_class\":\"c\",\"datatype\":\"d\",\"names\":\"x\"}",
         BI_EFIELDTYPE, "names", "array", "/orgs/O/sources/S/"},
        {"{\"type\":\"Concept\",\"id\":\"A\",\"source\":\"S\"," OWNER
         ",\"concept_class\":\"c\",\"datatype\":\"d\",\"names\":[]}",
         BI_EMISSING, "names", "at least one", "/orgs/O/sources/S/"},
        {"{\"type\":\"Concept\",\"id\":\"A\",\"source\":\"S\"," OWNER
         ",\"concept_class\":\"c\",\"datatype\":\"d\",\"names\":[{\"locale\":\"en\"}]}",
         BI_EMISSING, "names", "names[0].name", "/orgs/O/sources/S/"},
        {"{\"type\":\"Concept\",\"id\":\"A\",\"source\":\"S\"," OWNER
         ",\"concept_class\":7,\"datatype\":\"d\",\"names\":[{\"name\":\"n\",\"locale\":\"en\"}]}",
         BI_EFIELDTYPE, "concept_class", "string", "/orgs/O/sources/S/"},
        {"{\"type\":\"Concept\",\"id\":\"A\",\"source\":\"S\"," OWNER "," CONCEPT_BODY
         ",\"extras\":[1]}",
         BI_EFIELDTYPE, "extras", "object", "/orgs/O/sources/S/"},
        {"{\"type\":\"Concept\",\"id\":\"A\",\"source\":\"S\"," OWNER "," CONCEPT_BODY
         ",\"retired\":\"yes\"}",
         BI_EFIELDTYPE, "retired", "true or false", "/orgs/O/sources/S/"},
        {"{\"type\":\"Concept\",\"id\":\"tab\\there\",\"source\":\"S\"," OWNER "," CONCEPT_BODY "}",
         BI_EBADID, "id", "control", "/"},
        {"{\"type\":\"Concept\",\"id\":\"A\"," OWNER "," CONCEPT_BODY "}", BI_EMISSING, "source",
         "Concept requires source", "/"},
        {"{\"type\":\"Mapping\",\"source\":\"S\"," OWNER ",\"from_concept_url\":\"/orgs/O/sources/S/concepts/A/\","
         "\"to_concept_url\":\"/orgs/O/sources/S/concepts/B/\"}",
         BI_EMISSING, "map_type", "Mapping requires map_type", "/orgs/O/sources/S/"},
        {"{\"type\":\"Mapping\",\"source\":\"S\"," OWNER "," MAPPING_BODY "}", BI_EMISSING,
         "to_concept_url", "to_source_url and to_concept_code", "/orgs/O/sources/S/"},
        {"{\"type\":\"Mapping\",\"source\":\"S\"," OWNER
         ",\"map_type\":\"x\",\"from_concept_url\":\"/orgs/O/sources/S/\","
         "\"to_concept_url\":\"/orgs/O/sources/S/concepts/B/\"}",
         BI_EBADURL, "from_concept_url", "concept", "/orgs/O/sources/S/"},
        {"{\"type\":\"Mapping\",\"source\":\"S\"," OWNER "," MAPPING_BODY
         ",\"to_source_url\":\"/orgs/O/collections/C/\",\"to_concept_code\":\"1\"}",
         BI_EBADURL, "to_source_url", "source", "/orgs/O/sources/S/"},
        {"{\"type\":\"Reference\",\"collection_url\":\"/orgs/O/collections/C/\"}", BI_EMISSING,
         "data.expressions", "Reference requires data.expressions", "/orgs/O/collections/C/"},
        {"{\"type\":\"Reference\",\"collection_url\":\"/orgs/O/collections/C/\","
         "\"data\":{\"expressions\":\"/orgs/O/sources/S/concepts/A/\"}}",
         BI_EFIELDTYPE, "data.expressions", "array", "/orgs/O/collections/C/"},
        {"{\"type\":\"Reference\",\"collection_url\":\"/orgs/O/sources/S/\","
         "\"data\":{\"expressions\":[\"x\"]}}",
         BI_EBADURL, "collection_url", "collection", "/"},
        {"{\"type\":\"Reference\",\"collection_url\":\"/orgs/O/collections/C/\","
         "\"__cascade\":\"everything\",\"data\":{\"expressions\":[\"x\"]}}",
         BI_EBADVALUE, "__cascade", "sourcemappings", "/orgs/O/collections/C/"},
        {"{\"type\":\"Source Version\",\"id\":\"HEAD\",\"source\":\"S\"," OWNER "}", BI_EBADID,
         "id", "reserved", "/"},
        {"{\"type\":\"Collection Version\",\"id\":\"v1\"," OWNER "}", BI_EMISSING, "collection",
         "Collection Version requires collection", "/orgs/O/"},
    };
    return cr_make_param_array(struct bad_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_case *c, rules, bad_lines) {
    rules_line line;
    rules_error err;
    int rc = check(c->line, &line, &err);
    cr_assert_eq(rc, c->code, "%s: got %d (%s)", c->line, rc, err.message);
    cr_expect_eq(err.code, c->code);
    cr_expect_str_eq(err.field, c->field, "%s", c->line);
    cr_expect(strstr(err.message, c->message_part) != NULL, "message '%s' lacks '%s'",
              err.message, c->message_part);
    cr_expect_str_eq(line.root, c->root, "%s", c->line);
}

Test(rules, deep_nesting_is_an_error_not_a_crash) {
    char text[4096] = "{\"type\":\"Organization\",\"id\":\"O\",\"name\":\"n\",\"extras\":";
    size_t len = strlen(text);
    for (int i = 0; i < 200; i++)
        text[len++] = '[';
    for (int i = 0; i < 200; i++)
        text[len++] = ']';
    strcpy(text + len, "}");
    rules_line line;
    rules_error err;
    cr_expect_eq(check(text, &line, &err), BI_ETOODEEP);
}

Test(rules, long_strings_are_errors_not_crashes) {
    static char text[200000];
    char *big = malloc(100000);
    memset(big, 'x', 99999);
    big[99999] = '\0';
    rules_line line;
    rules_error err;
    snprintf(text, sizeof text, "{\"type\":\"Organization\",\"id\":\"%s\",\"name\":\"n\"}", big);
    cr_expect_eq(check(text, &line, &err), BI_EBADID);
    snprintf(text, sizeof text,
             "{\"type\":\"Mapping\",\"source\":\"S\"," OWNER ",\"map_type\":\"%s\","
             "\"from_concept_url\":\"/orgs/O/sources/S/concepts/A/\","
             "\"to_concept_url\":\"/orgs/O/sources/S/concepts/B/\"}",
             big);
    cr_expect_eq(check(text, &line, &err), BI_EBADVALUE);
    cr_expect_str_eq(err.field, "map_type");
    snprintf(text, sizeof text, "{\"type\":\"Organization\",\"id\":\"O\",\"name\":\"%s\"}", big);
    cr_expect_eq(check(text, &line, &err), 0, "a long name is fine");
    free(big);
}

Test(rules, mapping_identity_is_canonical) {
    rules_line a, b;
    rules_error err;
    cr_assert_eq(check("{\"type\":\"Mapping\",\"source\":\"S\"," OWNER ",\"map_type\":\"SAME-AS\","
                       "\"from_concept_url\":\"/orgs/O/sources/S/concepts/a%20b\","
                       "\"to_concept_url\":\"/orgs/O/sources/S/concepts/c/\"}",
                       &a, &err),
                 0, "%s", err.message);
    cr_assert_eq(check("{\"type\":\"Mapping\",\"source\":\"S\"," OWNER ",\"map_type\":\"SAME-AS\","
                       "\"from_concept_url\":\"/orgs/O/sources/S/concepts/a%20b/\","
                       "\"to_concept_url\":\"/orgs/O/sources/S/concepts/c\"}",
                       &b, &err),
                 0, "%s", err.message);
    cr_expect_str_eq(a.from_concept_url, "/orgs/O/sources/S/concepts/a%20b/");
    cr_expect_str_eq(a.from_concept_url, b.from_concept_url);
    cr_expect_str_eq(a.to_concept_url, b.to_concept_url);
    cr_expect_str_eq(a.map_type, "SAME-AS");
}

/* Every line of OCL's own sample files is well-formed. */
Test(rules, ocl_sample_files_are_well_formed) {
    const char *files[] = {"pepfar_datim_moh_fy19.json", "sample_ocldev.json",
                           "sample_collection_references_with_delete.json"};
    int counts[RULES_N_TYPES] = {0};
    for (size_t f = 0; f < 3; f++) {
        char path[512];
        snprintf(path, sizeof path, "%s/tests/fixtures/ocl/%s", BI_SOURCE_DIR, files[f]);
        FILE *in = fopen(path, "r");
        cr_assert_not_null(in, "%s", path);
        char *text = NULL;
        size_t cap = 0;
        int number = 0;
        while (getline(&text, &cap, in) > 0) {
            number++;
            rules_line line;
            rules_error err;
            int rc = check(text, &line, &err);
            cr_expect_eq(rc, 0, "%s:%d: %s", files[f], number, err.message);
            if (rc == 0) {
                counts[line.type]++;
                cr_expect_neq(line.root[0], '\0');
            }
        }
        free(text);
        fclose(in);
    }
    /* The counts the fixtures' README gives, summed over the three files. */
    cr_expect_eq(counts[RULES_CONCEPT], 178 + 35 + 4);
    cr_expect_eq(counts[RULES_MAPPING], 222 + 22);
    cr_expect_eq(counts[RULES_REFERENCE], 8 + 4);
    cr_expect_eq(counts[RULES_SOURCE_VERSION], 1 + 3);
    cr_expect_eq(counts[RULES_ORGANIZATION], 1 + 2 + 1);
}
