/* The resource store end to end: OCL's sample files applied through the importer entry point
 * (apply_lines) on a real database, then read back through the real server's API. */
#include "apply.h"
#include "drf.h"
#include "error.h"
#include "harness.h"
#include "pgconn.h"
#include "pool.h"
#include "users.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROOT "Token " HARNESS_ROOT_TOKEN
#define FIXTURES BI_SOURCE_DIR "/tests/fixtures/ocl/"
#define MAX_LINES 1024

static harness_server srv;

static void start(void) { harness_server_start_default(&srv); }

static void stop(void) { cr_expect_eq(harness_server_stop(&srv), 0, "bulkimportd did not exit cleanly"); }

TestSuite(store, .init = start, .fini = stop, .timeout = 180);

/* The results of applying a file, and what they add up to. */
typedef struct applied {
    apply_result results[MAX_LINES];
    size_t n;
    int n_failed;
} applied;

/* Applies text (JSON lines) as username in one transaction on srv's database. */
static applied *apply_text(const char *text, const char *username, bool is_root,
                           bool update_if_exists) {
    applied *a = calloc(1, sizeof *a);
    const char *lines[MAX_LINES];
    size_t lens[MAX_LINES];
    for (const char *p = text; *p != '\0';) {
        size_t len = strcspn(p, "\n");
        if (len > 0) {
            cr_assert_lt(a->n, MAX_LINES);
            lines[a->n] = p;
            lens[a->n++] = len;
        }
        p += len + (p[len] == '\n');
    }
    db_pool *pool;
    db_conn *conn;
    cr_assert_eq(db_pool_create(srv.conninfo, 1, &pool), 0);
    cr_assert_eq(db_pool_acquire(pool, 5000, &conn), 0);
    cr_assert_eq(db_begin(conn), 0);
    db_user caller = {.is_root = is_root};
    snprintf(caller.username, sizeof caller.username, "%s", username);
    apply_options opt = {.update_if_exists = update_if_exists};
    cr_assert_eq(apply_lines(conn, &caller, &opt, lines, lens, NULL, a->n, a->results), 0);
    cr_assert_eq(db_commit(conn), 0);
    db_pool_release(pool, conn);
    db_pool_destroy(pool);
    for (size_t i = 0; i < a->n; i++)
        a->n_failed += a->results[i].status >= 400;
    return a;
}


static void applied_free(applied *a) {
    apply_results_free(a->results, a->n);
    free(a);
}

static void expect_all_succeeded(const applied *a) {
    for (size_t i = 0; i < a->n; i++)
        cr_expect_lt(a->results[i].status, 400, "line %d: %s %d %s", a->results[i].line,
                     a->results[i].action, a->results[i].status, a->results[i].message);
}

Test(store, sample_ocldev_loads) {
    applied *a = apply_text(harness_fixture(FIXTURES "sample_ocldev.json"), "root", true, true);
    cr_expect_eq(a->n, 64);
    expect_all_succeeded(a);
    applied_free(a);
}

/* A transaction that failed earlier is rolled back by its COMMIT, whose tag says ROLLBACK:
 * db_commit must report it, or a batch would count as committed with nothing stored. */
Test(store, a_commit_of_a_failed_transaction_is_an_error) {
    db_pool *pool;
    db_conn *conn;
    cr_assert_eq(db_pool_create(srv.conninfo, 1, &pool), 0);
    cr_assert_eq(db_pool_acquire(pool, 5000, &conn), 0);
    cr_assert_eq(db_begin(conn), 0);
    cr_assert_eq(db_exec_sql(conn, "CREATE TEMP TABLE t_commit (x int)", PGRES_COMMAND_OK, NULL), 0);
    cr_assert_lt(db_exec_sql(conn, "SELECT no_such_column FROM t_commit", PGRES_TUPLES_OK, NULL), 0);
    cr_expect_lt(db_commit(conn), 0, "the COMMIT rolled back");
    cr_assert_eq(db_begin(conn), 0, "the connection is usable again");
    cr_expect_eq(db_commit(conn), 0);
    db_pool_release(pool, conn);
    db_pool_destroy(pool);
}

/* ---- reading back -------------------------------------------------------------------------- */

/* GETs path as auth and asserts the status; returns the response. */
static harness_response *get(const char *path, const char *auth, long status) {
    harness_response *r = harness_request(&srv, "GET", path, auth, NULL);
    cr_assert_eq(r->status, status, "GET %s: %ld %s", path, r->status, r->body);
    return r;
}

