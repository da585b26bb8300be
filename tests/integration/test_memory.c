/* Flat memory: a 200,000-line import leaves the server's peak RSS far below the upload's size,
 * and so do a few huge lines under a batch_size that would take them all at once.
 * Built only without sanitizers (AddressSanitizer's quarantine inflates RSS); the test command
 * runs it from the plain Release build. */
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define ROOT "Token " HARNESS_ROOT_TOKEN
#define LINES 200000
#define PEAK_RSS_LIMIT_KB (64 * 1024) /* the upload alone is about 77 MB */

static harness_server srv;

static void start(void) { harness_server_start_default(&srv); }

/* Waits for the task of a 202 answer r (freed) to finish; returns its summary answer. */
static harness_response *wait_finished(harness_response *r) {
    char path[400];
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s", harness_json_string(r, "task"));
    harness_response_free(r);
    for (;;) {
        r = harness_request(&srv, "GET", path, ROOT, NULL);
        if (r->status != 202)
            return r;
        harness_response_free(r);
        usleep(200 * 1000);
    }
}

static void stop(void) { cr_expect_eq(harness_server_stop(&srv), 0); }

TestSuite(memory, .init = start, .fini = stop, .timeout = 600);

/* The server's peak resident set (VmHWM) in kB. */
static long peak_rss_kb(void) {
    char path[64], status[8192];
    snprintf(path, sizeof path, "/proc/%d/status", (int)srv.pid);
    cr_assert_gt(harness_read_file(path, status, sizeof status), 0);
    const char *hwm = strstr(status, "VmHWM:");
    cr_assert_not_null(hwm);
    return atol(hwm + 6);
}

/* Uploads file to path, waits for its task and expects every one of its lines NEW 201.
 * Returns the server's peak RSS (kB) before the upload. */
static long import_all_new(const char *file, const char *path, int lines) {
    long before = peak_rss_kb();
    harness_response *r = harness_upload_file(&srv, path, ROOT, file);
    cr_assert_eq(r->status, 202, "%s", r->body);
    r = wait_finished(r);
    cr_expect_eq(r->status, 200, "%s", r->body);
    char want[128];
    snprintf(want, sizeof want, "Processed %d of %d -- %d NEW (201:%d) in ", lines, lines, lines,
             lines);
    cr_expect(strncmp(r->body, want, strlen(want)) == 0, "%s", r->body);
    printf("memory: %s\n", r->body);
    harness_response_free(r);
    return before;
}

Test(memory, a_200k_line_import_keeps_rss_bounded) {
    char file[512];
    snprintf(file, sizeof file, "%s.json", harness_temp_dir());
    FILE *out = fopen(file, "w");
    cr_assert_not_null(out);
    fprintf(out, "{\"type\":\"Organization\",\"id\":\"Big\",\"name\":\"Big\"}\n"
                 "{\"type\":\"Source\",\"id\":\"S\",\"name\":\"S\",\"owner\":\"Big\",\"owner_type\":\"Organization\"}\n");
    for (int i = 0; i < LINES - 2; i++)
        fprintf(out,
                "{\"type\":\"Concept\",\"id\":\"concept-%07d\",\"concept_class\":\"Diagnosis\","
                "\"datatype\":\"N/A\",\"names\":[{\"name\":\"Concept number %d\",\"locale\":\"en\","
                "\"name_type\":\"Fully Specified\",\"locale_preferred\":true}],\"descriptions\":"
                "[{\"description\":\"A generated concept for the memory test, line %d of the file\","
                "\"locale\":\"en\"}],\"owner\":\"Big\",\"owner_type\":\"Organization\",\"source\":\"S\","
                "\"extras\":{\"rank\":%d}}\n",
                i, i, i + 3, i % 97);
    long size = ftell(out);
    fclose(out);
    long before = import_all_new(file, "/manage/bulkimport/", LINES);
    long peak = peak_rss_kb();
    printf("memory: %ld-byte upload of %d lines; server peak RSS %ld kB before, %ld kB after\n", size,
           LINES, before, peak);
    cr_expect_lt(peak, PEAK_RSS_LIMIT_KB, "peak RSS %ld kB for a %ld-byte upload", peak, size);
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM concepts"), LINES - 2);
}

#define HUGE_LINES 40
#define HUGE_LINE_BYTES (3 * 1024 * 1024)

Test(memory, huge_lines_under_a_huge_batch_size_keep_rss_bounded) {
    char file[512];
    snprintf(file, sizeof file, "%s-huge.json", harness_temp_dir());
    FILE *out = fopen(file, "w");
    cr_assert_not_null(out);
    fprintf(out, "{\"type\":\"Organization\",\"id\":\"Huge\",\"name\":\"Huge\"}\n"
                 "{\"type\":\"Source\",\"id\":\"S\",\"name\":\"S\",\"owner\":\"Huge\","
                 "\"owner_type\":\"Organization\"}\n");
    static char text[HUGE_LINE_BYTES];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (char)('a' + i % 26);
    for (int i = 0; i < HUGE_LINES; i++) /* about 3 MB of description per line */
        fprintf(out,
                "{\"type\":\"Concept\",\"id\":\"huge-%02d\",\"concept_class\":\"Misc\","
                "\"datatype\":\"N/A\",\"names\":[{\"name\":\"Huge %d\",\"locale\":\"en\"}],"
                "\"descriptions\":[{\"description\":\"%.*s\",\"locale\":\"en\"}],\"owner\":\"Huge\","
                "\"owner_type\":\"Organization\",\"source\":\"S\"}\n",
                i, i, HUGE_LINE_BYTES - 400, text);
    long size = ftell(out);
    fclose(out);
    long before = import_all_new(file, "/manage/bulkimport/?batch_size=100000", HUGE_LINES + 2);
    long peak = peak_rss_kb();
    printf("memory: %ld-byte upload of %d lines of 3 MB; server peak RSS %ld kB before, %ld kB "
           "after\n",
           size, HUGE_LINES, before, peak);
    cr_expect_lt(peak - before, PEAK_RSS_LIMIT_KB, "peak RSS grew %ld kB for a %ld-byte upload",
                 peak - before, size);
    cr_expect_eq(harness_sql(srv.conninfo,
                             "SELECT count(*) FROM concepts WHERE mnemonic LIKE 'huge-%'"),
                 HUGE_LINES);
    unlink(file);
}

