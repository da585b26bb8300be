/* Every file OCL users have, through a real bulkimportd: OCL's standard CSV, OCL source-version
 * exports and ZIP archives of either, posted raw, as multipart files with their names, with the
 * format option, and by file_url; the converted lines' numbers and CSV rows in the results. */
#include "harness.h"

#include <civetweb.h>
#include <libpq-fe.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROOT "Token " HARNESS_ROOT_TOKEN
#define FIXTURES BI_SOURCE_DIR "/tests/fixtures/"

static harness_server srv;

static void start(void) { harness_server_start_default(&srv); }
static void stop(void) { cr_expect_eq(harness_server_stop(&srv), 0, "bulkimportd did not exit cleanly"); }

TestSuite(formats, .init = start, .fini = stop, .timeout = 240);

/* A CSV listing a concept before its source and organization (ocldev's order imports it), a
 * row the converter refuses (row 4: not a truth value) and a concept whose source does not
 * exist (row 5), with a quoted name holding a comma and a newline. */
static const char terms_csv[] =
    "resource_type,id,owner_id,source,name,concept_class,datatype,retired,map_type[1],"
    "map_to_concept_id[1]\r\n"
    "Concept,C1,CsvOrg,Terms,\"Fever, high\nand long\",Symptom,N/A,false,Same As,C2\r\n"
    "Concept,C2,CsvOrg,Terms,Chills,Symptom,N/A,,,\r\n"
    "Concept,C3,CsvOrg,Terms,Bad,Symptom,N/A,perhaps,,\r\n"
    "Concept,C4,CsvOrg,Nowhere,Lost,Symptom,N/A,,,\r\n"
    "Source,Terms,CsvOrg,,Terms,,,,,\r\n"
    "Organization,CsvOrg,,,CSV Org,,,,,\r\n";

/* POSTs body to path as root with content_type (NULL: none); asserts 202, returns the task. */
static void submit(const char *path, const char *content_type, const char *body, size_t len,
                   char *out, size_t out_len) {
    harness_response *r = content_type
                              ? harness_request_typed(&srv, "POST", path, ROOT, content_type, body, len)
                              : harness_request_bytes(&srv, "POST", path, ROOT, body, len);
    cr_assert_eq(r->status, 202, "POST %s: %ld %s", path, r->status, r->body);
    snprintf(out, out_len, "%s", harness_json_string(r, "task"));
    harness_response_free(r);
}

/* Polls until the task ends; returns the answer for result format. */
static harness_response *wait_result(const char *task, const char *format) {
    char path[512];
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&result=%s", task, format);
    for (int i = 0; i < 1200; i++) {
        harness_response *r = harness_request(&srv, "GET", path, ROOT, NULL);
        if (r->status != 202)
            return r;
        harness_response_free(r);
        usleep(50 * 1000);
    }
    cr_assert_fail("task %s did not finish", task);
    return NULL;
}

/* The result object of line n in a json result, or NULL. */
static const cJSON *json_line(const harness_response *r, int n) {
    const cJSON *root, *action, *status, *item;
    cJSON_ArrayForEach(root, cJSON_GetObjectItem(r->json, "results"))
        cJSON_ArrayForEach(action, root) cJSON_ArrayForEach(status, action)
            cJSON_ArrayForEach(item, status) if (cJSON_GetObjectItem(item, "line")->valueint == n)
                return item;
    return NULL;
}

static int json_lines(const harness_response *r) {
    int n = 0;
    const cJSON *root, *action, *status;
    cJSON_ArrayForEach(root, cJSON_GetObjectItem(r->json, "results"))
        cJSON_ArrayForEach(action, root) cJSON_ArrayForEach(status, action)
            n += cJSON_GetArraySize(status);
    return n;
}

/* Line n's result has action and status; returns its message. */
static const char *expect_line(const harness_response *r, int n, const char *action, int status) {
    const cJSON *item = json_line(r, n);
    cr_assert_not_null(item, "no result for line %d: %s", n, r->body);
    char *text = cJSON_PrintUnformatted(item);
    cr_expect_str_eq(cJSON_GetObjectItem(item, "action_type")->valuestring, action, "%s", text);
    const cJSON *sc = cJSON_GetObjectItem(item, "status_code");
    int got = cJSON_IsNumber(sc) ? sc->valueint : atoi(sc->valuestring);
    cr_expect_eq(got, status, "line %d: %s", n, text);
    free(text);
    const cJSON *message = cJSON_GetObjectItem(item, "message");
    return cJSON_IsString(message) ? message->valuestring : "";
}