/* Asserts that every field of the submitted line (but its "__" directives) reads back equal. */
static void expect_fields_equal(const cJSON *submitted, const cJSON *stored, const char *what) {
    cr_assert_not_null(stored, "%s: no JSON", what);
    for (const cJSON *f = submitted->child; f != NULL; f = f->next) {
        if (strncmp(f->string, "__", 2) == 0)
            continue;
        const cJSON *back = cJSON_GetObjectItemCaseSensitive(stored, f->string);
        char *want = cJSON_PrintUnformatted(f);
        char *got = back ? cJSON_PrintUnformatted(back) : NULL;
        cr_expect(back != NULL && cJSON_Compare(f, back, true), "%s: field %s is %s, want %s",
                  what, f->string, got ? got : "(missing)", want);
        free(want);
        free(got);
    }
    for (const char *key = "url"; key != NULL; key = strcmp(key, "url") == 0 ? "updated_at" : NULL)
        cr_expect_not_null(cJSON_GetObjectItemCaseSensitive(stored, key), "%s: no %s", what, key);
}

/* The number in header X-Total-Count of r. */
static long total_count(const harness_response *r) {
    char value[32];
    cr_assert_not_null(harness_response_header(r, "X-Total-Count", value, sizeof value),
                       "no X-Total-Count: %s", r->headers);
    return atol(value);
}

/* Every line of fixture name, applied as root, reads back field by field from the API, with
 * the values OCL would store (drf.h): each
 * object at the URL its result names (for repeated ids, as the last line set it). */
static void load_and_compare(const char *name, int expect_lines) {
    char *text = harness_fixture(name);
    applied *a = apply_text(text, "root", true, true);
    cr_expect_eq(a->n, (size_t)expect_lines);
    expect_all_succeeded(a);
    for (size_t i = 0; i < a->n; i++) {
        const apply_result *r = &a->results[i];
        if (r->type == RULES_REFERENCE)
            continue;
        bool later = false; /* a later line changes the same object: compare that one */
        for (size_t k = i + 1; k < a->n; k++)
            later |= strcmp(a->results[k].obj_url, r->obj_url) == 0;
        if (later)
            continue;
        harness_response *resp = get(r->obj_url, ROOT, 200);
        char what[URLS_MAX + 32];
        snprintf(what, sizeof what, "line %d %s", r->line, r->obj_url);
        /* Find line r->line of the file. */
        const char *p = text;
        for (int n = 1; n < r->line; n++) {
            p += strcspn(p, "\n") + 1;
            while (*p == '\n')
                p++;
        }
        size_t len = strcspn(p, "\n");
        cJSON *submitted = cJSON_ParseWithLength(p, len);
        cr_assert_not_null(submitted);
        char *canonical; /* as OCL's serializers store it: "True" is true (drf.h) */
        size_t canonical_len;
        rules_error ignored;
        cr_assert_eq(drf_canonicalize(submitted, p, len, &canonical, &canonical_len, &ignored), 0);
        free(canonical);
        expect_fields_equal(submitted, resp->json, what);
        cJSON_Delete(submitted);
        harness_response_free(resp);
    }
    applied_free(a);
}

Test(store, ocl_samples_read_back_field_by_field) {
    load_and_compare(FIXTURES "sample_ocldev.json", 64);
    load_and_compare(FIXTURES "pepfar_datim_moh_fy19.json", 413);
    load_and_compare(FIXTURES "sample_collection_references_with_delete.json", 11);
}

/* A concept line of source src owned by org, named name. */
#define CONCEPT(org, src, id, name, extra)                                                         \
    "{\"type\":\"Concept\",\"id\":\"" id "\",\"concept_class\":\"Misc\",\"datatype\":\"N/A\","     \
    "\"names\":[{\"name\":\"" name "\",\"locale\":\"en\"}],\"owner\":\"" org "\","                \
    "\"owner_type\":\"Organization\",\"source\":\"" src "\"" extra "}\n"
#define ORG(id) "{\"type\":\"Organization\",\"id\":\"" id "\",\"name\":\"" id "\"}\n"
#define SOURCE(org, id, extra)                                                                     \
    "{\"type\":\"Source\",\"id\":\"" id "\",\"name\":\"" id "\",\"owner\":\"" org "\","            \
    "\"owner_type\":\"Organization\"" extra "}\n"

/* Asserts line n's (1-based) action, status and, for failures, error code. */
static void expect_result(const applied *a, int n, const char *action, int status,
                          const char *code) {
    const apply_result *r = &a->results[n - 1];
    cr_expect_str_eq(r->action, action, "line %d: %s %d %s", n, r->action, r->status, r->message);
    cr_expect_eq(r->status, status, "line %d: %s %d %s", n, r->action, r->status, r->message);
    if (code != NULL)
        cr_expect_str_eq(error_code(r->error), code, "line %d: %s", n, r->message);
}

/* The name of the first name of each item of a JSON array, joined by ",". */
static void first_names(const harness_response *r, char *out, size_t out_len) {
    size_t len = 0;
    out[0] = '\0';
    const cJSON *item;
    cJSON_ArrayForEach(item, r->json) {
        const cJSON *name = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(item, "names"), 0), "name");
        len += (size_t)snprintf(out + len, out_len - len, "%s%s", len ? "," : "",
                                cJSON_IsString(name) ? name->valuestring : "?");
    }
}