#define BLANK_GZ_BYTES 1000000000LL /* decompressed: about 1 GB */

/* About 1 GB of blank lines (of spaces) around three real ones, gzipped to about a megabyte:
 * the server inflates it as it streams, so its RSS stays flat, and imports the three. */
Test(memory, a_gigabyte_of_gzip_keeps_rss_bounded) {
    char file[512];
    snprintf(file, sizeof file, "%s-blank.json.gz", harness_temp_dir());
    gzFile out = gzopen(file, "wb1");
    cr_assert_not_null(out);
    gzputs(out, "{\"type\":\"Organization\",\"id\":\"Gz\",\"name\":\"Gz\"}\n");
    static char blank[1 << 20];
    memset(blank, ' ', sizeof blank);
    for (size_t i = 99; i < sizeof blank; i += 100)
        blank[i] = '\n';
    for (long long written = 0; written < BLANK_GZ_BYTES; written += (long long)sizeof blank) {
        cr_assert_eq(gzwrite(out, blank, sizeof blank), (int)sizeof blank);
        if (written == (BLANK_GZ_BYTES / (long long)sizeof blank / 2) * (long long)sizeof blank)
            gzputs(out, "\n{\"type\":\"Organization\",\"id\":\"Gz2\",\"name\":\"Gz\"}\n");
    }
    gzputs(out, "\n{\"type\":\"Organization\",\"id\":\"Gz3\",\"name\":\"Gz\"}\n");
    cr_assert_eq(gzclose(out), Z_OK);
    long before = import_all_new(file, "/manage/bulkimport/", 3);
    long peak = peak_rss_kb();
    printf("memory: %lld bytes of gzipped blank lines; server peak RSS %ld kB before, %ld kB "
           "after\n",
           BLANK_GZ_BYTES, before, peak);
    cr_expect_lt(peak - before, PEAK_RSS_LIMIT_KB, "peak RSS grew %ld kB", peak - before);
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM organizations WHERE mnemonic"
                                           " LIKE 'Gz%'"), 3);
    unlink(file);
}

#define EXPORT_CONCEPTS 50000

/* An OCL export of 50,000 concepts, one JSON document of about 15 MB on a single line with
 * the members naming its source after the arrays: the scanner reads it an element at a time,
 * so the server's RSS stays flat, and every resource imports. */
Test(memory, a_large_one_line_export_keeps_rss_bounded) {
    char file[512];
    snprintf(file, sizeof file, "%s-export.json", harness_temp_dir());
    FILE *out = fopen(file, "w");
    cr_assert_not_null(out);
    fprintf(out, "{\"type\": \"Source Version\", \"concepts\": [");
    for (int i = 0; i < EXPORT_CONCEPTS; i++)
        fprintf(out,
                "%s{\"uuid\": \"%d\", \"type\": \"Concept\", \"id\": \"exp-%06d\", \"concept_class\": \"Diagnosis\","
                " \"datatype\": \"N/A\", \"names\": [{\"uuid\": \"n%d\", \"name\": \"Exported %d\","
                " \"locale\": \"en\", \"name_type\": \"Fully Specified\"}], \"descriptions\": [],"
                " \"owner\": \"Exp\", \"owner_type\": \"Organization\", \"source\": \"ExpSource\","
                " \"url\": \"/orgs/Exp/sources/ExpSource/concepts/exp-%06d/\"}",
                i ? ", " : "", i, i, i, i, i);
    fprintf(out, "], \"mappings\": [], \"id\": \"v1\", \"version\": \"v1\", \"short_code\":"
                 " \"ExpSource\", \"name\": \"Exported\", \"description\": \"a large export\","
                 " \"released\": true, \"owner\": \"Exp\", \"owner_type\": \"Organization\","
                 " \"owner_url\": \"/orgs/Exp/\"}");
    long size = ftell(out);
    fclose(out);
    long before = import_all_new(file, "/manage/bulkimport/?format=export", EXPORT_CONCEPTS + 3);
    long peak = peak_rss_kb();
    printf("memory: %ld-byte one-line export of %d concepts; server peak RSS %ld kB before, %ld kB"
           " after\n", size, EXPORT_CONCEPTS, before, peak);
    cr_expect_lt(peak - before, PEAK_RSS_LIMIT_KB, "peak RSS grew %ld kB", peak - before);
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM concepts WHERE mnemonic LIKE"
                                           " 'exp-%'"), EXPORT_CONCEPTS);
    unlink(file);
}
