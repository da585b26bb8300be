#include "app.h"

#include "auth.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "migrate.h"
#include "pgembed.h"
#include "users.h"
#include "webhook.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How long start-up waits for a database that is not answering yet (it may be starting too). */
#define APP_DB_START_WAIT_S 30
/* How long shutdown may wait for in-flight requests before the process exits anyway. */
#define APP_SHUTDOWN_WAIT_S 30
#define APP_WEBHOOK_TIMEOUT_S 10L /* one webhook attempt */
#define APP_FEED_TICK_MS 1000     /* the feed scheduler's leader looks for due feeds this often */

/* SIGALRM during shutdown: requests did not finish in time. The embedded postmaster still stops:
 * it gets its parent-death signal. */
static void app_shutdown_overdue(int sig) {
    (void)sig;
    static const char message[] = "bulkimportd: shutdown took too long; exiting now\n";
    ssize_t ignored = write(STDERR_FILENO, message, sizeof message - 1);
    (void)ignored;
    _exit(1);
}

/* Gives the uploads in flight the shutdown grace to finish, then cuts those still running:
 * they roll back and leave no task. */
static void app_wait_uploads(app *a) {
    struct timespec start, now, nap = {0, 50 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &start);
    int left;
    while ((left = atomic_load(&a->uploads)) > 0) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= a->cfg.shutdown_grace_s)
            break;
        nanosleep(&nap, NULL);
    }
    if (left > 0)
        log_warn("%d upload(s) still running after the %lds shutdown grace: rolled back", left,
                 a->cfg.shutdown_grace_s);
    atomic_store(&a->uploads_cut, true);
}

/* Creates path (and missing parents) when missing, the last one with mode 0700, and writes its
 * absolute form to out. */
static int app_prepare_data_dir(const char *path, char out[PATH_MAX]) {
    char partial[PATH_MAX];
    if (snprintf(partial, sizeof partial, "%s", path) >= (int)sizeof partial) {
        log_error("--data-dir: path too long");
        return BI_EINVAL;
    }
    for (char *slash = partial + 1; (slash = strchr(slash, '/')) != NULL; slash++) {
        *slash = '\0';
        if (mkdir(partial, 0755) != 0 && errno != EEXIST) {
            log_error("cannot create %s: %s", partial, strerror(errno));
            return BI_EIO;
        }
        *slash = '/';
    }
    if (mkdir(partial, 0700) == 0)
        log_info("created data dir %s", path);
    else if (errno != EEXIST) {
        log_error("cannot create data dir %s: %s", path, strerror(errno));
        return BI_EIO;
    }
    if (realpath(path, out) == NULL) {
        log_error("data dir %s: %s", path, strerror(errno));
        return BI_EIO;
    }
    return 0;
}

/* Takes an flock on <data_dir>/bulkimportd.lock for the life of the process. The kernel drops
 * it when the process dies, however it dies, so a kill -9 never leaves a stale lock. */
static int app_lock_data_dir(const char *data_dir, int *out_fd) {
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/bulkimportd.lock", data_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        log_error("cannot open %s: %s", path, strerror(errno));
        return BI_EIO;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        log_error("another bulkimportd (pid %s) is using the data dir %s; stop it first or choose "
                  "another --data-dir",
                  pid[0] ? pid : "unknown", data_dir);
        close(fd);
        return BI_EBUSY;
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len)
        log_warn("cannot write the pid to %s", path);
    *out_fd = fd;
    return 0;
}

/* Writes a generated root token to <data_dir>/root-token, readable by its owner only. */
static void app_save_root_token(const char *data_dir, const char *token) {
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/root-token", data_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    size_t len = strlen(token);
    if (fd < 0 || fchmod(fd, 0600) != 0 || write(fd, token, len) != (ssize_t)len ||
        write(fd, "\n", 1) != 1)
        log_error("cannot save the root token to %s: %s (it is printed above, once)", path,
                  strerror(errno));
    if (fd >= 0)
        close(fd);
}

