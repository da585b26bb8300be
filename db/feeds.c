#include "feeds.h"

#include "compact.h"
#include "error.h"
#include "pgconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Advisory lock classes (the two-key form): the scheduler's leadership, and one per feed. */
#define FEEDS_LOCK_LEADER "1112080385, 0"
#define FEEDS_LOCK_FEED "1112080386, ($1::bigint % 2147483647)::integer"

#define FEED_COLUMNS                                                                               \
    "id, username, name, url, schedule, mode = 'incremental', prune, prune_on_errors,"            \
    " coalesce(queue, ''), update_if_exists, coalesce(batch_size, 0), coalesce(cursor_param, ''),"  \
    " coalesce(cursor_field, ''), headers::text, paused, coalesce(cursor, ''), coalesce(etag, ''),"  \
    " coalesce(last_modified, ''), extract(epoch FROM next_run_at)::bigint, ocl_time(next_run_at),"  \
    " ocl_time(created_at), ocl_time(updated_at), coalesce(callback_url, ''),"                    \
    " coalesce(action_field, ''), coalesce(delete_values::text, '')"

/* The settings as parameters $2.. in this order (see db_feed_values). */
#define FEED_SETTINGS 16

static const db_stmt stmt_create = {
    "feeds_create",
    "INSERT INTO feeds (username, name, url, schedule, mode, prune, prune_on_errors, queue,"
    " update_if_exists, batch_size, cursor_param, cursor_field, headers, paused, callback_url,"
    " action_field, delete_values, next_run_at) VALUES ($1, $2, $3, $4, CASE WHEN $5::boolean"
    " THEN 'incremental' ELSE 'full' END, $6::boolean, $7::boolean, nullif($8, ''), $9::boolean,"
    " nullif($10::integer, 0), nullif($11, ''), nullif($12, ''), $13::jsonb, $14::boolean,"
    " nullif($15, ''), nullif($16, ''), nullif($17, '')::jsonb, to_timestamp($18::bigint))"
    " ON CONFLICT DO NOTHING RETURNING 1",
    18};
static const db_stmt stmt_update = {
    "feeds_update",
    "UPDATE feeds SET name = $2, url = $3, schedule = $4, mode = CASE WHEN $5::boolean"
    " THEN 'incremental' ELSE 'full' END, prune = $6::boolean, prune_on_errors = $7::boolean,"
    " queue = nullif($8, ''), update_if_exists = $9::boolean, batch_size = nullif($10::integer, 0),"
    " cursor_param = nullif($11, ''), cursor_field = nullif($12, ''), headers = $13::jsonb,"
    " paused = $14::boolean, callback_url = nullif($15, ''), action_field = nullif($16, ''),"
    " delete_values = nullif($17, '')::jsonb, next_run_at = to_timestamp($18::bigint),"
    " cursor = CASE WHEN $19::boolean THEN NULL ELSE cursor END,"
    " etag = CASE WHEN $19::boolean THEN NULL ELSE etag END,"
    " last_modified = CASE WHEN $19::boolean THEN NULL ELSE last_modified END,"
    " updated_at = clock_timestamp() WHERE id = $1::bigint RETURNING 1",
    19};
static const db_stmt stmt_get = {
    "feeds_get", "SELECT " FEED_COLUMNS " FROM feeds WHERE username = $1 AND name = $2", 2};
static const db_stmt stmt_get_id = {
    "feeds_get_id", "SELECT " FEED_COLUMNS " FROM feeds WHERE id = $1::bigint", 1};
static const db_stmt stmt_list = {
    "feeds_list",
    "SELECT " FEED_COLUMNS " FROM feeds WHERE $1::text IS NULL OR username = $1"
    " ORDER BY username, name",
    1};
static const db_stmt stmt_delete = {
    "feeds_delete", "DELETE FROM feeds WHERE id = $1::bigint RETURNING 1", 1};
