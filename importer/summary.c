#include "summary.h"

#include "tasks.h"

#include <cjson/cJSON.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void summary_init(summary *s) { memset(s, 0, sizeof *s); }

/* Appends text to s->actions, never past its end. */
static void summary_append(summary *s, const char *text) {
    size_t room = sizeof s->actions - 1 - s->len, n = strlen(text);
    n = n < room ? n : room;
    memcpy(s->actions + s->len, text, n);
    s->len += n;
    s->actions[s->len] = '\0';
}

/* Writes the gathered action out: "<n> <ACTION> (<code>:<n>, ...)". */
static void summary_close(summary *s) {
    if (s->action[0] == '\0')
        return;
    int64_t n = 0;
    for (int i = 0; i < s->n_codes; i++)
        n += s->counts[i];
    char part[64];
    snprintf(part, sizeof part, "%s%lld %s (", s->len ? "; " : "", (long long)n, s->action);
    summary_append(s, part);
    for (int i = 0; i < s->n_codes; i++) {
        char code[16];
        if (s->codes[i] == 0)
            strcpy(code, "skip");
        else
            snprintf(code, sizeof code, "%d", s->codes[i]);
        snprintf(part, sizeof part, "%s%s:%lld", i ? ", " : "", code, (long long)s->counts[i]);
        summary_append(s, part);
    }
    summary_append(s, ")");
    s->action[0] = '\0';
    s->n_codes = 0;
}

void summary_add(summary *s, const char *action, int status, int64_t count) {
    if (strcmp(action, s->action) != 0) {
        summary_close(s);
        snprintf(s->action, sizeof s->action, "%s", action);
    }
    if (strcmp(action, "SKIP") == 0)
        s->skipped += count;
    if (s->n_codes < SUMMARY_MAX_CODES) {
        s->codes[s->n_codes] = status;
        s->counts[s->n_codes++] = count;
    }
}

size_t summary_format(summary *s, int64_t processed, int64_t total, double elapsed, char *out,
                      size_t out_len) {
    summary_close(s);
    int n = snprintf(out, out_len, "Processed %lld of %lld -- %s in %.2f secs",
                     (long long)processed, (long long)total, s->actions, elapsed);
    return n < 0 ? 0 : (size_t)n < out_len ? (size_t)n : out_len - 1;
}

static void summary_take_group(const char *action, int status, int64_t count, void *ctx) {
    summary_add(ctx, action, status, count);
}

long summary_of_task(db_conn *conn, const db_task *t, char *out, size_t cap) {
    summary *s = malloc(sizeof *s);
    if (s == NULL)
        abort();
    summary_init(s);
    int err = db_results_groups(conn, t->id, summary_take_group, s);
    long len = err < 0 ? err
                       : (long)summary_format(s, t->processed, t->total,
                                              t->started_at[0] ? t->elapsed_seconds : 0.0, out, cap);
    free(s);
    return len;
}

/* A time as oclapi2 writes it, or null when there is none. */
static void summary_add_time(cJSON *o, const char *name, const char *value) {
    if (value[0])
        cJSON_AddStringToObject(o, name, value);
    else
        cJSON_AddNullToObject(o, name);
}

static cJSON *summary_progress(const db_task *t) {
    cJSON *p = cJSON_CreateObject();
    const struct {
        const char *name;
        int64_t value;
    } counters[] = {{"total", t->total},     {"processed", t->processed}, {"created", t->created},
                    {"updated", t->updated}, {"deleted", t->deleted},     {"skipped", t->skipped},
                    {"failed", t->failed},   {"pruned", t->pruned}};
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        cJSON_AddNumberToObject(p, counters[i].name, (double)counters[i].value);
    cJSON_AddStringToObject(p, "phase", db_task_phase_name(t->phase));
    bool running = t->state == DB_TASK_STARTED;
    double rate = running && t->elapsed_seconds > 0 ? (double)t->processed / t->elapsed_seconds : 0;
    cJSON_AddNumberToObject(p, "lines_per_second", (double)(long long)(rate * 10) / 10);
    if (rate > 0 && t->total >= t->processed)
        cJSON_AddNumberToObject(p, "eta_seconds",
                                (double)(long long)((double)(t->total - t->processed) / rate));
    else
        cJSON_AddNullToObject(p, "eta_seconds");
    return p;
}