static long get_status(const char *path) {
    harness_response *r = harness_request(&srv, "GET", path, ROOT, NULL);
    long status = r->status;
    harness_response_free(r);
    return status;
}

/* The CSV's lines, in ocldev's order: the organization (row 7), the source (row 6), the
 * concepts (rows 2-5, row 4 refused by the converter), then C1's mapping (row 2). */
static void expect_terms_results(const char *task) {
    harness_response *r = wait_result(task, "json");
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_expect_eq(json_lines(r), 7, "%s", r->body);
    expect_line(r, 1, "NEW", 201);
    cr_expect(strstr(cJSON_GetObjectItem(json_line(r, 1), "text")->valuestring,
                     "{\"__csv_row\":7,\"type\":\"Organization\",\"id\":\"CsvOrg\"") != NULL,
              "%s", r->body);
    expect_line(r, 2, "NEW", 201);
    expect_line(r, 3, "NEW", 201);
    expect_line(r, 4, "NEW", 201);
    const char *refused = expect_line(r, 5, "SKIP", 400);
    cr_expect_str_eq(refused, "CSV row 4: invalid truth value 'perhaps'");
    cr_expect_str_eq(cJSON_GetObjectItem(json_line(r, 5), "error_code")->valuestring, "invalid_csv_row");
    const char *lost = expect_line(r, 6, "SKIP", 404);
    cr_expect(strncmp(lost, "CSV row 5: ", 11) == 0, "%s", lost);
    expect_line(r, 7, "NEW", 201);
    harness_response_free(r);
    cr_expect_eq(get_status("/orgs/CsvOrg/sources/Terms/concepts/C1/"), 200);
    harness_response *c = harness_request(&srv, "GET", "/orgs/CsvOrg/sources/Terms/concepts/C1/",
                                          ROOT, NULL);
    cr_expect(strstr(c->body, "Fever, high\\nand long") != NULL, "%s", c->body);
    harness_response_free(c);
    /* The failed lines carry their CSV rows: the converter's refusal and the lost concept. */
    r = wait_result(task, "failed");
    cr_expect(strncmp(r->body, "{\"__error\":{\"code\":\"invalid_csv_row\",\"message\":\"CSV row 4: "
                               "invalid truth value 'perhaps'\",\"line\":5,\"row\":4},\"__csv_row\":4,",
                      strlen("{\"__error\":{\"code\":\"invalid_csv_row\",\"message\":\"CSV row 4: "
                             "invalid truth value 'perhaps'\",\"line\":5,\"row\":4},\"__csv_row\":4,")) == 0,
              "%s", r->body);
    cr_expect(strstr(r->body, "\n{\"__error\":{\"code\":\"not_found\",\"message\":\"CSV row 5: ") != NULL &&
                  strstr(r->body, "\"line\":6,\"row\":5},\"__csv_row\":5,\"type\":\"Concept\"") != NULL,
              "%s", r->body);
    harness_response_free(r);
}

/* Posted raw (told by its header row), the CSV imports in ocldev's order. */
Test(formats, a_csv_posted_raw_imports_in_ocldevs_order) {
    char task[256];
    submit("/manage/bulkimport/", NULL, terms_csv, sizeof terms_csv - 1, task, sizeof task);
    expect_terms_results(task);
}

/* As a multipart file named terms.csv, or with format=csv, with a BOM. */
Test(formats, a_csv_file_by_name_or_by_format) {
    char body[4096], task[256];
    int head = snprintf(body, sizeof body, "--B\r\nContent-Disposition: form-data; name=\"file\";"
                                           " filename=\"terms.csv\"\r\n\r\n");
    memcpy(body + head, terms_csv, sizeof terms_csv - 1);
    int tail = snprintf(body + head + sizeof terms_csv - 1, sizeof body, "\r\n--B--\r\n");
    submit("/manage/bulkimport/?queue=named1", "multipart/form-data; boundary=B", body,
           (size_t)head + sizeof terms_csv - 1 + (size_t)tail, task, sizeof task);
    harness_response *r = wait_result(task, "json");
    cr_expect_eq(json_lines(r), 7, "%s", r->body);
    expect_line(r, 1, "NEW", 201);
    harness_response_free(r);

    char bom[4096];
    int n = snprintf(bom, sizeof bom, "\xEF\xBB\xBF%s", terms_csv);
    submit("/manage/bulkimport/?format=csv&queue=named2", NULL, bom, (size_t)n, task, sizeof task);
    r = wait_result(task, "json");
    cr_expect_eq(json_lines(r), 7, "%s", r->body);
    harness_response_free(r);
}