Test(store, private_repositories_are_hidden_and_rights_apply) {
    char alice[128], bob[128];
    harness_create_user(&srv, "alice", alice, sizeof alice);
    harness_create_user(&srv, "bob", bob, sizeof bob);
    applied *a = apply_text(ORG("AliceOrg") SOURCE("AliceOrg", "Secret", ",\"public_access\":\"None\"")
                            SOURCE("AliceOrg", "Public", "") SOURCE("AliceOrg", "Open", ",\"public_access\":\"Edit\"")
                            CONCEPT("AliceOrg", "Secret", "c1", "One", ""),
                            "alice", false, true);
    expect_all_succeeded(a);
    applied_free(a);
    harness_response_free(get("/orgs/AliceOrg/sources/Secret/", alice, 200));
    harness_response_free(get("/orgs/AliceOrg/sources/Secret/concepts/c1/", alice, 200));
    harness_response_free(get("/orgs/AliceOrg/sources/Secret/concepts/c1/", ROOT, 200));
    harness_response_free(get("/orgs/AliceOrg/sources/Secret/", bob, 404));
    harness_response_free(get("/orgs/AliceOrg/sources/Secret/concepts/", bob, 404));
    harness_response_free(get("/orgs/AliceOrg/sources/Secret/concepts/c1/", bob, 404));
    harness_response *r = get("/orgs/AliceOrg/sources/", bob, 200);
    cr_expect_eq(total_count(r), 2, "bob sees Public and Open only: %s", r->body);
    harness_response_free(r);
    r = get("/orgs/AliceOrg/sources/", alice, 200);
    cr_expect_eq(total_count(r), 3);
    harness_response_free(r);

    /* bob: a hidden parent is 404, a visible read-only one 403, an Edit one lets him in. */
    a = apply_text(CONCEPT("AliceOrg", "Secret", "b1", "B", "") CONCEPT("AliceOrg", "Public", "b2", "B", "")
                   CONCEPT("AliceOrg", "Open", "b3", "B", "") SOURCE("AliceOrg", "Mine", "")
                   ORG("BobOrg"),
                   "bob", false, true);
    expect_result(a, 1, "SKIP", 404, "not_found");
    cr_expect(strstr(a->results[0].message, "Repository does not exist at: /orgs/AliceOrg/sources/Secret/") != NULL,
              "%s", a->results[0].message);
    expect_result(a, 2, "NEW", 403, "forbidden");
    expect_result(a, 3, "NEW", 201, NULL);
    expect_result(a, 4, "NEW", 403, "forbidden");
    expect_result(a, 5, "NEW", 201, NULL);
    applied_free(a);
    harness_response_free(get("/orgs/AliceOrg/sources/Public/concepts/b2/", ROOT, 404));
}

Test(store, versions_freeze_content_and_history_is_kept) {
    applied *a = apply_text(ORG("V") SOURCE("V", "S", "") CONCEPT("V", "S", "c", "Before", "")
                            "{\"type\":\"Source Version\",\"id\":\"v1\",\"source\":\"S\",\"owner\":\"V\","
                            "\"owner_type\":\"Organization\",\"description\":\"first\"}\n"
                            CONCEPT("V", "S", "c", "After", "") CONCEPT("V", "S", "d", "New", "")
                            CONCEPT("V", "S", "c", "After", ",\"__action\":\"DELETE\"")
                            CONCEPT("V", "S", "d", "New", "")
                            "{\"type\":\"Source Version\",\"id\":\"v1\",\"source\":\"S\",\"owner\":\"V\","
                            "\"owner_type\":\"Organization\",\"description\":\"renamed\"}\n",
                            "root", true, true);
    expect_all_succeeded(a);
    expect_result(a, 7, "DELETE", 204, NULL);
    expect_result(a, 8, "UPDATE", 200, NULL);
    cr_expect(strstr(a->results[7].message, "unchanged") != NULL, "%s", a->results[7].message);
    applied_free(a);

    char names[256];
    harness_response *r = get("/orgs/V/sources/S/v1/concepts/", ROOT, 200);
    first_names(r, names, sizeof names);
    cr_expect_str_eq(names, "Before", "the version keeps what it froze");
    harness_response_free(r);
    r = get("/orgs/V/sources/S/v1/", ROOT, 200);
    cr_expect_str_eq(harness_json_string(r, "description"), "renamed", "metadata may change");
    harness_response_free(r);
    r = get("/orgs/V/sources/S/concepts/", ROOT, 200);
    first_names(r, names, sizeof names);
    cr_expect_str_eq(names, "New", "retired concepts are hidden by default");
    harness_response_free(r);
    r = get("/orgs/V/sources/S/HEAD/concepts/?include_retired=true", ROOT, 200);
    first_names(r, names, sizeof names);
    cr_expect_str_eq(names, "After,New");
    harness_response_free(r);
    r = get("/orgs/V/sources/S/concepts/c/versions/", ROOT, 200);
    cr_expect_eq(total_count(r), 3, "%s", r->body);
    first_names(r, names, sizeof names);
    cr_expect_str_eq(names, "After,After,Before", "newest first");
    cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(r->json, 0), "retired")));
    harness_response_free(r);
    r = get("/orgs/V/sources/S/concepts/d/", ROOT, 200);
    cr_expect_eq(cJSON_GetObjectItem(r->json, "version")->valueint, 1, "unchanged: no new version");
    harness_response_free(r);
    harness_response_free(get("/orgs/V/sources/S/v2/concepts/", ROOT, 404));
}

