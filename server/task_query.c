#include "task_query.h"

#include "error.h"
#include "utf8.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Celery's states, as oclapi2 filters by them; this server's tasks are in the first five. */
static const char *const task_query_state_names[TASK_QUERY_STATES_MAX] = {
    "PENDING", "STARTED", "SUCCESS", "FAILURE", "REVOKED",
    "RECEIVED", "RETRY", "REJECTED", "IGNORED"};

/* The list's own parameters; the time ones in the order of task_query.times. */
static const char *const task_query_times[5] = {"start_date", "created_after", "created_before",
                                                "finished_after", "finished_before"};
static const char *const task_query_params[] = {
    "q", "state", "start_date", "created_after", "created_before", "finished_after",
    "finished_before", "page", "offset", "limit", "verbose", NULL};

/* Whether y-m-d is a day of the calendar and h:mi a time of day. */
static bool task_query_is_real_day(int y, int m, int d, int h, int mi, int sec) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= days[m - 1] + (m == 2 && leap) &&
           h < 24 && mi < 60 && sec < 60;
}

bool task_query_is_iso_time(const char *text) {
    const char *shape = "dddd-dd-dd";
    const char *p = text;
    for (const char *c = shape; *c; c++, p++)
        if (*c == 'd' ? !isdigit((unsigned char)*p) : *p != *c)
            return false;
    int y = atoi(text), m = atoi(text + 5), d = atoi(text + 8), h = 0, mi = 0, sec = 0;
    if (*p == '\0')
        return task_query_is_real_day(y, m, d, 0, 0, 0);
    if (*p != 'T' && *p != ' ')
        return false;
    p++;
    h = atoi(p);
    mi = atoi(p + 3);
    for (const char *c = "dd:dd"; *c; c++, p++)
        if (*c == 'd' ? !isdigit((unsigned char)*p) : *p != *c)
            return false;
    if (*p == ':') {
        if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]))
            return false;
        sec = atoi(p + 1);
        p += 3;
        if (*p == '.') {
            if (!isdigit((unsigned char)*++p))
                return false;
            while (isdigit((unsigned char)*p))
                p++;
        }
    }
    if (!task_query_is_real_day(y, m, d, h, mi, sec))
        return false;
    if (*p == 'Z')
        return p[1] == '\0';
    if (*p == '+' || *p == '-')
        return isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) && p[3] == ':' &&
               isdigit((unsigned char)p[4]) && isdigit((unsigned char)p[5]) && p[6] == '\0' &&
               atoi(p + 1) < 24 && atoi(p + 4) < 60;
    return *p == '\0';
}

/* Answers 400 unless every query parameter is the list's own or one of extra. */
static int task_query_check_names(http_req *req, const char *const *extra) {
    const char *allowed[32];
    size_t n = 0;
    for (const char *const *p = task_query_params; *p != NULL; p++)
        allowed[n++] = *p;
    for (const char *const *p = extra; p != NULL && *p != NULL && n < 31; p++)
        allowed[n++] = *p;
    allowed[n] = NULL;
    return http_query_only(req, allowed);
}

static int task_query_states(http_req *req, task_query *tq) {
    int got = http_query_joined(req, "state", tq->states_text, sizeof tq->states_text);
    if (got <= 0)
        return got;
    char *save = NULL;
    for (char *name = strtok_r(tq->states_text, ",", &save); name != NULL;
         name = strtok_r(NULL, ",", &save)) {
        bool known = false;
        for (size_t i = 0; i < TASK_QUERY_STATES_MAX && !known; i++)
            known = strcmp(name, task_query_state_names[i]) == 0;
        if (!known || tq->filter.n_states == TASK_QUERY_STATES_MAX) {
            http_send_error(req, BI_EINVAL, "state must be PENDING, STARTED, SUCCESS, FAILURE or "
                                            "REVOKED, several as state=A,B or state=A&state=B "
                                            "(not '%.32s')", name);
            return BI_EINVAL;
        }
        tq->states[tq->filter.n_states++] = name;
    }
    tq->filter.states = tq->states;
    return 0;
}

int task_query_read(http_req *req, const char *const *extra, long default_limit, long max_limit,
                    task_query *tq) {
    if (task_query_check_names(req, extra) < 0)
        return BI_EINVAL;
    memset(tq, 0, sizeof *tq);
    tq->page = 1;
    tq->limit = default_limit;
    tq->offset = -1;
    char why[128], flag[16];
    if (http_query_long(req, "page", 1, 1L << 40, &tq->page, why, sizeof why) < 0 ||
        http_query_long(req, "limit", 1, max_limit, &tq->limit, why, sizeof why) < 0 ||
        http_query_long(req, "offset", 0, 1L << 40, &tq->offset, why, sizeof why) < 0) {
        http_send_error(req, BI_EINVAL, "%s", why);
        return BI_EINVAL;
    }
    int got;
    if ((got = http_query_text(req, "page", flag, sizeof flag)) < 0)
        return BI_EINVAL;
    if (got > 0 && tq->offset >= 0) {
        http_send_error(req, BI_EINVAL, "page and offset cannot both be given");
        return BI_EINVAL;
    }
    if (tq->offset < 0)
        tq->offset = (tq->page - 1) * tq->limit;
    else
        tq->page = tq->offset / tq->limit + 1;
    if ((got = http_query_text(req, "verbose", flag, sizeof flag)) < 0)
        return BI_EINVAL;
    if (got > 0 && strcasecmp(flag, "true") != 0 && strcasecmp(flag, "false") != 0 &&
        strcmp(flag, "1") != 0 && strcmp(flag, "0") != 0) {
        http_send_error(req, BI_EINVAL, "verbose must be true or false");
        return BI_EINVAL;
    }
    if ((got = http_query_text(req, "q", tq->q, sizeof tq->q)) < 0)
        return BI_EINVAL;
    if (got > 0) {
        if (utf8_invalid_at(tq->q, strlen(tq->q)) != strlen(tq->q)) {
            http_send_error(req, BI_EINVAL, "q must be UTF-8 text");
            return BI_EINVAL;
        }
        tq->filter.q = tq->q;
    }
    const char **times[5] = {&tq->filter.started_after, &tq->filter.created_after,
                             &tq->filter.created_before, &tq->filter.finished_after,
                             &tq->filter.finished_before};
    for (int i = 0; i < 5; i++) {
        if ((got = http_query_text(req, task_query_times[i], tq->times[i], TASK_QUERY_TIME_MAX)) < 0)
            return BI_EINVAL;
        if (got == 0)
            continue;
        if (!task_query_is_iso_time(tq->times[i])) {
            http_send_error(req, BI_EINVAL, "%s must be an ISO 8601 date or time, such as "
                                            "2026-12-01 or 2026-12-01T10:00:00Z",
                            task_query_times[i]);
            return BI_EINVAL;
        }
        *times[i] = tq->times[i];
    }
    return task_query_states(req, tq);
}
