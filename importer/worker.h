/* worker.h — the import workers: threads that claim queued tasks and apply their lines in
 * batches, each batch's writes, results, counters and checkpoint in one transaction fenced by
 * the task's lease (DESIGN.md invariant 1).
 */
#ifndef BI_IMPORTER_WORKER_H
#define BI_IMPORTER_WORKER_H

#include "pool.h"

#include <stdatomic.h>
#include <stdbool.h>

typedef struct workers workers;

typedef struct workers_config {
    db_pool *pool;
    const char *conninfo; /* for the LISTEN connection that wakes idle workers */
    int threads;
    int batch_size;
    int heartbeat_ms;    /* the node's running tasks are marked alive this often */
    int rescue_after_ms; /* a STARTED task silent this long goes back to PENDING */
    int retention_days;  /* finished tasks are purged after this */
    const char *node;    /* names this process in tasks' "worker" column */
    /* A task with a file_url downloads its file first (importer/fetch.h): */
    long long max_fetch_bytes; /* a larger file fails the task */
    long fetch_timeout_s;      /* the whole download */
    bool fetch_any_address;    /* --fetch-allow-private: not only root may fetch private URLs */
    long long max_line_bytes;  /* as for uploads */
    int max_test_mode_lines;
} workers_config;

/* Starts cfg->threads workers and a listener thread that wakes them when any node queues a
 * task (cfg is copied; pool is borrowed). Returns 0 and *out, or
 * BI_EINTERNAL when a thread cannot start. */
int workers_start(const workers_config *cfg, workers **out);

/* Wakes idle workers: a task was queued. Safe from any thread. */
void workers_wake(workers *w);

/* How many task endings (on any node) this node has heard of: pass it to workers_await_ending. */
unsigned long workers_endings(workers *w);

/* Waits up to ms milliseconds until a task ends after workers_endings returned seen, or the
 * workers stop. Safe from any thread (HTTP handlers long-polling a task). */
void workers_await_ending(workers *w, unsigned long seen, int ms);

/* Wakes every workers_await_ending now (the server is shutting down). */
void workers_release_waiters(workers *w);

/* Sleeps ms milliseconds, or less once *stopping is set (checked every 50 ms): how the
 * server's background threads pause. */
void workers_sleep(const atomic_bool *stopping, int ms);

/* Asks the workers to stop after their current batch, hands their tasks back to PENDING (a
 * test-mode task runs to its end), waits for them, frees w. NULL does nothing. */
void workers_stop(workers *w);

#endif
