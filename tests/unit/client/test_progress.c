/* The client's progress frames: they fit the terminal, say times and sizes as people read
 * them, and show an ETA only once the rate was measured. */
#include "progress.h"

#include <criterion/criterion.h>
#include <string.h>

Test(progress, durations_and_counts_read_as_people_write_them) {
    char out[32];
    const struct {
        double s;
        const char *want;
    } durations[] = {{0, "0s"}, {45.4, "45s"}, {83, "1m23s"}, {3600, "1h00m"}, {7500, "2h05m"},
                     {90000, "1d01h"}, {-3, "0s"}};
    for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
        progress_duration(durations[i].s, out, sizeof out);
        cr_expect_str_eq(out, durations[i].want, "%g s", durations[i].s);
    }
    progress_count(0, out, sizeof out);
    cr_expect_str_eq(out, "0");
    progress_count(999, out, sizeof out);
    cr_expect_str_eq(out, "999");
    progress_count(1234567, out, sizeof out);
    cr_expect_str_eq(out, "1,234,567");
    progress_count(-1000, out, sizeof out);
    cr_expect_str_eq(out, "-1,000");
    progress_bytes(512, out, sizeof out);
    cr_expect_str_eq(out, "512 B");
    progress_bytes(12345, out, sizeof out);
    cr_expect_str_eq(out, "12.3 kB", "a small file is not 0.0 MB");
    progress_bytes(45.6e6, out, sizeof out);
    cr_expect_str_eq(out, "45.6 MB");
}

static progress_task running(long processed, long total) {
    progress_task t = {.state = "STARTED", .total = total, .processed = processed, .ahead = -1};
    return t;
}

Test(progress, every_frame_fits_its_width) {
    progress_task t = running(123456, 200000);
    t.created = 120000;
    t.updated = 3456;
    t.failed = 12;
    char out[1100];
    for (int width = 20; width <= 300; width++) {
        size_t len = progress_task_frame(&t, 83, width, out, sizeof out);
        cr_expect_eq(len, strlen(out));
        cr_expect_leq((int)len, width - 1, "%d columns: %s", width, out);
        len = progress_upload_frame(12345678, 99999999, 5e6, width, out, sizeof out);
        cr_expect_leq((int)len, width - 1, "%d columns: %s", width, out);
    }
    progress_task_frame(&t, 83, 80, out, sizeof out);
    cr_expect(strncmp(out, "STARTED [", 9) == 0 && strstr(out, "]   61%  123,456/200,000  ETA 1m23s  failed 12") != NULL,
              "80 columns: %s", out);
    progress_task_frame(&t, 83, 200, out, sizeof out);
    cr_expect(strstr(out, "failed 12  created 120,000  updated 3,456  deleted 0") != NULL,
              "200 columns hold every count: %s", out);
    progress_task_frame(&t, -1, 80, out, sizeof out);
    cr_expect(strstr(out, "ETA --") != NULL, "%s", out);
}

Test(progress, a_pending_task_says_its_place) {
    progress_task t = {.state = "PENDING", .total = 13, .ahead = 2};
    char out[256];
    progress_task_frame(&t, -1, 80, out, sizeof out);
    cr_expect_str_eq(out, "PENDING  2 tasks ahead in its queue  13 lines");
    t.ahead = 0;
    progress_task_frame(&t, -1, 80, out, sizeof out);
    cr_expect_str_eq(out, "PENDING  next in its queue  13 lines");
}

Test(progress, the_final_frame_of_a_finished_task_is_full) {
    progress_task t = {.state = "SUCCESS", .total = 200000, .processed = 200000, .created = 200000, .ahead = -1};
    char out[256];
    progress_task_frame(&t, -1, 80, out, sizeof out);
    cr_expect(strstr(out, "##]  100%  200,000/200,000  failed 0") != NULL && strstr(out, "ETA") == NULL,
              "%s", out);
}

Test(progress, the_eta_waits_for_two_measured_intervals_and_is_smoothed) {
    progress p = {.tty = false, .quiet = true, .width = 80};
    progress_task t = running(1000, 100000);
    cr_expect_eq(progress_sample(&p, &t, 10.0), -1, "one sample says nothing");
    t.processed = 2000;
    cr_expect_eq(progress_sample(&p, &t, 11.0), -1, "one interval is not enough");
    t.processed = 3000;
    double eta = progress_sample(&p, &t, 12.0);
    cr_expect_float_eq(eta, 97.0, 1e-9, "1000 lines/s, 97000 to go: %g", eta);
    t.processed = 13000; /* a burst of 10000/s moves the rate by 30 % of the change only */
    eta = progress_sample(&p, &t, 13.0);
    cr_expect_float_eq(eta, 87000.0 / (0.3 * 10000 + 0.7 * 1000), 1e-6, "%g", eta);
    t.processed = 13100; /* half a second later: too soon to measure, the rate stands */
    cr_expect_float_eq(progress_sample(&p, &t, 13.2), (100000.0 - 13100) / 3700.0, 1e-6);
    progress_task pending = {.state = "PENDING", .total = 100000, .ahead = 1};
    cr_expect_eq(progress_sample(&p, &pending, 14.0), -1, "no ETA while it waits");
}
