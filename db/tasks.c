#include "tasks.h"

#include "array.h"
#include "chunks.h"
#include "compact.h"
#include "error.h"
#include "notify.h"
#include "pgconn.h"
#include "pool.h"
#include "results_sql.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TASK_COLUMNS                                                                               \
    "t.id, t.username, t.queue, t.named, t.state, t.update_if_exists, t.test_mode, t.total,"     \
    " b.processed, b.created, b.updated, b.deleted, b.skipped, b.failed, t.checkpoint, t.lease,"  \
    " coalesce(ocl_time(t.created_at), ''), coalesce(ocl_time(t.started_at), ''),"                \
    " coalesce(ocl_time(t.finished_at), ''), coalesce(extract(epoch FROM coalesce(t.finished_at,"  \
    " clock_timestamp()) - t.started_at), 0), coalesce(t.error, ''), t.batch_size,"            \
    " coalesce(t.file_url, ''), t.fetched, t.phase, b.pruned, coalesce(t.feed_run_id, 0),"     \
    " coalesce((SELECT f.name FROM feed_runs r JOIN feeds f ON f.id = r.feed_id"                   \
    " WHERE r.id = t.feed_run_id), ''), t.prune, t.prune_on_errors, t.partitions, t.batch_bytes,"  \
    " t.parallel, t.format, coalesce(t.export_owner, ''), coalesce(t.export_owner_type, ''),"       \
    " coalesce(t.export_version, ''), coalesce(t.action_field, ''),"                             \
    " coalesce(t.delete_values::text, ''), coalesce(t.parent_id, ''), t.depth,"                 \
    " extract(epoch FROM coalesce(t.started_at, clock_timestamp()) - t.created_at),"            \
    " CASE WHEN t.state = 'PENDING' THEN (SELECT count(*) FROM import_tasks o"                  \
    " WHERE o.content_sha256 IS NOT NULL AND o.id <> t.id AND CASE WHEN t.named"                 \
    " THEN o.username = t.username AND o.queue = t.queue AND (o.state = 'STARTED'"               \
    " OR (o.state = 'PENDING' AND o.created_at < t.created_at))"                                 \
    " ELSE o.state = 'PENDING' AND NOT o.named AND o.created_at < t.created_at END) END"

/* The counters of task t, summed over its committed batches (a FROM item named b). */
#define TASK_COUNTERS                                                                              \
    " CROSS JOIN LATERAL (SELECT coalesce(sum(processed), 0) AS processed,"                      \
    " coalesce(sum(created), 0) AS created, coalesce(sum(updated), 0) AS updated,"               \
    " coalesce(sum(deleted), 0) AS deleted, coalesce(sum(skipped), 0) AS skipped,"               \
    " coalesce(sum(failed), 0) AS failed, coalesce(sum(pruned), 0) AS pruned"                     \
    " FROM import_batches WHERE task_id = t.id) b"

static const db_stmt stmt_create = {
    "tasks_create",
    "INSERT INTO import_tasks (id, username, queue, named, update_if_exists, test_mode, batch_size,"
    " callback_url, feed_run_id, prune, prune_on_errors, partitions, batch_bytes, parallel, format,"
    " export_owner, export_owner_type, export_version, action_field, delete_values)"
    " VALUES ($1, $2, $3, $4::boolean, $5::boolean, $6::boolean, $7::integer, $8,"
    " nullif($9::bigint, 0), $10::boolean, $11::boolean, $12::integer, $13::integer, $14::integer,"
    " $15, nullif($16, ''), nullif($17, ''), nullif($18, ''), nullif($19, ''),"
    " nullif($20, '')::jsonb)",
    20};
static const db_stmt stmt_complete = {
    "tasks_complete",
    "UPDATE import_tasks SET content_sha256 = $2::bytea, total = $3::integer, file_url = $4::text,"
    " fetched = $4::text IS NULL, phase = CASE WHEN $4::text IS NULL THEN 'import' ELSE 'fetch' END,"
    " update_if_exists = $5::boolean, test_mode = $6::boolean, batch_size = $7::integer,"
    " parallel = $8::integer, partitions = $9::integer, batch_bytes = $10::integer,"
    " action_field = nullif($11, ''), delete_values = nullif($12, '')::jsonb WHERE id = $1",
    12};
/* Remembers an Idempotency-Key; a key of the last 24 hours is kept (no row comes back). */
static const db_stmt stmt_idempotency_put = {
    "idempotency_put",
    "INSERT INTO idempotency_keys (username, key, task_id) VALUES ($1, $2, $3)"
    " ON CONFLICT (username, key) DO UPDATE SET task_id = EXCLUDED.task_id,"
    " created_at = clock_timestamp() WHERE idempotency_keys.created_at < clock_timestamp()"
    " - interval '24 hours' RETURNING 1",
    3};
static const db_stmt stmt_idempotency_find = {
    "idempotency_find",
    "SELECT task_id FROM idempotency_keys WHERE username = $1 AND key = $2"
    " AND created_at >= clock_timestamp() - interval '24 hours'",
    2};
static const db_stmt stmt_fetched = {
    "tasks_fetched",
    "UPDATE import_tasks SET total = $3::integer, fetched = true, phase = 'import' WHERE id = $1"
    " AND lease = $2::bigint AND state = 'STARTED' RETURNING 1",
    3};
/* The next runnable task: root's priority queue first, then round-robin between users (the
 * user whose latest start is the oldest, never-started first), then the oldest of that user's;
 * a named queue's next task only when none of that (user, queue) is started or older. SKIP
 * LOCKED: claimers never wait on each other. A test-mode task's earlier attempt rolled back whole, so it starts again from line 1
 * whenever any batch of it was recorded: its results so far are dropped with its counters. */
static const db_stmt stmt_claim = {
    "tasks_claim",
    "WITH c AS (SELECT c.id, c.test_mode AND EXISTS (SELECT 1 FROM import_batches b"
    " WHERE b.task_id = c.id) AS restart FROM import_tasks c"
    " WHERE c.state = 'PENDING' AND c.content_sha256 IS NOT NULL AND ($2::boolean OR NOT"
    " c.test_mode) AND (NOT c.named OR NOT EXISTS"
    " (SELECT 1 FROM import_tasks o WHERE o.username = c.username AND o.queue = c.queue"
    " AND o.id <> c.id AND (o.state = 'STARTED' OR (o.state = 'PENDING'"
    " AND o.created_at < c.created_at))))"
    " ORDER BY c.queue = 'priority' DESC, (SELECT max(s.started_at) FROM import_tasks s"
    " WHERE s.username = c.username) NULLS FIRST, c.created_at LIMIT 1 FOR UPDATE SKIP LOCKED),"
    " dropped AS (DELETE FROM import_batches r USING c WHERE c.restart AND r.task_id = c.id),"
    " t AS (UPDATE import_tasks t SET state = 'STARTED', lease = t.lease + 1, worker = $1,"
    " heartbeat_at = clock_timestamp(), started_at = coalesce(t.started_at, clock_timestamp()),"
    " checkpoint = CASE WHEN c.restart THEN 0 ELSE t.checkpoint END"
    " FROM c WHERE t.id = c.id RETURNING t.*)"
    " SELECT " TASK_COLUMNS " FROM t CROSS JOIN LATERAL (SELECT 0 AS processed, 0 AS created,"
    " 0 AS updated, 0 AS deleted, 0 AS skipped, 0 AS failed, 0 AS pruned) b",
    2};
