#include "waves.h"

#include "chunks.h"
#include "error.h"
#include "plan.h"

#include <pthread.h>
#include <stdlib.h>

#define WAVES_READ_LINES 1000       /* lines read from the upload at a time, to plan batches, */
#define WAVES_READ_BYTES (4 << 20)  /* and at most this much of their text */

/* One task this node runs. Guarded by ws->lock. */
typedef struct waves_task {
    waves *ws;
    db_task *task;
    const db_user *caller;
    db_conn *conn, *rec; /* the claiming worker's: conn applies, rec records (test mode: apart) */
    bool shared;         /* other workers may help: standard queue, not test mode */
    int max_running;     /* OCL's parallel: at most this many of its batches at once */
    plan_batch *head[PLAN_SLOTS], *tail[PLAN_SLOTS]; /* per plan_batch_slot */
    bool busy[PLAN_SLOTS];
    int queued, running;
    int err;               /* the first failure of a batch */
    waves_outcome out;
    int64_t *committed;    /* first lines of batches a resumed task committed before */
    size_t n_committed;
    struct waves_task *next; /* in ws->shared while shared */
} waves_task;

struct waves {
    waves_config cfg;
    pthread_mutex_t lock;
    pthread_cond_t progress; /* a batch finished */
    waves_task *shared;      /* tasks idle workers may help with */
};

waves *waves_create(const waves_config *cfg) {
    waves *ws = calloc(1, sizeof *ws);
    if (ws == NULL)
        abort();
    ws->cfg = *cfg;
    pthread_mutex_init(&ws->lock, NULL);
    pthread_cond_init(&ws->progress, NULL);
    return ws;
}

void waves_destroy(waves *ws) {
    if (ws == NULL)
        return;
    pthread_cond_destroy(&ws->progress);
    pthread_mutex_destroy(&ws->lock);
    free(ws);
}

/* Takes a batch of t whose partition is free, while fewer than its parallel run, or returns
 * NULL. Under ws->lock. */
static plan_batch *waves_take(waves_task *t) {
    if (t->running >= t->max_running)
        return NULL;
    for (int part = 0; part < PLAN_SLOTS; part++) {
        plan_batch *b = t->head[part];
        if (b == NULL || t->busy[part])
            continue;
        if ((t->head[part] = b->next) == NULL)
            t->tail[part] = NULL;
        t->busy[part] = true;
        t->queued--;
        t->running++;
        return b;
    }
    return NULL;
}

/* Whether t should stop taking batches. Under ws->lock. */
static bool waves_halted(const waves_task *t) {
    return t->err != 0 || t->out.cancel || t->out.stopped;
}

/* Commits batch b of t on conn (a helper's, or the claiming worker's), then hands the outcome
 * to t and frees b. */
static void waves_commit(waves_task *t, db_conn *conn, plan_batch *b) {
    waves *ws = t->ws;
    bool cancel = false;
    db_conn *rec = t->rec != t->conn ? t->rec : conn;
    int err = batch_commit(&ws->cfg.batch, conn, rec, t->task, t->caller, b, &cancel);
    pthread_mutex_lock(&ws->lock);
    t->busy[plan_batch_slot(b)] = false;
    t->running--;
    if (err == 0)
        t->out.processed += (int64_t)b->n;
    else if (t->err == 0)
        t->err = err;
    t->out.cancel |= cancel;
    pthread_cond_broadcast(&ws->progress);
    pthread_mutex_unlock(&ws->lock);
    plan_batch_free(b);
}

/* The claiming worker's share: runs t's batches itself while at least limit wait, or with
 * limit 0 until every batch is done; waits while the free partitions' batches run elsewhere.
 * Once t halted, what is queued is dropped. Returns whether t halted. */
static bool waves_drain(waves_task *t, int limit) {
    waves *ws = t->ws;
    pthread_mutex_lock(&ws->lock);
    for (;;) {
        if (waves_halted(t))
            for (int part = 0; part < PLAN_SLOTS; part++)
                while (t->head[part] != NULL) {
                    plan_batch *b = t->head[part];
                    t->head[part] = b->next;
                    t->tail[part] = NULL;
                    plan_batch_free(b);
                    t->queued--;
                }
        if (limit > 0 ? t->queued < limit : t->queued == 0 && t->running == 0)
            break;
        plan_batch *b = waves_take(t);
        if (b != NULL) {
            pthread_mutex_unlock(&ws->lock);
            waves_commit(t, t->conn, b);
            pthread_mutex_lock(&ws->lock);
        } else {
            pthread_cond_wait(&ws->progress, &ws->lock);
        }
    }
    bool halted = waves_halted(t);
    pthread_mutex_unlock(&ws->lock);
    return halted;
}