/* An unchanged line is told by the stored digest of its text, without an update; a line of
 * other text with the same content (keys in another order), a row without a digest (written
 * before migration 0013) and a retired flag that differs take the full comparison, which gives
 * an equal row the line's digest (no new version). */
Test(store, unchanged_lines_are_told_by_their_digest) {
    static const char first[] = CONCEPT("U", "S", "c", "Same", "");
    static const char reordered[] =
        "{\"id\":\"c\",\"type\":\"Concept\",\"datatype\":\"N/A\",\"concept_class\":\"Misc\","
        "\"names\":[{\"locale\":\"en\",\"name\":\"Same\"}],\"owner\":\"U\","
        "\"owner_type\":\"Organization\",\"source\":\"S\"}\n";
    applied *a = apply_text(ORG("U") SOURCE("U", "S", "") CONCEPT("U", "S", "c", "Same", ""),
                            "root", true, true);
    expect_all_succeeded(a);
    applied_free(a);
    const char *digested = "SELECT count(*) FROM concepts WHERE mnemonic = 'c' AND data_digest IS NOT NULL";
    cr_expect_eq(harness_sql(srv.conninfo, digested), 1, "a written row keeps its text's digest");
    const char *lines[] = {first, reordered, first, CONCEPT("U", "S", "c", "Same", ",\"retired\":true")};
    const int versions[] = {1, 1, 1, 2};
    for (int i = 0; i < 4; i++) {
        if (i == 2) /* as a row written before the digest was kept */
            harness_sql(srv.conninfo, "UPDATE concepts SET data_digest = NULL WHERE mnemonic = 'c'");
        a = apply_text(lines[i], "root", true, true);
        expect_result(a, 1, "UPDATE", 200, NULL);
        cr_expect_eq(harness_sql(srv.conninfo, digested), 1, "line %d: the row has a digest", i);
        cr_expect_eq(strstr(a->results[0].message, "unchanged") != NULL, versions[i] == 1,
                     "line %d: %s", i, a->results[0].message);
        applied_free(a);
        harness_response *r = get("/orgs/U/sources/S/concepts/c/?include_retired=true", ROOT, 200);
        cr_expect_eq(cJSON_GetObjectItem(r->json, "version")->valueint, versions[i], "line %d", i);
        harness_response_free(r);
    }
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM concept_versions"), 1,
                 "one superseded version: the retiring");
    /* A writer that changes the data but not the digest (an older node, a hand-made UPDATE)
     * clears it: the line is compared in full and its content applied. */
    a = apply_text(first, "root", true, true);
    applied_free(a);
    cr_expect_eq(harness_sql(srv.conninfo, digested), 1);
    harness_sql(srv.conninfo, "UPDATE concepts SET data = data || '{\"datatype\":\"Text\"}'"
                              " WHERE mnemonic = 'c'");
    cr_expect_eq(harness_sql(srv.conninfo, digested), 0, "the stale digest was cleared");
    a = apply_text(first, "root", true, true);
    cr_expect(strstr(a->results[0].message, "unchanged") == NULL, "%s", a->results[0].message);
    applied_free(a);
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM concepts WHERE mnemonic = 'c'"
                                           " AND data->>'datatype' = 'N/A'"), 1, "the line's content is back");
}

Test(store, mappings_without_id_are_never_duplicated) {
    applied *first = apply_text(harness_fixture(FIXTURES "pepfar_datim_moh_fy19.json"), "root", true, true);
    long created = 0;
    for (size_t i = 0; i < first->n; i++)
        created += first->results[i].type == RULES_MAPPING && first->results[i].status == 201;
    applied_free(first);
    cr_expect_gt(created, 200);
    applied *again = apply_text(harness_fixture(FIXTURES "pepfar_datim_moh_fy19.json"), "root", true, true);
    for (size_t i = 0; i < again->n; i++)
        if (again->results[i].type == RULES_MAPPING)
            cr_expect(strcmp(again->results[i].action, "UPDATE") == 0 &&
                          strstr(again->results[i].message, "unchanged") != NULL,
                      "line %d: %s %s", again->results[i].line, again->results[i].action,
                      again->results[i].message);
    applied_free(again);
    harness_response *r = get("/orgs/PEPFAR/sources/DATIM-MOH-FY19/mappings/?limit=1", ROOT, 200);
    cr_expect_eq(total_count(r), created);
    harness_response_free(r);
}