/* Records one batch, fenced by the lease: no row when another worker holds the task now; a
 * row with inserted = 0 when this batch had already committed (a stale worker's twin). */
static const db_stmt stmt_record = {
    "tasks_record",
    "WITH t AS (SELECT cancel_requested FROM import_tasks WHERE id = $1 AND lease = $2::bigint"
    " AND state = 'STARTED'),"
    " ins AS (INSERT INTO import_batches SELECT $1, $3::integer, $4::integer, $5::integer,"
    " $6::integer, $7::integer, $8::integer, $9::integer, $10::integer[], $11::text[],"
    " $12::text[], $13::integer[], $14::text[], $15::text[], $16::text[], $17::text[],"
    " $18::text[], $19::text[], $20::text[], $21::integer[], $22::integer[], $23::integer[]"
    " FROM t ON CONFLICT DO NOTHING RETURNING 1)"
    " SELECT t.cancel_requested, (SELECT count(*) FROM ins) FROM t",
    23};
/* A prune batch: its results have no line numbers and count only in pruned. */
static const db_stmt stmt_record_prune = {
    "tasks_record_prune",
    "WITH t AS (SELECT cancel_requested FROM import_tasks WHERE id = $1 AND lease = $2::bigint"
    " AND state = 'STARTED'),"
    " ins AS (INSERT INTO import_batches (task_id, first_line, processed, created, updated,"
    " deleted, skipped, failed, line_no, root, action, status, obj_type, obj_url, repo_url,"
    " owner_url, message, error_code, group_action, group_status, group_count, group_first,"
    " pruned) SELECT $1, $3::integer, 0, 0, 0, 0, 0, 0, $5::integer[], $6::text[],"
    " $7::text[], $8::integer[], $9::text[], $10::text[], $11::text[], $12::text[],"
    " $13::text[], $14::text[], '{}', '{}', '{}', '{}', $4::integer"
    " FROM t ON CONFLICT DO NOTHING RETURNING 1)"
    " SELECT t.cancel_requested, (SELECT count(*) FROM ins) FROM t",
    14};
static const db_stmt stmt_prune_batches = {
    "tasks_prune_batches",
    "SELECT count(*) FROM import_batches WHERE task_id = $1 AND first_line < 0", 1};
static const db_stmt stmt_phase = {
    "tasks_phase",
    "UPDATE import_tasks SET phase = $3 WHERE id = $1 AND lease = $2::bigint AND state = 'STARTED'"
    " RETURNING 1",
    3};
static const db_stmt stmt_checkpoint = {
    "tasks_checkpoint",
    "UPDATE import_tasks SET checkpoint = $3::integer, heartbeat_at = clock_timestamp()"
    " WHERE id = $1 AND lease = $2::bigint AND state = 'STARTED' RETURNING cancel_requested",
    3};
static const db_stmt stmt_committed = {
    "tasks_committed",
    "SELECT first_line FROM import_batches WHERE task_id = $1 AND first_line > $2::integer"
    " ORDER BY first_line",
    2};
static const db_stmt stmt_timeouts = {
    "tasks_timeouts",
    "SELECT set_config('statement_timeout', $1, true),"
    " set_config('idle_in_transaction_session_timeout', $1, true)",
    1};
static const db_stmt stmt_heartbeat = {
    "tasks_heartbeat",
    "UPDATE import_tasks t SET heartbeat_at = clock_timestamp() FROM unnest($1::text[],"
    " $2::bigint[]) AS h(id, lease) WHERE t.id = h.id AND t.lease = h.lease AND t.state = 'STARTED'",
    2};
static const db_stmt stmt_rescue = {
    "tasks_rescue",
    "WITH r AS (UPDATE import_tasks SET state = 'PENDING', worker = NULL, lease = lease + 1"
    " WHERE state = 'STARTED' AND heartbeat_at < clock_timestamp() - make_interval(secs => $1::integer / 1000.0)"
    " RETURNING id) SELECT count(*), CASE WHEN count(*) > 0 THEN pg_notify('" DB_TASKS_CHANNEL
    "', '') END FROM r",
    1};
static const db_stmt stmt_release = {
    "tasks_release",
    "WITH r AS (UPDATE import_tasks SET state = 'PENDING', worker = NULL WHERE id = $1"
    " AND lease = $2::bigint AND state = 'STARTED' RETURNING id)"
    " SELECT pg_notify('" DB_TASKS_CHANNEL "', '') FROM r",
    2};
/* The tasks' lines and batches go with them, by a trigger (migrations/0011). */
static const db_stmt stmt_purge = {
    "tasks_purge",
    "WITH d AS (DELETE FROM import_tasks WHERE id IN (SELECT id FROM import_tasks"
    " WHERE state IN ('SUCCESS', 'FAILURE', 'REVOKED') AND finished_at < clock_timestamp()"
    " - make_interval(days => $1::integer) LIMIT $2::integer) RETURNING id)"
    " SELECT count(*) FROM d",
    2};
/* What the caller may see, locked, with its state: the one row cancel and resume decide on. */
static const db_stmt stmt_lock_own = {
    "tasks_lock_own",
    "SELECT state FROM import_tasks WHERE id = $1 AND (username = $2 OR $3::boolean)"
    " AND content_sha256 IS NOT NULL FOR UPDATE",
    3};
/* The task, and its children (and theirs) that have not ended. */
static const db_stmt stmt_cancel = {
    "tasks_cancel",
    "WITH RECURSIVE tree AS (SELECT $1::text AS id UNION SELECT c.id FROM import_tasks c"
    " JOIN tree ON c.parent_id = tree.id)"
    " UPDATE import_tasks t SET cancel_requested = true, state = CASE WHEN t.state = 'PENDING'"
    " THEN 'REVOKED' ELSE t.state END, finished_at = CASE WHEN t.state = 'PENDING'"
    " THEN clock_timestamp() ELSE t.finished_at END FROM tree WHERE t.id = tree.id"
    " AND (t.id = $1 OR t.state IN ('PENDING', 'STARTED')) RETURNING t.id",
    1};
