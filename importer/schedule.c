#include "schedule.h"

#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHEDULE_SEARCH_YEARS 8 /* a leap day recurs within this */

/* Parses a number at *p into *out, advancing *p. */
static bool schedule_number(const char **p, long *out) {
    if (**p < '0' || **p > '9')
        return false;
    char *end;
    *out = strtol(*p, &end, 10);
    *p = end;
    return *out <= 1000000;
}

/* Parses one cron field (len bytes at text) with values min..max into bits; *star when "*". */
static bool schedule_field(const char *text, size_t len, int min, int max, uint64_t *bits,
                           bool *star) {
    char field[64];
    if (len == 0 || len >= sizeof field)
        return false;
    memcpy(field, text, len);
    field[len] = '\0';
    *bits = 0;
    *star = strcmp(field, "*") == 0;
    for (char *save = NULL, *item = strtok_r(field, ",", &save); item != NULL;
         item = strtok_r(NULL, ",", &save)) {
        const char *p = item;
        long lo = min, hi = max, step = 1;
        if (*p == '*') {
            p++;
        } else {
            if (!schedule_number(&p, &lo))
                return false;
            hi = lo;
            if (*p == '-' && (p++, !schedule_number(&p, &hi)))
                return false;
        }
        if (*p == '/' && (p++, !schedule_number(&p, &step) || step < 1))
            return false;
        if (*p != '\0' || lo < min || hi > max || lo > hi)
            return false;
        if (item[0] != '*' && strchr(item, '/') != NULL && strchr(item, '-') == NULL)
            hi = max; /* "N/S": from N to the end, as cron reads it */
        for (long v = lo; v <= hi; v += step)
            *bits |= 1ULL << v;
    }
    return *bits != 0;
}

static int schedule_cron(const char *text, schedule *out, char *why, size_t why_len) {
    static const struct {
        const char *name;
        int min, max;
    } fields[5] = {{"minute", 0, 59}, {"hour", 0, 23}, {"day of month", 1, 31},
                   {"month", 1, 12},  {"day of week", 0, 7}};
    uint64_t bits[5];
    bool star[5];
    const char *p = text;
    for (int f = 0; f < 5; f++) {
        while (*p == ' ' || *p == '\t')
            p++;
        size_t len = strcspn(p, " \t");
        if (len == 0 || !schedule_field(p, len, fields[f].min, fields[f].max, &bits[f], &star[f])) {
            snprintf(why, why_len, "schedule: the %s field of the cron expression is not valid "
                                   "(use *, N, A-B, */S, A-B/S or lists of them)",
                     fields[f].name);
            return BI_EINVAL;
        }
        p += len;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '\0') {
        snprintf(why, why_len, "schedule: a cron expression has exactly 5 fields");
        return BI_EINVAL;
    }
    *out = (schedule){.is_cron = true,
                      .minutes = bits[0],
                      .hours = (uint32_t)bits[1],
                      .days = (uint32_t)bits[2],
                      .months = (uint32_t)bits[3],
                      .weekdays = (uint8_t)((bits[4] | bits[4] >> 7) & 0x7F),
                      .any_day = star[2],
                      .any_weekday = star[4]};
    return 0;
}

int schedule_parse(const char *text, schedule *out, char *why, size_t why_len) {
    size_t len = strlen(text);
    if (len >= 2 && strspn(text, "0123456789") == len - 1 && strchr("smhd", text[len - 1])) {
        long n = strtol(text, NULL, 10);
        long unit = text[len - 1] == 's' ? 1 : text[len - 1] == 'm' ? 60
                    : text[len - 1] == 'h' ? 3600 : 86400;
        if (n < 1 || len > 8) {
            snprintf(why, why_len, "schedule: an interval is a positive number and s, m, h or d");
            return BI_EINVAL;
        }
        *out = (schedule){.interval_s = n * unit};
        return 0;
    }
    if (strchr(text, ' ') == NULL) {
        snprintf(why, why_len,
                 "schedule: give an interval (30s, 15m, 1h, 1d) or a 5-field cron expression");
        return BI_EINVAL;
    }
    return schedule_cron(text, out, why, why_len);
}

/* Whether the day of tm matches (cron: either restricted day field may match). */
static bool schedule_day_matches(const schedule *s, const struct tm *tm) {
    bool day = (s->days >> tm->tm_mday) & 1, weekday = (s->weekdays >> tm->tm_wday) & 1;
    if (s->any_day || s->any_weekday)
        return day && weekday;
    return day || weekday;
}

time_t schedule_next(const schedule *s, time_t after) {
    if (!s->is_cron)
        return after + s->interval_s;
    time_t t = after - after % 60 + 60; /* the next whole minute */
    time_t limit = after + (time_t)SCHEDULE_SEARCH_YEARS * 366 * 86400;
    struct tm tm;
    while (t <= limit) {
        gmtime_r(&t, &tm);
        if (!((s->months >> (tm.tm_mon + 1)) & 1)) { /* the first minute of the next month */
            tm.tm_mon++, tm.tm_mday = 1, tm.tm_hour = 0, tm.tm_min = 0;
        } else if (!schedule_day_matches(s, &tm)) {
            tm.tm_mday++, tm.tm_hour = 0, tm.tm_min = 0;
        } else if (!((s->hours >> tm.tm_hour) & 1)) {
            tm.tm_hour++, tm.tm_min = 0;
        } else if (!((s->minutes >> tm.tm_min) & 1)) {
            tm.tm_min++;
        } else {
            return t;
        }
        tm.tm_sec = 0;
        t = timegm(&tm); /* normalises the carried field */
    }
    return (time_t)-1;
}
