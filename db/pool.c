#include "pool.h"

#include "error.h"
#include "log.h"
#include "pgconn.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct db_pool {
    pthread_mutex_t lock;
    pthread_cond_t freed; /* signalled when a connection is released */
    char *conninfo;
    int size;
    int n_free;
    db_conn **free_list; /* stack of idle connections */
    db_conn *conns;
};

int db_pool_create(const char *conninfo, int size, db_pool **out_pool) {
    char *parse_error = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &parse_error);
    if (opts == NULL) {
        log_error("invalid database URL: %s", parse_error ? parse_error : "out of memory");
        PQfreemem(parse_error);
        return BI_EINVAL;
    }
    PQconninfoFree(opts);

    db_pool *pool = calloc(1, sizeof *pool);
    if (pool == NULL)
        abort();
    pool->conninfo = strdup(conninfo);
    pool->conns = calloc((size_t)size, sizeof *pool->conns);
    pool->free_list = calloc((size_t)size, sizeof *pool->free_list);
    if (pool->conninfo == NULL || pool->conns == NULL || pool->free_list == NULL)
        abort();
    pool->size = size;
    for (int i = 0; i < size; i++)
        pool->free_list[pool->n_free++] = &pool->conns[i];
    pthread_mutex_init(&pool->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&pool->freed, &attr);
    pthread_condattr_destroy(&attr);
    *out_pool = pool;
    return 0;
}

void db_pool_destroy(db_pool *pool) {
    if (pool == NULL)
        return;
    for (int i = 0; i < pool->size; i++)
        if (pool->conns[i].pg != NULL)
            PQfinish(pool->conns[i].pg);
    pthread_cond_destroy(&pool->freed);
    pthread_mutex_destroy(&pool->lock);
    free(pool->free_list);
    free(pool->conns);
    free(pool->conninfo);
    free(pool);
}

static void db_notice_to_log(void *arg, const char *message) {
    (void)arg;
    log_debug("postgres: %.*s", (int)strcspn(message, "\n"), message);
}

PGconn *db_connect(const char *conninfo) {
    /* Defaults first: settings in the expanded conninfo override them. Of a host list, only
     * a server that accepts writes will do (a standby refuses every import). Over TCP, a
     * server that vanished without a word (a failover, a cut network) is noticed within
     * about a minute instead of the kernel's hours. */
    const char *keys[] = {"connect_timeout", "fallback_application_name", "target_session_attrs",
                          "keepalives_idle", "keepalives_interval", "keepalives_count",
                          "tcp_user_timeout", "dbname", NULL};
    const char *values[] = {"5", "bulkimportd", "read-write", "30", "10", "3", "60000",
                            conninfo, NULL};
    PGconn *pg = PQconnectdbParams(keys, values, 1);
    if (pg == NULL)
        abort();
    return pg;
}

/* Opens conn->pg, closing a previous broken one. Runs outside the pool lock: connecting can
 * take up to connect_timeout. */
static int db_conn_open(db_pool *pool, db_conn *conn) {
    if (conn->pg != NULL)
        PQfinish(conn->pg);
    conn->n_prepared = 0;
    conn->broken = false;
    conn->pg = db_connect(pool->conninfo);
    if (PQstatus(conn->pg) != CONNECTION_OK) {
        log_warn("cannot connect to the database: %.*s", (int)strcspn(PQerrorMessage(conn->pg), "\n"),
                 PQerrorMessage(conn->pg));
        PQfinish(conn->pg);
        conn->pg = NULL;
        return BI_EUNAVAIL;
    }
    PQsetNoticeProcessor(conn->pg, db_notice_to_log, NULL);
    return 0;
}

/* A pooled connection does not LISTEN, so while idle it receives nothing unless the server is
 * ending the session (an administrator terminated it, the server restarted or is shutting down):
 * then the socket is readable. Anything unexpected on an idle socket makes the connection
 * suspect, and a fresh one costs a few milliseconds, so replace it. No round trip is spent on
 * healthy connections, and the next caller is spared a failed statement. */