static void expect_refused(const char *path, const char *body, size_t len, long status,
                           const char *why) {
    harness_response *r = harness_request_bytes(&srv, "POST", path, ROOT, body, len);
    cr_expect_eq(r->status, status, "%s", r->body);
    cr_expect(strstr(r->body, why) != NULL, "want %s: %s", why, r->body);
    harness_response_free(r);
}

Test(formats, files_that_cannot_be_read_as_their_format_are_refused_whole) {
    expect_refused("/manage/bulkimport/?format=csv", "\n\nConcept,C1\n", 11, 400,
                   "the file is a CSV file that has a blank header row");
    expect_refused("/manage/bulkimport/?format=export", "{\"type\":\"Concept\"}\n", 19, 400,
                   "the file is not an OCL source-version export");
    expect_refused("/manage/bulkimport/?format=xml", "{}", 2, 400, "format must be jsonl, csv");
    static const char cut[] = "{\"type\": \"Source Version\", \"concepts\": [], \"mappings\": [{";
    expect_refused("/manage/bulkimport/", cut, sizeof cut - 1, 400,
                   "the file is an OCL export that is cut off or not valid JSON");
    static const char export_doc[] = "{\"type\": \"Source Version\", \"concepts\": [], \"mappings\": []}";
    expect_refused("/manage/bulkimport/?owner=x", export_doc, sizeof export_doc - 1, 400,
                   "'owner_type' needs to be either");
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM import_tasks"), 0);
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM import_chunks"), 0);
}

/* ocldev's DemoSource export, raw: its owner, source, 23 concepts, 22 mappings and version,
 * as ocldev converts them; with owner options, under the new owner. */
Test(formats, an_ocl_export_imports_as_ocldev_converts_it) {
    char path[512];
    snprintf(path, sizeof path, FIXTURES "export/DemoSource.v1.export.json");
    char *doc = strdup(harness_fixture(path));
    char task[256];
    submit("/manage/bulkimport/", NULL, doc, strlen(doc), task, sizeof task);
    harness_response *r = wait_result(task, "json");
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_expect_eq(json_lines(r), 48, "%s", r->body);
    for (int line = 1; line <= 48; line++) {
        const cJSON *item = json_line(r, line);
        cr_assert_not_null(item);
        const cJSON *sc = cJSON_GetObjectItem(item, "status_code");
        int status = cJSON_IsNumber(sc) ? sc->valueint : atoi(sc->valuestring);
        char *text = cJSON_PrintUnformatted(item);
        cr_expect(status == 200 || status == 201, "line %d: %s", line, text);
        free(text);
    }
    harness_response_free(r);
    cr_expect_eq(get_status("/orgs/DemoOrg/sources/DemoSource/"), 200);
    cr_expect_eq(get_status("/orgs/DemoOrg/sources/DemoSource/v1.0/"), 200);

    submit("/manage/bulkimport/?owner=NewOwner&owner_type=Organization&version=v2", NULL, doc,
           strlen(doc), task, sizeof task);
    r = wait_result(task, "summary");
    harness_response_free(r);
    cr_expect_eq(get_status("/orgs/NewOwner/sources/DemoSource/v2/"), 200);
    harness_response *c = harness_request(&srv, "GET", "/orgs/NewOwner/sources/DemoSource/concepts/?limit=100",
                                          ROOT, NULL);
    cr_expect_eq(cJSON_GetArraySize(c->json), 23, "%s", c->body);
    harness_response_free(c);
    free(doc);
}

/* A ZIP holding one file: that file, read as its name says; two files, or a ZIP inside, are
 * refused; a name that climbs out of a folder is only a name (nothing is written). */
