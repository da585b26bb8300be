#include "feed.h"

#include "error.h"
#include "ids.h"
#include "intake.h"
#include "log.h"
#include "metrics.h"
#include "owners.h"
#include "plan.h"
#include "schedule.h"
#include "events.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FEED_MAX_HEADERS 34 /* the feed's own (at most 32) and the two validators */
#define FEED_DUE_AT_ONCE 16 /* due feeds the leader takes per look */
#define FEED_RUN_WAIT_MS 5000

time_t feed_first_run(const char *schedule_text, time_t now, char *why) {
    schedule s;
    if (schedule_parse(schedule_text, &s, why, FETCH_WHY_MAX) < 0)
        return (time_t)-1;
    time_t next = schedule_next(&s, now);
    if (next == (time_t)-1)
        snprintf(why, FETCH_WHY_MAX, "schedule: the cron expression never matches");
    return next;
}

/* The feed's URL with its cursor in cursor_param, into out (cap bytes). Returns false when it
 * does not fit. */
static bool feed_url(const db_feed *f, char *out, size_t cap) {
    size_t len = (size_t)snprintf(out, cap, "%s", f->url);
    if (!f->incremental || !f->cursor_param[0] || !f->cursor[0])
        return len < cap;
    const char *sep = strchr(f->url, '?') ? "&" : "?";
    len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s%s=", sep, f->cursor_param);
    for (const unsigned char *c = (const unsigned char *)f->cursor; *c && len + 4 < cap; c++) {
        bool plain = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                     (*c >= '0' && *c <= '9') || strchr("-._~", *c) != NULL;
        len += (size_t)snprintf(out + len, cap - len, plain ? "%c" : "%%%02X", *c);
    }
    return len + 4 < cap && fetch_url_is_http(out);
}

/* A run's download as it streams into its task. */
typedef struct feed_fetch {
    const feeds_config *cfg;
    db_conn *conn;
    db_task task;
    db_upload *db; /* NULL until the first byte: an unchanged source makes no task */
    const char *callback_url; /* the feed's, or NULL */
    const char *url;          /* the feed's, whose suffix may tell the file's format */
    intake in;
    const char *cursor_field; /* NULL: no cursor to find */
    char max[DB_FEED_VALUE_MAX]; /* the largest cursor_field value so far, "" none */
    double max_number;
    bool max_is_number;
} feed_fetch;

/* Keeps the largest value of the cursor field (numbers by value, else by text). */
static void feed_observe(const char *text, size_t len, void *ctx) {
    feed_fetch *ff = ctx;
    cJSON *line = cJSON_ParseWithLength(text, len);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(line, ff->cursor_field);
    char value[DB_FEED_VALUE_MAX];
    bool number = cJSON_IsNumber(v);
    if (number && isfinite(v->valuedouble))
        snprintf(value, sizeof value, "%.17g", v->valuedouble);
    else if (cJSON_IsString(v) && strlen(v->valuestring) < sizeof value)
        snprintf(value, sizeof value, "%s", v->valuestring);
    else
        value[0] = '\0';
    if (value[0]) {
        bool larger = !ff->max[0] ||
                      (number && ff->max_is_number ? v->valuedouble > ff->max_number
                                                   : strcmp(value, ff->max) > 0);
        if (larger) {
            memcpy(ff->max, value, sizeof value);
            ff->max_is_number = number;
            ff->max_number = number ? v->valuedouble : 0;
        }
    }
    cJSON_Delete(line);
}

/* The download's sink: opens the task's upload at the first byte. */
static int feed_take(const char *data, size_t len, void *ctx) {
    feed_fetch *ff = ctx;
    if (ff->db == NULL) {
        int err = db_upload_begin(ff->conn, &ff->task, ff->callback_url, &ff->db);
        if (err < 0)
            return err;
        intake_init(&ff->in, ff->db, (size_t)ff->cfg->max_line_bytes, 0, ff->cfg->max_fetch_bytes,
                    true);
        intake_file_of_task(&ff->in.file, &ff->task, ff->url);
        if (ff->cursor_field != NULL) {
            ff->in.observe = feed_observe;
            ff->in.observe_ctx = ff;
        }
    }
    return intake_feed(data, len, &ff->in);
}

