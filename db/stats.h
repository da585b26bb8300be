/* stats.h — the daily roll-ups of what imports did (migrations/0020_stats.sql), summed for
 * GET /manage/stats/. */
#ifndef BI_DB_STATS_H
#define BI_DB_STATS_H

#include "users.h"

/* Sums the roll-ups from since to until (ISO dates, inclusive; NULL: open) of username (NULL:
 * everyone), grouped by by ("day", "user", "queue" or "repository"), into *out_json (free
 * it): a JSON array of {<by>: key, lines, lines_by: {ACTION: {status: n}}, tasks: {STATE: n},
 * bytes}, in key order (tasks and bytes are not kept by repository: {} and 0 there). */
int db_stats_sum(db_conn *conn, const char *since, const char *until, const char *username,
                 const char *by, char **out_json);

#endif