#define REF(expressions, extra)                                                                    \
    "{\"type\":\"Reference\",\"collection_url\":\"/orgs/R/collections/C/\","                      \
    "\"data\":{\"expressions\":[" expressions "]}" extra "}\n"

Test(store, references_resolve_cascade_and_delete) {
    applied *a = apply_text(
        ORG("R") SOURCE("R", "S", "") CONCEPT("R", "S", "a", "A", "") CONCEPT("R", "S", "b", "B", "")
        "{\"type\":\"Mapping\",\"map_type\":\"Same As\",\"from_concept_url\":\"/orgs/R/sources/S/concepts/a/\","
        "\"to_concept_url\":\"/orgs/R/sources/S/concepts/b/\",\"owner\":\"R\",\"owner_type\":\"Organization\",\"source\":\"S\"}\n"
        "{\"type\":\"Collection\",\"id\":\"C\",\"name\":\"C\",\"owner\":\"R\",\"owner_type\":\"Organization\"}\n"
        REF("\"/orgs/R/sources/S/concepts/a/\",\"/orgs/R/sources/S/concepts/missing/\"", ",\"__cascade\":\"sourcemappings\"")
        REF("\"/orgs/R/sources/S/concepts/a/1/\"", "")
        REF("\"/nowhere/\",\"/orgs/R/sources/S/concepts/a/9/\"", "")
        "{\"type\":\"Collection Version\",\"id\":\"v1\",\"collection\":\"C\",\"owner\":\"R\",\"owner_type\":\"Organization\"}\n"
        REF("\"*\"", ",\"__action\":\"DELETE\"")
        "{\"type\":\"Reference\",\"collection_url\":\"/orgs/R/collections/Nope/\",\"data\":{\"expressions\":[\"/orgs/R/sources/S/concepts/a/\"]}}\n",
        "root", true, true);
    expect_result(a, 7, "NEW", 207, NULL);
    cr_expect(strstr(a->results[6].message, "/orgs/R/sources/S/mappings/") != NULL, "cascade: %s",
              a->results[6].message);
    expect_result(a, 8, "NEW", 200, NULL);
    expect_result(a, 9, "NEW", 400, "unresolved_reference");
    expect_result(a, 10, "NEW", 201, NULL);
    expect_result(a, 11, "DELETE", 204, NULL);
    expect_result(a, 12, "NEW", 404, "not_found");
    applied_free(a);

    harness_response *r = get("/orgs/R/collections/C/references/", ROOT, 200);
    cr_expect_eq(total_count(r), 0, "all removed: %s", r->body);
    harness_response_free(r);
    r = get("/orgs/R/collections/C/v1/concepts/", ROOT, 200);
    cr_expect_eq(total_count(r), 1, "the version keeps concept a: %s", r->body);
    harness_response_free(r);
    r = get("/orgs/R/collections/C/v1/mappings/", ROOT, 200);
    cr_expect_eq(total_count(r), 1, "and the cascaded mapping: %s", r->body);
    harness_response_free(r);
}

Test(store, organization_members) {
    char alice[128], bob[128], carol[128];
    harness_create_user(&srv, "alice", alice, sizeof alice);
    harness_create_user(&srv, "bob", bob, sizeof bob);
    harness_create_user(&srv, "carol", carol, sizeof carol);
    applied *a = apply_text(ORG("M"), "alice", false, true);
    expect_all_succeeded(a);
    applied_free(a);
    harness_response *r = harness_request(&srv, "PUT", "/orgs/M/members/bob/", alice, NULL);
    cr_expect_eq(r->status, 204, "%s", r->body);
    harness_response_free(r);
    r = harness_request(&srv, "PUT", "/orgs/M/members/nobody/", alice, NULL);
    cr_expect_eq(r->status, 404, "%s", r->body);
    harness_response_free(r);
    r = harness_request(&srv, "PUT", "/orgs/M/members/carol/", carol, NULL);
    cr_expect_eq(r->status, 403, "%s", r->body);
    harness_response_free(r);
    r = get("/orgs/M/members/", carol, 200);
    cr_expect_eq(total_count(r), 2);
    harness_response_free(r);
    r = harness_request(&srv, "DELETE", "/orgs/M/members/alice/", bob, NULL);
    cr_expect_eq(r->status, 204, "%s", r->body);
    harness_response_free(r);
    r = harness_request(&srv, "DELETE", "/orgs/M/members/bob/", bob, NULL);
    cr_expect_eq(r->status, 403, "the last member stays: %s", r->body);
    harness_response_free(r);
    r = harness_request(&srv, "DELETE", "/orgs/M/members/bob/", ROOT, NULL);
    cr_expect_eq(r->status, 204, "root may: %s", r->body);
    harness_response_free(r);
    r = harness_request(&srv, "DELETE", "/orgs/Nope/members/bob/", ROOT, NULL);
    cr_expect_eq(r->status, 404, "%s", r->body);
    harness_response_free(r);
}