/* "name: value" in a new string. */
static char *feed_header_line(const char *name, const char *value) {
    size_t cap = strlen(name) + strlen(value) + 3;
    char *line = malloc(cap);
    if (line == NULL)
        abort();
    snprintf(line, cap, "%s: %s", name, value);
    return line;
}

/* The feed's request headers: its own (from the stored JSON object) and the validators, into
 * list (FEED_MAX_HEADERS + 1, NULL-terminated), each a malloc'd "Name: value". */
static void feed_headers(const db_feed *f, char **list) {
    size_t n = 0;
    cJSON *obj = cJSON_Parse(f->headers);
    for (const cJSON *h = obj ? obj->child : NULL; h != NULL && n < FEED_MAX_HEADERS - 2;
         h = h->next)
        if (cJSON_IsString(h))
            list[n++] = feed_header_line(h->string, h->valuestring);
    cJSON_Delete(obj);
    if (f->etag[0])
        list[n++] = feed_header_line("If-None-Match", f->etag);
    if (f->last_modified[0])
        list[n++] = feed_header_line("If-Modified-Since", f->last_modified);
    list[n] = NULL;
}

/* In the task's transaction: the run records what it fetched and its task. */
static int feed_record(db_conn *conn, void *ctx) { return db_feed_runs_fetched(conn, ctx); }

/* Fills the run's task from the feed: its user, queue and options. */
static int feed_task(const feeds_config *cfg, const db_feed *f, bool is_root, int64_t run,
                     db_task *t) {
    memset(t, 0, sizeof *t);
    snprintf(t->username, sizeof t->username, "%s", f->username);
    snprintf(t->queue, sizeof t->queue, "%s",
             f->queue[0] ? f->queue : is_root ? "priority" : "default");
    t->named = f->queue[0] != '\0';
    t->update_if_exists = f->update_if_exists;
    t->batch_size = f->batch_size > 0 ? f->batch_size : cfg->batch_size;
    t->feed_run_id = run;
    t->prune = !f->incremental && f->prune;
    t->prune_on_errors = f->prune_on_errors;
    t->parallel = PLAN_PARALLEL_DEFAULT;
    snprintf(t->action_field, sizeof t->action_field, "%s", f->action_field);
    snprintf(t->delete_values, sizeof t->delete_values, "%s", f->delete_values);
    plan_cut_fix(t);
    return ids_task_id(t->username, t->queue, t->id, sizeof t->id);
}

