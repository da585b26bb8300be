#include "task_run.h"

#include "error.h"
#include "events.h"
#include "fault.h"
#include "fetch.h"
#include "intake.h"
#include "log.h"
#include "metrics.h"
#include "owners.h"
#include "prune.h"

#include <stdio.h>
#include <time.h>

/* Downloads task's file_url into its lines in one transaction, fenced by the lease, and sets
 * task->total. Returns 0; BI_EIO with why (FETCH_WHY_MAX bytes) when the download failed (the
 * task fails); BI_EINTERNAL when the node is stopping (the task is handed back); BI_EBUSY or
 * BI_EUNAVAIL. */
static int task_run_fetch(const task_run_env *env, db_conn *conn, db_task *task, bool is_root,
                          char *why) {
    db_upload *db;
    int err = db_fetch_begin(conn, task, &db);
    if (err < 0)
        return err;
    intake in;
    intake_init(&in, db, (size_t)env->limits.max_line_bytes,
                task->test_mode ? env->limits.max_test_mode_lines : 0, env->limits.max_fetch_bytes,
                false);
    intake_file_of_task(&in.file, task, task->file_url);
    fetch_download_opts opts = {.any_address = is_root || env->limits.fetch_any_address,
                                .max_bytes = env->limits.max_fetch_bytes,
                                .timeout_s = env->limits.fetch_timeout_s,
                                .stopping = env->stopping};
    err = fetch_download(task->file_url, &opts, intake_feed, &in, why);
    if (err == 0)
        err = intake_finish(&in, NULL);
    if (err == BI_ETOOBIG && in.too_many_lines)
        snprintf(why, FETCH_WHY_MAX, "a test_mode import may have at most %d lines",
                 env->limits.max_test_mode_lines);
    else if (err == BI_ETOOBIG && in.too_big)
        snprintf(why, FETCH_WHY_MAX, "the file is larger than %lld bytes once decompressed",
                 (long long)env->limits.max_fetch_bytes);
    else if ((err == BI_EINVAL || (err == BI_EIO && in.spool_failed)) && intake_error(&in)[0])
        snprintf(why, FETCH_WHY_MAX, "the file %s", intake_error(&in));
    if (err == 0 && in.lines == 0) {
        snprintf(why, FETCH_WHY_MAX, "the file has no content to import");
        err = BI_EIO;
    }
    if (err == 0 && (err = db_fetch_commit(db, task->lease, in.lines)) == 0) {
        task->total = in.lines;
        task->fetched = true;
    } else if (err != 0) {
        db_upload_abort(db);
    }
    intake_fini(&in);
    if (err == BI_ETOOBIG || (err == BI_EINVAL && why[0]))
        err = BI_EIO; /* the task fails with why */
    return err;
}

/* The prune phase of a feed's task whose import is done: skipped when lines failed, unless the
 * feed prunes on errors. Sets *cancel when a cancel was requested. */
static int task_run_prune(const task_run_env *env, db_conn *conn, db_task *task,
                          const db_user *caller, bool *cancel) {
    db_user root = {.is_root = true};
    db_task now;
    int err = db_tasks_get(conn, task->id, &root, &now);
    if (err < 0)
        return err;
    if (now.failed > 0 && !task->prune_on_errors) {
        log_info("task %s: %lld lines failed: no prune (the feed's prune_on_errors is off)",
                 task->id, (long long)now.failed);
        return 0;
    }
    if ((err = db_tasks_set_phase(conn, task->id, task->lease, DB_PHASE_PRUNE)) < 0)
        return err;
    int64_t pruned = 0;
    err = prune_run(conn, task, caller, task->batch_size, env->statement_timeout_ms, &pruned,
                    cancel);
    if (err == 0)
        log_info("task %s: pruned %lld resources the file did not mention", task->id,
                 (long long)pruned);
    return err;
}

/* Seconds since began (CLOCK_MONOTONIC). */
static double task_run_since(const struct timespec *began) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - began->tv_sec) + (double)(now.tv_nsec - began->tv_nsec) / 1e9;
}

/* Records the end of a run whose import stopped with err (and the download's why): SUCCESS,
 * FAILURE, REVOKED, or PENDING again when the node stops. Returns how the run ended. */