static void db_conn_check_idle(db_conn *conn) {
    if (conn->pg == NULL || conn->broken)
        return;
    struct pollfd fd = {.fd = PQsocket(conn->pg), .events = POLLIN};
    if (poll(&fd, 1, 0) != 0) {
        log_info("a pooled database connection was closed by the server; reconnecting");
        conn->broken = true;
    }
}

void db_deadline(clockid_t clock, int ms, struct timespec *out) {
    clock_gettime(clock, out);
    out->tv_sec += ms / 1000;
    out->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (out->tv_nsec >= 1000000000L) {
        out->tv_sec++;
        out->tv_nsec -= 1000000000L;
    }
}

int db_pool_acquire(db_pool *pool, int timeout_ms, db_conn **out_conn) {
    struct timespec deadline;
    db_deadline(CLOCK_MONOTONIC, timeout_ms, &deadline);
    pthread_mutex_lock(&pool->lock);
    while (pool->n_free == 0) {
        if (pthread_cond_timedwait(&pool->freed, &pool->lock, &deadline) == ETIMEDOUT &&
            pool->n_free == 0) {
            pthread_mutex_unlock(&pool->lock);
            log_warn("no database connection became free within %d ms", timeout_ms);
            return BI_EUNAVAIL;
        }
    }
    db_conn *conn = pool->free_list[--pool->n_free];
    pthread_mutex_unlock(&pool->lock);

    db_conn_check_idle(conn);
    if (conn->pg == NULL || conn->broken || PQstatus(conn->pg) != CONNECTION_OK) {
        int err = db_conn_open(pool, conn);
        if (err < 0) {
            db_pool_release(pool, conn);
            return err;
        }
    }
    *out_conn = conn;
    return 0;
}

void db_pool_usage(db_pool *pool, int *out_size, int *out_in_use) {
    pthread_mutex_lock(&pool->lock);
    *out_size = pool->size;
    *out_in_use = pool->size - pool->n_free;
    pthread_mutex_unlock(&pool->lock);
}

void db_pool_release(db_pool *pool, db_conn *conn) {
    if (conn->pg != NULL && !conn->broken) {
        PGresult *res;
        while ((res = PQgetResult(conn->pg)) != NULL)
            PQclear(res);
        PGTransactionStatusType ts = PQtransactionStatus(conn->pg);
        if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
            db_rollback(conn);
        else if (ts != PQTRANS_IDLE)
            conn->broken = true;
    }
    if (conn->broken && conn->pg != NULL) {
        PQfinish(conn->pg);
        conn->pg = NULL;
    }
    pthread_mutex_lock(&pool->lock);
    pool->free_list[pool->n_free++] = conn;
    pthread_cond_signal(&pool->freed);
    pthread_mutex_unlock(&pool->lock);
}

/* Maps a failed result to an error code, logging the server's message. */
static int db_result_error(db_conn *conn, PGresult *res, const char *what) {
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *message = res ? PQresultErrorMessage(res) : PQerrorMessage(conn->pg);
    /* 25006: a read-only transaction — the server is a standby (a failover is under way, or
     * the conninfo lacks target_session_attrs=read-write): connect again through the host
     * list. */
    bool lost = PQstatus(conn->pg) != CONNECTION_OK || state == NULL ||
                strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 ||
                strcmp(state, "25006") == 0;
    int err = BI_EINTERNAL;
    if (lost) {
        conn->broken = true;
        err = BI_EUNAVAIL;
    } else if (strcmp(state, "23505") == 0) {
        err = BI_ECONFLICT;
    } else if (strcmp(state, "23514") == 0) {
        err = BI_EINVAL; /* a CHECK constraint: the caller should have validated */
    } else if (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0) {
        err = BI_EREFUSED; /* a data exception or another integrity violation: some value */
    }
    if (err == BI_EREFUSED || err == BI_EINVAL) /* the message may name what a line holds */
        snprintf(conn->refusal, sizeof conn->refusal, "%.*s", (int)strcspn(message, "\n"),
                 message);
    if (err == BI_ECONFLICT || err == BI_EINVAL || err == BI_EREFUSED)
        log_debug("%s: %.*s", what, (int)strcspn(message, "\n"), message);
    else
        log_error("%s failed [%s]: %.*s", what, state ? state : "-", (int)strcspn(message, "\n"),
                  message);
    return err;
}