/* Downloads the feed (held under its lock) into a new task, or finds it unchanged. */
static int feed_fetch_run(const feeds_config *cfg, db_conn *conn, const db_feed *f,
                          bool scheduled, const atomic_bool *stopping, feed_outcome *out) {
    char url[DB_URL_MAX + 1];
    out->why[0] = '\0';
    if (!feed_url(f, url, sizeof url)) {
        snprintf(url, sizeof url, "%s", f->url);
        snprintf(out->why, sizeof out->why, "the URL with the cursor is longer than %d bytes",
                 DB_URL_MAX);
    }
    int64_t run;
    int err = db_feed_runs_start(conn, f->id, scheduled, url, &run);
    if (err < 0)
        return err;
    if (out->why[0]) {
        out->kind = FEED_FAILED;
        metrics_feed_run("failed");
        return db_feed_runs_end(conn, run, "FAILED", 0, 0, out->why);
    }
    db_owner user;
    if ((err = db_owners_lookup(conn, f->username, false, f->username, &user)) < 0)
        return err;
    feed_fetch ff = {.cfg = cfg, .conn = conn, .url = f->url,
                     .callback_url = f->callback_url[0] ? f->callback_url : NULL,
                     .cursor_field = f->incremental && f->cursor_field[0] ? f->cursor_field : NULL};
    if ((err = feed_task(cfg, f, user.is_root, run, &ff.task)) < 0)
        return err;
    char *headers[FEED_MAX_HEADERS + 1];
    feed_headers(f, headers);
    fetch_response response;
    fetch_download_opts opts = {.any_address = user.is_root || cfg->fetch_any_address,
                                .max_bytes = cfg->max_fetch_bytes,
                                .timeout_s = cfg->fetch_timeout_s,
                                .stopping = stopping,
                                .headers = (const char *const *)headers,
                                .response = &response};
    err = fetch_download(url, &opts, feed_take, &ff, out->why);
    for (size_t i = 0; headers[i] != NULL; i++)
        free(headers[i]);
    unsigned char hash[32];
    if (err == 0 && ff.db != NULL)
        err = intake_finish(&ff.in, hash);
    bool has_lines = ff.db != NULL && ff.in.lines > 0;
    if (err == 0 && has_lines) {
        const char *next = response.next_cursor[0] ? response.next_cursor
                           : ff.max[0]             ? ff.max
                                                   : NULL;
        db_feed_fetched fetched = {
            .run = run, .task_id = ff.task.id, .http_status = response.status,
            .bytes = response.bytes, .lines = ff.in.lines,
            .etag = response.etag[0] ? response.etag : NULL,
            .last_modified = response.last_modified[0] ? response.last_modified : NULL,
            .next_cursor = next};
        err = db_upload_commit_with(ff.db, hash, ff.in.lines, feed_record, &fetched);
        ff.db = NULL;
        if (err == 0) {
            out->kind = FEED_QUEUED;
            snprintf(out->task_id, sizeof out->task_id, "%s", ff.task.id);
            metrics_feed_run("queued");
            log_info("feed %s of %s: task %s queued, %lld lines", f->name, f->username,
                     ff.task.id, (long long)fetched.lines);
        } else if (err == BI_ECONFLICT) {
            snprintf(out->why, sizeof out->why,
                     "the same content with the same options is already queued by %s",
                     f->username);
        }
    }
    if ((err == BI_EINVAL || (err == BI_EIO && ff.in.spool_failed)) && ff.db != NULL &&
        intake_error(&ff.in)[0])
        snprintf(out->why, sizeof out->why, "the file %s", intake_error(&ff.in));
    else if (err == BI_ETOOBIG && ff.db != NULL && ff.in.too_big)
        snprintf(out->why, sizeof out->why, "the file is larger than %lld bytes once decompressed",
                 cfg->max_fetch_bytes);
    if (ff.db != NULL)
        db_upload_abort(ff.db);
    intake_fini(&ff.in);
    if (err == 0 && !has_lines) {
        out->kind = FEED_UNCHANGED;
        metrics_feed_run("unchanged");
        log_info("feed %s of %s: unchanged (%s)", f->name, f->username,
                 response.status == 304 ? "304 Not Modified" : "no lines");
        return db_feed_runs_end(conn, run, "UNCHANGED", response.status, response.bytes,
                                response.status == 304 ? NULL : "the file has no lines");
    }
    if (err == 0)
        return 0;
    if (err == BI_EUNAVAIL)
        return err; /* the run stays FETCHING: the next run of the feed closes it */
    if (!out->why[0])
        snprintf(out->why, sizeof out->why, "%s", error_message(err));
    out->kind = FEED_FAILED;
    metrics_feed_run("failed");
    log_warn("feed %s of %s: fetch failed: %s", f->name, f->username, out->why);
    return db_feed_runs_end(conn, run, "FAILED", response.status, response.bytes, out->why);
}

/* Takes one of cfg->max_runs places for a download on this node. Returns 0 or BI_ETOOMANY. */
static int feed_take_place(const feeds_config *cfg) {
    if (atomic_fetch_add(cfg->runs, 1) < cfg->max_runs)
        return 0;
    atomic_fetch_sub(cfg->runs, 1);
    return BI_ETOOMANY;
}