/* A child task, as a file_url upload makes one, unless the parent's cancel was requested (KEY
 * SHARE: it waits for a cancel's FOR UPDATE, not for the heartbeats' updates) or the child is
 * there already (a replayed batch: it stays as it is). */
static const db_stmt stmt_create_child = {
    "tasks_create_child",
    "WITH c AS (INSERT INTO import_tasks (id, username, queue, named, update_if_exists,"
    " test_mode, batch_size, partitions, batch_bytes, parallel, file_url, fetched, phase,"
    " content_sha256, total, parent_id, depth)"
    " SELECT $1, p.username, $2, $3::boolean, true, false, $4::integer, $5::integer,"
    " $6::integer, $7::integer, $8, false, 'fetch', $9::bytea, 0, p.id, p.depth + 1"
    " FROM import_tasks p WHERE p.id = $10 AND NOT p.cancel_requested FOR KEY SHARE OF p"
    " ON CONFLICT DO NOTHING RETURNING id)"
    " SELECT pg_notify('" DB_TASKS_CHANNEL "', '') FROM c"
    " UNION ALL SELECT NULL FROM import_tasks WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM c)",
    10};
/* One parent's children are counted and added one batch at a time. */
static const db_stmt stmt_children_lock = {
    "tasks_children_lock", "SELECT pg_advisory_xact_lock(1112080387, hashtext($1))", 1};
static const db_stmt stmt_children_count = {
    "tasks_children_count",
    "SELECT count(*) FROM import_tasks WHERE parent_id = $1", 1};
static const db_stmt stmt_children = {
    "tasks_children",
    "SELECT id FROM import_tasks WHERE parent_id = $1 ORDER BY created_at, id", 1};
static const db_stmt stmt_resume = {
    "tasks_resume",
    "WITH r AS (UPDATE import_tasks SET state = 'PENDING', cancel_requested = false,"
    " finished_at = NULL, error = NULL, worker = NULL, lease = lease + 1 WHERE id = $1"
    " RETURNING id)"
    " SELECT pg_notify('" DB_TASKS_CHANNEL "', '') FROM r",
    1};
/* A finished task of a named queue makes its successor runnable: wake the nodes. A cancel's
 * own reason (a user disabled) stays when the run ends without one. */
static const db_stmt stmt_finish = {
    "tasks_finish",
    "WITH f AS (UPDATE import_tasks SET state = $3, error = coalesce($4, error),"
    " finished_at = clock_timestamp()"
    " WHERE id = $1 AND lease = $2::bigint AND state = 'STARTED' RETURNING named)"
    " SELECT pg_notify('" DB_TASKS_CHANNEL "', '') FROM f WHERE named",
    4};
static const db_stmt stmt_get = {
    "tasks_get",
    "SELECT " TASK_COLUMNS " FROM import_tasks t" TASK_COUNTERS " WHERE t.id = $1"
    " AND (t.username = $2 OR $3::boolean)",
    3};
/* The queues with tasks waiting or running: counts, the oldest waiting one's age, the one
 * running and the next five (GET /manage/queues/). */
static const db_stmt stmt_queues = {
    "tasks_queues",
    "SELECT username, queue, named, count(*) FILTER (WHERE state = 'PENDING'),"
    " count(*) FILTER (WHERE state = 'STARTED'),"
    " extract(epoch FROM clock_timestamp() - min(created_at) FILTER (WHERE state = 'PENDING')),"
    " array_to_json(coalesce((array_agg(id ORDER BY started_at, id) FILTER (WHERE state = 'STARTED'))"
    "[1:5], '{}'))::text,"
    " array_to_json(coalesce((array_agg(id ORDER BY created_at, id) FILTER (WHERE state = 'PENDING'))"
    "[1:5], '{}'))::text"
    " FROM import_tasks WHERE content_sha256 IS NOT NULL AND state IN ('PENDING', 'STARTED')"
    " AND ($1::text IS NULL OR username = $1) GROUP BY username, queue, named"
    " ORDER BY username, queue",
    1};
/* The cluster's tasks by state and queue, with the oldest PENDING one's age (the metrics). */
static const db_stmt stmt_gauges = {
    "tasks_gauges",
    "SELECT state, queue, count(*), extract(epoch FROM clock_timestamp() - min(created_at)"
    " FILTER (WHERE state = 'PENDING')) FROM import_tasks WHERE content_sha256 IS NOT NULL"
    " GROUP BY state, queue ORDER BY state, queue",
    0};
static const db_stmt stmt_groups = {
    "tasks_groups",
    "SELECT g.action, g.status, sum(g.n) FROM import_batches b CROSS JOIN LATERAL"
    " unnest(b.group_action, b.group_status, b.group_count, b.group_first) AS g(action, status,"
    " n, first) WHERE b.task_id = $1 GROUP BY g.action, g.status"
    " ORDER BY min(min(g.first)) OVER (PARTITION BY g.action), min(g.first)",
    1};
/* Each line's result in line order (result=json&format=lines), with its text. */
static const db_stmt stmt_by_line = {
    "tasks_results_by_line",
    "SELECT " RESULT_LINE_OBJECT("r") "::text FROM import_results r" RESULT_LINE_TEXT("r")
    " WHERE r.task_id = $1 ORDER BY r.line_no",
    1};
static const db_stmt stmt_stream = {
    "tasks_stream",
    "SELECT r.root, r.action, r.status, jsonb_build_object('obj_type', r.obj_type, 'obj_url',"
    " r.obj_url, 'action_type', r.action, 'method', CASE r.action WHEN 'NEW' THEN 'POST'"
    " WHEN 'UPDATE' THEN 'PUT' WHEN 'DELETE' THEN 'DELETE' END, 'obj_repo_url', r.repo_url,"
    " 'obj_owner_url', r.owner_url, 'status_code', CASE WHEN r.status = 0 THEN to_jsonb('skip'::text)"
    " ELSE to_jsonb(r.status) END, 'text', l.text, 'message', r.message, 'line', r.line_no,"
    " 'error_code', r.error_code)::text, coalesce(l.text, '')"
    " FROM (SELECT *, min(line_no) OVER (PARTITION BY root) AS root_first,"
    " min(line_no) OVER (PARTITION BY root, action) AS action_first,"
    " min(line_no) OVER (PARTITION BY root, action, status) AS status_first"
    " FROM import_results WHERE task_id = $1) r"
    RESULT_LINE_TEXT("r") " ORDER BY r.root_first, r.action_first, r.status_first, r.line_no",
    1};