static int db_result_take(db_conn *conn, PGresult *res, ExecStatusType expect, const char *what,
                          PGresult **out_res) {
    if (res == NULL || PQresultStatus(res) != expect) {
        int err = db_result_error(conn, res, what);
        PQclear(res);
        return err;
    }
    if (out_res != NULL)
        *out_res = res;
    else
        PQclear(res);
    return 0;
}

/* Prepares stmt on conn unless it already is. */
static int db_prepare(db_conn *conn, const db_stmt *stmt) {
    for (int i = 0; i < conn->n_prepared; i++)
        if (conn->prepared[i] == stmt)
            return 0;
    if (conn->n_prepared == BI_DB_MAX_PREPARED)
        abort(); /* raise BI_DB_MAX_PREPARED: there are more statements than slots */
    PGresult *res = PQprepare(conn->pg, stmt->name, stmt->sql, stmt->nparams, NULL);
    int err = db_result_take(conn, res, PGRES_COMMAND_OK, stmt->name, NULL);
    if (err == 0)
        conn->prepared[conn->n_prepared++] = stmt;
    return err;
}

int db_exec(db_conn *conn, const db_stmt *stmt, const char *const *values, const int *lengths,
            const int *formats, ExecStatusType expect, PGresult **out_res) {
    int err = db_prepare(conn, stmt);
    if (err < 0)
        return err;
    PGresult *res = PQexecPrepared(conn->pg, stmt->name, stmt->nparams, values, lengths, formats, 0);
    return db_result_take(conn, res, expect, stmt->name, out_res);
}

db_int db_int_text(long long value) {
    db_int out;
    snprintf(out.s, sizeof out.s, "%lld", value);
    return out;
}

int db_exec_text(db_conn *conn, const db_stmt *stmt, const char *const *values,
                 ExecStatusType expect, PGresult **out_res) {
    return db_exec(conn, stmt, values, NULL, NULL, expect, out_res);
}

int db_exec_row(db_conn *conn, const db_stmt *stmt, const char *const *values,
                PGresult **out_res) {
    PGresult *res = NULL;
    int err = db_exec_text(conn, stmt, values, PGRES_TUPLES_OK, &res);
    if (err < 0)
        return err;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return BI_ENOTFOUND;
    }
    *out_res = res;
    return 0;
}

int db_exec_insert(db_conn *conn, const db_stmt *stmt, const char *const *values) {
    PGresult *res = NULL;
    int err = db_exec_row(conn, stmt, values, &res);
    if (err == BI_ENOTFOUND)
        return BI_ECONFLICT;
    if (err == 0)
        PQclear(res);
    return err;
}

int db_exec_versioned(db_conn *conn, const db_stmt *stmt, const char *const *values,
                      int *out_version, bool *out_changed) {
    PGresult *res = NULL;
    int err = db_exec_row(conn, stmt, values, &res);
    if (err < 0)
        return err;
    *out_version = atoi(PQgetvalue(res, 0, 0));
    *out_changed = PQgetvalue(res, 0, 1)[0] == 't';
    PQclear(res);
    return 0;
}

int db_exec_stream(db_conn *conn, const db_stmt *stmt, const char *const *values,
                   int (*row)(const PGresult *res, void *ctx), void *ctx) {
    int err = db_prepare(conn, stmt);
    if (err < 0)
        return err;
    if (!PQsendQueryPrepared(conn->pg, stmt->name, stmt->nparams, values, NULL, NULL, 0) ||
        !PQsetSingleRowMode(conn->pg))
        return db_result_take(conn, NULL, PGRES_TUPLES_OK, stmt->name, NULL);
    PGresult *res;
    int stopped = 0;
    while ((res = PQgetResult(conn->pg)) != NULL) {
        ExecStatusType status = PQresultStatus(res);
        if (status == PGRES_SINGLE_TUPLE) {
            if (stopped == 0)
                stopped = row(res, ctx);
            PQclear(res);
        } else if (status == PGRES_TUPLES_OK) {
            PQclear(res);
        } else if (err == 0) {
            err = db_result_take(conn, res, PGRES_TUPLES_OK, stmt->name, NULL);
        } else {
            PQclear(res);
        }
    }
    return err < 0 ? err : stopped;
}