int feed_run(const feeds_config *cfg, db_conn *conn, int64_t id, bool scheduled,
             const atomic_bool *stopping, feed_outcome *out) {
    memset(out, 0, sizeof *out);
    int err = db_feeds_lock(conn, id);
    if (err < 0)
        return err;
    db_feed *f = malloc(sizeof *f);
    if (f == NULL)
        abort();
    bool active = false;
    time_t now = time(NULL);
    if ((err = db_feeds_get_id(conn, id, f)) == 0 && scheduled && (f->paused || f->next_run > now))
        out->kind = FEED_NOT_DUE;
    else if (err == 0 && (err = db_feeds_active(conn, id, &active)) == 0 && active)
        err = BI_EBUSY;
    else if (err == 0 && (err = feed_take_place(cfg)) == 0) {
        err = feed_fetch_run(cfg, conn, f, scheduled, stopping, out);
        atomic_fetch_sub(cfg->runs, 1);
    }
    bool stopped = stopping != NULL && atomic_load(stopping);
    if (scheduled && out->kind != FEED_NOT_DUE && (err == 0 || err == BI_EBUSY) && !stopped) {
        char why[FETCH_WHY_MAX];
        time_t next = feed_first_run(f->schedule, time(NULL), why);
        if (err == BI_EBUSY)
            log_info("feed %s of %s: its last run is still under way; skipped", f->name,
                     f->username);
        if (next != (time_t)-1)
            db_feeds_reschedule(conn, id, next);
        else /* the schedule was valid when stored: only a never-matching cron lands here */
            db_feeds_pause(conn, id, true, 0);
    }
    free(f);
    db_feeds_unlock(conn, id);
    return err;
}

/* ---- the scheduler ---- */

struct feeds {
    feeds_config cfg;
    char *conninfo;
    pthread_t thread;
    atomic_bool stopping;
};

/* Runs the feeds due now, one after another. Returns 0 or the leader connection's error. */
static int feeds_run_due(feeds *fs, db_conn *lead) {
    int64_t ids[FEED_DUE_AT_ONCE];
    size_t n = 0;
    int err = db_feeds_due(lead, ids, FEED_DUE_AT_ONCE, &n);
    for (size_t i = 0; i < n && err == 0 && !atomic_load(&fs->stopping); i++) {
        db_conn *conn;
        if (db_pool_acquire(fs->cfg.pool, FEED_RUN_WAIT_MS, &conn) < 0)
            break;
        feed_outcome out;
        int run = feed_run(&fs->cfg, conn, ids[i], true, &fs->stopping, &out);
        db_pool_release(fs->cfg.pool, conn);
        if (run == BI_ETOOMANY)
            break; /* the node's downloads are all taken: the rest stay due */
        if (run < 0 && run != BI_EBUSY && run != BI_ENOTFOUND)
            log_warn("feed %lld: the scheduled run failed: %s", (long long)ids[i],
                     error_message(run));
    }
    return err;
}

/* One node at a time leads: it holds the advisory lock on a connection of its own for as long
 * as that session lives; the others try again each tick and take over when it ends. */
static void *feeds_main(void *arg) {
    feeds *fs = arg;
    db_pool *own = NULL;
    db_conn *lead = NULL;
    while (!atomic_load(&fs->stopping)) {
        if (own == NULL && db_pool_create(fs->conninfo, 1, &own) < 0)
            own = NULL;
        if (own != NULL && lead == NULL && db_pool_acquire(own, 1000, &lead) == 0) {
            if (db_feeds_lead(lead) == 0) {
                metrics_set_leader(true);
                log_info("this node now runs the feed scheduler");
            } else {
                db_pool_release(own, lead);
                lead = NULL;
            }
        }
        if (lead != NULL && feeds_run_due(fs, lead) < 0) {
            metrics_set_leader(false);
            log_warn("the feed scheduler lost its database session; it will lead again when it can");
            db_pool_release(own, lead); /* a broken session has let go of the lock */
            lead = NULL;
        }
        events_sleep(&fs->stopping, fs->cfg.tick_ms);
    }
    if (lead != NULL)
        db_pool_release(own, lead);
    db_pool_destroy(own); /* closing the session gives up the leadership */
    metrics_set_leader(false);
    return NULL;
}

int feeds_start(const feeds_config *cfg, feeds **out) {
    feeds *fs = calloc(1, sizeof *fs);
    if (fs == NULL || (fs->conninfo = strdup(cfg->conninfo)) == NULL)
        abort();
    fs->cfg = *cfg;
    fs->cfg.conninfo = fs->conninfo;
    if (pthread_create(&fs->thread, NULL, feeds_main, fs) != 0) {
        log_error("cannot start the feed scheduler");
        free(fs->conninfo);
        free(fs);
        return BI_EINTERNAL;
    }
    *out = fs;
    return 0;
}

void feeds_stop(feeds *fs) {
    if (fs == NULL)
        return;
    atomic_store(&fs->stopping, true);
    pthread_join(fs->thread, NULL);
    free(fs->conninfo);
    free(fs);
}