Test(formats, a_zip_of_one_file_imports_that_file) {
    static unsigned char zip[64 * 1024];
    const char *names[] = {"../../tmp/zip-slip-terms.csv", "second.jsonl"};
    const char *texts[] = {terms_csv, "{\"type\":\"Organization\",\"id\":\"Z\",\"name\":\"Z\"}\n"};
    size_t lens[] = {sizeof terms_csv - 1, strlen(texts[1])};
    size_t n = harness_zip(names, texts, lens, 1, zip, sizeof zip);
    char task[256];
    submit("/manage/bulkimport/", NULL, (const char *)zip, n, task, sizeof task);
    expect_terms_results(task);
    cr_expect_neq(access("/tmp/zip-slip-terms.csv", F_OK), 0);

    n = harness_zip(names, texts, lens, 2, zip, sizeof zip);
    expect_refused("/manage/bulkimport/", (const char *)zip, n, 400,
                   "the file is a ZIP archive with 2 files: it must hold exactly one");
    size_t inner = n;
    static unsigned char outer[64 * 1024];
    const char *outer_names[] = {"inner.zip"};
    const char *outer_texts[] = {(const char *)zip};
    n = harness_zip(outer_names, outer_texts, &inner, 1, outer, sizeof outer);
    expect_refused("/manage/bulkimport/", (const char *)outer, n, 400,
                   "the file in the ZIP archive is a ZIP archive itself");
    expect_refused("/manage/bulkimport/", "PK\3\4 not really", 15, 400,
                   "the file is not a readable ZIP archive");
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM import_tasks"), 1);
}

/* What a ZIP holds counts against the upload limit once decompressed: a small ZIP of many
 * blank lines is refused with 413 and stores nothing. */
Test(formats, a_zip_bomb_is_refused_with_413) {
    harness_server small;
    const char *const extra[] = {"--max-upload-bytes", "100000", NULL};
    harness_server_start_with(&small, 1, extra);
    size_t big = 1 << 20;
    char *blank = malloc(big);
    memset(blank, '\n', big);
    static unsigned char zip[64 * 1024];
    const char *names[] = {"blank.jsonl"};
    const char *texts[] = {blank};
    size_t n = harness_zip(names, texts, &big, 1, zip, sizeof zip);
    free(blank);
    cr_assert_lt(n, 100000);
    harness_response *r = harness_request_bytes(&small, "POST", "/manage/bulkimport/", ROOT,
                                                (const char *)zip, n);
    cr_expect_eq(r->status, 413, "%s", r->body);
    cr_expect(strstr(r->body, "once decompressed") != NULL, "%s", r->body);
    harness_response_free(r);
    cr_expect_eq(harness_sql(small.conninfo, "SELECT count(*) FROM import_tasks"), 0);
    cr_expect_eq(harness_server_stop(&small), 0);
}

/* ---- file_url ---- */

static unsigned char served_zip[64 * 1024], served_export_zip[128 * 1024];
static size_t served_zip_len, served_export_zip_len;

static int served_port; /* the peer's, for files that name the peer */

static int serve(struct mg_connection *conn, void *data) {
    (void)data;
    const char *uri = mg_get_request_info(conn)->local_uri;
    if (strcmp(uri, "/child.jsonl") == 0) {
        static const char child[] = "{\"type\":\"Organization\",\"id\":\"FromChild\",\"name\":\"C\"}\n";
        mg_send_http_ok(conn, "application/x-ndjson", (long long)sizeof child - 1);
        mg_write(conn, child, sizeof child - 1);
        return 200;
    }
    if (strcmp(uri, "/self.jsonl") == 0) { /* a file that imports itself */
        char line[256];
        int n = snprintf(line, sizeof line,
                         "{\"type\":\"Import\",\"file_url\":\"http://127.0.0.1:%d/self.jsonl\"}\n",
                         served_port);
        mg_send_http_ok(conn, "application/x-ndjson", (long long)n);
        mg_write(conn, line, (size_t)n);
        return 200;
    }
    if (strcmp(uri, "/slow.jsonl") == 0) { /* holds its named queue for a while */
        sleep(6);
        static const char slow[] = "{\"type\":\"Organization\",\"id\":\"Slow\",\"name\":\"S\"}\n";
        mg_send_http_ok(conn, "application/x-ndjson", (long long)sizeof slow - 1);
        mg_write(conn, slow, sizeof slow - 1);
        return 200;
    }
    if (strcmp(uri, "/terms.csv") == 0) {
        mg_send_http_ok(conn, "text/csv", (long long)sizeof terms_csv - 1);
        mg_write(conn, terms_csv, sizeof terms_csv - 1);
        return 200;
    }
    if (strcmp(uri, "/members.jsonl") == 0) {
        static const char members[] =
            "{\"type\":\"Organization\",\"id\":\"Feed1\",\"name\":\"F\",\"status\":\"ACTIVE\"}\n"
            "{\"type\":\"Organization\",\"id\":\"Keep\",\"name\":\"K\",\"status\":\"INACTIVE\"}\n";
        mg_send_http_ok(conn, "application/x-ndjson", (long long)sizeof members - 1);
        mg_write(conn, members, sizeof members - 1);
        return 200;
    }
    if (strcmp(uri, "/demo/export.zip") == 0) {
        mg_send_http_ok(conn, "application/zip", (long long)served_export_zip_len);
        mg_write(conn, served_export_zip, served_export_zip_len);
        return 200;
    }
    if (strcmp(uri, "/two.zip") == 0) {
        mg_send_http_ok(conn, "application/zip", (long long)served_zip_len);
        mg_write(conn, served_zip, served_zip_len);
        return 200;
    }
    mg_send_http_error(conn, 404, "%s", "no such file");
    return 404;
}