/* Creates root on first start, or replaces its token when --root-token is given, and says on
 * stdout where the token is. */
static int app_bootstrap_root(app *a, db_conn *conn) {
    char token[AUTH_TOKEN_HEX_LEN + 1];
    const char *given = a->cfg.root_token;
    if (given == NULL) {
        int err = auth_token_generate(token);
        if (err < 0)
            return err;
    }
    const char *use = given ? given : token;
    unsigned char hash[DB_TOKEN_HASH_LEN];
    auth_token_hash(use, strlen(use), hash);
    bool created = false;
    int err = db_users_ensure_root(conn, hash, given != NULL, &created);
    if (err < 0)
        return err;
    if (given != NULL) {
        log_info("root token %s from --root-token", created ? "set" : "replaced");
        printf("root token: as given by --root-token / BULKIMPORT_ROOT_TOKEN\n");
    } else if (created && isatty(STDOUT_FILENO)) {
        app_save_root_token(a->data_dir, token);
        printf("root token: %s\n(saved in %s/root-token; shown only this once)\n", token,
               a->data_dir);
    } else if (created) { /* a log stream (a journal, a file) must never hold the secret */
        app_save_root_token(a->data_dir, token);
        printf("root token: saved in %s/root-token (printed only to a terminal)\n", a->data_dir);
    } else {
        printf("root token: unchanged, saved in %s/root-token when this data dir created it "
               "(--root-token replaces it)\n",
               a->data_dir);
    }
    return 0;
}

/* Applies migrations and bootstraps root, waiting for a database that is still starting. */
static int app_prepare_database(app *a) {
    time_t deadline = time(NULL) + APP_DB_START_WAIT_S;
    for (;;) {
        db_conn *conn;
        int applied = 0;
        int err = db_pool_acquire(a->pool, 5000, &conn);
        if (err == 0) {
            err = db_migrate_apply(conn, &applied);
            if (err == 0)
                err = app_bootstrap_root(a, conn);
            db_pool_release(a->pool, conn);
        }
        if (err == 0) {
            log_info("database ready (%d migration%s applied now, %zu in all)", applied,
                     applied == 1 ? "" : "s", db_migrations_count);
            return 0;
        }
        if (err != BI_EUNAVAIL || time(NULL) >= deadline) {
            log_error("cannot prepare the database: %s", error_message(err));
            return err;
        }
        log_warn("database not reachable yet; retrying");
        sleep(1);
    }
}

