/* OCL's summary line, byte for byte. */
#include "summary.h"

#include "tasks.h"

#include <cjson/cJSON.h>

#include <criterion/criterion.h>

Test(summary, ocl_documentation_example) {
    summary s;
    summary_init(&s);
    summary_add(&s, "NEW", 200, 39);
    summary_add(&s, "NEW", 201, 307);
    summary_add(&s, "UPDATE", 200, 1);
    summary_add(&s, "DELETE", 204, 1);
    char line[512];
    summary_format(&s, 348, 348, 94.114, line, sizeof line);
    cr_expect_str_eq(line, "Processed 348 of 348 -- 346 NEW (200:39, 201:307); 1 UPDATE (200:1); "
                           "1 DELETE (204:1) in 94.11 secs");
}

Test(summary, skip_codes_and_counts) {
    summary s;
    summary_init(&s);
    summary_add(&s, "SKIP", 400, 2);
    summary_add(&s, "SKIP", 0, 3);
    summary_add(&s, "NEW", 201, 1);
    char line[512];
    summary_format(&s, 6, 10, 0, line, sizeof line);
    cr_expect_str_eq(line, "Processed 6 of 10 -- 5 SKIP (400:2, skip:3); 1 NEW (201:1) in 0.00 secs");
    cr_expect_eq(s.skipped, 5);
}

Test(summary, nothing_processed_leaves_two_spaces) {
    summary s;
    summary_init(&s);
    char line[512];
    summary_format(&s, 0, 7, 0, line, sizeof line);
    cr_expect_str_eq(line, "Processed 0 of 7 --  in 0.00 secs");
}

Test(summary, status_json_shows_the_feed_phase_and_pruned) {
    db_task t = {.id = "t-1", .username = "alice", .queue = "default", .state = DB_TASK_STARTED,
                 .total = 10, .processed = 10, .pruned = 3, .phase = DB_PHASE_PRUNE, .feed = "mirror"};
    cJSON *body = summary_task_json(&t, NULL);
    cr_expect_str_eq(cJSON_GetObjectItem(body, "feed")->valuestring, "mirror");
    const cJSON *p = cJSON_GetObjectItem(body, "progress");
    cr_expect_str_eq(cJSON_GetObjectItem(p, "phase")->valuestring, "prune");
    cr_expect_eq(cJSON_GetObjectItem(p, "pruned")->valueint, 3);
    cr_expect_eq(cJSON_GetObjectItem(p, "processed")->valueint, 10, "pruned is not processed");
    cJSON_Delete(body);
    db_task upload = {.id = "t-2", .username = "bob", .queue = "default", .state = DB_TASK_PENDING};
    body = summary_task_json(&upload, NULL);
    cr_expect_null(cJSON_GetObjectItem(body, "feed"), "no feed, no field");
    cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(body, "progress"), "phase")->valuestring,
                     "import");
    cJSON_Delete(body);
}

/* Both dialects in one object: oclapi2's task fields with ocldev's, and no count at the top
 * level (oclweb3 reads a top-level "failed" as a time). */
Test(summary, task_json_speaks_oclapi2_and_ocldev_at_once) {
    db_task t = {.id = "u-alice~q", .username = "alice", .queue = "q", .state = DB_TASK_SUCCESS,
                 .total = 4, .processed = 4, .created = 3, .failed = 1,
                 .created_at = "2026-12-01T10:00:00.000001Z",
                 .started_at = "2026-12-01T10:00:01.000000Z",
                 .finished_at = "2026-12-01T10:00:03.500000Z", .elapsed_seconds = 2.5};
    cJSON *body = summary_task_json(&t, "Processed 4 of 4 -- 3 NEW (201:3); 1 SKIP (400:1) in 2.50 secs");
    static const char *const strings[][2] = {
        {"id", "u-alice~q"}, {"task", "u-alice~q"}, {"state", "SUCCESS"}, {"status", "SUCCESS"},
        {"queue", "q"}, {"username", "alice"}, {"name", SUMMARY_TASK_NAME},
        {"created_at", "2026-12-01T10:00:00.000001Z"}, {"finished_at", "2026-12-01T10:00:03.500000Z"},
        {"message", "Processed 4 of 4 -- 3 NEW (201:3); 1 SKIP (400:1) in 2.50 secs"}};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        const cJSON *v = cJSON_GetObjectItem(body, strings[i][0]);
        cr_expect(cJSON_IsString(v) && strcmp(v->valuestring, strings[i][1]) == 0, "%s", strings[i][0]);
    }
    cr_expect_float_eq(cJSON_GetObjectItem(body, "runtime")->valuedouble, 2.5, 1e-9);
    const cJSON *progress = cJSON_GetObjectItem(body, "summary");
    cr_expect_eq(cJSON_GetObjectItem(progress, "failed")->valueint, 1);
    cr_expect(cJSON_Compare(progress, cJSON_GetObjectItem(body, "progress"), true), "one progress object");
    cr_expect(cJSON_IsArray(cJSON_GetObjectItem(body, "children")));
    cr_expect(cJSON_IsNull(cJSON_GetObjectItem(body, "error_message")) &&
              cJSON_IsNull(cJSON_GetObjectItem(body, "exception")));
    cr_expect(cJSON_IsNull(cJSON_GetObjectItem(progress, "eta_seconds")) &&
                  cJSON_GetObjectItem(progress, "lines_per_second")->valuedouble == 0,
              "no rate once finished");
    static const char *const never[] = {"failed", "revoked", "received", "succeeded", "total", "processed"};
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        cr_expect_null(cJSON_GetObjectItem(body, never[i]), "no top-level %s", never[i]);
    cJSON_Delete(body);
    db_task pending = {.id = "p", .username = "bob", .queue = "default", .state = DB_TASK_PENDING};
    body = summary_task_json(&pending, NULL);
    cr_expect(cJSON_IsNull(cJSON_GetObjectItem(body, "started_at")) &&
              cJSON_IsNull(cJSON_GetObjectItem(body, "runtime")) &&
              cJSON_IsNull(cJSON_GetObjectItem(body, "message")));
    cr_expect_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(body, "summary"), "processed")->valueint, 0,
                 "zeros while PENDING");
    cJSON_Delete(body);
}
