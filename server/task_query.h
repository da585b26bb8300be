/* task_query.h — the parameters of a task list, read alike on every list route (README
 * "Listing tasks"): q, state (A,B or repeated), start_date, created_after/_before,
 * finished_after/_before (ISO 8601), page or offset (not both), limit, verbose. A parameter a
 * list does not know is 400, naming it.
 */
#ifndef BI_SERVER_TASK_QUERY_H
#define BI_SERVER_TASK_QUERY_H

#include "http.h"
#include "tasks.h"

#include <stdbool.h>

#define TASK_QUERY_STATES_MAX 9
#define TASK_QUERY_TIME_MAX 64

typedef struct task_query {
    char q[256], states_text[160];
    char times[5][TASK_QUERY_TIME_MAX]; /* start_date, created_after, ..., finished_before */
    const char *states[TASK_QUERY_STATES_MAX];
    long page, limit, offset; /* page from 1; offset = (page - 1) * limit unless given */
    db_task_filter filter;    /* borrows from the buffers above */
} task_query;

/* Reads the list parameters of req into *tq, allowing also the names in extra (NULL-terminated,
 * may be NULL), with default_limit and at most max_limit items a page. Returns 0, or answers
 * 400 itself and returns BI_EINVAL. */
int task_query_read(http_req *req, const char *const *extra, long default_limit, long max_limit,
                    task_query *tq);

/* Whether text is an ISO 8601 date, or date and time ("2026-12-01", "2026-12-01T10:00",
 * "2026-12-01 10:00:00.5Z", "2026-12-01T10:00:00+02:00"), and a real one. */
bool task_query_is_iso_time(const char *text);

#endif