/* The tasks of a list (NULL filters match all), newest first: how many, and one page. */
#define TASKS_LIST_BASE                                                                            \
    "WITH base AS (SELECT * FROM import_tasks t WHERE content_sha256 IS NOT NULL"                   \
    " AND ($1::text IS NULL OR t.username = $1) AND ($2::text IS NULL OR t.queue = $2)"          \
    " AND ($3::text[] IS NULL OR t.state = ANY($3::text[]))"                                     \
    " AND ($6::text IS NULL OR strpos(lower(t.id), lower($6)) > 0)"                              \
    " AND ($7::timestamptz IS NULL OR t.started_at >= $7::timestamptz)"                          \
    " AND ($8::timestamptz IS NULL OR t.created_at >= $8::timestamptz)"                          \
    " AND ($9::timestamptz IS NULL OR t.created_at < $9::timestamptz)"                           \
    " AND ($10::timestamptz IS NULL OR t.finished_at >= $10::timestamptz)"                       \
    " AND ($11::timestamptz IS NULL OR t.finished_at < $11::timestamptz))"
static const db_stmt stmt_list_count = {
    "tasks_list_count", TASKS_LIST_BASE " SELECT count(*) FROM base WHERE $4::bigint >= 0"
                                        " AND $5::bigint >= 0", 11};
static const db_stmt stmt_list = {
    "tasks_list",
    TASKS_LIST_BASE " SELECT " TASK_COLUMNS " FROM (SELECT * FROM base ORDER BY created_at DESC, id"
    " LIMIT $4::bigint OFFSET $5::bigint) t" TASK_COUNTERS " ORDER BY t.created_at DESC, t.id",
    11};

/* Each chunk's lines are numbered by k; a line's text is sliced out of its chunk only when the
 * line is kept. The task's results are gathered once (narrow: what a failed line needs) for a
 * hash join; joined to the view directly, the planner unnested every batch once per line. The
 * test on the status is not strict, so the outer join stays one: reduced to an inner join, the
 * planner (which takes an unnested batch for 10 rows) scanned the gathered results once per
 * line. $2 false: the lines that failed; true: the lines without a result. */
static const db_stmt stmt_lines = {
    "tasks_result_lines",
    "WITH r AS MATERIALIZED (SELECT line_no, status, error_code, message FROM import_results"
    " WHERE task_id = $1)"
    " SELECT c.first_line + i.k - 1, r.error_code, r.message, " CHUNK_LINE_TEXT ", c.errors[i.k]"
    " FROM import_chunks c"
    " CROSS JOIN LATERAL generate_series(1, c.last_line - c.first_line + 1) i(k)"
    " LEFT JOIN r ON r.line_no = c.first_line + i.k - 1"
    " WHERE c.task_id = $1 AND CASE WHEN $2::boolean THEN r.line_no IS NULL"
    " ELSE coalesce(r.status, 0) >= 400 END"
    " ORDER BY c.last_line, i.k",
    2};

/* ---- upload ---- */

struct db_upload {
    db_conn *conn;
    char task_id[DB_TASK_ID_MAX];
    char username[DB_USERNAME_MAX + 1];
    bool update_if_exists, test_mode; /* the options the commit writes */
    int batch_size, parallel, partitions;
    int64_t batch_bytes;
    char action_field[129], delete_values[DB_DELETE_VALUES_MAX];
    db_chunks *chunks; /* the lines' COPY */
};

/* Starts the COPY of task's lines in the transaction just begun (err: how that went). */
static int db_upload_open(db_conn *conn, const db_task *task, int err, db_upload **out) {
    db_chunks *chunks = NULL;
    if (err == 0)
        err = db_chunks_begin(conn, task->id, &chunks);
    if (err < 0) {
        db_rollback(conn);
        return err;
    }
    db_upload *u = calloc(1, sizeof *u);
    if (u == NULL)
        abort();
    u->conn = conn;
    u->chunks = chunks;
    snprintf(u->task_id, sizeof u->task_id, "%s", task->id);
    snprintf(u->username, sizeof u->username, "%s", task->username);
    db_upload_options(u, task);
    *out = u;
    return 0;
}

int db_upload_begin(db_conn *conn, const db_task *task, const char *callback_url,
                    db_upload **out) {
    db_int batch_size = db_int_text(task->batch_size);
    db_int feed_run = db_int_text(task->feed_run_id);
    db_int partitions = db_int_text(task->partitions);
    db_int batch_bytes = db_int_text(task->batch_bytes);
    db_int parallel = db_int_text(task->parallel);
    const char *values[] = {task->id,
                            task->username,
                            task->queue,
                            task->named ? "true" : "false",
                            task->update_if_exists ? "true" : "false",
                            task->test_mode ? "true" : "false",
                            batch_size.s,
                            callback_url,
                            feed_run.s,
                            task->prune ? "true" : "false",
                            task->prune_on_errors ? "true" : "false",
                            partitions.s,
                            batch_bytes.s,
                            parallel.s,
                            task->format,
                            task->export_owner,
                            task->export_owner_type,
                            task->export_version,
                            task->action_field,
                            task->delete_values};
    int err = db_begin(conn);
    if (err == 0)
        err = db_exec_text(conn, &stmt_create, values, PGRES_COMMAND_OK, NULL);
    return db_upload_open(conn, task, err, out);
}

int db_fetch_begin(db_conn *conn, const db_task *task, db_upload **out) {
    return db_upload_open(conn, task, db_begin(conn), out);
}

int db_upload_line(db_upload *u, int64_t line_no, const char *text, size_t len,
                   const char *error_code) {
    return db_chunks_line(u->chunks, line_no, text, len, error_code);
}

/* Ends the lines' COPY (error NULL) or abandons it; the writer is gone after either. */
static int db_upload_close_copy(db_upload *u, const char *error) {
    db_chunks *chunks = u->chunks;
    u->chunks = NULL;
    return chunks ? db_chunks_end(chunks, error) : 0;
}

static void db_upload_free(db_upload *u) {
    db_upload_close_copy(u, "upload abandoned");
    free(u);
}

/* Commits u's transaction when err is 0, else rolls it back; frees u; returns err or the
 * commit's error. */
static int db_upload_end(db_upload *u, int err) {
    if (err == 0)
        err = db_commit(u->conn);
    if (err < 0)
        db_rollback(u->conn);
    db_upload_free(u);
    return err;
}

void db_upload_options(db_upload *u, const db_task *task) {
    u->update_if_exists = task->update_if_exists;
    u->test_mode = task->test_mode;
    u->batch_size = task->batch_size;
    u->parallel = task->parallel;
    u->partitions = task->partitions;
    u->batch_bytes = task->batch_bytes;
    snprintf(u->action_field, sizeof u->action_field, "%s", task->action_field);
    snprintf(u->delete_values, sizeof u->delete_values, "%s", task->delete_values);
}