/* A CSV by file_url imports as uploaded; a ZIP of two files makes the task FAILURE with the
 * reason oclapi2 gives in words. */
Test(formats, file_url_downloads_are_converted_when_the_task_starts) {
    const char *names[] = {"a.csv", "b.csv"};
    const char *texts[] = {terms_csv, terms_csv};
    size_t lens[] = {sizeof terms_csv - 1, sizeof terms_csv - 1};
    served_zip_len = harness_zip(names, texts, lens, 2, served_zip, sizeof served_zip);
    int port;
    struct mg_context *peer = harness_peer_start(serve, NULL, 2, &port);
    char body[256], task[256];
    snprintf(body, sizeof body, "file_url=http://127.0.0.1:%d/terms.csv", port);
    submit("/manage/bulkimport/", "application/x-www-form-urlencoded", body, strlen(body), task,
           sizeof task);
    expect_terms_results(task);

    snprintf(body, sizeof body, "file_url=http://127.0.0.1:%d/two.zip", port);
    submit("/manage/bulkimport/", "application/x-www-form-urlencoded", body, strlen(body), task,
           sizeof task);
    harness_response *r = wait_result(task, "summary");
    char state[32];
    cr_expect_str_eq(harness_response_header(r, "X-Task-State", state, sizeof state), "FAILURE");
    harness_response_free(r);
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM import_tasks WHERE id = '%s' AND error ="
                              " 'file_url download failed: the file is a ZIP archive with 2 files:"
                              " it must hold exactly one'", task);
    cr_expect_eq(harness_sql(srv.conninfo, sql), 1, "the task fails saying why");
    harness_peer_stop(peer);
}

/* A feed whose URL serves a zipped OCL export just works: its run imports the export. */
Test(formats, a_feed_of_a_zipped_export) {
    char path[512];
    snprintf(path, sizeof path, FIXTURES "export/DemoSource.v1.export.json");
    char *doc = strdup(harness_fixture(path));
    const char *names[] = {"DemoSource.v1.export.json"};
    const char *texts[] = {doc};
    size_t lens[] = {strlen(doc)};
    served_export_zip_len = harness_zip(names, texts, lens, 1, served_export_zip,
                                        sizeof served_export_zip);
    free(doc);
    int port;
    struct mg_context *peer = harness_peer_start(serve, NULL, 2, &port);
    char body[512];
    snprintf(body, sizeof body, "{\"name\":\"demo\",\"url\":\"http://127.0.0.1:%d/demo/export.zip\","
                                "\"schedule\":\"1d\"}", port);
    harness_response *r = harness_request_typed(&srv, "POST", "/manage/feeds/", ROOT,
                                                "application/json", body, strlen(body));
    cr_assert_eq(r->status, 201, "%s", r->body);
    harness_response_free(r);
    r = harness_request_typed(&srv, "POST", "/manage/feeds/demo/run/", ROOT, "application/json",
                              NULL, 0);
    cr_assert_eq(r->status, 202, "%s", r->body);
    char task[256];
    snprintf(task, sizeof task, "%s", harness_json_string(r, "task"));
    harness_response_free(r);
    r = wait_result(task, "json");
    cr_expect_eq(json_lines(r), 48, "%s", r->body);
    harness_response_free(r);
    cr_expect_eq(get_status("/orgs/DemoOrg/sources/DemoSource/v1.0/"), 200);
    harness_peer_stop(peer);
}

/* Directives from the data: with action_field=status and delete_values=["DELETED","INACTIVE"],
 * a line whose status is one of them is DELETE_IF_EXISTS, the others CREATE_OR_UPDATE, and a
 * line's own __action wins; bad options are 400; a feed's options reach its runs' tasks. */
