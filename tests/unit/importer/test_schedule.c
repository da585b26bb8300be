/* Feed schedules: intervals and cron expressions, and the next run after a time (UTC). */
#include "error.h"
#include "feed.h"
#include "schedule.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static char why[256];

/* Seconds since the epoch of "YYYY-MM-DD HH:MM" UTC. */
static time_t at(const char *text) {
    struct tm tm = {0};
    cr_assert_eq(sscanf(text, "%d-%d-%d %d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                        &tm.tm_min), 5);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

static void expect_next(const char *expr, const char *after, const char *want) {
    schedule s;
    cr_assert_eq(schedule_parse(expr, &s, why, sizeof why), 0, "%s: %s", expr, why);
    time_t next = schedule_next(&s, at(after));
    cr_expect_eq(next, at(want), "%s after %s: got %ld, want %s", expr, after, (long)next, want);
}

Test(schedule, intervals) {
    expect_next("15m", "2026-11-23 10:00", "2026-11-23 10:15");
    expect_next("1h", "2026-11-23 23:30", "2026-11-24 00:30");
    expect_next("1d", "2026-12-31 12:00", "2027-01-01 12:00");
    schedule s;
    cr_assert_eq(schedule_parse("30s", &s, why, sizeof why), 0);
    cr_expect_eq(s.interval_s, 30);
}

Test(schedule, cron_expressions) {
    expect_next("0 * * * *", "2026-11-23 10:00", "2026-11-23 11:00");
    expect_next("*/15 * * * *", "2026-11-23 10:07", "2026-11-23 10:15");
    expect_next("30 2 * * 0", "2026-11-23 10:00", "2026-11-29 02:30"); /* Sunday */
    expect_next("30 2 * * 7", "2026-11-23 10:00", "2026-11-29 02:30"); /* 7 is Sunday too */
    expect_next("0 0 1 1 *", "2026-11-23 10:00", "2027-01-01 00:00");
    expect_next("0 0 29 2 *", "2026-03-01 00:00", "2028-02-29 00:00"); /* the next leap day */
    expect_next("0 9 1-7 * 1-5", "2026-11-23 10:00", "2026-11-24 09:00"); /* either day field */
    expect_next("5,35 8-9 * * *", "2026-11-23 08:35", "2026-11-23 09:05");
    expect_next("10/20 * * * *", "2026-11-23 10:31", "2026-11-23 10:50");
}

Test(schedule, a_cron_that_never_matches) {
    schedule s;
    cr_assert_eq(schedule_parse("0 0 31 2 *", &s, why, sizeof why), 0);
    cr_expect_eq(schedule_next(&s, at("2026-01-01 00:00")), (time_t)-1);
}

Test(schedule, bad_schedules_name_the_problem) {
    const char *bad[][2] = {{"", "interval"},          {"15", "interval"},
                            {"0m", "positive"},        {"1w", "interval"},
                            {"60 * * * *", "minute"},  {"* 24 * * *", "hour"},
                            {"* * 0 * *", "day of month"}, {"* * * 13 *", "month"},
                            {"* * * * 8", "day of week"}, {"* * * *", "day of week"},
                            {"* * * * * *", "exactly 5"}, {"*/0 * * * *", "minute"},
                            {"5-1 * * * *", "minute"},  {"a * * * *", "minute"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        schedule s;
        cr_expect_eq(schedule_parse(bad[i][0], &s, why, sizeof why), BI_EINVAL, "'%s'", bad[i][0]);
        cr_expect(strstr(why, bad[i][1]) != NULL, "'%s': %s", bad[i][0], why);
    }
}

Test(schedule, a_feeds_first_run) {
    char reason[FETCH_WHY_MAX] = "";
    time_t created = 1795000000;
    cr_expect_eq(feed_first_run("15m", created, reason), created + 900, "one interval later");
    time_t next = feed_first_run("*/5 * * * *", created, reason);
    cr_expect(next > created && next <= created + 300 && next % 300 == 0, "the next match");
    cr_expect_eq(feed_first_run("0 0 31 2 *", created, reason), (time_t)-1);
    cr_expect_not_null(strstr(reason, "never matches"), "%s", reason);
    cr_expect_eq(feed_first_run("soon", created, reason), (time_t)-1);
    cr_expect_not_null(strstr(reason, "schedule:"), "%s", reason);
}