Test(store, bad_lines_fail_alone_and_odd_ids_round_trip) {
    char deep[2048] = "";
    for (int i = 0; i < 40; i++)
        strcat(deep, "{\"x\":");
    strcat(deep, "1");
    for (int i = 0; i < 40; i++)
        strcat(deep, "}");
    char text[16384];
    snprintf(text, sizeof text, "%s",
             ORG("B") SOURCE("B", "S", "")
             "{\"type\":\"Concept\",\"id\":\"x\",\"datatype\":\"N/A\",\"names\":[{\"name\":\"n\",\"locale\":\"en\"}],"
             "\"owner\":\"B\",\"owner_type\":\"Organization\",\"source\":\"S\"}\n"
             CONCEPT("B", "S", "a b/ç%", "Odd", "")
             "{\"type\":\"Concept\",\"id\":\"y\",\"concept_class\":\"Misc\",\"datatype\":\"N/A\",\"names\":\"x\","
             "\"owner\":\"B\",\"owner_type\":\"Organization\",\"source\":\"S\"}\n"
             "{not json\n"
             CONCEPT("B", "S", "nul", "bad\\u0000", "")
             CONCEPT("B", "S", "after", "Fine", "")
             CONCEPT("B", "Nope", "z", "Z", ""));
    size_t len = strlen(text);
    snprintf(text + len, sizeof text - len,
             "{\"type\":\"Concept\",\"id\":\"deep\",\"concept_class\":\"Misc\",\"datatype\":\"N/A\","
             "\"names\":[{\"name\":\"n\",\"locale\":\"en\"}],\"owner\":\"B\",\"owner_type\":\"Organization\","
             "\"source\":\"S\",\"extras\":%s}\n",
             deep);
    applied *a = apply_text(text, "root", true, true);
    expect_result(a, 3, "SKIP", 400, "missing_field");
    cr_expect_str_eq(a->results[2].message, "Concept requires concept_class");
    expect_result(a, 4, "NEW", 201, NULL);
    expect_result(a, 5, "SKIP", 400, "wrong_field_type");
    expect_result(a, 6, "SKIP", 400, "invalid_json");
    expect_result(a, 7, "SKIP", 400, "invalid_json");
    expect_result(a, 8, "NEW", 201, NULL);
    expect_result(a, 9, "SKIP", 404, "not_found");
    expect_result(a, 10, "SKIP", 400, "too_deep");
    cr_expect_str_eq(a->results[3].obj_url, "/orgs/B/sources/S/concepts/a%20b%2F%C3%A7%25/");
    harness_response *r = get(a->results[3].obj_url, ROOT, 200);
    cr_expect_str_eq(harness_json_string(r, "id"), "a b/ç%");
    harness_response_free(r);
    applied_free(a);
}

Test(store, lists_are_paged) {
    applied *a = apply_text(harness_fixture(FIXTURES "sample_ocldev.json"), "root", true, true);
    applied_free(a);
    harness_response *all = get("/orgs/DemoOrg/sources/DemoSource/concepts/?limit=1000", ROOT, 200);
    long total = total_count(all);
    cr_expect_eq(cJSON_GetArraySize(all->json), total);
    harness_response *page = get("/orgs/DemoOrg/sources/DemoSource/concepts?limit=5&page=2&brief=true", ROOT, 200);
    cr_expect_eq(total_count(page), total);
    cr_assert_eq(cJSON_GetArraySize(page->json), 5);
    const cJSON *first = cJSON_GetArrayItem(page->json, 0);
    cr_expect(cJSON_Compare(cJSON_GetObjectItem(first, "id"),
                            cJSON_GetObjectItem(cJSON_GetArrayItem(all->json, 5), "id"), true));
    cr_expect(cJSON_IsString(cJSON_GetObjectItem(first, "id")) &&
                  cJSON_IsString(cJSON_GetObjectItem(first, "url")), "brief: id and url");
    const cJSON *member;
    cJSON_ArrayForEach(member, first) /* a concept has no name: left out, never null */
        cr_expect(!cJSON_IsNull(member) && strcmp(member->string, "name") != 0, "%s", member->string);
    harness_response_free(page);
    harness_response_free(all);
    harness_response *r = get("/orgs/DemoOrg/sources/DemoSource/concepts/?q=papaya", ROOT, 200);
    cr_expect_eq(total_count(r), 1, "%s", r->body);
    harness_response_free(r);
    harness_response_free(get("/orgs/DemoOrg/sources/DemoSource/concepts/?limit=1001", ROOT, 400));
    harness_response_free(get("/orgs/DemoOrg/sources/DemoSource/concepts/?page=0", ROOT, 400));
    harness_response_free(get("/orgs/DemoOrg/sources/DemoSource/concepts/?include_retired=yes", ROOT, 400));
    harness_response_free(get("/things/DemoOrg/sources/DemoSource/", ROOT, 404));
    r = get("/orgs/", ROOT, 200);
    cr_expect_eq(total_count(r), 1, "DemoOrg, created then updated: %s", r->body);
    harness_response_free(r);
    r = get("/users/root/", ROOT, 200);
    cr_expect_null(cJSON_GetObjectItem(r->json, "token_sha256"));
    harness_response_free(r);
}

