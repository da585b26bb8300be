#include "worker.h"

#include "apply.h"
#include "error.h"
#include "fault.h"
#include "fetch.h"
#include "intake.h"
#include "log.h"
#include "notify.h"
#include "owners.h"
#include "plan.h"
#include "pool.h"
#include "prune.h"
#include "tasks.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WORKER_IDLE_POLL_MS 2000 /* an idle worker looks again this often (LISTEN wakes it sooner) */
#define WORKER_BATCH_ATTEMPTS 3  /* a batch that failed inside the database (deadlock, ...) */
#define WORKER_PURGE_EVERY_S 60  /* retention runs this often, in small deletes */
#define WORKER_PURGE_BATCH 200
#define WORKER_READ_LINES 1000   /* lines read from the upload at a time, to plan batches, */
#define WORKER_READ_BYTES (4 << 20) /* and at most this much of their text */

/* What one worker thread holds now, for the heartbeat. */
typedef struct worker_slot {
    char task_id[DB_TASK_ID_MAX];
    int64_t lease;
    bool busy;
} worker_slot;

struct workers {
    workers_config cfg;
    char node[128];
    pthread_t *threads;
    int n_started;
    pthread_t listener, keeper;
    bool listening, keeping;
    char *conninfo;
    worker_slot *slots; /* one per thread, under lock */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_cond_t progress; /* a batch of a task_run finished */
    struct task_run *runs;   /* tasks idle workers may help with */
    unsigned long wakeups; /* bumped by workers_wake, under lock */
    unsigned long endings; /* bumped when any node's task ended (NOTIFY), under lock */
    pthread_cond_t ended;
    atomic_bool stopping;
};

/* The upload's code of a line it flagged, as a BI_E* value. */
static int worker_upload_error(const char *code) {
    static const int errors[] = {BI_EUTF8, BI_ENUL, BI_ELINELONG};
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
        if (strcmp(code, error_code(errors[i])) == 0)
            return errors[i];
    return BI_EJSON;
}

/* Applies batch b of task on conn and records its results on rec (the same connection, except
 * in test mode), inside rec's open transaction. Sets *out_cancel when a cancel was requested. */
/* Applies batch b's lines one at a time, each under its own savepoint, after the database
 * refused a value somewhere in the set-wise statements: a line refused alone gets its own
 * SKIP 400 refused_by_database with the database's message; every other line applies as it
 * would have. Returns 0, or the database's failure. */
static int worker_apply_each(db_conn *conn, const db_user *caller, const apply_options *opt,
                             const plan_batch *b, apply_result *results) {
    for (size_t i = 0; i < b->n; i++) {
        apply_result *r = &results[i];
        int err = db_savepoint(conn);
        if (err == 0)
            err = apply_lines(conn, caller, opt, &b->texts[i], &b->lens[i], &b->numbers[i], 1, r);
        if (err == BI_EREFUSED || err == BI_EINVAL) {
            log_info("line %lld refused by the database: %s", (long long)b->numbers[i],
                     db_refusal(conn));
            static const char prefix[] = "the database refused a value of this line: ";
            free(r->message);
            if ((r->message = malloc(sizeof prefix + strlen(db_refusal(conn)))) == NULL)
                abort();
            strcpy(r->message, prefix);
            strcat(r->message, db_refusal(conn));
            r->line = (int)b->numbers[i];
            r->action = "SKIP";
            r->status = 400;
            r->error = BI_EREFUSED;
            err = db_savepoint_rollback(conn);
        } else if (err == 0) {
            err = db_savepoint_release(conn);
        }
        if (err < 0)
            return err;
    }
    return 0;
}

