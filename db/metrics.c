#include "metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_STATUS_MAX 600 /* HTTP statuses and line statuses are below this */

/* A histogram with fixed upper bounds; the sum is kept in millionths, so it stays an atomic
 * integer. */
typedef struct histogram {
    const char *name, *help;
    const double *bounds;
    int n_bounds;
    atomic_ullong counts[16]; /* per bucket (not cumulative); the last is +Inf */
    atomic_ullong sum_micro, count;
} histogram;

static const double batch_seconds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
static const double batch_lines[] = {1, 10, 100, 500, 1000, 2500, 5000, 10000, 50000, 100000};
static const double upload_seconds[] = {0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800};
static const double wait_seconds[] = {0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300, 1800, 3600};
static const double run_seconds[] = {0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600, 14400};

#define HISTOGRAM(var, metric, text, b)                                                           \
    static histogram var = {                                                                       \
        .name = metric, .help = text, .bounds = b, .n_bounds = (int)(sizeof b / sizeof b[0])}
HISTOGRAM(h_batch, "bulkimport_batch_duration_seconds", "Time from a batch's start to its commit.",
          batch_seconds);
HISTOGRAM(h_batch_lines, "bulkimport_batch_lines", "Lines in a committed batch.", batch_lines);
HISTOGRAM(h_upload, "bulkimport_upload_duration_seconds", "Time to receive and store an upload.",
          upload_seconds);
HISTOGRAM(h_wait, "bulkimport_task_queue_wait_seconds", "Time from a task's POST to its start.",
          wait_seconds);
HISTOGRAM(h_run, "bulkimport_task_run_seconds", "Time from a task's first start to its end.",
          run_seconds);

static const char *const line_actions[] = {"NEW", "UPDATE", "DELETE", "SKIP"};
static atomic_ullong lines_by[4][METRICS_STATUS_MAX];
static atomic_ullong http_by[METRICS_STATUS_MAX];
static const char *const task_states[] = {"SUCCESS", "FAILURE", "REVOKED"};
static atomic_ullong tasks_by[3];
static const char *const webhook_outcomes[] = {"delivered", "retried", "given_up"};
static atomic_ullong webhooks_by[3];
static const char *const feed_outcomes[] = {"queued", "unchanged", "failed"};
static atomic_ullong feeds_by[3];
static atomic_ullong upload_bytes, uploads;
static atomic_bool leader;