Test(formats, action_field_and_delete_values_turn_lines_into_deletes) {
    static const char first[] =
        "{\"type\":\"Organization\",\"id\":\"Live\",\"name\":\"L\",\"status\":\"ACTIVE\"}\n"
        "{\"type\":\"Organization\",\"id\":\"Gone\",\"name\":\"G\",\"status\":\"ACTIVE\"}\n"
        "{\"type\":\"Organization\",\"id\":\"Never\",\"name\":\"N\",\"status\":\"DELETED\"}\n";
    static const char second[] =
        "{\"type\":\"Organization\",\"id\":\"Gone\",\"status\":\"INACTIVE\"}\n"
        "{\"type\":\"Organization\",\"id\":\"Live\",\"name\":\"L2\",\"status\":\"DELETED\","
        "\"__action\":\"UPDATE\"}\n";
    const char *q = "/manage/bulkimport/?action_field=status&delete_values=%5B%22DELETED%22,%22INACTIVE%22%5D";
    char task[256];
    submit(q, NULL, first, sizeof first - 1, task, sizeof task);
    harness_response *r = wait_result(task, "json");
    expect_line(r, 1, "NEW", 201);
    expect_line(r, 2, "NEW", 201);
    expect_line(r, 3, "SKIP", 0); /* DELETE_IF_EXISTS of nothing */
    harness_response_free(r);
    submit(q, NULL, second, sizeof second - 1, task, sizeof task);
    r = wait_result(task, "json");
    expect_line(r, 1, "DELETE", 204);
    expect_line(r, 2, "UPDATE", 200); /* its own __action */
    harness_response_free(r);
    cr_expect_eq(get_status("/orgs/Gone/"), 404);
    cr_expect_eq(get_status("/orgs/Live/"), 200);
    cr_expect_eq(get_status("/orgs/Never/"), 404);

    expect_refused("/manage/bulkimport/?action_field=status", first, sizeof first - 1, 400,
                   "action_field and delete_values go together");
    expect_refused("/manage/bulkimport/?action_field=status&delete_values=DELETED", first,
                   sizeof first - 1, 400, "delete_values must be a JSON array of 1 to 32 strings");

    int port;
    struct mg_context *peer = harness_peer_start(serve, NULL, 2, &port);
    char body[512];
    snprintf(body, sizeof body, "{\"name\":\"members\",\"url\":\"http://127.0.0.1:%d/members.jsonl\","
                                "\"schedule\":\"1d\",\"action_field\":\"status\","
                                "\"delete_values\":[\"INACTIVE\"]}", port);
    r = harness_request_typed(&srv, "POST", "/manage/feeds/", ROOT, "application/json", body,
                              strlen(body));
    cr_assert_eq(r->status, 201, "%s", r->body);
    cr_expect_str_eq(harness_json_string(r, "action_field"), "status", "%s", r->body);
    cr_expect_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(r->json, "delete_values"), 0)->valuestring,
                     "INACTIVE", "%s", r->body);
    harness_response_free(r);
    r = harness_request_typed(&srv, "POST", "/manage/feeds/members/run/", ROOT, "application/json",
                              NULL, 0);
    cr_assert_eq(r->status, 202, "%s", r->body);
    snprintf(task, sizeof task, "%s", harness_json_string(r, "task"));
    harness_response_free(r);
    r = wait_result(task, "json");
    expect_line(r, 1, "NEW", 201);
    expect_line(r, 2, "SKIP", 0);
    harness_response_free(r);
    static const char half[] = "{\"name\":\"m2\",\"url\":\"http://127.0.0.1:1/x\",\"schedule\":\"1d\","
                               "\"delete_values\":[\"A\"]}";
    r = harness_request_typed(&srv, "POST", "/manage/feeds/", ROOT, "application/json", half,
                              strlen(half));
    cr_expect_eq(r->status, 400, "%s", r->body);
    harness_response_free(r);
    harness_peer_stop(peer);
}

/* ---- child tasks ---- */

/* The number of tasks where the SQL condition where holds. */
static long task_count(const char *where) {
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM import_tasks WHERE %s", where);
    return harness_sql(srv.conninfo, sql);
}

static void wait_count(const char *where, long n) {
    for (int i = 0; i < 600 && task_count(where) != n; i++)
        usleep(50 * 1000);
    cr_assert_eq(task_count(where), n, "tasks where %s", where);
}

/* Import lines queue child tasks of the same user (the standard queue, or the line's), each
 * answered NEW 202 with its id; the parent lists them and does not wait; a child names its
 * parent; a bad Import line is its own SKIP 400. */