static int worker_batch(workers *w, db_conn *conn, db_conn *rec, const db_task *task,
                        const db_user *caller, const plan_batch *b, bool *out_cancel) {
    int err = db_tasks_batch_timeouts(rec, w->cfg.rescue_after_ms / 2);
    if (err < 0)
        return err;
    size_t n = b->n;
    apply_result *results = calloc(n, sizeof *results);
    db_result *rows = calloc(n, sizeof *rows);
    if (!results || !rows)
        abort();
    apply_options opt = {.update_if_exists = task->update_if_exists};
    if ((err = db_savepoint(conn)) == 0)
        err = apply_lines(conn, caller, &opt, b->texts, b->lens, b->numbers, n, results);
    if (err == BI_EREFUSED || err == BI_EINVAL) { /* some line's value: find it, apply the rest */
        apply_results_free(results, n);
        memset(results, 0, n * sizeof *results);
        if ((err = db_savepoint_rollback(conn)) == 0)
            err = worker_apply_each(conn, caller, &opt, b, results);
    } else if (err == 0) {
        err = db_savepoint_release(conn);
    }
    for (size_t i = 0; i < n && err == 0; i++) {
        apply_result *r = &results[i];
        if (b->flagged[i] != NULL) { /* the upload already knew this line is unreadable */
            int code = worker_upload_error(b->flagged[i]);
            free(r->message);
            r->message = strdup(error_message(code));
            r->action = "SKIP";
            r->status = 400;
            r->error = code;
        }
        rows[i] = (db_result){.line = r->line,
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
    if (err == 0)
        err = db_tasks_record_batch(rec, task->id, task->lease, rows, n, out_cancel);
    if (err == 0)
        fault_point("mid_batch");
    apply_results_free(results, n);
    free(rows);
    free(results);
    return err;
}

/* Records in slot what the thread holds (task NULL: nothing), for the heartbeat. */
static void worker_hold(workers *w, worker_slot *slot, const db_task *task) {
    pthread_mutex_lock(&w->lock);
    slot->busy = task != NULL;
    if (task != NULL) {
        snprintf(slot->task_id, sizeof slot->task_id, "%s", task->id);
        slot->lease = task->lease;
    }
    pthread_mutex_unlock(&w->lock);
}

void workers_sleep(const atomic_bool *stopping, int ms) {
    for (int waited = 0; waited < ms && !atomic_load(stopping); waited += 50) {
        struct timespec pause = {0, 50 * 1000000L};
        nanosleep(&pause, NULL);
    }
}

/* Pauses ms milliseconds, or less when the workers stop. */
static void worker_pause(workers *w, int ms) { workers_sleep(&w->stopping, ms); }

/* After the database went away mid-task: waits for it to come back, then hands the task back
 * to PENDING so any node continues from its checkpoint (or leaves it to the rescue). */
static void worker_hand_back(workers *w, const db_task *task) {
    for (int delay = 100; !atomic_load(&w->stopping); delay = delay < 5000 ? delay * 2 : delay) {
        worker_pause(w, delay);
        db_conn *conn;
        if (db_pool_acquire(w->cfg.pool, 1000, &conn) < 0)
            continue;
        int err = db_tasks_release(conn, task->id, task->lease);
        db_pool_release(w->cfg.pool, conn);
        if (err == 0) {
            log_info("task %s: handed back after a database outage", task->id);
            return;
        }
    }
}

/* One task this node runs: the batches its plan cut wait in per-partition queues until a
 * worker takes them — the claiming worker, and in the standard queue any idle worker of the
 * node. A partition runs one batch at a time, in order. Guarded by w->lock. */
typedef struct task_run {
    workers *w;
    db_task *task;
    db_user caller;
    db_conn *conn, *rec; /* the claiming worker's: conn applies, rec records (test mode: apart) */
    bool shared;         /* other workers may help: standard queue, not test mode */
    plan_batch *head[PLAN_SLOTS], *tail[PLAN_SLOTS]; /* per plan_batch_slot */
    bool busy[PLAN_SLOTS];
    int queued, running;
    int err;                /* the first failure of a batch */
    bool cancel, stopped;   /* a cancel was requested; the workers stop */
    int64_t processed;      /* lines of the batches committed by this run */
    int64_t *committed;     /* first lines of batches a resumed task committed before */
    size_t n_committed;
    struct task_run *next;  /* in w->runs while shared */
} task_run;

/* Takes a batch of run whose partition is free, or returns NULL. Under w->lock. */
static plan_batch *run_take(task_run *run) {
    for (int part = 0; part < PLAN_SLOTS; part++) {
        plan_batch *b = run->head[part];
        if (b == NULL || run->busy[part])
            continue;
        if ((run->head[part] = b->next) == NULL)
            run->tail[part] = NULL;
        run->busy[part] = true;
        run->queued--;
        run->running++;
        return b;
    }
    return NULL;
}

/* Runs batch b of run on conn (the helper's own, or the claiming worker's) in its own
 * transaction, again when the database failed inside it, then hands the outcome to run. A
 * batch that had already committed (a stale twin did it) counts as done. */
static void run_batch(task_run *run, db_conn *conn, plan_batch *b) {
    workers *w = run->w;
    bool own_rec = run->rec != run->conn;
    db_conn *rec = own_rec ? run->rec : conn;
    bool cancel = false;
    int err = 0;
    for (int attempt = 1;; attempt++) {
        if ((err = db_begin(rec)) < 0)
            break;
        err = worker_batch(w, conn, rec, run->task, &run->caller, b, &cancel);
        if (err == 0)
            err = db_commit(rec);
        else
            db_rollback(rec);
        if (err == 0)
            fault_point("after_batch_commit");
        if (err == BI_ECONFLICT) {
            log_warn("task %s: batch at line %lld had already committed", run->task->id,
                     (long long)b->numbers[0]);
            err = 0;
        }
        /* The batch rolled back whole: running it again applies it exactly once. Test mode's
         * single transaction cannot be replayed that way. */
        if (err != BI_EINTERNAL || own_rec || attempt >= WORKER_BATCH_ATTEMPTS ||
            atomic_load(&w->stopping))
            break;
        log_warn("task %s: batch at line %lld failed; attempt %d of %d", run->task->id,
                 (long long)b->numbers[0], attempt + 1, WORKER_BATCH_ATTEMPTS);
        worker_pause(w, 100 * attempt);
    }
    pthread_mutex_lock(&w->lock);
    run->busy[plan_batch_slot(b)] = false;
    run->running--;
    if (err == 0)
        run->processed += (int64_t)b->n;
    else if (run->err == 0)
        run->err = err;
    run->cancel |= cancel;
    pthread_cond_broadcast(&w->progress);
    pthread_mutex_unlock(&w->lock);
    plan_batch_free(b);
}

/* Whether run should stop taking batches. Under w->lock. */
static bool run_halted(const task_run *run) {
    return run->err != 0 || run->cancel || run->stopped;
}

/* The claiming worker's share: runs run's batches itself while at least limit wait, or with
 * limit 0 until every batch is done; waits while the free partitions' batches run elsewhere.
 * Once run halted, what is queued is dropped. Returns whether run halted. */
static bool run_drain(task_run *run, int limit) {
    workers *w = run->w;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        if (run_halted(run))
            for (int part = 0; part < PLAN_SLOTS; part++)
                while (run->head[part] != NULL) {
                    plan_batch *b = run->head[part];
                    run->head[part] = b->next;
                    run->tail[part] = NULL;
                    plan_batch_free(b);
                    run->queued--;
                }
        if (limit > 0 ? run->queued < limit : run->queued == 0 && run->running == 0)
            break;
        plan_batch *b = run_take(run);
        if (b != NULL) {
            pthread_mutex_unlock(&w->lock);
            run_batch(run, run->conn, b);
            pthread_mutex_lock(&w->lock);
        } else {
            pthread_cond_wait(&w->progress, &w->lock);
        }
    }
    bool halted = run_halted(run);
    pthread_mutex_unlock(&w->lock);
    return halted;
}

static int run_compare_lines(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The plan's emit: queues a batch (unless a resumed task committed it before) and lets the
 * claiming worker run batches while enough wait; at a barrier, waits for all of them and
 * moves the checkpoint. Returns 1 to stop the plan. */
static int run_emit(plan_batch *b, int64_t through, void *ctx) {
    task_run *run = ctx;
    workers *w = run->w;
    bool test_mode = run->rec != run->conn;
    if (atomic_load(&w->stopping) && !test_mode) {
        pthread_mutex_lock(&w->lock);
        run->stopped = true; /* a test-mode task cannot stop halfway: it runs to its end */
        pthread_mutex_unlock(&w->lock);
    }
    if (b != NULL) {
        if (bsearch(&b->numbers[0], run->committed, run->n_committed, sizeof *run->committed,
                    run_compare_lines) != NULL) {
            plan_batch_free(b);
            return 0;
        }
        pthread_mutex_lock(&w->lock);
        int slot = plan_batch_slot(b);
        b->next = NULL;
        if (run->tail[slot] != NULL)
            run->tail[slot]->next = b;
        else
            run->head[slot] = b;
        run->tail[slot] = b;
        run->queued++;
        pthread_mutex_unlock(&w->lock);
        if (run->shared)
            workers_wake(w);
        return run_drain(run, run->shared ? w->cfg.threads : 1) ? 1 : 0;
    }
    if (run_drain(run, 0))
        return 1;
    bool cancel = false;
    int err = db_tasks_checkpoint(run->rec, run->task->id, run->task->lease, through, &cancel);
    pthread_mutex_lock(&w->lock);
    if (err < 0 && run->err == 0)
        run->err = err;
    run->cancel |= cancel;
    if (err == 0)
        run->task->checkpoint = through;
    bool halted = run_halted(run);
    pthread_mutex_unlock(&w->lock);
    return halted ? 1 : 0;
}

/* Puts run in (or takes it out of) the node's list of tasks that idle workers help with. */
static void run_share(task_run *run, bool on) {
    workers *w = run->w;
    pthread_mutex_lock(&w->lock);
    task_run **at = &w->runs;
    while (*at != NULL && *at != run)
        at = &(*at)->next;
    if (on && *at == NULL) {
        run->next = w->runs;
        w->runs = run;
    } else if (!on && *at != NULL) {
        *at = run->next;
    }
    pthread_mutex_unlock(&w->lock);
}

/* Plans run's task from its checkpoint and runs the batches. Returns 0 or the first error. */
static int run_plan(task_run *run) {
    workers *w = run->w;
    db_task *task = run->task;
    int err = db_tasks_committed(run->rec, task->id, task->checkpoint, &run->committed,
                                 &run->n_committed);
    if (err < 0)
        return err;
    plan *p = plan_create(plan_cut_of(task), run_emit, run); /* as fixed at its creation */
    int64_t after = task->checkpoint;
    int stop = 0;
    while (stop == 0) {
        db_lines *lines = NULL;
        if ((err = db_tasks_lines(run->conn, task->id, after, WORKER_READ_LINES,
                                  WORKER_READ_BYTES, &lines)) < 0)
            break;
        size_t n = db_lines_count(lines);
        for (size_t i = 0; i < n && stop == 0; i++) {
            size_t len;
            const char *flagged;
            const char *text = db_lines_get(lines, i, &after, &len, &flagged);
            if (flagged != NULL) /* a static copy: the lines are freed before the batch runs */
                flagged = error_code(worker_upload_error(flagged));
            stop = plan_add(p, after, text ? text : "", len, flagged);
        }
        db_lines_free(lines);
        if (n == 0 && stop == 0) {
            stop = plan_finish(p);
            break;
        }
    }
    plan_free(p);
    run_drain(run, 0); /* whatever stopped the plan, nothing runs on after this */
    pthread_mutex_lock(&w->lock);
    if (err == 0)
        err = run->err;
    pthread_mutex_unlock(&w->lock);
    return err;
}

/* Downloads task's file_url into its lines in one transaction, fenced by the lease, and sets
 * task->total. Returns 0; BI_EIO with why (FETCH_WHY_MAX bytes) when the download failed (the
 * task fails); BI_EINTERNAL when the node is stopping (the task is handed back); BI_EBUSY or
 * BI_EUNAVAIL. */
static int worker_fetch(workers *w, db_conn *conn, db_task *task, bool is_root, char *why) {
    db_upload *db;
    int err = db_fetch_begin(conn, task, &db);
    if (err < 0)
        return err;
    intake in;
    intake_init(&in, db, (size_t)w->cfg.max_line_bytes,
                task->test_mode ? w->cfg.max_test_mode_lines : 0, false);
    fetch_download_opts opts = {.any_address = is_root || w->cfg.fetch_any_address,
                                .max_bytes = w->cfg.max_fetch_bytes,
                                .timeout_s = w->cfg.fetch_timeout_s,
                                .stopping = &w->stopping};
    err = fetch_download(task->file_url, &opts, intake_feed, &in, why);
    if (err == 0)
        err = intake_finish(&in, NULL);
    if (err == BI_ETOOBIG && in.too_many_lines)
        snprintf(why, FETCH_WHY_MAX, "a test_mode import may have at most %d lines",
                 w->cfg.max_test_mode_lines);
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
    if (err == BI_ETOOBIG)
        err = BI_EIO; /* the task fails with why */
    return err;
}

/* The prune phase of a feed's task whose import is done: skipped when lines failed, unless the
 * feed prunes on errors. Sets *cancel when a cancel was requested. */
static int worker_prune(workers *w, db_conn *conn, db_task *task, const db_user *caller,
                        bool *cancel) {
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
    err = prune_run(conn, task, caller, task->batch_size, w->cfg.rescue_after_ms / 2, &pruned,
                    cancel);
    if (err == 0)
        log_info("task %s: pruned %lld resources the file did not mention", task->id,
                 (long long)pruned);
    return err;
}

/* How a run of a task ended, for the worker that ran it. */
enum worker_outcome {
    WORKER_FINISHED,    /* SUCCESS or FAILURE recorded */
    WORKER_CANCELLED,   /* REVOKED recorded: a cancel was seen at a batch boundary */
    WORKER_HANDED_BACK, /* the node is stopping: back to PENDING, from its checkpoint */
    WORKER_LOST_LEASE,  /* another node holds the task now: this worker lets go */
    WORKER_DB_LOST,     /* the database went away: conn is broken, the task to be handed back */
};

/* Runs task (claimed by this worker) to its end on conn, or until the workers stop (the task is
 * handed back), a cancel (REVOKED), or a lost lease (someone else holds it: let go at once). A
 * test-mode task applies every batch in one transaction on conn that is rolled back at the end,
 * and records its results on a second connection, so they survive the rollback and later lines
 * see earlier ones. Returns how the run ended. */
static enum worker_outcome worker_run(workers *w, db_conn *conn, db_task *task) {
    task_run run = {.w = w, .task = task, .conn = conn, .rec = conn};
    snprintf(run.caller.username, sizeof run.caller.username, "%s", task->username);
    db_owner user;
    int err = db_owners_lookup(conn, task->username, false, task->username, &user);
    run.caller.is_root = err == 0 && user.is_root;
    log_info("task %s: started (%lld lines from line %lld%s)", task->id, (long long)task->total,
             (long long)task->checkpoint + 1, task->test_mode ? ", test mode" : "");
    char why[FETCH_WHY_MAX] = "";
    if (err == 0 && !task->fetched) {
        log_info("task %s: downloading its file_url", task->id);
        err = worker_fetch(w, conn, task, run.caller.is_root, why);
        run.stopped = err == BI_EINTERNAL && atomic_load(&w->stopping);
        if (err == 0)
            log_info("task %s: downloaded %lld lines", task->id, (long long)task->total);
    }
    bool own_rec = false;
    if (err == 0 && task->test_mode) {
        err = db_pool_acquire(w->cfg.pool, 5000, &run.rec);
        own_rec = err == 0;
        if (!own_rec)
            run.rec = conn;
        else if ((err = db_begin(conn)) == 0) /* its one long transaction is bounded too */
            err = db_tasks_batch_timeouts(conn, w->cfg.rescue_after_ms / 2);
    }
    run.shared = !task->named && !task->test_mode && w->cfg.threads > 1;
    if (err == 0 && !run.stopped) {
        if (run.shared)
            run_share(&run, true);
        err = run_plan(&run);
        run_share(&run, false);
    }
    if (err == 0 && !run.stopped && !run.cancel && task->prune && !task->test_mode) {
        if (atomic_load(&w->stopping))
            run.stopped = true; /* the prune starts again where it stopped, on any node */
        else
            err = worker_prune(w, conn, task, &run.caller, &run.cancel);
    }
    free(run.committed);
    db_conn *rec = run.rec;
    if (own_rec)
        db_rollback(conn); /* test mode: nothing it did stays */
    enum worker_outcome outcome;
    if (err == BI_EBUSY) {
        outcome = WORKER_LOST_LEASE;
        log_warn("task %s: taken over by another node; this worker lets go", task->id);
    } else if (err == BI_EUNAVAIL) {
        outcome = WORKER_DB_LOST;
        log_warn("task %s: the database went away at line %lld", task->id,
                 (long long)task->checkpoint);
    } else if (run.stopped && !run.cancel) {
        outcome = WORKER_HANDED_BACK;
        int released = db_tasks_release(rec, task->id, task->lease);
        log_info("task %s: handed back at line %lld for shutdown%s", task->id,
                 (long long)task->checkpoint, released < 0 ? " (failed: rescue will)" : "");
    } else {
        enum db_task_state state = run.cancel ? DB_TASK_REVOKED
                                   : err == 0 ? DB_TASK_SUCCESS
                                              : DB_TASK_FAILURE;
        outcome = run.cancel ? WORKER_CANCELLED : WORKER_FINISHED;
        if (!run.cancel && err == 0)
            fault_point("before_success");
        char error[FETCH_WHY_MAX + 32];
        if (why[0])
            snprintf(error, sizeof error, "file_url download failed: %s", why);
        else
            snprintf(error, sizeof error, "%s", error_message(err));
        int finish = db_tasks_finish(rec, task->id, task->lease, state, err == 0 ? NULL : error);
        log_info("task %s: %s after %lld more lines%s", task->id, db_task_state_name(state),
                 (long long)run.processed,
                 finish < 0 ? " (state not recorded)" : "");
        if (finish == BI_EUNAVAIL)
            outcome = WORKER_DB_LOST;
    }
    if (own_rec)
        db_pool_release(w->cfg.pool, rec);
    return outcome;
}

/* Takes a batch of any shared run of this node that has one waiting; NULL when none. */
static plan_batch *worker_find_help(workers *w, task_run **out_run) {
    plan_batch *b = NULL;
    pthread_mutex_lock(&w->lock);
    for (task_run *run = w->runs; run != NULL && b == NULL; run = run->next)
        if (!run_halted(run) && (b = run_take(run)) != NULL)
            *out_run = run;
    pthread_mutex_unlock(&w->lock);
    return b;
}

/* The wake-up count now: worker_idle(w, it) waits for the next wake-up. */
static unsigned long worker_wakeups(workers *w) {
    pthread_mutex_lock(&w->lock);
    unsigned long seen = w->wakeups;
    pthread_mutex_unlock(&w->lock);
    return seen;
}

/* Waits until workers_wake, stop, or the poll interval. */
static void worker_idle(workers *w, unsigned long seen) {
    struct timespec until;
    db_deadline(CLOCK_REALTIME, WORKER_IDLE_POLL_MS, &until);
    pthread_mutex_lock(&w->lock);
    while (w->wakeups == seen && !atomic_load(&w->stopping))
        if (pthread_cond_timedwait(&w->wake, &w->lock, &until) != 0)
            break;
    pthread_mutex_unlock(&w->lock);
}

typedef struct worker_arg {
    workers *w;
    worker_slot *slot;
} worker_arg;

static void *worker_main(void *arg) {
    workers *w = ((worker_arg *)arg)->w;
    worker_slot *slot = ((worker_arg *)arg)->slot;
    free(arg);
    while (!atomic_load(&w->stopping)) {
        unsigned long seen = worker_wakeups(w);
        db_conn *conn;
        if (db_pool_acquire(w->cfg.pool, WORKER_IDLE_POLL_MS, &conn) < 0) {
            worker_idle(w, seen);
            continue;
        }
        db_task task;
        int err = db_tasks_claim(conn, w->node, &task);
        task_run *helped;
        plan_batch *help = err < 0 ? worker_find_help(w, &helped) : NULL;
        if (help != NULL) { /* no task waits: help with one under way on this node */
            run_batch(helped, conn, help);
            db_pool_release(w->cfg.pool, conn);
            continue;
        }
        enum worker_outcome outcome = WORKER_FINISHED;
        if (err == 0) {
            worker_hold(w, slot, &task);
            fault_point("after_claim");
            outcome = worker_run(w, conn, &task);
            worker_hold(w, slot, NULL);
        }
        db_pool_release(w->cfg.pool, conn);
        if (outcome == WORKER_DB_LOST)
            worker_hand_back(w, &task);
        if (err < 0)
            worker_idle(w, seen);
    }
    return NULL;
}

/* Wakes the workers whenever a task is queued on any node (NOTIFY). */
static void *worker_listen(void *arg) {
    workers *w = arg;
    db_listener *l = db_listener_open(w->conninfo);
    while (!atomic_load(&w->stopping)) {
        int rc = db_listener_wait(l, 250);
        if (rc > 0 && (rc & DB_NOTIFY_QUEUED))
            workers_wake(w);
        if (rc > 0 && (rc & DB_NOTIFY_DONE)) {
            pthread_mutex_lock(&w->lock);
            w->endings++;
            pthread_cond_broadcast(&w->ended);
            pthread_mutex_unlock(&w->lock);
        }
        if (rc < 0) /* the database is away: try again after a pause */
            worker_idle(w, worker_wakeups(w));
    }
    db_listener_close(l);
    return NULL;
}

/* Heart-beats the tasks this node runs, rescues other nodes' silent tasks, and purges old ones,
 * on a connection of its own so a busy pool never delays a heartbeat. */
static void *worker_keep(void *arg) {
    workers *w = arg;
    db_pool *own;
    if (db_pool_create(w->conninfo, 1, &own) < 0)
        return NULL;
    int n_slots = w->cfg.threads;
    const char **ids = calloc((size_t)n_slots, sizeof *ids);
    char(*id_buf)[DB_TASK_ID_MAX] = calloc((size_t)n_slots, sizeof *id_buf);
    int64_t *leases = calloc((size_t)n_slots, sizeof *leases);
    if (!ids || !id_buf || !leases)
        abort();
    time_t last_purge = 0;
    while (!atomic_load(&w->stopping)) {
        size_t n = 0;
        pthread_mutex_lock(&w->lock);
        for (int i = 0; i < n_slots; i++)
            if (w->slots[i].busy) {
                snprintf(id_buf[n], sizeof id_buf[n], "%s", w->slots[i].task_id);
                ids[n] = id_buf[n];
                leases[n++] = w->slots[i].lease;
            }
        pthread_mutex_unlock(&w->lock);
        db_conn *conn;
        if (db_pool_acquire(own, 1000, &conn) == 0) {
            long rescued = 0, purged = 0;
            db_tasks_heartbeat(conn, ids, leases, n);
            if (db_tasks_rescue(conn, w->cfg.rescue_after_ms, &rescued) == 0 && rescued > 0)
                log_warn("rescued %ld task(s) whose node went silent", rescued);
            if (time(NULL) - last_purge >= WORKER_PURGE_EVERY_S) {
                last_purge = time(NULL);
                while (db_tasks_purge(conn, w->cfg.retention_days, WORKER_PURGE_BATCH,
                                      &purged) == 0 &&
                       purged == WORKER_PURGE_BATCH && !atomic_load(&w->stopping))
                    continue;
            }
            db_pool_release(own, conn);
        }
        worker_pause(w, w->cfg.heartbeat_ms);
    }
    free(leases);
    free(id_buf);
    free(ids);
    db_pool_destroy(own);
    return NULL;
}

int workers_start(const workers_config *cfg, workers **out) {
    workers *w = calloc(1, sizeof *w);
    if (w == NULL || (w->threads = calloc((size_t)cfg->threads, sizeof *w->threads)) == NULL)
        abort();
    w->cfg = *cfg;
    snprintf(w->node, sizeof w->node, "%s", cfg->node);
    w->cfg.node = w->node;
    if ((w->conninfo = strdup(cfg->conninfo)) == NULL)
        abort();
    w->cfg.conninfo = w->conninfo;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    pthread_cond_init(&w->progress, NULL);
    pthread_cond_init(&w->ended, NULL);
    if ((w->slots = calloc((size_t)cfg->threads, sizeof *w->slots)) == NULL)
        abort();
    for (int i = 0; i < cfg->threads; i++) {
        worker_arg *arg = malloc(sizeof *arg);
        if (arg == NULL)
            abort();
        *arg = (worker_arg){w, &w->slots[i]};
        if (pthread_create(&w->threads[i], NULL, worker_main, arg) != 0) {
            free(arg);
            log_error("cannot start import worker %d", i + 1);
            workers_stop(w);
            return BI_EINTERNAL;
        }
        w->n_started++;
    }
    if (pthread_create(&w->listener, NULL, worker_listen, w) != 0) {
        log_error("cannot start the import listener");
        workers_stop(w);
        return BI_EINTERNAL;
    }
    w->listening = true;
    if (pthread_create(&w->keeper, NULL, worker_keep, w) != 0) {
        log_error("cannot start the heartbeat thread");
        workers_stop(w);
        return BI_EINTERNAL;
    }
    w->keeping = true;
    *out = w;
    return 0;
}

void workers_wake(workers *w) {
    pthread_mutex_lock(&w->lock);
    w->wakeups++;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
}

unsigned long workers_endings(workers *w) {
    pthread_mutex_lock(&w->lock);
    unsigned long seen = w->endings;
    pthread_mutex_unlock(&w->lock);
    return seen;
}

void workers_await_ending(workers *w, unsigned long seen, int ms) {
    struct timespec until;
    db_deadline(CLOCK_REALTIME, ms, &until);
    pthread_mutex_lock(&w->lock);
    while (w->endings == seen && !atomic_load(&w->stopping))
        if (pthread_cond_timedwait(&w->ended, &w->lock, &until) != 0)
            break;
    pthread_mutex_unlock(&w->lock);
}

void workers_release_waiters(workers *w) {
    pthread_mutex_lock(&w->lock);
    w->endings++;
    pthread_cond_broadcast(&w->ended);
    pthread_mutex_unlock(&w->lock);
}

void workers_stop(workers *w) {
    if (w == NULL)
        return;
    atomic_store(&w->stopping, true);
    workers_wake(w);
    pthread_mutex_lock(&w->lock);
    pthread_cond_broadcast(&w->ended);
    pthread_mutex_unlock(&w->lock);
    for (int i = 0; i < w->n_started; i++)
        pthread_join(w->threads[i], NULL);
    if (w->listening)
        pthread_join(w->listener, NULL);
    if (w->keeping)
        pthread_join(w->keeper, NULL);
    free(w->slots);
    free(w->conninfo);
    pthread_cond_destroy(&w->wake);
    pthread_cond_destroy(&w->progress);
    pthread_cond_destroy(&w->ended);
    pthread_mutex_destroy(&w->lock);
    free(w->threads);
    free(w);
}