static const db_stmt stmt_pause = {
    "feeds_pause",
    "UPDATE feeds SET paused = $2::boolean, next_run_at = CASE WHEN $2::boolean THEN next_run_at"
    " ELSE to_timestamp($3::bigint) END, updated_at = clock_timestamp() WHERE id = $1::bigint"
    " RETURNING 1",
    3};
static const db_stmt stmt_reschedule = {
    "feeds_reschedule",
    "UPDATE feeds SET next_run_at = to_timestamp($2::bigint) WHERE id = $1::bigint RETURNING 1", 2};
static const db_stmt stmt_due = {
    "feeds_due",
    "SELECT id FROM feeds WHERE NOT paused AND next_run_at <= clock_timestamp()"
    " ORDER BY next_run_at LIMIT $1::integer",
    1};
static const db_stmt stmt_active = {
    "feeds_active",
    "SELECT EXISTS (SELECT 1 FROM feed_runs r JOIN import_tasks t ON t.feed_run_id = r.id"
    " WHERE r.feed_id = $1::bigint AND t.state IN ('PENDING', 'STARTED'))",
    1};
static const db_stmt stmt_lock = {
    "feeds_lock", "SELECT pg_try_advisory_lock(" FEEDS_LOCK_FEED ")", 1};
static const db_stmt stmt_unlock = {
    "feeds_unlock", "SELECT pg_advisory_unlock(" FEEDS_LOCK_FEED ")", 1};
static const db_stmt stmt_lead = {
    "feeds_lead", "SELECT pg_try_advisory_lock(" FEEDS_LOCK_LEADER ")", 0};
/* A run left FETCHING while its feed's lock is free was cut off with its node. */
static const db_stmt stmt_run_start = {
    "feed_runs_start",
    "WITH stale AS (UPDATE feed_runs SET state = 'FAILED', finished_at = clock_timestamp(),"
    " error = 'the node running the fetch stopped' WHERE feed_id = $1::bigint"
    " AND state = 'FETCHING'),"
    " old AS (DELETE FROM feed_runs WHERE feed_id = $1::bigint AND id <= (SELECT id FROM"
    " feed_runs WHERE feed_id = $1::bigint ORDER BY id DESC OFFSET $4::integer - 1 LIMIT 1))"
    " INSERT INTO feed_runs (feed_id, trigger, url) VALUES ($1::bigint,"
    " CASE WHEN $2::boolean THEN 'schedule' ELSE 'manual' END, $3) RETURNING id",
    4};
static const db_stmt stmt_run_end = {
    "feed_runs_end",
    "UPDATE feed_runs SET state = $2, http_status = nullif($3::integer, 0),"
    " bytes = $4::bigint, error = $5, finished_at = clock_timestamp() WHERE id = $1::bigint",
    5};
static const db_stmt stmt_run_fetched = {
    "feed_runs_fetched",
    "UPDATE feed_runs SET state = 'PENDING', task_id = $2, http_status = $3::integer,"
    " bytes = $4::bigint, lines = $5::integer, etag = $6, last_modified = $7, next_cursor = $8,"
    " fetched_at = clock_timestamp() WHERE id = $1::bigint",
    8};