/* Completes the upload with its hash, total and file_url, then key and before when given. */
static int db_upload_complete(db_upload *u, const unsigned char sha256[32], int64_t total,
                              const char *file_url, const char *idempotency_key,
                              int (*before)(db_conn *conn, void *ctx), void *ctx) {
    db_conn *conn = u->conn;
    db_int total_text = db_int_text(total), batch_size = db_int_text(u->batch_size),
           parallel = db_int_text(u->parallel), partitions = db_int_text(u->partitions),
           batch_bytes = db_int_text(u->batch_bytes);
    const char *values[] = {u->task_id,    (const char *)sha256,
                            total_text.s,  file_url,
                            u->update_if_exists ? "true" : "false",
                            u->test_mode ? "true" : "false",
                            batch_size.s,  parallel.s,
                            partitions.s,  batch_bytes.s,
                            u->action_field, u->delete_values};
    const int lengths[] = {0, 32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    const int formats[] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    int err = db_upload_close_copy(u, NULL);
    if (err == 0)
        err = db_exec(conn, &stmt_complete, values, lengths, formats, PGRES_COMMAND_OK, NULL);
    if (err == 0 && idempotency_key != NULL) {
        /* A twin request with the same key waits here for the first one's commit. */
        const char *key_values[] = {u->username, idempotency_key, u->task_id};
        PGresult *res = NULL;
        err = db_exec_row(conn, &stmt_idempotency_put, key_values, &res);
        PQclear(res);
        if (err == BI_ENOTFOUND)
            err = BI_EREPEATED;
    }
    if (err == 0 && before != NULL)
        err = before(conn, ctx);
    if (err == 0)
        err = db_exec_sql(conn, "NOTIFY " DB_TASKS_CHANNEL, PGRES_COMMAND_OK, NULL);
    return db_upload_end(u, err);
}

int db_upload_commit(db_upload *u, const unsigned char sha256[32], int64_t total,
                     const char *file_url, const char *idempotency_key) {
    return db_upload_complete(u, sha256, total, file_url, idempotency_key, NULL, NULL);
}

int db_upload_commit_with(db_upload *u, const unsigned char sha256[32], int64_t total,
                          int (*before)(db_conn *conn, void *ctx), void *ctx) {
    return db_upload_complete(u, sha256, total, NULL, NULL, before, ctx);
}

int db_fetch_commit(db_upload *u, int64_t lease, int64_t total) {
    db_int lease_text = db_int_text(lease);
    db_int total_text = db_int_text(total);
    const char *values[] = {u->task_id, lease_text.s, total_text.s};
    int err = db_upload_close_copy(u, NULL);
    PGresult *res = NULL;
    if (err == 0)
        err = db_exec_row(u->conn, &stmt_fetched, values, &res);
    PQclear(res);
    return db_upload_end(u, err == BI_ENOTFOUND ? BI_EBUSY : err);
}

int db_idempotency_find(db_conn *conn, const char *username, const char *idempotency_key,
                        char *task_id) {
    const char *values[] = {username, idempotency_key};
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_idempotency_find, values, &res);
    if (err < 0)
        return err;
    snprintf(task_id, DB_TASK_ID_MAX, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

void db_upload_abort(db_upload *u) {
    db_upload_close_copy(u, "upload abandoned");
    db_rollback(u->conn);
    db_upload_free(u);
}

/* ---- tasks ---- */

static void db_task_read(const PGresult *res, int row, db_task *t) {
    memset(t, 0, sizeof *t);
    snprintf(t->id, sizeof t->id, "%s", PQgetvalue(res, row, 0));
    snprintf(t->username, sizeof t->username, "%s", PQgetvalue(res, row, 1));
    snprintf(t->queue, sizeof t->queue, "%s", PQgetvalue(res, row, 2));
    t->named = PQgetvalue(res, row, 3)[0] == 't';
    if (!db_task_state_parse(PQgetvalue(res, row, 4), &t->state))
        t->state = DB_TASK_FAILURE; /* a CHECK allows no other: unreachable */
    t->update_if_exists = PQgetvalue(res, row, 5)[0] == 't';
    t->test_mode = PQgetvalue(res, row, 6)[0] == 't';
    int64_t *counters[] = {&t->total,   &t->processed, &t->created,    &t->updated, &t->deleted,
                           &t->skipped, &t->failed,    &t->checkpoint, &t->lease};
    for (int i = 0; i < 9; i++)
        *counters[i] = strtoll(PQgetvalue(res, row, 7 + i), NULL, 10);
    snprintf(t->created_at, sizeof t->created_at, "%s", PQgetvalue(res, row, 16));
    snprintf(t->started_at, sizeof t->started_at, "%s", PQgetvalue(res, row, 17));
    snprintf(t->finished_at, sizeof t->finished_at, "%s", PQgetvalue(res, row, 18));
    t->elapsed_seconds = strtod(PQgetvalue(res, row, 19), NULL);
    snprintf(t->error, sizeof t->error, "%s", PQgetvalue(res, row, 20));
    t->batch_size = atoi(PQgetvalue(res, row, 21));
    snprintf(t->file_url, sizeof t->file_url, "%s", PQgetvalue(res, row, 22));
    t->fetched = PQgetvalue(res, row, 23)[0] == 't';
    if (!db_task_phase_parse(PQgetvalue(res, row, 24), &t->phase))
        t->phase = DB_PHASE_IMPORT;
    t->pruned = strtoll(PQgetvalue(res, row, 25), NULL, 10);
    t->feed_run_id = strtoll(PQgetvalue(res, row, 26), NULL, 10);
    snprintf(t->feed, sizeof t->feed, "%s", PQgetvalue(res, row, 27));
    t->prune = PQgetvalue(res, row, 28)[0] == 't';
    t->prune_on_errors = PQgetvalue(res, row, 29)[0] == 't';
    t->partitions = atoi(PQgetvalue(res, row, 30));
    t->batch_bytes = strtoll(PQgetvalue(res, row, 31), NULL, 10);
    t->parallel = atoi(PQgetvalue(res, row, 32));
    snprintf(t->format, sizeof t->format, "%s", PQgetvalue(res, row, 33));
    snprintf(t->export_owner, sizeof t->export_owner, "%s", PQgetvalue(res, row, 34));
    snprintf(t->export_owner_type, sizeof t->export_owner_type, "%s", PQgetvalue(res, row, 35));
    snprintf(t->export_version, sizeof t->export_version, "%s", PQgetvalue(res, row, 36));
    snprintf(t->action_field, sizeof t->action_field, "%s", PQgetvalue(res, row, 37));
    snprintf(t->delete_values, sizeof t->delete_values, "%s", PQgetvalue(res, row, 38));
    snprintf(t->parent_id, sizeof t->parent_id, "%s", PQgetvalue(res, row, 39));
    t->depth = atoi(PQgetvalue(res, row, 40));
    t->wait_seconds = strtod(PQgetvalue(res, row, 41), NULL);
    t->ahead = PQgetisnull(res, row, 42) ? -1 : atol(PQgetvalue(res, row, 42));
}

int db_tasks_claim(db_conn *conn, const char *worker, bool test_mode_too, db_task *out) {
    const char *values[] = {worker, test_mode_too ? "true" : "false"};
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_claim, values, &res);
    if (err < 0)
        return err;
    db_task_read(res, 0, out);
    PQclear(res);
    return 0;
}

enum { R_LINE, R_ROOT, R_ACTION, R_STATUS, R_TYPE, R_URL, R_REPO, R_OWNER, R_MESSAGE, R_CODE,
       G_ACTION, G_STATUS, G_COUNT, G_FIRST, R_N };

/* The (action, status) groups of a batch, in order of their first line. */
typedef struct db_groups {
    size_t n;
    struct db_group {
        const char *action;
        int status;
        int64_t count, first;
    } g[64];
} db_groups;

/* Counts r in its group; false when the batch has more groups than fit (never in practice:
 * a handful of actions times a handful of statuses). */
static bool db_groups_add(db_groups *gs, const db_result *r) {
    for (size_t i = 0; i < gs->n; i++)
        if (gs->g[i].status == r->status && strcmp(gs->g[i].action, r->action) == 0) {
            gs->g[i].count++;
            gs->g[i].first = r->line < gs->g[i].first ? r->line : gs->g[i].first;
            return true;
        }
    if (gs->n == sizeof gs->g / sizeof gs->g[0])
        return false;
    gs->g[gs->n++] = (struct db_group){r->action, r->status, 1, r->line};
    return true;
}

/* Whether a result with action and status counts as that action done (OCL.md "Results"). */
static bool db_result_done(const db_result *r, const char *action) {
    return r->status > 0 && r->status < 400 && strcmp(r->action, action) == 0;
}

/* Records results as a batch (prune: prune batch number, its lines NULL); see the contracts. */
static int db_tasks_record(db_conn *conn, const char *task_id, int64_t lease,
                           const db_result *results, size_t n, int64_t prune, bool *out_cancel) {
    db_array cols[R_N];
    for (int c = 0; c < R_N; c++)
        db_array_init(&cols[c]);
    int64_t first = INT64_MAX, created = 0, updated = 0, deleted = 0, skipped = 0, failed = 0;
    db_groups groups = {0};
    for (size_t i = 0; i < n; i++) {
        const db_result *r = &results[i];
        first = r->line < first ? r->line : first;
        created += db_result_done(r, "NEW");
        updated += db_result_done(r, "UPDATE");
        deleted += db_result_done(r, "DELETE");
        skipped += r->status == 0;
        failed += r->status >= 400;
        if (prune > 0)
            db_array_add(&cols[R_LINE], NULL);
        else
            db_array_add_int64(&cols[R_LINE], r->line);
        db_array_add(&cols[R_ROOT], r->root);
        db_array_add(&cols[R_ACTION], r->action);
        db_array_add_int64(&cols[R_STATUS], r->status);
        db_array_add(&cols[R_TYPE], r->obj_type);
        db_array_add(&cols[R_URL], r->obj_url);
        db_array_add(&cols[R_REPO], r->repo_url);
        db_array_add(&cols[R_OWNER], r->owner_url);
        db_array_add(&cols[R_MESSAGE], r->message);
        db_array_add(&cols[R_CODE], r->error_code);
        if (!db_groups_add(&groups, r))
            abort(); /* statuses and actions are the importer's own, a short fixed list */
    }
    for (size_t i = 0; i < groups.n && prune == 0; i++) {
        db_array_add(&cols[G_ACTION], groups.g[i].action);
        db_array_add_int64(&cols[G_STATUS], groups.g[i].status);
        db_array_add_int64(&cols[G_COUNT], groups.g[i].count);
        db_array_add_int64(&cols[G_FIRST], groups.g[i].first);
    }
    if (prune > 0)
        first = -prune;
    db_int numbers[] = {db_int_text(lease),   db_int_text(first),   db_int_text((int64_t)n),
                        db_int_text(created), db_int_text(updated), db_int_text(deleted),
                        db_int_text(skipped), db_int_text(failed)};
    const char *values[R_N + 9] = {task_id};
    int n_numbers = prune > 0 ? 3 : 8; /* a prune batch has no counters but its size */
    for (int i = 0; i < n_numbers; i++)
        values[1 + i] = numbers[i].s;
    for (int c = 0; c < R_N; c++)
        values[1 + n_numbers + c] = db_array_literal(&cols[c]);
    PGresult *res = NULL;
    int err = db_exec_row(conn, prune > 0 ? &stmt_record_prune : &stmt_record, values, &res);
    for (int c = 0; c < R_N; c++)
        db_array_fini(&cols[c]);
    if (err == BI_ENOTFOUND)
        return BI_EBUSY; /* another worker holds the task now */
    if (err == 0) {
        *out_cancel = PQgetvalue(res, 0, 0)[0] == 't';
        if (strcmp(PQgetvalue(res, 0, 1), "0") == 0)
            err = BI_ECONFLICT;
        PQclear(res);
    }
    return err;
}

int db_tasks_record_batch(db_conn *conn, const char *task_id, int64_t lease,
                          const db_result *results, size_t n, bool *out_cancel) {
    return db_tasks_record(conn, task_id, lease, results, n, 0, out_cancel);
}

int db_tasks_record_prune(db_conn *conn, const char *task_id, int64_t lease, int64_t number,
                          const db_result *results, size_t n, bool *out_cancel) {
    return db_tasks_record(conn, task_id, lease, results, n, number, out_cancel);
}

int db_tasks_prune_batches(db_conn *conn, const char *task_id, int64_t *out_n) {
    const char *values[] = {task_id};
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_prune_batches, values, &res);
    if (err == 0) {
        *out_n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
    }
    return err;
}

