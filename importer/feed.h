/* feed.h — running feeds: one run fetches the feed's URL (conditionally, with its cursor) and
 * streams a changed file into a new ordinary task; the scheduler, on every node, runs the due
 * feeds while its node holds the leadership lock.
 */
#ifndef BI_IMPORTER_FEED_H
#define BI_IMPORTER_FEED_H

#include "fetch.h"
#include "feeds.h"
#include "pool.h"

#include <stdatomic.h>
#include <stdbool.h>

typedef struct feeds_config {
    db_pool *pool;             /* runs take their connection here */
    const char *conninfo;      /* the scheduler keeps a connection of its own (the lock) */
    int batch_size;            /* for feeds without their own */
    long long max_fetch_bytes; /* a larger file fails the run */
    long fetch_timeout_s;
    bool fetch_any_address; /* --fetch-allow-private */
    long long max_line_bytes;
    int tick_ms; /* the leader looks for due feeds this often */
    atomic_int *runs; /* downloads under way on this node (shared by the scheduler and callers) */
    int max_runs;     /* at most this many at once */
} feeds_config;

enum feed_outcome_kind {
    FEED_QUEUED,    /* a task was created: task_id */
    FEED_UNCHANGED, /* 304, or an empty file: no task */
    FEED_FAILED,    /* the fetch failed: why */
    FEED_NOT_DUE,   /* a scheduled run found the feed paused or already run */
};

typedef struct feed_outcome {
    enum feed_outcome_kind kind;
    char task_id[DB_TASK_ID_MAX];
    char why[FETCH_WHY_MAX];
} feed_outcome;

/* Runs feed id now on conn (scheduled: only when still due, and then its next due time is
 * set). Returns 0 with *out; BI_EBUSY when a run of the feed is under way (fetching on some
 * node, or its task PENDING or STARTED); BI_ETOOMANY when cfg->max_runs downloads are under
 * way on this node (the feed stays due); BI_ENOTFOUND when the feed is gone; or BI_EUNAVAIL /
 * BI_EINTERNAL. stopping (may be NULL) aborts the download. */
int feed_run(const feeds_config *cfg, db_conn *conn, int64_t id, bool scheduled,
             const atomic_bool *stopping, feed_outcome *out);

/* The first due time of a feed with schedule text created (or resumed) at now: one interval
 * later, or the next cron match. Returns (time_t)-1 when the schedule is invalid or never
 * matches, with why (FETCH_WHY_MAX bytes). */
time_t feed_first_run(const char *schedule_text, time_t now, char *why);

typedef struct feeds feeds;

/* Starts the scheduler thread (cfg is copied). Returns 0 and *out, or BI_EINTERNAL. */
int feeds_start(const feeds_config *cfg, feeds **out);

/* Stops the scheduler (a run under way is aborted) and frees f. NULL does nothing. */
void feeds_stop(feeds *f);

#endif