static const db_stmt stmt_runs = {
    "feed_runs_list",
    "SELECT coalesce(json_agg(json_build_object('run', r.id, 'trigger', r.trigger,"
    " 'state', coalesce(t.state, r.state), 'task', r.task_id, 'url', r.url,"
    " 'http_status', r.http_status, 'bytes', r.bytes, 'lines', r.lines,"
    " 'processed', coalesce(b.processed, r.processed), 'created', coalesce(b.created, r.created),"
    " 'updated', coalesce(b.updated, r.updated), 'deleted', coalesce(b.deleted, r.deleted),"
    " 'skipped', coalesce(b.skipped, r.skipped), 'failed', coalesce(b.failed, r.failed),"
    " 'pruned', coalesce(b.pruned, r.pruned), 'error', r.error,"
    " 'started_at', ocl_time(r.started_at), 'finished_at', ocl_time(r.finished_at),"
    " 'duration_seconds', round(extract(epoch FROM coalesce(r.finished_at, clock_timestamp())"
    " - r.started_at)::numeric, 2)) ORDER BY r.id DESC), '[]')::text"
    " FROM feed_runs r LEFT JOIN import_tasks t ON t.id = r.task_id"
    " AND t.state IN ('PENDING', 'STARTED')"
    " LEFT JOIN LATERAL (SELECT sum(processed) AS processed, sum(created) AS created,"
    " sum(updated) AS updated, sum(deleted) AS deleted, sum(skipped) AS skipped,"
    " sum(failed) AS failed, sum(pruned) AS pruned FROM import_batches"
    " WHERE task_id = t.id) b ON t.id IS NOT NULL"
    " WHERE r.feed_id = $1::bigint",
    1};

static void db_feed_read(const PGresult *res, int row, db_feed *f) {
    memset(f, 0, sizeof *f);
    int c = 0;
    f->id = strtoll(PQgetvalue(res, row, c++), NULL, 10);
    struct {
        char *out;
        size_t cap;
    } texts[] = {{f->username, sizeof f->username}, {f->name, sizeof f->name},
                 {f->url, sizeof f->url},           {f->schedule, sizeof f->schedule}};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        snprintf(texts[i].out, texts[i].cap, "%s", PQgetvalue(res, row, c++));
    f->incremental = PQgetvalue(res, row, c++)[0] == 't';
    f->prune = PQgetvalue(res, row, c++)[0] == 't';
    f->prune_on_errors = PQgetvalue(res, row, c++)[0] == 't';
    snprintf(f->queue, sizeof f->queue, "%s", PQgetvalue(res, row, c++));
    f->update_if_exists = PQgetvalue(res, row, c++)[0] == 't';
    f->batch_size = atoi(PQgetvalue(res, row, c++));
    snprintf(f->cursor_param, sizeof f->cursor_param, "%s", PQgetvalue(res, row, c++));
    snprintf(f->cursor_field, sizeof f->cursor_field, "%s", PQgetvalue(res, row, c++));
    snprintf(f->headers, sizeof f->headers, "%s", PQgetvalue(res, row, c++));
    f->paused = PQgetvalue(res, row, c++)[0] == 't';
    snprintf(f->cursor, sizeof f->cursor, "%s", PQgetvalue(res, row, c++));
    snprintf(f->etag, sizeof f->etag, "%s", PQgetvalue(res, row, c++));
    snprintf(f->last_modified, sizeof f->last_modified, "%s", PQgetvalue(res, row, c++));
    f->next_run = (time_t)strtoll(PQgetvalue(res, row, c++), NULL, 10);
    snprintf(f->next_run_at, sizeof f->next_run_at, "%s", PQgetvalue(res, row, c++));
    snprintf(f->created_at, sizeof f->created_at, "%s", PQgetvalue(res, row, c++));
    snprintf(f->updated_at, sizeof f->updated_at, "%s", PQgetvalue(res, row, c++));
    snprintf(f->callback_url, sizeof f->callback_url, "%s", PQgetvalue(res, row, c++));
    snprintf(f->action_field, sizeof f->action_field, "%s", PQgetvalue(res, row, c++));
    snprintf(f->delete_values, sizeof f->delete_values, "%s", PQgetvalue(res, row, c++));
}

/* The numbers a feed's settings need spelled as text, kept alive with the parameters. */
typedef struct db_feed_numbers {
    db_int batch_size, next_run;
} db_feed_numbers;