static int metrics_index(const char *const *names, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

static void histogram_observe(histogram *h, double value) {
    int b = 0;
    while (b < h->n_bounds && value > h->bounds[b])
        b++;
    atomic_fetch_add(&h->counts[b], 1);
    atomic_fetch_add(&h->count, 1);
    atomic_fetch_add(&h->sum_micro, (unsigned long long)(value < 0 ? 0 : value * 1e6));
}

void metrics_batch(double seconds, long lines) {
    histogram_observe(&h_batch, seconds);
    histogram_observe(&h_batch_lines, (double)lines);
}

void metrics_lines(const char *action, int status, long n) {
    int a = metrics_index(line_actions, 4, action);
    if (a >= 0 && status >= 0 && status < METRICS_STATUS_MAX && n > 0)
        atomic_fetch_add(&lines_by[a][status], (unsigned long long)n);
}

void metrics_task_finished(const char *state, double seconds) {
    int s = metrics_index(task_states, 3, state);
    if (s >= 0)
        atomic_fetch_add(&tasks_by[s], 1);
    if (seconds > 0)
        histogram_observe(&h_run, seconds);
}

void metrics_task_started(double seconds) { histogram_observe(&h_wait, seconds); }

void metrics_upload(long long bytes, double seconds) {
    atomic_fetch_add(&upload_bytes, (unsigned long long)(bytes < 0 ? 0 : bytes));
    atomic_fetch_add(&uploads, 1);
    histogram_observe(&h_upload, seconds);
}

void metrics_webhook(const char *outcome) {
    int o = metrics_index(webhook_outcomes, 3, outcome);
    if (o >= 0)
        atomic_fetch_add(&webhooks_by[o], 1);
}

void metrics_feed_run(const char *outcome) {
    int o = metrics_index(feed_outcomes, 3, outcome);
    if (o >= 0)
        atomic_fetch_add(&feeds_by[o], 1);
}

void metrics_http_response(int status) {
    if (status > 0 && status < METRICS_STATUS_MAX)
        atomic_fetch_add(&http_by[status], 1);
}

void metrics_set_leader(bool is) { atomic_store(&leader, is); }

bool metrics_is_leader(void) { return atomic_load(&leader); }

void metrics_printf(metrics_text *t, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = t->cap - t->len;
        int n = vsnprintf(t->data ? t->data + t->len : NULL, t->data ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (t->data != NULL && (size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + (size_t)n + 1)
            cap *= 2;
        char *grown = realloc(t->data, cap);
        if (grown == NULL)
            abort();
        t->data = grown;
        t->cap = cap;
    }
}

static void metrics_head(metrics_text *t, const char *name, const char *type, const char *help) {
    metrics_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void histogram_write(metrics_text *t, histogram *h) {
    metrics_head(t, h->name, "histogram", h->help);
    unsigned long long cumulative = 0;
    for (int b = 0; b <= h->n_bounds; b++) {
        cumulative += atomic_load(&h->counts[b]);
        if (b < h->n_bounds)
            metrics_printf(t, "%s_bucket{le=\"%g\"} %llu\n", h->name, h->bounds[b], cumulative);
        else
            metrics_printf(t, "%s_bucket{le=\"+Inf\"} %llu\n", h->name, cumulative);
    }
    metrics_printf(t, "%s_sum %.6f\n%s_count %llu\n", h->name,
                   (double)atomic_load(&h->sum_micro) / 1e6, h->name, cumulative);
}

/* Writes a counter family with one label over the names and values given. */
static void metrics_labelled(metrics_text *t, const char *name, const char *help,
                             const char *label, const char *const *names, atomic_ullong *values,
                             int n) {
    metrics_head(t, name, "counter", help);
    for (int i = 0; i < n; i++)
        metrics_printf(t, "%s{%s=\"%s\"} %llu\n", name, label, names[i], atomic_load(&values[i]));
}

void metrics_write(metrics_text *t) {
    metrics_labelled(t, "bulkimport_tasks_finished_total", "Tasks that ended on this node, by state.",
                     "state", task_states, tasks_by, 3);
    metrics_head(t, "bulkimport_lines_total", "counter",
                 "Lines applied on this node, by action and status (skip: a skipped line).");
    for (int a = 0; a < 4; a++)
        for (int s = 0; s < METRICS_STATUS_MAX; s++) {
            unsigned long long n = atomic_load(&lines_by[a][s]);
            if (n == 0 && !(s == 0 && a == 3)) /* SKIP/skip always: the family is never empty */
                continue;
            char status[16] = "skip";
            if (s > 0)
                snprintf(status, sizeof status, "%d", s);
            metrics_printf(t, "bulkimport_lines_total{action=\"%s\",status=\"%s\"} %llu\n",
                           line_actions[a], status, n);
        }
    histogram_write(t, &h_batch);
    histogram_write(t, &h_batch_lines);
    histogram_write(t, &h_upload);
    metrics_head(t, "bulkimport_upload_bytes_total", "counter", "Bytes of uploads stored on this node.");
    metrics_printf(t, "bulkimport_upload_bytes_total %llu\n", atomic_load(&upload_bytes));
    metrics_head(t, "bulkimport_uploads_total", "counter", "Uploads stored on this node.");
    metrics_printf(t, "bulkimport_uploads_total %llu\n", atomic_load(&uploads));
    histogram_write(t, &h_wait);
    histogram_write(t, &h_run);
    metrics_labelled(t, "bulkimport_webhook_deliveries_total",
                     "Webhook delivery attempts from this node, by outcome.", "outcome",
                     webhook_outcomes, webhooks_by, 3);
    metrics_labelled(t, "bulkimport_feed_runs_total", "Feed runs this node started, by outcome.",
                     "outcome", feed_outcomes, feeds_by, 3);
    metrics_head(t, "bulkimport_http_responses_total", "counter",
                 "HTTP responses this node sent, by status code.");
    for (int s = 100; s < METRICS_STATUS_MAX; s++) {
        unsigned long long n = atomic_load(&http_by[s]);
        if (n > 0)
            metrics_printf(t, "bulkimport_http_responses_total{code=\"%d\"} %llu\n", s, n);
    }
    metrics_head(t, "bulkimport_leader", "gauge",
                 "1 when this node holds the scheduler lock and exports the cluster-wide gauges.");
    metrics_printf(t, "bulkimport_leader %d\n", metrics_is_leader() ? 1 : 0);
}