Test(formats, import_lines_queue_child_tasks) {
    struct mg_context *peer = harness_peer_start(serve, NULL, 4, &served_port);
    char lines[1024], task[256];
    int n = snprintf(lines, sizeof lines,
                     "{\"type\":\"Organization\",\"id\":\"Parent\",\"name\":\"P\"}\n"
                     "{\"type\":\"Import\",\"file_url\":\"http://127.0.0.1:%d/child.jsonl\"}\n"
                     "{\"type\":\"Import\",\"file_url\":\"http://127.0.0.1:%d/child.jsonl\","
                     "\"queue\":\"kids\"}\n"
                     "{\"type\":\"Import\",\"file_url\":\"ftp://example.org/x\"}\n",
                     served_port, served_port);
    submit("/manage/bulkimport/", NULL, lines, (size_t)n, task, sizeof task);
    harness_response *r = wait_result(task, "json");
    expect_line(r, 1, "NEW", 201);
    const char *m2 = expect_line(r, 2, "NEW", 202);
    cr_expect(strstr(m2, "\"type\":\"Import\",\"task\":\"") != NULL, "%s", m2);
    cr_expect(strstr(m2, "\"queue\":\"priority\"") != NULL, "%s", m2); /* root's standard */
    const char *m3 = expect_line(r, 3, "NEW", 202);
    cr_expect(strstr(m3, "\"queue\":\"kids\"") != NULL, "%s", m3);
    const char *m4 = expect_line(r, 4, "SKIP", 400);
    cr_expect(strstr(m4, "'file_url' must be an http:// or https:// URL") != NULL, "%s", m4);
    harness_response_free(r);

    char where[512];
    snprintf(where, sizeof where, "parent_id = '%s' AND state = 'SUCCESS' AND depth = 1", task);
    wait_count(where, 2);
    char path[512];
    snprintf(path, sizeof path, "/tasks/%s/", task);
    r = harness_request(&srv, "GET", path, ROOT, NULL);
    const cJSON *children = cJSON_GetObjectItem(r->json, "children");
    cr_expect_eq(cJSON_GetArraySize(children), 2, "%s", r->body);
    cr_expect_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(r->json, "summary"), "processed")->valueint, 4,
                 "the parent's counts are its own lines': %s", r->body);
    char child[256];
    snprintf(child, sizeof child, "%s", cJSON_GetArrayItem(children, 0)->valuestring);
    harness_response_free(r);
    snprintf(path, sizeof path, "/tasks/%s/", child);
    r = harness_request(&srv, "GET", path, ROOT, NULL);
    cr_expect_str_eq(harness_json_string(r, "parent"), task, "%s", r->body);
    harness_response_free(r);
    cr_expect_eq(get_status("/orgs/FromChild/"), 200);
    harness_peer_stop(peer);
}