cJSON *summary_task_json(const db_task *t, const char *message) {
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "id", t->id);
    cJSON_AddStringToObject(body, "task", t->id);
    cJSON_AddStringToObject(body, "state", db_task_state_name(t->state));
    cJSON_AddStringToObject(body, "status", db_task_state_name(t->state));
    cJSON_AddStringToObject(body, "name", SUMMARY_TASK_NAME);
    cJSON_AddStringToObject(body, "queue", t->queue);
    cJSON_AddStringToObject(body, "username", t->username);
    summary_add_time(body, "created_at", t->created_at);
    summary_add_time(body, "started_at", t->started_at);
    summary_add_time(body, "finished_at", t->finished_at);
    if (t->started_at[0])
        cJSON_AddNumberToObject(body, "runtime", (double)(long long)(t->elapsed_seconds * 1e6) / 1e6);
    else
        cJSON_AddNullToObject(body, "runtime");
    if (t->started_at[0]) /* the same seconds, by the name a reader looks for */
        cJSON_AddNumberToObject(body, "duration", (double)(long long)(t->elapsed_seconds * 1e3) / 1e3);
    else
        cJSON_AddNullToObject(body, "duration");
    cJSON_AddNumberToObject(body, "wait_seconds", (double)(long long)(t->wait_seconds * 1e3) / 1e3);
    if (t->ahead >= 0)
        cJSON_AddNumberToObject(body, "ahead", (double)t->ahead);
    else
        cJSON_AddNullToObject(body, "ahead");
    cJSON *progress = summary_progress(t);
    cJSON_AddItemToObject(body, "summary", progress);
    cJSON_AddItemToObject(body, "progress", cJSON_Duplicate(progress, true));
    cJSON_AddArrayToObject(body, "children");
    if (message != NULL)
        cJSON_AddStringToObject(body, "message", message);
    else
        cJSON_AddNullToObject(body, "message");
    summary_add_time(body, "error_message", t->error);
    summary_add_time(body, "exception", t->error); /* what OCL's web app shows of a failure */
    if (t->feed[0])
        cJSON_AddStringToObject(body, "feed", t->feed);
    return body;
}

static void summary_add_child(const char *child_id, void *ctx) {
    cJSON_AddItemToArray(ctx, cJSON_CreateString(child_id));
}

/* Gathers the groups into the summary line and the "counts" array alike. */
typedef struct summary_groups {
    summary s;
    cJSON *counts;
} summary_groups;

static void summary_take_both(const char *action, int status, int64_t count, void *ctx) {
    summary_groups *g = ctx;
    summary_add(&g->s, action, status, count);
    cJSON *item = cJSON_CreateObject();
    cJSON_AddStringToObject(item, "action", action);
    cJSON_AddNumberToObject(item, "status", status);
    cJSON_AddNumberToObject(item, "count", (double)count);
    cJSON_AddItemToArray(g->counts, item);
}

int summary_task_json_read(db_conn *conn, const db_task *t, cJSON **out) {
    bool finished = !db_task_state_running(t->state);
    summary_groups *g = malloc(sizeof *g);
    if (g == NULL)
        abort();
    summary_init(&g->s);
    g->counts = cJSON_CreateArray();
    int err = db_results_groups(conn, t->id, summary_take_both, g);
    char line[SUMMARY_TEXT_MAX + 128];
    if (err == 0 && finished)
        summary_format(&g->s, t->processed, t->total, t->started_at[0] ? t->elapsed_seconds : 0.0,
                       line, sizeof line);
    cJSON *body = err == 0 ? summary_task_json(t, finished ? line : NULL) : NULL;
    if (body != NULL) {
        cJSON_AddItemToObject(body, "counts", g->counts);
        g->counts = NULL;
        err = db_tasks_children(conn, t->id, summary_add_child,
                                cJSON_GetObjectItemCaseSensitive(body, "children"));
    }
    cJSON_Delete(g->counts);
    free(g);
    if (err < 0) {
        cJSON_Delete(body);
        return err;
    }
    if (t->parent_id[0])
        cJSON_AddStringToObject(body, "parent", t->parent_id);
    *out = body;
    return 0;
}
