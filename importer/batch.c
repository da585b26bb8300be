#include "batch.h"

#include "apply.h"
#include "error.h"
#include "events.h"
#include "fault.h"
#include "log.h"
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH_ATTEMPTS 3 /* a batch that failed inside the database (deadlock, ...) */

int batch_upload_error(const char *code) {
    static const int errors[] = {BI_EUTF8, BI_ENUL, BI_ELINELONG};
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
        if (strcmp(code, error_code(errors[i])) == 0)
            return errors[i];
    return BI_EJSON;
}

/* Makes r line number's SKIP 400 with the database's refusal on conn as its message. */
static void batch_refused(apply_result *r, int64_t number, const db_conn *conn) {
    static const char prefix[] = "the database refused a value of this line: ";
    log_info("line %lld refused by the database: %s", (long long)number, db_refusal(conn));
    free(r->message);
    if ((r->message = malloc(sizeof prefix + strlen(db_refusal(conn)))) == NULL)
        abort();
    strcpy(r->message, prefix);
    strcat(r->message, db_refusal(conn));
    r->line = (int)number;
    r->action = "SKIP";
    r->status = 400;
    r->error = BI_EREFUSED;
}

/* Applies batch b's lines one at a time, each under its own savepoint, after the database
 * refused a value somewhere in the set-wise statements: a line refused alone gets its own
 * SKIP 400 refused_by_database with the database's message; every other line applies as it
 * would have. Returns 0, or the database's failure. */
static int batch_apply_each(db_conn *conn, const db_user *caller, const apply_options *opt,
                            const plan_batch *b, apply_result *results) {
    for (size_t i = 0; i < b->n; i++) {
        apply_result *r = &results[i];
        int err = db_savepoint(conn);
        if (err == 0)
            err = apply_lines(conn, caller, opt, &b->texts[i], &b->lens[i], &b->numbers[i], 1, r);
        if (err == BI_EREFUSED || err == BI_EINVAL) {
            batch_refused(r, b->numbers[i], conn);
            err = db_savepoint_rollback(conn);
        } else if (err == 0) {
            err = db_savepoint_release(conn);
        }
        if (err < 0)
            return err;
    }
    return 0;
}

/* Undoes a failed try of b on conn: its results are freed and zeroed, and the batch's writes
 * rolled back to its savepoint; the next try's inserts are careful (db_content_insert). */
static int batch_undo_try(db_conn *conn, const plan_batch *b, apply_result *results,
                          apply_options *opt) {
    apply_results_free(results, b->n);
    memset(results, 0, b->n * sizeof *results);
    opt->careful_inserts = true;
    return db_savepoint_rollback(conn);
}

/* Applies b's lines on conn into results (b->n of them, zeroed): set-wise, again with careful
 * inserts when a key appeared under it, or line by line when the database refused a value.
 * Returns 0 or the database's failure. */
static int batch_apply(db_conn *conn, const db_user *caller, const db_task *task,
                       const plan_batch *b, apply_result *results) {
    apply_options opt = {.update_if_exists = task->update_if_exists, .task = task};
    cJSON *delete_values = task->action_field[0] ? cJSON_Parse(task->delete_values) : NULL;
    if (delete_values != NULL) {
        opt.action_field = task->action_field;
        opt.delete_values = delete_values;
    }
    int err = db_savepoint(conn);
    if (err == 0)
        err = apply_lines(conn, caller, &opt, b->texts, b->lens, b->numbers, b->n, results);
    if (err == BI_ECONFLICT && (err = batch_undo_try(conn, b, results, &opt)) == 0)
        err = apply_lines(conn, caller, &opt, b->texts, b->lens, b->numbers, b->n, results);
    if (err == BI_EREFUSED || err == BI_EINVAL) { /* some line's value: find it, apply the rest */
        if ((err = batch_undo_try(conn, b, results, &opt)) == 0)
            err = batch_apply_each(conn, caller, &opt, b, results);
    } else if (err == 0) {
        err = db_savepoint_release(conn);
    }
    cJSON_Delete(delete_values);
    return err;
}