static enum task_run_outcome task_run_end(db_conn *rec, const db_task *task, int err,
                                          const char *why, const waves_outcome *out,
                                          const struct timespec *began) {
    if (err == BI_EBUSY) {
        log_warn("task %s: taken over by another node; this worker lets go", task->id);
        return TASK_RUN_LOST_LEASE;
    }
    if (err == BI_EUNAVAIL) {
        log_warn("task %s: the database went away at line %lld", task->id,
                 (long long)task->checkpoint);
        return TASK_RUN_DB_LOST;
    }
    if (out->stopped && !out->cancel) {
        int released = db_tasks_release(rec, task->id, task->lease);
        log_info("task %s: handed back at line %lld for shutdown%s", task->id,
                 (long long)task->checkpoint, released < 0 ? " (failed: rescue will)" : "");
        return TASK_RUN_HANDED_BACK;
    }
    enum db_task_state state = out->cancel ? DB_TASK_REVOKED
                               : err == 0  ? DB_TASK_SUCCESS
                                           : DB_TASK_FAILURE;
    if (state == DB_TASK_SUCCESS)
        fault_point("before_success");
    char error[FETCH_WHY_MAX + 32];
    if (why[0])
        snprintf(error, sizeof error, "file_url download failed: %s", why);
    else
        snprintf(error, sizeof error, "%s", error_message(err));
    int finish = db_tasks_finish(rec, task->id, task->lease, state, err == 0 ? NULL : error);
    if (finish == 0)
        metrics_task_finished(db_task_state_name(state), task->elapsed_seconds + task_run_since(began));
    log_info("task %s: %s after %lld more lines%s", task->id, db_task_state_name(state),
             (long long)out->processed, finish < 0 ? " (state not recorded)" : "");
    if (finish == BI_EUNAVAIL)
        return TASK_RUN_DB_LOST;
    return out->cancel ? TASK_RUN_CANCELLED : TASK_RUN_FINISHED;
}

enum task_run_outcome task_run_execute(const task_run_env *env, db_conn *conn, db_task *task) {
    struct timespec began; /* the run's time adds to what earlier runs took (elapsed_seconds) */
    clock_gettime(CLOCK_MONOTONIC, &began);
    log_context_set(NULL, task->username, task->id); /* every line of the run names its task */
    if (task->checkpoint == 0)
        metrics_task_started(task->wait_seconds);
    db_user caller = {0};
    snprintf(caller.username, sizeof caller.username, "%s", task->username);
    db_owner user;
    int err = db_owners_lookup(conn, task->username, false, task->username, &user);
    caller.is_root = err == 0 && user.is_root;
    log_info("task %s: started (%lld lines from line %lld%s)", task->id, (long long)task->total,
             (long long)task->checkpoint + 1, task->test_mode ? ", test mode" : "");
    waves_outcome out = {0};
    char why[FETCH_WHY_MAX] = "";
    if (err == 0 && !task->fetched) {
        log_info("task %s: downloading its file_url", task->id);
        err = task_run_fetch(env, conn, task, caller.is_root, why);
        out.stopped = err == BI_EINTERNAL && atomic_load(env->stopping);
        if (err == 0)
            log_info("task %s: downloaded %lld lines", task->id, (long long)task->total);
    }
    db_conn *rec = conn;
    bool own_rec = false;
    if (err == 0 && task->test_mode) {
        err = db_pool_acquire(env->pool, 5000, &rec);
        own_rec = err == 0;
        if (!own_rec)
            rec = conn;
        else if ((err = db_begin(conn)) == 0) /* its one long transaction is bounded too */
            err = db_tasks_batch_timeouts(conn, env->statement_timeout_ms);
    }
    if (err == 0 && !out.stopped)
        err = waves_run(env->waves, conn, rec, task, &caller, &out);
    if (err == 0 && !out.stopped && !out.cancel && task->prune && !task->test_mode) {
        if (atomic_load(env->stopping))
            out.stopped = true; /* the prune starts again where it stopped, on any node */
        else
            err = task_run_prune(env, conn, task, &caller, &out.cancel);
    }
    if (own_rec)
        db_rollback(conn); /* test mode: nothing it did stays */
    enum task_run_outcome outcome = task_run_end(rec, task, err, why, &out, &began);
    if (own_rec)
        db_pool_release(env->pool, rec);
    log_context_clear();
    return outcome;
}

void task_run_hand_back(const task_run_env *env, const db_task *task) {
    for (int delay = 100; !atomic_load(env->stopping); delay = delay < 5000 ? delay * 2 : delay) {
        events_sleep(env->stopping, delay);
        db_conn *conn;
        if (db_pool_acquire(env->pool, 1000, &conn) < 0)
            continue;
        int err = db_tasks_release(conn, task->id, task->lease);
        db_pool_release(env->pool, conn);
        if (err == 0) {
            log_info("task %s: handed back after a database outage", task->id);
            return;
        }
    }
}