int db_copy_begin(db_conn *conn, const char *sql) {
    return db_result_take(conn, PQexec(conn->pg, sql), PGRES_COPY_IN, "copy", NULL);
}

int db_copy_put(db_conn *conn, const char *data, size_t len) {
    if (PQputCopyData(conn->pg, data, (int)len) != 1)
        return db_result_take(conn, NULL, PGRES_COMMAND_OK, "copy data", NULL);
    return 0;
}

int db_copy_end(db_conn *conn, const char *error) {
    if (PQputCopyEnd(conn->pg, error) != 1)
        return db_result_take(conn, NULL, PGRES_COMMAND_OK, "copy end", NULL);
    int err = 0;
    PGresult *res;
    while ((res = PQgetResult(conn->pg)) != NULL) {
        if (err == 0 && error == NULL)
            err = db_result_take(conn, res, PGRES_COMMAND_OK, "copy", NULL);
        else
            PQclear(res);
    }
    return err;
}

int db_exec_sql(db_conn *conn, const char *sql, ExecStatusType expect, PGresult **out_res) {
    PGresult *res = PQexec(conn->pg, sql);
    return db_result_take(conn, res, expect, "statement", out_res);
}

int db_begin(db_conn *conn) { return db_exec_sql(conn, "BEGIN", PGRES_COMMAND_OK, NULL); }

int db_commit(db_conn *conn) {
    PGresult *res = NULL;
    int err = db_exec_sql(conn, "COMMIT", PGRES_COMMAND_OK, &res);
    /* COMMIT of a transaction that failed earlier "succeeds" with the tag ROLLBACK: nothing
     * was committed, and the caller must not think otherwise. */
    if (err == 0 && strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        log_error("COMMIT answered %s: the transaction had failed", PQcmdStatus(res));
        err = BI_EINTERNAL;
    }
    PQclear(res);
    return err;
}

int db_savepoint(db_conn *conn) {
    return db_exec_sql(conn, "SAVEPOINT bi_part", PGRES_COMMAND_OK, NULL);
}

int db_savepoint_release(db_conn *conn) {
    return db_exec_sql(conn, "RELEASE SAVEPOINT bi_part", PGRES_COMMAND_OK, NULL);
}

int db_savepoint_rollback(db_conn *conn) {
    return db_exec_sql(conn, "ROLLBACK TO SAVEPOINT bi_part", PGRES_COMMAND_OK, NULL);
}

const char *db_refusal(const db_conn *conn) { return conn->refusal; }

void db_rollback(db_conn *conn) {
    if (conn->pg == NULL || conn->broken)
        return;
    if (db_exec_sql(conn, "ROLLBACK", PGRES_COMMAND_OK, NULL) < 0)
        conn->broken = true;
}

int db_ping(db_conn *conn) {
    int err = db_exec_sql(conn, "SELECT 1", PGRES_TUPLES_OK, NULL);
    return err < 0 ? BI_EUNAVAIL : 0;
}

int db_is_standby(db_conn *conn, bool *out) {
    PGresult *res = NULL;
    int err = db_exec_sql(conn, "SELECT pg_is_in_recovery()", PGRES_TUPLES_OK, &res);
    if (err < 0)
        return BI_EUNAVAIL;
    *out = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (*out)
        conn->broken = true; /* the next acquire looks through the host list again */
    return 0;
}

bool db_server_accepts(const char *conninfo) { return PQping(conninfo) == PQPING_OK; }
