#include "worker.h"

#include "apply.h"
#include "error.h"
#include "fault.h"
#include "log.h"
#include "notify.h"
#include "owners.h"
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
    unsigned long wakeups; /* bumped by workers_wake, under lock */
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

/* Applies one batch of task's lines after its checkpoint on conn and records the results on
 * rec (the same connection, except in test mode), each inside its open transaction. Sets
 * *out_done when no line was left and *out_checkpoint to the batch's last line. */
static int worker_batch(workers *w, db_conn *conn, db_conn *rec, const db_task *task,
                        const db_user *caller, bool *out_done, int64_t *out_checkpoint,
                        bool *out_cancel) {
    db_lines *lines = NULL;
    int err = db_tasks_batch_timeouts(rec, w->cfg.rescue_after_ms / 2);
    if (err == 0)
        err = db_tasks_lines(rec, task->id, task->checkpoint, w->cfg.batch_size, &lines);
    if (err < 0)
        return err;
    size_t n = db_lines_count(lines);
    *out_done = n == 0;
    const char **texts = calloc(n + 1, sizeof *texts);
    size_t *lens = calloc(n + 1, sizeof *lens);
    const char **flagged = calloc(n + 1, sizeof *flagged);
    apply_result *results = calloc(n + 1, sizeof *results);
    db_result *rows = calloc(n + 1, sizeof *rows);
    if (!texts || !lens || !flagged || !results || !rows)
        abort();
    int64_t first = 0, number = 0;
    for (size_t i = 0; i < n; i++) {
        texts[i] = db_lines_get(lines, i, &number, &lens[i], &flagged[i]);
        if (i == 0)
            first = number;
        if (texts[i] == NULL)
            texts[i] = "";
    }
    apply_options opt = {.update_if_exists = task->update_if_exists};
    if (n > 0)
        err = apply_lines(conn, caller, &opt, texts, lens, (int)first, n, results);
    for (size_t i = 0; i < n && err == 0; i++) {
        apply_result *r = &results[i];
        if (flagged[i] != NULL) { /* the upload already knew this line is unreadable */
            int code = worker_upload_error(flagged[i]);
            free(r->message);
            r->message = strdup(error_message(code));
            r->action = "SKIP";
            r->status = 400;
            r->error = code;
        }
        rows[i] = (db_result){.line = r->line,
                              .root = r->root,
                              .action = r->action,
                              .status = r->status,
                              .obj_type = r->type == RULES_NO_TYPE ? NULL : rules_type_name(r->type),
                              .obj_url = r->obj_url[0] ? r->obj_url : NULL,
                              .repo_url = r->repo_url[0] ? r->repo_url : NULL,
                              .owner_url = r->owner_url[0] ? r->owner_url : NULL,
                              .message = r->message ? r->message : "",
                              .error_code = r->error ? error_code(r->error) : NULL};
    }
    if (err == 0 && n > 0)
        err = db_tasks_record_batch(rec, task->id, task->lease, rows, n, number, out_cancel);
    if (err == 0 && n > 0)
        fault_point("mid_batch");
    *out_checkpoint = n > 0 ? number : task->checkpoint;
    apply_results_free(results, n);
    free(rows);
    free(results);
    free(flagged);
    free(lens);
    free(texts);
    db_lines_free(lines);
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

/* Pauses ms milliseconds, or less when the workers stop. */
static void worker_pause(workers *w, int ms) {
    for (int waited = 0; waited < ms && !atomic_load(&w->stopping); waited += 50) {
        struct timespec pause = {0, 50 * 1000000L};
        nanosleep(&pause, NULL);
    }
}

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

/* Runs task (claimed by this worker) to its end on conn, or until the workers stop (the task is
 * handed back), a cancel (REVOKED), or a lost lease (someone else holds it: let go at once). A
 * test-mode task applies every batch in one transaction on conn that is rolled back at the end,
 * and records its results on a second connection, so they survive the rollback and later lines
 * see earlier ones. Returns BI_EUNAVAIL when the database went away (conn is broken). */
static int worker_run(workers *w, db_conn *conn, db_task *task) {
    db_user caller = {0};
    snprintf(caller.username, sizeof caller.username, "%s", task->username);
    db_owner user;
    int err = db_owners_lookup(conn, task->username, false, task->username, &user);
    caller.is_root = err == 0 && user.is_root;
    log_info("task %s: started (%lld lines from line %lld%s)", task->id, (long long)task->total,
             (long long)task->checkpoint + 1, task->test_mode ? ", test mode" : "");
    db_conn *rec = conn;
    bool own_rec = false;
    if (err == 0 && task->test_mode) {
        err = db_pool_acquire(w->cfg.pool, 5000, &rec);
        own_rec = err == 0;
        if (!own_rec)
            rec = conn;
        else if ((err = db_begin(conn)) == 0) /* its one long transaction is bounded too */
            err = db_tasks_batch_timeouts(conn, w->cfg.rescue_after_ms / 2);
    }
    bool done = false, cancel = false, stopped = false;
    int attempt = 1;
    while (err == 0 && !done && !cancel) {
        if (atomic_load(&w->stopping) && !own_rec) {
            stopped = true; /* a test-mode task cannot stop halfway: it runs to its end */
            break;
        }
        if ((err = db_begin(rec)) < 0)
            break;
        int64_t checkpoint = task->checkpoint;
        err = worker_batch(w, conn, rec, task, &caller, &done, &checkpoint, &cancel);
        if (err == 0)
            err = db_commit(rec);
        else
            db_rollback(rec);
        if (err == 0 && checkpoint != task->checkpoint) { /* only what committed counts */
            fault_point("after_batch_commit");
            task->processed += checkpoint - task->checkpoint;
            task->checkpoint = checkpoint;
        }
        /* The batch rolled back whole: running it again applies it exactly once. Test mode's
         * single transaction cannot be replayed that way. */
        if (err == BI_EINTERNAL && !own_rec && attempt < WORKER_BATCH_ATTEMPTS) {
            log_warn("task %s: batch after line %lld failed; attempt %d of %d", task->id,
                     (long long)task->checkpoint, attempt + 1, WORKER_BATCH_ATTEMPTS);
            worker_pause(w, 100 * attempt);
            attempt++;
            err = 0;
        } else if (err == 0) {
            attempt = 1;
        }
    }
    if (own_rec)
        db_rollback(conn); /* test mode: nothing it did stays */
    if (err == BI_EBUSY) {
        log_warn("task %s: taken over by another node; this worker lets go", task->id);
    } else if (err == BI_EUNAVAIL) {
        log_warn("task %s: the database went away at line %lld", task->id,
                 (long long)task->checkpoint);
    } else if (stopped) {
        int released = db_tasks_release(rec, task->id, task->lease);
        log_info("task %s: handed back at line %lld for shutdown%s", task->id,
                 (long long)task->checkpoint, released < 0 ? " (failed: rescue will)" : "");
    } else {
        const char *state = cancel ? "REVOKED" : err == 0 ? "SUCCESS" : "FAILURE";
        if (!cancel && err == 0)
            fault_point("before_success");
        int finish = db_tasks_finish(rec, task->id, task->lease, state,
                                     err == 0 ? NULL : error_message(err));
        log_info("task %s: %s after %lld lines%s", task->id, state, (long long)task->processed,
                 finish < 0 ? " (state not recorded)" : "");
        if (finish == BI_EUNAVAIL)
            err = BI_EUNAVAIL;
    }
    if (own_rec)
        db_pool_release(w->cfg.pool, rec);
    return err == BI_EUNAVAIL ? err : 0;
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
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WORKER_IDLE_POLL_MS / 1000;
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
        int run = 0;
        if (err == 0) {
            worker_hold(w, slot, &task);
            fault_point("after_claim");
            run = worker_run(w, conn, &task);
            worker_hold(w, slot, NULL);
        }
        db_pool_release(w->cfg.pool, conn);
        if (run == BI_EUNAVAIL)
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
        if (rc == 1)
            workers_wake(w);
        else if (rc < 0) /* the database is away: try again after a pause */
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

void workers_stop(workers *w) {
    if (w == NULL)
        return;
    atomic_store(&w->stopping, true);
    workers_wake(w);
    for (int i = 0; i < w->n_started; i++)
        pthread_join(w->threads[i], NULL);
    if (w->listening)
        pthread_join(w->listener, NULL);
    if (w->keeping)
        pthread_join(w->keeper, NULL);
    free(w->slots);
    free(w->conninfo);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w->threads);
    free(w);
}
