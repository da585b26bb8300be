/* app.h — the running server: its configuration and the long-lived parts every handler uses.
 *
 * app_run() owns the whole lifecycle: data dir and its lock, the embedded PostgreSQL when no
 * database URL is given, the connection pool, migrations, the root user, the HTTP server, and
 * the orderly shutdown on SIGINT/SIGTERM.
 */
#ifndef BI_SERVER_APP_H
#define BI_SERVER_APP_H

#include "config.h"
#include "events.h"
#include "feed.h"
#include "header_watch.h"
#include "pool.h"
#include "upload_gate.h"
#include "worker.h"

#include <limits.h>
#include <stdatomic.h>

typedef struct app {
    config cfg;
    char data_dir[PATH_MAX]; /* absolute */
    db_pool *pool;
    events *events;   /* the node's signals: task queued, task ended */
    workers *workers;
    feeds_config feeds_cfg; /* how feeds run: by the scheduler and by POST .../run/ */
    atomic_bool stopping; /* shutdown began: long-polls answer at once */
    atomic_int waiters;   /* long-polls and event streams being held */
    atomic_int streams;   /* result downloads streaming (--max-streams) */
    atomic_int feed_runs; /* feed downloads under way (--max-feed-runs) */
    atomic_int uploads;   /* import POSTs being received and stored */
    int metrics_port;     /* --metrics-listen's bound port (it serves /metrics alone), or 0 */
    upload_gate *upload_gate; /* caps uploads in flight, in all and per user */
    header_watch *header_watch; /* closes connections whose headers are overdue */
    atomic_bool uploads_cut; /* the shutdown grace is over: uploads still running roll back */
} app;

/* Runs the server until SIGINT or SIGTERM. Borrows cfg for the whole run. Returns the process
 * exit code: 0 after a clean shutdown, 1 when start-up failed (the reason is logged). */
int app_run(const config *cfg);

#endif