/* Fills values[0..FEED_SETTINGS + 1) with f's name .. callback_url, then next_run. */
static void db_feed_values(const db_feed *f, time_t next_run, db_feed_numbers *n,
                           const char **values) {
    n->batch_size = db_int_text(f->batch_size);
    n->next_run = db_int_text((long long)next_run);
    const char *v[] = {f->name,
                       f->url,
                       f->schedule,
                       f->incremental ? "true" : "false",
                       f->prune ? "true" : "false",
                       f->prune_on_errors ? "true" : "false",
                       f->queue,
                       f->update_if_exists ? "true" : "false",
                       n->batch_size.s,
                       f->cursor_param,
                       f->cursor_field,
                       f->headers[0] ? f->headers : "{}",
                       f->paused ? "true" : "false",
                       f->callback_url,
                       f->action_field,
                       f->delete_values,
                       n->next_run.s};
    memcpy(values, v, sizeof v);
}

int db_feeds_create(db_conn *conn, const db_feed *f, time_t next_run) {
    const char *values[FEED_SETTINGS + 2] = {f->username};
    db_feed_numbers n;
    db_feed_values(f, next_run, &n, values + 1);
    return db_exec_insert(conn, &stmt_create, values);
}

/* Runs a statement returning feed rows into f (the first). */
static int db_feeds_one(db_conn *conn, const db_stmt *stmt, const char *const *values,
                        db_feed *out) {
    PGresult *res = NULL;
    int err = db_exec_row(conn, stmt, values, &res);
    if (err < 0)
        return err;
    db_feed_read(res, 0, out);
    PQclear(res);
    return 0;
}

int db_feeds_get(db_conn *conn, const char *username, const char *name, db_feed *out) {
    const char *values[] = {username, name};
    return db_feeds_one(conn, &stmt_get, values, out);
}

int db_feeds_get_id(db_conn *conn, int64_t id, db_feed *out) {
    db_int id_text = db_int_text(id);
    const char *values[] = {id_text.s};
    return db_feeds_one(conn, &stmt_get_id, values, out);
}

/* db_feeds_each's state: one feed buffer, reused for every row. */
typedef struct db_feeds_walk {
    db_feed *feed;
    void (*each)(const db_feed *f, void *ctx);
    void *ctx;
} db_feeds_walk;

static int db_feeds_row(const PGresult *res, void *ctx) {
    db_feeds_walk *walk = ctx;
    db_feed_read(res, 0, walk->feed);
    walk->each(walk->feed, walk->ctx);
    return 0;
}

int db_feeds_each(db_conn *conn, const char *username, void (*each)(const db_feed *f, void *ctx),
                  void *ctx) {
    const char *values[] = {username};
    db_feeds_walk walk = {malloc(sizeof *walk.feed), each, ctx};
    if (walk.feed == NULL)
        abort();
    int err = db_exec_stream(conn, &stmt_list, values, db_feeds_row, &walk);
    free(walk.feed);
    return err;
}

/* Runs a statement that returns one row when it changed something; none is BI_ENOTFOUND. */
static int db_feeds_change(db_conn *conn, const db_stmt *stmt, const char *const *values) {
    PGresult *res = NULL;
    int err = db_exec_row(conn, stmt, values, &res);
    PQclear(res);
    return err;
}

int db_feeds_update(db_conn *conn, const db_feed *f, time_t next_run, bool forget) {
    db_int id = db_int_text(f->id);
    const char *values[FEED_SETTINGS + 3] = {id.s};
    db_feed_numbers n;
    db_feed_values(f, next_run, &n, values + 1);
    values[FEED_SETTINGS + 2] = forget ? "true" : "false";
    return db_feeds_change(conn, &stmt_update, values);
}

int db_feeds_delete(db_conn *conn, int64_t id) {
    db_int id_text = db_int_text(id);
    const char *values[] = {id_text.s};
    return db_feeds_change(conn, &stmt_delete, values);
}

int db_feeds_pause(db_conn *conn, int64_t id, bool paused, time_t next_run) {
    db_int id_text = db_int_text(id), next = db_int_text((long long)next_run);
    const char *values[] = {id_text.s, paused ? "true" : "false", next.s};
    return db_feeds_change(conn, &stmt_pause, values);
}