static int waves_compare_lines(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Queues batch b of t (unless a resumed task committed it before). Under no lock. */
static void waves_queue(waves_task *t, plan_batch *b) {
    if (bsearch(&b->numbers[0], t->committed, t->n_committed, sizeof *t->committed,
                waves_compare_lines) != NULL) {
        plan_batch_free(b);
        return;
    }
    pthread_mutex_lock(&t->ws->lock);
    int slot = plan_batch_slot(b);
    b->next = NULL;
    if (t->tail[slot] != NULL)
        t->tail[slot]->next = b;
    else
        t->head[slot] = b;
    t->tail[slot] = b;
    t->queued++;
    pthread_mutex_unlock(&t->ws->lock);
}

/* Waits for every batch of t, then moves the task's checkpoint through line through. Returns
 * whether t halted. */
static bool waves_barrier(waves_task *t, int64_t through) {
    if (waves_drain(t, 0))
        return true;
    bool cancel = false;
    int err = db_tasks_checkpoint(t->rec, t->task->id, t->task->lease, through, &cancel);
    pthread_mutex_lock(&t->ws->lock);
    if (err < 0 && t->err == 0)
        t->err = err;
    t->out.cancel |= cancel;
    if (err == 0)
        t->task->checkpoint = through;
    bool halted = waves_halted(t);
    pthread_mutex_unlock(&t->ws->lock);
    return halted;
}

/* The plan's emit: queues a batch and lets the claiming worker run batches while enough wait;
 * at a barrier (b NULL), waits for all of them and moves the checkpoint. Returns 1 to stop
 * the plan. */
static int waves_emit(plan_batch *b, int64_t through, void *ctx) {
    waves_task *t = ctx;
    waves *ws = t->ws;
    bool test_mode = t->rec != t->conn;
    if (atomic_load(ws->cfg.batch.stopping) && !test_mode) {
        pthread_mutex_lock(&ws->lock);
        t->out.stopped = true; /* a test-mode task cannot stop halfway: it runs to its end */
        pthread_mutex_unlock(&ws->lock);
    }
    if (b == NULL)
        return waves_barrier(t, through) ? 1 : 0;
    waves_queue(t, b);
    if (t->shared)
        events_note_work(ws->cfg.events);
    return waves_drain(t, t->shared ? ws->cfg.threads : 1) ? 1 : 0;
}

/* Puts t in (or takes it out of) the node's list of tasks that idle workers help with. */
static void waves_share(waves_task *t, bool on) {
    waves *ws = t->ws;
    pthread_mutex_lock(&ws->lock);
    waves_task **at = &ws->shared;
    while (*at != NULL && *at != t)
        at = &(*at)->next;
    if (on && *at == NULL) {
        t->next = ws->shared;
        ws->shared = t;
    } else if (!on && *at != NULL) {
        *at = t->next;
    }
    pthread_mutex_unlock(&ws->lock);
}

/* Reads t's lines from its checkpoint into a plan, which emits its batches. Returns 0 or the
 * database's error. */
static int waves_plan(waves_task *t) {
    db_task *task = t->task;
    plan *p = plan_create(plan_cut_of(task), waves_emit, t); /* as fixed at its creation */
    int64_t after = task->checkpoint;
    int stop = 0, err = 0;
    while (stop == 0) {
        db_lines *lines = NULL;
        if ((err = db_lines_read(t->conn, task->id, after, WAVES_READ_LINES, WAVES_READ_BYTES,
                                  &lines)) < 0)
            break;
        size_t n = db_lines_count(lines);
        for (size_t i = 0; i < n && stop == 0; i++) {
            size_t len;
            const char *flagged;
            const char *text = db_lines_get(lines, i, &after, &len, &flagged);
            if (flagged != NULL) /* a static copy: the lines are freed before the batch runs */
                flagged = error_code(batch_upload_error(flagged));
            stop = plan_add(p, after, text ? text : "", len, flagged);
        }
        db_lines_free(lines);
        if (n == 0 && stop == 0) {
            plan_finish(p);
            break;
        }
    }
    plan_free(p);
    return err;
}

int waves_run(waves *ws, db_conn *conn, db_conn *rec, db_task *task, const db_user *caller,
              waves_outcome *out) {
    waves_task t = {.ws = ws, .task = task, .caller = caller, .conn = conn, .rec = rec};
    t.shared = !task->named && !task->test_mode && ws->cfg.threads > 1;
    t.max_running = task->parallel > 0 ? task->parallel : PLAN_SLOTS;
    int err = db_tasks_committed(rec, task->id, task->checkpoint, &t.committed, &t.n_committed);
    if (err == 0) {
        if (t.shared)
            waves_share(&t, true);
        err = waves_plan(&t);
        waves_drain(&t, 0); /* whatever stopped the plan, nothing runs on after this */
        waves_share(&t, false);
    }
    free(t.committed);
    pthread_mutex_lock(&ws->lock);
    if (err == 0)
        err = t.err;
    *out = t.out;
    pthread_mutex_unlock(&ws->lock);
    return err;
}

bool waves_help(waves *ws, db_conn *conn) {
    plan_batch *b = NULL;
    waves_task *t = NULL;
    pthread_mutex_lock(&ws->lock);
    for (t = ws->shared; t != NULL; t = t->next)
        if (!waves_halted(t) && (b = waves_take(t)) != NULL)
            break;
    pthread_mutex_unlock(&ws->lock);
    if (b == NULL)
        return false;
    waves_commit(t, conn, b);
    return true;
}
