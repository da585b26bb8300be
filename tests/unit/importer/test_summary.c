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
    db_task t = {.id = "t-1", .username = "alice", .queue = "default", .state = "STARTED",
                 .total = 10, .processed = 10, .pruned = 3, .phase = "prune", .feed = "mirror"};
    cJSON *body = summary_status_json(&t, true);
    cr_expect_str_eq(cJSON_GetObjectItem(body, "feed")->valuestring, "mirror");
    const cJSON *p = cJSON_GetObjectItem(body, "progress");
    cr_expect_str_eq(cJSON_GetObjectItem(p, "phase")->valuestring, "prune");
    cr_expect_eq(cJSON_GetObjectItem(p, "pruned")->valueint, 3);
    cr_expect_eq(cJSON_GetObjectItem(p, "processed")->valueint, 10, "pruned is not processed");
    cJSON_Delete(body);
    db_task upload = {.id = "t-2", .username = "bob", .queue = "default", .state = "PENDING"};
    body = summary_status_json(&upload, true);
    cr_expect_null(cJSON_GetObjectItem(body, "feed"), "no feed, no field");
    cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(body, "progress"), "phase")->valuestring,
                     "import");
    cJSON_Delete(body);
}