int db_tasks_set_phase(db_conn *conn, const char *task_id, int64_t lease,
                       enum db_task_phase phase) {
    db_int lease_text = db_int_text(lease);
    const char *values[] = {task_id, lease_text.s, db_task_phase_name(phase)};
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_phase, values, &res);
    PQclear(res);
    return err == BI_ENOTFOUND ? BI_EBUSY : err;
}

int db_tasks_checkpoint(db_conn *conn, const char *task_id, int64_t lease, int64_t checkpoint,
                        bool *out_cancel) {
    db_int lease_text = db_int_text(lease);
    db_int checkpoint_text = db_int_text(checkpoint);
    const char *values[] = {task_id, lease_text.s, checkpoint_text.s};
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_checkpoint, values, &res);
    if (err == BI_ENOTFOUND)
        return BI_EBUSY;
    if (err == 0) {
        *out_cancel = PQgetvalue(res, 0, 0)[0] == 't';
        PQclear(res);
    }
    return err;
}

int db_tasks_committed(db_conn *conn, const char *task_id, int64_t after, int64_t **out,
                       size_t *out_n) {
    db_int after_text = db_int_text(after);
    const char *values[] = {task_id, after_text.s};
    PGresult *res = NULL;
    int err = db_exec_text(conn, &stmt_committed, values, PGRES_TUPLES_OK, &res);
    if (err < 0)
        return err;
    size_t n = (size_t)PQntuples(res);
    int64_t *firsts = malloc((n + 1) * sizeof *firsts);
    if (firsts == NULL)
        abort();
    for (size_t i = 0; i < n; i++)
        firsts[i] = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
    PQclear(res);
    *out = firsts;
    *out_n = n;
    return 0;
}

