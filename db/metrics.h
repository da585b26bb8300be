/* metrics.h — this node's counters and histograms, for GET /metrics in Prometheus' text
 * exposition format (README "Operating").
 *
 * Lives in db/, beside log.h, so that every folder can count. Every call is lock-free (atomics)
 * and cheap enough for the hot path: a batch counts once, not per line. Names follow
 * Prometheus' conventions: bulkimport_<what>_total for counters, _seconds and _bytes in base
 * units, histograms with cumulative buckets. Gauges a scrape reads from elsewhere (the pool, the
 * database) are written by the caller of metrics_write after it.
 */
#ifndef BI_DB_METRICS_H
#define BI_DB_METRICS_H

#include <stdbool.h>
#include <stddef.h>

/* Counts a batch that committed: its duration, its lines, and n lines of each (action,
 * status) group (status 0: a skip). */
void metrics_batch(double seconds, long lines);
void metrics_lines(const char *action, int status, long n);

/* Counts a task that ended in state ("SUCCESS", "FAILURE", "REVOKED") after running
 * run_seconds (0 when it never started). */
void metrics_task_finished(const char *state, double run_seconds);

/* Counts a task a worker claimed for the first time, wait_seconds after its POST. */
void metrics_task_started(double wait_seconds);

/* Counts an upload stored: its bytes and how long it took. */
void metrics_upload(long long bytes, double seconds);

/* Counts a webhook delivery attempt by outcome ("delivered", "retried", "given_up"). */
void metrics_webhook(const char *outcome);

/* Counts a feed run by outcome ("queued", "unchanged", "failed"). */
void metrics_feed_run(const char *outcome);

/* Counts an HTTP response by status code. */
void metrics_http_response(int status);

/* Whether this node leads (holds the scheduler lock): only the leader exports the
 * cluster-wide gauges, so a sum across nodes never counts them twice. */
void metrics_set_leader(bool leader);
bool metrics_is_leader(void);

/* Appends printf-style text to a growing buffer (for metrics_write and its callers). */
typedef struct metrics_text {
    char *data;
    size_t len, cap;
} metrics_text;
void metrics_printf(metrics_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes every counter and histogram above, with HELP and TYPE lines, to t. */
void metrics_write(metrics_text *t);

#endif