/* A file that imports itself stops at 3 levels: the fourth Import line is SKIP 400. */
Test(formats, child_tasks_nest_at_most_three_levels) {
    struct mg_context *peer = harness_peer_start(serve, NULL, 4, &served_port);
    char line[256], task[256];
    int n = snprintf(line, sizeof line,
                     "{\"type\":\"Import\",\"file_url\":\"http://127.0.0.1:%d/self.jsonl\"}\n",
                     served_port);
    submit("/manage/bulkimport/", NULL, line, (size_t)n, task, sizeof task);
    wait_count("depth = 3 AND state = 'SUCCESS'", 1);
    cr_expect_eq(task_count("true"), 4, "the parent and three levels of children");
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT id FROM import_tasks WHERE depth = 3");
    harness_response *r;
    char deepest[256];
    PGconn *pg = PQconnectdb(srv.conninfo);
    PGresult *res = PQexec(pg, sql);
    snprintf(deepest, sizeof deepest, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(pg);
    r = wait_result(deepest, "json");
    const char *why = expect_line(r, 1, "SKIP", 400);
    cr_expect(strstr(why, "deeper than 3") != NULL, "%s", why);
    harness_response_free(r);
    harness_peer_stop(peer);
}

/* Cancelling a parent cancels its children that have not ended: a child waiting in a named
 * queue behind a slow task is REVOKED with it. */
Test(formats, cancelling_a_parent_cancels_its_waiting_children) {
    struct mg_context *peer = harness_peer_start(serve, NULL, 4, &served_port);
    char body[256], slow[256], task[256];
    snprintf(body, sizeof body, "file_url=http://127.0.0.1:%d/slow.jsonl", served_port);
    submit("/manage/bulkimport/held/", "application/x-www-form-urlencoded", body, strlen(body),
           slow, sizeof slow);
    size_t cap = 4 * 1024 * 1024, len = 0;
    char *lines = malloc(cap);
    len += (size_t)snprintf(lines + len, cap - len,
                            "{\"type\":\"Import\",\"file_url\":\"http://127.0.0.1:%d/child.jsonl\","
                            "\"queue\":\"held\"}\n", served_port);
    for (int i = 0; i < 20000; i++)
        len += (size_t)snprintf(lines + len, cap - len,
                                "{\"type\":\"Organization\",\"id\":\"Many%d\",\"name\":\"M\"}\n", i);
    submit("/manage/bulkimport/?batch_size=20", NULL, lines, len, task, sizeof task);
    free(lines);
    char where[512];
    snprintf(where, sizeof where, "parent_id = '%s' AND state = 'PENDING'", task);
    wait_count(where, 1);
    char path[512];
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s", task);
    harness_response *r = harness_request(&srv, "DELETE", path, ROOT, NULL);
    cr_expect_eq(r->status, 204, "%s", r->body);
    harness_response_free(r);
    snprintf(where, sizeof where, "parent_id = '%s' AND state = 'REVOKED'", task);
    cr_expect_eq(task_count(where), 1, "the waiting child is revoked at once");
    r = wait_result(task, "summary");
    char state[32];
    cr_expect_str_eq(harness_response_header(r, "X-Task-State", state, sizeof state), "REVOKED");
    harness_response_free(r);
    r = wait_result(slow, "summary");
    harness_response_free(r);
    harness_peer_stop(peer);
}

/* Options that come after the file in a form count for what the converters make (test_mode's
 * cap on a CSV's lines), and directives whose halves came apart (one in the query, one after
 * the file) hold. A pretty-printed export in a ZIP reads as an export with format=export. */
Test(formats, options_after_the_file_hold_for_converted_files) {
    harness_server small;
    const char *const extra[] = {"--max-test-mode-lines", "3", NULL};
    harness_server_start_with(&small, 1, extra);
    static const char csv[] = "resource_type,id,name,status\n"
                              "Organization,T1,T,ACTIVE\nOrganization,T2,T,ACTIVE\n"
                              "Organization,T3,T,ACTIVE\nOrganization,T4,T,DELETED\n";
    char body[2048];
    int n = snprintf(body, sizeof body,
                     "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"t.csv\"\r\n\r\n"
                     "%s\r\n--B\r\nContent-Disposition: form-data; name=\"test_mode\"\r\n\r\ntrue\r\n"
                     "--B--\r\n", csv);
    harness_response *r = harness_request_typed(&small, "POST", "/manage/bulkimport/", ROOT,
                                                "multipart/form-data; boundary=B", body, (size_t)n);
    cr_expect_eq(r->status, 413, "%s", r->body);
    cr_expect(strstr(r->body, "a test_mode import may have at most 3 lines") != NULL, "%s", r->body);
    harness_response_free(r);
    cr_expect_eq(harness_server_stop(&small), 0);

    n = snprintf(body, sizeof body,
                 "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"t.jsonl\"\r\n\r\n"
                 "{\"type\":\"Organization\",\"id\":\"T1\",\"name\":\"T\",\"status\":\"ACTIVE\"}\n"
                 "{\"type\":\"Organization\",\"id\":\"T4\",\"name\":\"T\",\"status\":\"DELETED\"}\n"
                 "\r\n--B\r\nContent-Disposition: form-data; name=\"delete_values\"\r\n\r\n"
                 "[\"DELETED\"]\r\n--B--\r\n");
    char task[256];
    submit("/manage/bulkimport/?action_field=status", "multipart/form-data; boundary=B", body,
           (size_t)n, task, sizeof task);
    r = wait_result(task, "json");
    expect_line(r, 1, "NEW", 201);
    expect_line(r, 2, "SKIP", 0); /* T4 is DELETED: DELETE_IF_EXISTS of nothing */
    harness_response_free(r);

    char path[512];
    snprintf(path, sizeof path, FIXTURES "export/DemoSource.v1.arrays-first.export.json");
    char *doc = strdup(harness_fixture(path));
    static unsigned char zip[128 * 1024];
    const char *names[] = {"demo.json"};
    const char *texts[] = {doc};
    size_t lens[] = {strlen(doc)};
    size_t z = harness_zip(names, texts, lens, 1, zip, sizeof zip);
    free(doc);
    submit("/manage/bulkimport/?format=export", NULL, (const char *)zip, z, task, sizeof task);
    r = wait_result(task, "json");
    cr_expect_eq(json_lines(r), 48, "%s", r->body);
    harness_response_free(r);
}
