/* schedule.h — when a feed runs: an interval ("30s", "15m", "1h", "1d") or a 5-field cron
 * expression in UTC ("minute hour day-of-month month day-of-week"; each field *, N, A-B, with
 * an optional /STEP, and comma lists; day-of-week 0-7 with 0 and 7 Sunday; when both days are
 * restricted, either matching is enough, as in cron). Pure: no I/O.
 */
#ifndef BI_IMPORTER_SCHEDULE_H
#define BI_IMPORTER_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct schedule {
    bool is_cron;
    long interval_s;                /* interval: seconds between runs */
    uint64_t minutes;               /* cron: bit m set when minute m matches */
    uint32_t hours, days, months;   /* bits 0-23, 1-31, 1-12 */
    uint8_t weekdays;               /* bits 0-6, Sunday 0 */
    bool any_day, any_weekday;      /* the field was "*" */
} schedule;

/* Parses text into *out. Returns 0, or BI_EINVAL with a sentence naming the problem in why. */
int schedule_parse(const char *text, schedule *out, char *why, size_t why_len);

/* The first run time strictly after after: after + the interval, or the next minute the cron
 * expression matches (at second 0). Returns (time_t)-1 when a cron expression never matches
 * (e.g. "0 0 31 2 *") within eight years. */
time_t schedule_next(const schedule *s, time_t after);

#endif