Test(store, deleting_an_owner_or_repository_removes_what_is_inside) {
    applied *a = apply_text(harness_fixture(FIXTURES "pepfar_datim_moh_fy19.json"), "root", true, true);
    expect_all_succeeded(a);
    applied_free(a);
    harness_response *r = get("/orgs/PEPFAR/collections/MER-R-MOH-Facility-FY19/concepts/", ROOT, 200);
    cr_expect_gt(total_count(r), 0, "the references resolve: %s", r->body);
    harness_response_free(r);
    a = apply_text("{\"type\":\"Collection\",\"id\":\"MER-R-MOH-Facility-FY19\",\"owner\":\"PEPFAR\","
                   "\"owner_type\":\"Organization\",\"__action\":\"DELETE\"}\n",
                   "root", true, true);
    expect_result(a, 1, "DELETE", 204, NULL);
    applied_free(a);
    harness_response_free(get("/orgs/PEPFAR/collections/MER-R-MOH-Facility-FY19/", ROOT, 404));
    harness_response_free(get("/orgs/PEPFAR/sources/DATIM-MOH-FY19/concepts/HTS_TST_N_MOH/", ROOT, 200));
    a = apply_text("{\"type\":\"Organization\",\"id\":\"PEPFAR\",\"__action\":\"DELETE\"}\n"
                   "{\"type\":\"Organization\",\"id\":\"PEPFAR\",\"__action\":\"DELETE\"}\n"
                   "{\"type\":\"Organization\",\"id\":\"PEPFAR\",\"__action\":\"DELETE_IF_EXISTS\"}\n",
                   "root", true, true);
    expect_result(a, 1, "DELETE", 204, NULL);
    expect_result(a, 2, "DELETE", 404, "not_found");
    expect_result(a, 3, "SKIP", APPLY_STATUS_SKIP, NULL);
    applied_free(a);
    harness_response_free(get("/orgs/PEPFAR/sources/DATIM-MOH-FY19/concepts/HTS_TST_N_MOH/", ROOT, 404));
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM concepts"), 0);
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM mapping_versions"), 0);
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM collection_references"), 0);
}

Test(store, users_are_resources_only_root_may_import) {
    char alice[128];
    harness_create_user(&srv, "alice", alice, sizeof alice);
    applied *a = apply_text("{\"type\":\"User\",\"username\":\"dora\",\"name\":\"Dora\"}\n", "alice",
                            false, true);
    expect_result(a, 1, "NEW", 403, "forbidden");
    applied_free(a);
    a = apply_text("{\"type\":\"User\",\"username\":\"dora\",\"name\":\"Dora\"}\n"
                   "{\"type\":\"User\",\"username\":\"dora\",\"name\":\"Dora E.\"}\n"
                   "{\"type\":\"Source\",\"id\":\"Mine\",\"name\":\"Mine\",\"owner\":\"dora\",\"owner_type\":\"User\"}\n"
                   "{\"type\":\"User\",\"username\":\"root\",\"__action\":\"DELETE\"}\n",
                   "root", true, true);
    expect_result(a, 1, "NEW", 201, NULL);
    expect_result(a, 2, "UPDATE", 200, NULL);
    expect_result(a, 3, "NEW", 201, NULL);
    expect_result(a, 4, "DELETE", 403, "forbidden");
    applied_free(a);
    harness_response *r = get("/users/dora/", alice, 200);
    cr_expect_str_eq(harness_json_string(r, "name"), "Dora E.");
    cr_expect_eq(cJSON_GetObjectItem(r->json, "version")->valueint, 2);
    harness_response_free(r);
    harness_response_free(get("/users/dora/sources/Mine/", alice, 200));
    harness_response_free(get("/users/nobody/", alice, 404));
    harness_response_free(get("/users/nobody/sources/", alice, 404));
}