int db_tasks_batch_timeouts(db_conn *conn, int ms) {
    db_int text = db_int_text(ms);
    const char *values[] = {text.s};
    return db_exec_text(conn, &stmt_timeouts, values, PGRES_TUPLES_OK, NULL);
}

int db_tasks_heartbeat(db_conn *conn, const char *const *ids, const int64_t *leases, size_t n) {
    if (n == 0)
        return 0;
    db_array id_array, lease_array;
    db_array_init(&id_array);
    db_array_init(&lease_array);
    for (size_t i = 0; i < n; i++) {
        db_array_add(&id_array, ids[i]);
        db_array_add_int64(&lease_array, leases[i]);
    }
    const char *values[] = {db_array_literal(&id_array), db_array_literal(&lease_array)};
    int err = db_exec_text(conn, &stmt_heartbeat, values, PGRES_COMMAND_OK, NULL);
    db_array_fini(&id_array);
    db_array_fini(&lease_array);
    return err;
}

/* Runs stmt, whose one row's first column is a count, into *out_n. */
static int db_tasks_count(db_conn *conn, const db_stmt *stmt, const char *const *values,
                          long *out_n) {
    PGresult *res = NULL;
    int err = db_exec_row(conn, stmt, values, &res);
    if (err < 0)
        return err;
    *out_n = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

int db_tasks_rescue(db_conn *conn, int silent_ms, long *out_n) {
    db_int ms = db_int_text(silent_ms);
    const char *values[] = {ms.s};
    return db_tasks_count(conn, &stmt_rescue, values, out_n);
}

int db_tasks_release(db_conn *conn, const char *task_id, int64_t lease) {
    db_int lease_text = db_int_text(lease);
    const char *values[] = {task_id, lease_text.s};
    return db_exec_text(conn, &stmt_release, values, PGRES_TUPLES_OK, NULL);
}

int db_tasks_purge(db_conn *conn, int days, long limit, long *out_n) {
    db_int days_text = db_int_text(days);
    db_int limit_text = db_int_text(limit);
    const char *values[] = {days_text.s, limit_text.s};
    return db_tasks_count(conn, &stmt_purge, values, out_n);
}

/* Runs change on task id (values: the id) when the caller sees it and its locked state passes
 * allowed(state); in one transaction. */
static int db_tasks_change(db_conn *conn, const char *task_id, const db_user *caller,
                           bool (*allowed)(enum db_task_state state), const db_stmt *change) {
    const char *values[] = {task_id, caller->username, caller->is_root ? "true" : "false"};
    int err = db_begin(conn);
    if (err < 0)
        return err;
    PGresult *res = NULL;
    err = db_exec_row(conn, &stmt_lock_own, values, &res);
    if (err == 0) {
        enum db_task_state state;
        bool ok = db_task_state_parse(PQgetvalue(res, 0, 0), &state) && allowed(state);
        PQclear(res);
        err = ok ? db_exec_text(conn, change, values, PGRES_TUPLES_OK, NULL) : BI_ECONFLICT;
    }
    if (err == 0)
        err = db_commit(conn);
    else
        db_rollback(conn);
    return err;
}

static bool db_tasks_stopped(enum db_task_state state) {
    return state == DB_TASK_REVOKED || state == DB_TASK_FAILURE;
}

int db_tasks_cancel(db_conn *conn, const char *task_id, const db_user *caller) {
    return db_tasks_change(conn, task_id, caller, db_task_state_running, &stmt_cancel);
}

int db_tasks_create_child(db_conn *conn, const db_task *parent, const db_task *child,
                          int64_t line, const char *file_url) {
    const char *count_values[] = {parent->id};
    PGresult *res = NULL;
    int err = db_exec_text(conn, &stmt_children_lock, count_values, PGRES_TUPLES_OK, NULL);
    if (err == 0)
        err = db_exec_row(conn, &stmt_children_count, count_values, &res);
    if (err < 0)
        return err;
    long children = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (children >= DB_TASKS_MAX_CHILDREN)
        return BI_ETOOMANY;
    /* The duplicate check's content: this line of this parent, never another upload's. */
    unsigned char sha[32];
    char key[DB_TASK_ID_MAX + DB_URL_MAX + 64];
    int key_len = snprintf(key, sizeof key, "child\n%s\n%lld\n%s", parent->id, (long long)line,
                           file_url);
    SHA256((const unsigned char *)key, (size_t)key_len, sha);
    db_int batch_size = db_int_text(child->batch_size), partitions = db_int_text(child->partitions),
           batch_bytes = db_int_text(child->batch_bytes), parallel = db_int_text(child->parallel);
    const char *values[] = {child->id,    child->queue,  child->named ? "true" : "false",
                            batch_size.s, partitions.s,  batch_bytes.s,
                            parallel.s,   file_url,      (const char *)sha,
                            parent->id};
    const int lengths[] = {0, 0, 0, 0, 0, 0, 0, 0, 32, 0};
    const int formats[] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 0};
    err = db_exec(conn, &stmt_create_child, values, lengths, formats, PGRES_TUPLES_OK, &res);
    if (err < 0)
        return err;
    int rows = PQntuples(res); /* one: queued now, or there from the batch's first run */
    PQclear(res);
    return rows == 1 ? 0 : BI_ECONFLICT;
}

int db_tasks_children(db_conn *conn, const char *task_id,
                      void (*each)(const char *child_id, void *ctx), void *ctx) {
    const char *values[] = {task_id};
    PGresult *res = NULL;
    int err = db_exec_text(conn, &stmt_children, values, PGRES_TUPLES_OK, &res);
    if (err < 0)
        return err;
    for (int i = 0; i < PQntuples(res); i++)
        each(PQgetvalue(res, i, 0), ctx);
    PQclear(res);
    return 0;
}

int db_tasks_resume(db_conn *conn, const char *task_id, const db_user *caller) {
    return db_tasks_change(conn, task_id, caller, db_tasks_stopped, &stmt_resume);
}