int db_feeds_reschedule(db_conn *conn, int64_t id, time_t next_run) {
    db_int id_text = db_int_text(id), next = db_int_text((long long)next_run);
    const char *values[] = {id_text.s, next.s};
    return db_feeds_change(conn, &stmt_reschedule, values);
}

int db_feeds_due(db_conn *conn, int64_t *ids, size_t cap, size_t *out_n) {
    db_int cap_text = db_int_text((long long)cap);
    const char *values[] = {cap_text.s};
    PGresult *res = NULL;
    int err = db_exec_text(conn, &stmt_due, values, PGRES_TUPLES_OK, &res);
    if (err < 0)
        return err;
    size_t n = (size_t)PQntuples(res);
    for (size_t i = 0; i < n && i < cap; i++)
        ids[i] = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
    *out_n = n < cap ? n : cap;
    PQclear(res);
    return 0;
}

/* Runs a statement with the feed id that returns one boolean into *out. */
static int db_feeds_bool(db_conn *conn, const db_stmt *stmt, int64_t id, bool *out) {
    db_int id_text = db_int_text(id);
    const char *values[] = {id_text.s};
    PGresult *res = NULL;
    int err = db_exec_row(conn, stmt, values, &res);
    if (err == 0) {
        *out = PQgetvalue(res, 0, 0)[0] == 't';
        PQclear(res);
    }
    return err;
}

int db_feeds_active(db_conn *conn, int64_t id, bool *out_active) {
    return db_feeds_bool(conn, &stmt_active, id, out_active);
}

int db_feeds_lock(db_conn *conn, int64_t id) {
    bool taken = false;
    int err = db_feeds_bool(conn, &stmt_lock, id, &taken);
    return err < 0 ? err : taken ? 0 : BI_EBUSY;
}

void db_feeds_unlock(db_conn *conn, int64_t id) {
    bool released;
    db_feeds_bool(conn, &stmt_unlock, id, &released);
}

int db_feeds_lead(db_conn *conn) {
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_lead, NULL, &res);
    if (err < 0)
        return err;
    bool taken = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return taken ? 0 : BI_EBUSY;
}

int db_feed_runs_start(db_conn *conn, int64_t feed_id, bool scheduled, const char *url,
                       int64_t *out_run) {
    db_int id = db_int_text(feed_id), kept = db_int_text(DB_FEED_RUNS_KEPT);
    const char *values[] = {id.s, scheduled ? "true" : "false", url, kept.s};
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_run_start, values, &res);
    if (err < 0)
        return err;
    *out_run = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

int db_feed_runs_end(db_conn *conn, int64_t run, const char *state, long http_status,
                     long long bytes, const char *error) {
    db_int id = db_int_text(run), status = db_int_text(http_status), size = db_int_text(bytes);
    const char *values[] = {id.s, state, status.s, size.s, error};
    return db_exec_text(conn, &stmt_run_end, values, PGRES_COMMAND_OK, NULL);
}

int db_feed_runs_fetched(db_conn *conn, const db_feed_fetched *f) {
    db_int id = db_int_text(f->run), status = db_int_text(f->http_status),
           bytes = db_int_text(f->bytes), lines = db_int_text(f->lines);
    const char *values[] = {id.s,    f->task_id, status.s,          bytes.s,
                            lines.s, f->etag,    f->last_modified, f->next_cursor};
    return db_exec_text(conn, &stmt_run_fetched, values, PGRES_COMMAND_OK, NULL);
}

int db_feed_runs_list(db_conn *conn, int64_t id, char **out_json) {
    db_int id_text = db_int_text(id);
    const char *values[] = {id_text.s};
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_runs, values, &res);
    if (err < 0)
        return err;
    if ((*out_json = strdup(PQgetvalue(res, 0, 0))) == NULL)
        abort();
    db_json_compact(*out_json);
    PQclear(res);
    return 0;
}
