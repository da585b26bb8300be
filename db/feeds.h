/* feeds.h — feeds (standing imports from a URL on a schedule) and the history of their runs;
 * the advisory locks that make one node the scheduler and one run per feed at a time.
 */
#ifndef BI_DB_FEEDS_H
#define BI_DB_FEEDS_H

#include "tasks.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define DB_FEED_NAME_MAX 64
#define DB_FEED_SCHEDULE_MAX 128
#define DB_FEED_FIELD_MAX 128   /* cursor_param, cursor_field */
#define DB_FEED_VALUE_MAX 512   /* cursor, etag, last_modified */
#define DB_FEED_HEADERS_MAX 8192 /* the headers object as JSON text */
#define DB_FEED_RUNS_KEPT 100

typedef struct db_feed {
    int64_t id;
    char username[DB_USERNAME_MAX + 1];
    char name[DB_FEED_NAME_MAX + 1];
    char url[DB_URL_MAX + 1];
    char schedule[DB_FEED_SCHEDULE_MAX + 1];
    bool incremental; /* mode "incremental", else "full" */
    bool prune, prune_on_errors;
    char queue[DB_USERNAME_MAX + 1]; /* "": the standard queue */
    bool update_if_exists;
    int batch_size; /* 0: the server's default */
    char cursor_param[DB_FEED_FIELD_MAX + 1], cursor_field[DB_FEED_FIELD_MAX + 1]; /* "": none */
    char headers[DB_FEED_HEADERS_MAX]; /* a JSON object of strings */
    char callback_url[DB_URL_MAX + 1]; /* "": no webhook for the runs' tasks */
    char action_field[129], delete_values[DB_DELETE_VALUES_MAX]; /* directives from the data; "": none */
    bool paused;
    char cursor[DB_FEED_VALUE_MAX], etag[DB_FEED_VALUE_MAX], last_modified[DB_FEED_VALUE_MAX];
    time_t next_run; /* out */
    char next_run_at[DB_TIME_MAX], created_at[DB_TIME_MAX], updated_at[DB_TIME_MAX]; /* out */
} db_feed;

/* Stores a new feed f (its id, times and validators are ignored) first due at next_run.
 * Returns 0, BI_ECONFLICT when the user has a feed of that name, or BI_EUNAVAIL /
 * BI_EINTERNAL. */
int db_feeds_create(db_conn *conn, const db_feed *f, time_t next_run);

/* The feed username calls name into *out. Returns 0 or BI_ENOTFOUND. */
int db_feeds_get(db_conn *conn, const char *username, const char *name, db_feed *out);

/* The feed with id into *out. Returns 0 or BI_ENOTFOUND. */
int db_feeds_get_id(db_conn *conn, int64_t id, db_feed *out);

/* Calls each(feed, ctx) for every feed of username (NULL: everyone's), by user and name, one
 * row at a time (a feed is borrowed for the call). */
int db_feeds_each(db_conn *conn, const char *username, void (*each)(const db_feed *f, void *ctx),
                  void *ctx);

/* Writes f's settings (by id) and next_run; forget drops the validators and the cursor (the
 * source changed). Returns 0, BI_ECONFLICT (the new name is taken) or BI_ENOTFOUND. */
int db_feeds_update(db_conn *conn, const db_feed *f, time_t next_run, bool forget);

/* Deletes the feed with id and its history; its tasks stay. Returns 0 or BI_ENOTFOUND. */
int db_feeds_delete(db_conn *conn, int64_t id);

/* Pauses or resumes the feed with id; resuming makes next_run its next due time. */
int db_feeds_pause(db_conn *conn, int64_t id, bool paused, time_t next_run);

/* Sets the next due time of the feed with id. */
int db_feeds_reschedule(db_conn *conn, int64_t id, time_t next_run);

/* The ids of up to cap unpaused feeds due now, the longest overdue first. */
int db_feeds_due(db_conn *conn, int64_t *ids, size_t cap, size_t *out_n);

/* Whether a task of one of the feed's runs is PENDING or STARTED. */
int db_feeds_active(db_conn *conn, int64_t id, bool *out_active);

/* Takes the session's lock on running the feed with id. Returns 0, or BI_EBUSY when another
 * session (a run under way on some node) holds it. Release with db_feeds_unlock before the
 * connection goes back to the pool. */
int db_feeds_lock(db_conn *conn, int64_t id);
void db_feeds_unlock(db_conn *conn, int64_t id);

/* Takes the scheduler's leadership for this session (held until the session ends). Returns 0,
 * or BI_EBUSY when another node leads. */
int db_feeds_lead(db_conn *conn);

/* Starts a run of feed_id (scheduled or manual) fetching url: marks runs of the feed left in
 * FETCHING by a node that died as FAILED, keeps the last DB_FEED_RUNS_KEPT runs. Call under the
 * feed's lock. Returns 0 and the run's id. */
int db_feed_runs_start(db_conn *conn, int64_t feed_id, bool scheduled, const char *url,
                       int64_t *out_run);

/* Ends run without a task: state "UNCHANGED" or "FAILED" (error: why, or NULL). */
int db_feed_runs_end(db_conn *conn, int64_t run, const char *state, long http_status,
                     long long bytes, const char *error);

/* What a run fetched into its task; call in the task's transaction (db_upload_commit_with). */
typedef struct db_feed_fetched {
    int64_t run;
    const char *task_id;
    long http_status;
    long long bytes;
    int64_t lines;
    const char *etag, *last_modified, *next_cursor; /* NULL: none */
} db_feed_fetched;
int db_feed_runs_fetched(db_conn *conn, const db_feed_fetched *f);

/* The last DB_FEED_RUNS_KEPT runs of feed id, newest first, as a JSON array in *out_json
 * (malloc'd): {run, trigger, state, task, url, http_status, bytes, lines, processed, created,
 * updated, deleted, skipped, failed, pruned, error, started_at, finished_at,
 * duration_seconds}; state and counts are live while the task runs. */
int db_feed_runs_list(db_conn *conn, int64_t id, char **out_json);

#endif