/* The row to record for result r of line i of b (borrowing r's strings). */
static db_result batch_row(const plan_batch *b, size_t i, apply_result *r) {
    if (b->flagged[i] != NULL) { /* the upload already knew this line is unreadable */
        int code = batch_upload_error(b->flagged[i]);
        free(r->message);
        r->message = strdup(error_message(code));
        r->action = "SKIP";
        r->status = 400;
        r->error = code;
    }
    if (r->csv_row > 0 && r->status >= 400 && r->message != NULL) { /* the row to fix */
        size_t cap = strlen(r->message) + 40;
        char *message = malloc(cap);
        if (message == NULL)
            abort();
        snprintf(message, cap, "CSV row %lld: %s", (long long)r->csv_row, r->message);
        free(r->message);
        r->message = message;
        r->csv_row = 0;
    }
    return (db_result){.line = r->line,
                       .root = r->root ? r->root : "/",
                       .action = r->action,
                       .status = r->status,
                       .obj_type = r->type == RULES_NO_TYPE ? NULL : rules_type_name(r->type),
                       .obj_url = r->obj_url && r->obj_url[0] ? r->obj_url : NULL,
                       .repo_url = r->repo_url && r->repo_url[0] ? r->repo_url : NULL,
                       .owner_url = r->owner_url && r->owner_url[0] ? r->owner_url : NULL,
                       .message = r->message ? r->message : "",
                       .error_code = r->error ? error_code(r->error) : NULL};
}

#define BATCH_TALLY_MAX 32 /* distinct (action, status) pairs a batch's metrics keep */

/* A batch's lines by (action, status), counted into the node's metrics once it commits. */
typedef struct batch_pair {
    const char *action;
    int status;
    long n;
} batch_pair;

typedef struct batch_tally {
    batch_pair pairs[BATCH_TALLY_MAX];
    int n_pairs;
    long lines;
} batch_tally;

static void batch_tally_add(batch_tally *t, const char *action, int status) {
    t->lines++;
    for (int i = 0; i < t->n_pairs; i++)
        if (t->pairs[i].status == status && strcmp(t->pairs[i].action, action) == 0) {
            t->pairs[i].n++;
            return;
        }
    if (t->n_pairs < BATCH_TALLY_MAX)
        t->pairs[t->n_pairs++] = (batch_pair){action, status, 1};
}

/* One attempt of b inside rec's open transaction; its lines' outcomes into *tally. */
static int batch_attempt(const batch_env *env, db_conn *conn, db_conn *rec, const db_task *task,
                         const db_user *caller, const plan_batch *b, bool *out_cancel,
                         batch_tally *tally) {
    int err = db_tasks_batch_timeouts(rec, env->statement_timeout_ms);
    if (err < 0)
        return err;
    size_t n = b->n;
    apply_result *results = calloc(n, sizeof *results);
    db_result *rows = calloc(n, sizeof *rows);
    if (!results || !rows)
        abort();
    err = batch_apply(conn, caller, task, b, results);
    for (size_t i = 0; i < n && err == 0; i++) {
        rows[i] = batch_row(b, i, &results[i]);
        batch_tally_add(tally, rows[i].action, rows[i].status);
    }
    if (err == 0)
        err = db_tasks_record_batch(rec, task->id, task->lease, rows, n, out_cancel);
    if (err == 0)
        fault_point("mid_batch");
    apply_results_free(results, n);
    free(rows);
    free(results);
    return err;
}

/* Counts a committed batch into the node's metrics. */
static void batch_count(const batch_tally *t, const struct timespec *began) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    metrics_batch((double)(now.tv_sec - began->tv_sec) + (double)(now.tv_nsec - began->tv_nsec) / 1e9,
                  t->lines);
    for (int i = 0; i < t->n_pairs; i++)
        metrics_lines(t->pairs[i].action, t->pairs[i].status, t->pairs[i].n);
}

int batch_commit(const batch_env *env, db_conn *conn, db_conn *rec, const db_task *task,
                 const db_user *caller, const plan_batch *b, bool *out_cancel) {
    bool own_transaction = rec == conn;
    bool cancel = false;
    int err = 0;
    struct timespec began;
    clock_gettime(CLOCK_MONOTONIC, &began);
    for (int attempt = 1;; attempt++) {
        if ((err = db_begin(rec)) < 0)
            break;
        batch_tally tally = {.n_pairs = 0};
        err = batch_attempt(env, conn, rec, task, caller, b, &cancel, &tally);
        if (err == 0)
            err = db_commit(rec);
        else
            db_rollback(rec);
        if (err == 0 && own_transaction) /* applied for good (test mode rolls back at its end) */
            batch_count(&tally, &began);
        if (err == 0)
            fault_point("after_batch_commit");
        if (err == BI_ECONFLICT) {
            log_warn("task %s: batch at line %lld had already committed", task->id,
                     (long long)b->numbers[0]);
            err = 0;
        }
        /* The batch rolled back whole: running it again applies it exactly once. Test mode's
         * single transaction cannot be replayed that way. */
        if (err != BI_EINTERNAL || !own_transaction || attempt >= BATCH_ATTEMPTS ||
            atomic_load(env->stopping))
            break;
        log_warn("task %s: batch at line %lld failed; attempt %d of %d", task->id,
                 (long long)b->numbers[0], attempt + 1, BATCH_ATTEMPTS);
        events_sleep(env->stopping, 100 * attempt);
    }
    if (err == 0)
        *out_cancel = cancel;
    return err;
}