Test(store, a_key_repeated_in_one_batch_keeps_file_order) {
    applied *a = apply_text(ORG("K") SOURCE("K", "S", "") CONCEPT("K", "S", "c", "A", "")
                            CONCEPT("K", "S", "d", "D", "") CONCEPT("K", "S", "c", "B", "")
                            CONCEPT("K", "S", "c", "B", "") CONCEPT("K", "S", "c", "A", "")
                            CONCEPT("K", "S", "c", "A", ",\"__action\":\"DELETE\"")
                            CONCEPT("K", "S", "c", "A", ",\"__action\":\"NEW\""),
                            "root", true, true);
    expect_result(a, 3, "NEW", 201, NULL);
    expect_result(a, 4, "NEW", 201, NULL);
    expect_result(a, 5, "UPDATE", 200, NULL);
    expect_result(a, 6, "UPDATE", 200, NULL);
    cr_expect(strstr(a->results[5].message, "unchanged") != NULL, "%s", a->results[5].message);
    expect_result(a, 7, "UPDATE", 200, NULL);
    cr_expect(strstr(a->results[6].message, "\"version\":3") != NULL, "%s", a->results[6].message);
    expect_result(a, 8, "DELETE", 204, NULL);
    expect_result(a, 9, "NEW", 409, "conflict");
    applied_free(a);
    char names[256];
    harness_response *r = get("/orgs/K/sources/S/concepts/c/versions/", ROOT, 200);
    first_names(r, names, sizeof names);
    cr_expect_str_eq(names, "A,A,B,A", "retired A, A, B, A: newest first");
    harness_response_free(r);
}

typedef struct secret_use {
    db_conn *conn;
    char secret[DB_WEBHOOK_SECRET_MAX + 1];
    int err;
} secret_use;

static void *second_first_use(void *arg) {
    secret_use *u = arg;
    u->err = db_users_webhook_secret(u->conn, "hooked", "bbbb", false, u->secret);
    return NULL;
}

/* Two first uses of a webhook secret at once: the second waits for the first's row lock and
 * must come back with the secret the first stored, never an empty one. */
Test(store, two_first_uses_of_a_webhook_secret_agree) {
    harness_response *r = harness_request(&srv, "POST", "/users/", "Token " HARNESS_ROOT_TOKEN,
                                          "{\"username\":\"hooked\"}");
    cr_assert_eq(r->status, 201, "%s", r->body);
    harness_response_free(r);
    db_pool *pool;
    db_conn *first;
    secret_use second = {0};
    cr_assert_eq(db_pool_create(srv.conninfo, 2, &pool), 0);
    cr_assert_eq(db_pool_acquire(pool, 5000, &first), 0);
    cr_assert_eq(db_pool_acquire(pool, 5000, &second.conn), 0);
    char secret[DB_WEBHOOK_SECRET_MAX + 1];
    cr_assert_eq(db_begin(first), 0);
    cr_assert_eq(db_users_webhook_secret(first, "hooked", "aaaa", false, secret), 0);
    pthread_t thread;
    pthread_create(&thread, NULL, second_first_use, &second);
    /* Let the second statement take its snapshot and block on the row, then commit. */
    for (int i = 0; i < 100 && harness_sql(srv.conninfo,
                                            "SELECT count(*) FROM pg_stat_activity WHERE"
                                            " wait_event_type = 'Lock' AND query LIKE '%webhook_secret%'") == 0;
         i++)
        usleep(20 * 1000);
    cr_assert_eq(db_commit(first), 0);
    pthread_join(thread, NULL);
    cr_expect_str_eq(secret, "aaaa");
    cr_expect_eq(second.err, 0);
    cr_expect_str_eq(second.secret, "aaaa", "the second first use got '%s'", second.secret);
    db_pool_release(pool, first);
    db_pool_release(pool, second.conn);
    db_pool_destroy(pool);
}

/* A purged user (DELETE /users/:u/?purge=true) takes its tasks with everything they stored:
 * lines, results and batches, no orphans. */
Test(store, a_purged_users_tasks_leave_nothing_behind) {
    char gone[128];
    harness_create_user(&srv, "gone", gone, sizeof gone);
    harness_response *r = harness_request(&srv, "POST", "/manage/bulkimport/", gone,
                                          "{\"type\":\"Organization\",\"id\":\"GoneOrg\",\"name\":\"G\"}\n"
                                          "{\"type\":\"Organization\",\"id\":\"GoneOrg2\",\"name\":\"G\"}\n");
    cr_assert_eq(r->status, 202, "%s", r->body);
    char path[400];
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&wait=30", harness_json_string(r, "task"));
    harness_response_free(r);
    r = harness_request(&srv, "GET", path, gone, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    harness_response_free(r);
    cr_assert_gt(harness_sql(srv.conninfo, "SELECT count(*) FROM import_batches b JOIN import_tasks t"
                                           " ON t.id = b.task_id WHERE t.username = 'gone'"), 0);
    r = harness_request(&srv, "DELETE", "/users/gone/?purge=true", ROOT, NULL);
    cr_expect_eq(r->status, 204, "%s", r->body);
    harness_response_free(r);
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM import_tasks WHERE username = 'gone'"), 0);
    static const char *const orphans[] = {"import_batches", "import_chunks", "webhook_deliveries"};
    for (size_t i = 0; i < sizeof orphans / sizeof orphans[0]; i++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM %s x WHERE NOT EXISTS (SELECT 1 FROM import_tasks t WHERE t.id = x.task_id)",
                 orphans[i]);
        cr_expect_eq(harness_sql(srv.conninfo, sql), 0, "orphaned rows in %s", orphans[i]);
    }
}