int app_run(const config *cfg) {
    app a = {.cfg = *cfg};
    int lock_fd = -1;
    pgembed *pg = NULL;
    struct mg_context *http = NULL;
    webhooks *hooks = NULL;
    feeds *scheduler = NULL;
    int rc = 1;

    /* Block the stop signals before any thread exists: every thread inherits the mask and the
     * main thread takes them with sigwait. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) { /* before any thread uses libcurl */
        log_error("cannot initialise libcurl");
        return 1;
    }

    if (app_prepare_data_dir(cfg->data_dir, a.data_dir) < 0)
        goto done;
    const char *conninfo = cfg->database_url;
    if (conninfo == NULL) {
        /* Only the embedded mode locks: nodes sharing a database each have their data dir. */
        if (app_lock_data_dir(a.data_dir, &lock_fd) < 0 ||
            pgembed_start(a.data_dir, cfg->db_connections + 10, &pg) < 0)
            goto done;
        conninfo = pgembed_conninfo(pg);
    }
    upload_limits limits = {.max_total = cfg->max_uploads,
                            .max_per_user = cfg->max_user_uploads,
                            .min_rate = cfg->upload_min_rate,
                            .grace_s = cfg->read_timeout_s,
                            .deadline_s = cfg->upload_deadline_s};
    a.upload_gate = upload_gate_new(&limits, http_stop_reading);
    a.header_watch = header_watch_new(cfg->header_timeout_s, http_cut_connection);
    if (db_pool_create(conninfo, cfg->db_connections, &a.pool) < 0 || app_prepare_database(&a) < 0)
        goto done;
    char node[128], host[64] = "localhost";
    gethostname(host, sizeof host - 1);
    snprintf(node, sizeof node, "%s:%d", host, (int)getpid());
    log_set_node(node);
    if (events_start(conninfo, &a.events) < 0)
        goto done;
    workers_config wc = {.pool = a.pool,
                         .conninfo = conninfo,
                         .events = a.events,
                         .threads = cfg->workers,
                         .max_test_mode_tasks = cfg->max_test_mode_tasks,
                         .heartbeat_ms = cfg->heartbeat_ms,
                         .rescue_after_ms = cfg->rescue_after_ms,
                         .retention_days = cfg->retention_days,
                         .node = node,
                         .version = BI_VERSION,
                         .commit = BI_COMMIT,
                         .limits = {.max_fetch_bytes = cfg->max_upload_bytes,
                                    .fetch_timeout_s = cfg->fetch_timeout_s,
                                    .fetch_any_address = cfg->fetch_allow_private,
                                    .max_line_bytes = cfg->max_line_bytes,
                                    .max_test_mode_lines = cfg->max_test_mode_lines}};
    if (workers_start(&wc, &a.workers) < 0)
        goto done;
    webhooks_config hc = {.conninfo = conninfo,
                          .events = a.events,
                          .any_address = cfg->fetch_allow_private,
                          .first_retry_ms = cfg->webhook_retry_ms,
                          .timeout_s = APP_WEBHOOK_TIMEOUT_S};
    if (webhooks_start(&hc, &hooks) < 0)
        goto done;
    a.feeds_cfg = (feeds_config){.pool = a.pool,
                                 .conninfo = conninfo,
                                 .batch_size = cfg->batch_size,
                                 .max_fetch_bytes = cfg->max_upload_bytes,
                                 .fetch_timeout_s = cfg->fetch_timeout_s,
                                 .fetch_any_address = cfg->fetch_allow_private,
                                 .max_line_bytes = cfg->max_line_bytes,
                                 .tick_ms = APP_FEED_TICK_MS,
                                 .runs = &a.feed_runs,
                                 .max_runs = cfg->max_feed_runs};
    if (feeds_start(&a.feeds_cfg, &scheduler) < 0)
        goto done;
    int port = 0;
    char address[300];
    if (http_start(&a, &http, &port, address, sizeof address) < 0)
        goto done;
    int host_len = (int)(strrchr(cfg->listen, ':') - cfg->listen);
    log_info("listening on http://%s:%d/", address, port);
    printf("bulkimportd is serving http://%.*s:%d/ — press Ctrl+C to stop\n"
           "the console: http://%.*s:%d/console/ (sign in with an API token)\n",
           host_len, cfg->listen, port, host_len, cfg->listen, port);
    fflush(stdout);

    int sig = 0;
    sigwait(&stop_signals, &sig);
    log_info("received %s: finishing in-flight requests and stopping", strsignal(sig));
    atomic_store(&a.stopping, true);
    events_wake_waiters(a.events);
    signal(SIGALRM, app_shutdown_overdue);
    alarm((unsigned)(cfg->shutdown_grace_s + APP_SHUTDOWN_WAIT_S));
    app_wait_uploads(&a);
    rc = 0;
done:
    fflush(stdout);
    http_stop(http);
    feeds_stop(scheduler);
    webhooks_stop(hooks);
    workers_stop(a.workers);
    events_stop(a.events);
    db_pool_destroy(a.pool);
    upload_gate_free(a.upload_gate);
    header_watch_free(a.header_watch);
    pgembed_stop(pg);
    if (lock_fd >= 0)
        close(lock_fd);
    curl_global_cleanup();
    if (rc == 0)
        log_info("stopped");
    return rc;
}