int db_tasks_finish(db_conn *conn, const char *task_id, int64_t lease, enum db_task_state state,
                    const char *error) {
    db_int lease_text = db_int_text(lease);
    const char *values[] = {task_id, lease_text.s, db_task_state_name(state), error};
    return db_exec_text(conn, &stmt_finish, values, PGRES_TUPLES_OK, NULL);
}

int db_tasks_get(db_conn *conn, const char *task_id, const db_user *caller, db_task *out) {
    const char *values[] = {task_id, caller->username, caller->is_root ? "true" : "false"};
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_get, values, &res);
    if (err < 0)
        return err;
    db_task_read(res, 0, out);
    PQclear(res);
    return 0;
}

int db_tasks_list(db_conn *conn, const db_task_filter *filter, long limit, long offset,
                  db_task_fn each, void *ctx, long *out_total) {
    db_int limit_text = db_int_text(limit);
    db_int offset_text = db_int_text(offset);
    char states[128] = ""; /* an array literal of the states, which are names from a fixed set */
    for (size_t i = 0; i < filter->n_states; i++) {
        size_t len = strlen(states);
        snprintf(states + len, sizeof states - len, "%s%s", i ? "," : "{", filter->states[i]);
    }
    if (filter->n_states > 0)
        strncat(states, "}", sizeof states - strlen(states) - 1);
    const char *values[] = {filter->username, filter->queue, filter->n_states ? states : NULL,
                            limit_text.s, offset_text.s, filter->q, filter->started_after,
                            filter->created_after, filter->created_before, filter->finished_after,
                            filter->finished_before};
    PGresult *res = NULL;
    int err = db_exec_row(conn, &stmt_list_count, values, &res);
    if (err < 0)
        return err;
    *out_total = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    if ((err = db_exec_text(conn, &stmt_list, values, PGRES_TUPLES_OK, &res)) < 0)
        return err;
    db_task *t = malloc(sizeof *t);
    if (t == NULL)
        abort();
    for (int row = 0; row < PQntuples(res) && err == 0; row++) {
        db_task_read(res, row, t);
        err = each(t, ctx);
    }
    free(t);
    PQclear(res);
    return err;
}

int db_tasks_queues(db_conn *conn, const char *username, db_queue_fn each, void *ctx) {
    const char *values[] = {username};
    PGresult *res = NULL;
    int err = db_exec_text(conn, &stmt_queues, values, PGRES_TUPLES_OK, &res);
    if (err < 0)
        return err;
    for (int i = 0; i < PQntuples(res); i++) {
        db_queue q = {.username = PQgetvalue(res, i, 0),
                      .queue = PQgetvalue(res, i, 1),
                      .named = PQgetvalue(res, i, 2)[0] == 't',
                      .pending = atol(PQgetvalue(res, i, 3)),
                      .started = atol(PQgetvalue(res, i, 4)),
                      .oldest_pending_s = PQgetisnull(res, i, 5) ? -1 : strtod(PQgetvalue(res, i, 5), NULL),
                      .running_json = PQgetvalue(res, i, 6),
                      .next_json = PQgetvalue(res, i, 7)};
        each(&q, ctx);
    }
    PQclear(res);
    return 0;
}

int db_tasks_gauges(db_conn *conn, db_gauge_fn each, void *ctx) {
    PGresult *res = NULL;
    int err = db_exec_text(conn, &stmt_gauges, NULL, PGRES_TUPLES_OK, &res);
    if (err < 0)
        return err;
    for (int i = 0; i < PQntuples(res); i++)
        each(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), atol(PQgetvalue(res, i, 2)),
             PQgetisnull(res, i, 3) ? -1 : strtod(PQgetvalue(res, i, 3), NULL), ctx);
    PQclear(res);
    return 0;
}

int db_results_groups(db_conn *conn, const char *task_id, db_group_fn each, void *ctx) {
    const char *values[] = {task_id};
    PGresult *res = NULL;
    int err = db_exec_text(conn, &stmt_groups, values, PGRES_TUPLES_OK, &res);
    if (err < 0)
        return err;
    for (int i = 0; i < PQntuples(res); i++)
        each(PQgetvalue(res, i, 0), atoi(PQgetvalue(res, i, 1)),
             strtoll(PQgetvalue(res, i, 2), NULL, 10), ctx);
    PQclear(res);
    return 0;
}

typedef struct stream_ctx {
    db_result_fn each;
    void *ctx;
    char *json; /* the row's result JSON, compacted */
    size_t json_cap;
} stream_ctx;

static int db_results_row(const PGresult *res, void *ctx) {
    stream_ctx *s = ctx;
    db_json_compact_copy(PQgetvalue(res, 0, 3), (size_t)PQgetlength(res, 0, 3), &s->json,
                         &s->json_cap);
    return s->each(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), atoi(PQgetvalue(res, 0, 2)),
                   s->json, PQgetvalue(res, 0, 4), s->ctx);
}

int db_results_stream(db_conn *conn, const char *task_id, db_result_fn each, void *ctx) {
    const char *values[] = {task_id};
    stream_ctx s = {each, ctx, NULL, 0};
    int err = db_exec_stream(conn, &stmt_stream, values, db_results_row, &s);
    free(s.json);
    return err;
}

typedef struct lines_ctx {
    db_line_fn each;
    void *ctx;
} lines_ctx;

static int db_lines_row(const PGresult *res, void *ctx) {
    lines_ctx *t = ctx;
    db_line line = {
        .line_no = atol(PQgetvalue(res, 0, 0)),
        .code = PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1),
        .message = PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2),
        .text = PQgetisnull(res, 0, 3) ? NULL : PQgetvalue(res, 0, 3),
        .len = (size_t)PQgetlength(res, 0, 3),
        .upload_error = PQgetisnull(res, 0, 4) ? NULL : PQgetvalue(res, 0, 4),
    };
    return t->each(&line, t->ctx);
}

typedef struct json_ctx {
    db_json_fn each;
    void *ctx;
    char *json; /* the row's JSON, compacted */
    size_t json_cap;
} json_ctx;

static int db_json_row(const PGresult *res, void *ctx) {
    json_ctx *j = ctx;
    size_t len = db_json_compact_copy(PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0),
                                      &j->json, &j->json_cap);
    return j->each(j->json, len, j->ctx);
}

int db_results_by_line(db_conn *conn, const char *task_id, db_json_fn each, void *ctx) {
    const char *values[] = {task_id};
    json_ctx j = {each, ctx, NULL, 0};
    int err = db_exec_stream(conn, &stmt_by_line, values, db_json_row, &j);
    free(j.json);
    return err;
}

int db_results_lines(db_conn *conn, const char *task_id, bool unprocessed, db_line_fn each,
                     void *ctx) {
    const char *values[] = {task_id, unprocessed ? "true" : "false"};
    lines_ctx t = {each, ctx};
    return db_exec_stream(conn, &stmt_lines, values, db_lines_row, &t);
}
