#include "error.h"
#include "urls.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

/* Text inline: Criterion re-executes the binary per test, so pointers would not survive. */
struct url_case {
    char input[160];
    char canonical[160]; /* "" when input must be refused */
    int kind;
};

ParameterizedTestParameters(urls, parse_and_format) {
    static struct url_case cases[] = {
        {"/orgs/PEPFAR/", "/orgs/PEPFAR/", URLS_OWNER},
        {"/orgs/PEPFAR", "/orgs/PEPFAR/", URLS_OWNER},
        {"/users/alice@x.org/", "/users/alice@x.org/", URLS_OWNER},
        {"/orgs/PEPFAR/sources/DATIM-MOH-FY19/", "/orgs/PEPFAR/sources/DATIM-MOH-FY19/", URLS_REPO},
        {"/users/u/collections/c/", "/users/u/collections/c/", URLS_REPO},
        {"/orgs/o/sources/s/HEAD/", "/orgs/o/sources/s/", URLS_REPO},
        {"/orgs/o/sources/s/FY19.v0/", "/orgs/o/sources/s/FY19.v0/", URLS_REPO_VERSION},
        {"/orgs/o/sources/s/concepts/C1/", "/orgs/o/sources/s/concepts/C1/", URLS_CONCEPT},
        {"/orgs/o/sources/s/concepts/C1/3/", "/orgs/o/sources/s/concepts/C1/3/", URLS_CONCEPT},
        {"/orgs/o/sources/s/mappings/42/", "/orgs/o/sources/s/mappings/42/", URLS_MAPPING},
        {"/orgs/o/sources/s/concepts/a%20b/", "/orgs/o/sources/s/concepts/a%20b/", URLS_CONCEPT},
        {"/orgs/o/sources/s/concepts/a%2Fb%25c/", "/orgs/o/sources/s/concepts/a%2Fb%25c/",
         URLS_CONCEPT},
        {"/orgs/o/sources/s/concepts/caf%c3%a9/", "/orgs/o/sources/s/concepts/caf%C3%A9/",
         URLS_CONCEPT},
        {"/orgs/o/sources/s/concepts/x:y/", "/orgs/o/sources/s/concepts/x%3Ay/", URLS_CONCEPT},
        {"", "", 0},
        {"orgs/o/", "", 0},
        {"/org/o/", "", 0},
        {"/orgs/", "", 0},
        {"/orgs//", "", 0},
        {"/orgs/a b/", "", 0},
        {"/orgs/o/things/t/", "", 0},
        {"/orgs/o/sources/s/concepts/", "", 0},
        {"/orgs/o/sources/s/concepts/c/1/extra/", "", 0},
        {"/orgs/o/sources/s/versions/", "", 0},
        {"/orgs/o/sources/s/v1/extra/", "", 0},
        {"/orgs/o/sources/s/concepts/a%2/", "", 0},
        {"/orgs/o/sources/s/concepts/a%00b/", "", 0},
        {"/orgs/o/sources/s/concepts/a%0Ab/", "", 0},
        {"/orgs/o/sources/s/concepts/%ff/", "", 0},
    };
    return cr_make_param_array(struct url_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct url_case *c, urls, parse_and_format) {
    urls_ref ref;
    int err = urls_parse(c->input, &ref);
    if (c->canonical[0] == '\0') {
        cr_expect_eq(err, BI_EBADURL, "accepted '%s'", c->input);
        return;
    }
    cr_assert_eq(err, 0, "refused '%s'", c->input);
    cr_expect_eq((int)ref.kind, c->kind, "%s", c->input);
    char out[URLS_MAX];
    cr_assert_eq(urls_format(&ref, out, sizeof out), 0);
    cr_expect_str_eq(out, c->canonical);
    urls_ref again;
    cr_assert_eq(urls_parse(out, &again), 0, "canonical form parses");
    cr_expect_eq(memcmp(&ref, &again, sizeof ref), 0, "round trip keeps every part");
}

Test(urls, parts_are_decoded) {
    urls_ref ref;
    cr_assert_eq(urls_parse("/users/bob/sources/s1/concepts/a%2Fb%20c/7/", &ref), 0);
    cr_expect_eq(ref.owner_type, URLS_USER);
    cr_expect_str_eq(ref.owner, "bob");
    cr_expect_eq(ref.repo_type, URLS_SOURCE);
    cr_expect_str_eq(ref.repo, "s1");
    cr_expect_str_eq(ref.id, "a/b c");
    cr_expect_str_eq(ref.version, "7");
    char owner[URLS_MAX], repo[URLS_MAX];
    cr_expect_eq(urls_format_owner(&ref, owner, sizeof owner), 0);
    cr_expect_str_eq(owner, "/users/bob/");
    cr_expect_eq(urls_format_repo(&ref, repo, sizeof repo), 0);
    cr_expect_str_eq(repo, "/users/bob/sources/s1/");
}

Test(urls, encoding_of_every_byte_round_trips) {
    char id[256];
    for (int i = 0; i < 255; i++)
        id[i] = (char)(0x20 + i % 0x5f); /* printable ASCII, all of it */
    id[255] = '\0';
    urls_ref ref = {.kind = URLS_CONCEPT, .owner_type = URLS_ORG, .repo_type = URLS_SOURCE};
    strcpy(ref.owner, "o");
    strcpy(ref.repo, "s");
    strcpy(ref.id, id);
    char out[URLS_MAX];
    cr_assert_eq(urls_format(&ref, out, sizeof out), 0);
    urls_ref back;
    cr_assert_eq(urls_parse(out, &back), 0, "%s", out);
    cr_expect_str_eq(back.id, id);
}

Test(urls, concept_id_syntax) {
    cr_expect(urls_concept_id_is_valid("a", 1));
    cr_expect(urls_concept_id_is_valid("with space/slash%", 17));
    cr_expect(urls_concept_id_is_valid("\xe6\x97\xa5\xe6\x9c\xac", 6), "CJK");
    cr_expect(urls_concept_id_is_valid("\xf0\x9f\x98\x80", 4), "emoji");
    cr_expect(!urls_concept_id_is_valid("", 0));
    cr_expect(!urls_concept_id_is_valid("tab\there", 8));
    cr_expect(!urls_concept_id_is_valid("\x7f", 1));
    cr_expect(!urls_concept_id_is_valid("\xc2\x85", 2), "C1 control");
    cr_expect(!urls_concept_id_is_valid("\xc3", 1), "truncated");
    cr_expect(!urls_concept_id_is_valid("\xc0\xaf", 2), "overlong");
    cr_expect(!urls_concept_id_is_valid("\xed\xa0\x80", 3), "surrogate");
    cr_expect(!urls_concept_id_is_valid("\xf4\x90\x80\x80", 4), "past U+10FFFF");
    char long_id[257];
    memset(long_id, 'x', 256);
    long_id[256] = '\0';
    cr_expect(urls_concept_id_is_valid(long_id, 255));
    cr_expect(!urls_concept_id_is_valid(long_id, 256));
}

Test(urls, version_ids_exclude_reserved_words) {
    cr_expect(urls_version_id_is_valid("v1.0", 4));
    const char *reserved[] = {"HEAD",       "concepts", "mappings", "versions",
                              "references", "members",  "sources",  "collections"};
    for (size_t i = 0; i < 8; i++)
        cr_expect(!urls_version_id_is_valid(reserved[i], strlen(reserved[i])), "%s", reserved[i]);
    cr_expect(!urls_version_id_is_valid("a b", 3));
}

Test(urls, format_refuses_incomplete_refs) {
    urls_ref ref = {.kind = URLS_CONCEPT, .owner_type = URLS_ORG, .repo_type = URLS_SOURCE};
    strcpy(ref.owner, "o");
    char out[URLS_MAX];
    cr_expect_eq(urls_format(&ref, out, sizeof out), BI_EINVAL, "no repo");
    strcpy(ref.repo, "s");
    cr_expect_eq(urls_format(&ref, out, sizeof out), BI_EINVAL, "no id");
    char tiny[8];
    strcpy(ref.id, "c");
    cr_expect_eq(urls_format(&ref, tiny, sizeof tiny), BI_EINVAL, "does not fit");
}
