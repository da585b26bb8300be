/* pool.h — a fixed set of PostgreSQL connections shared by HTTP handlers and workers.
 *
 * A connection belongs to one thread between db_pool_acquire and db_pool_release. Connections
 * are opened lazily and re-opened when found broken, so the pool survives a database restart;
 * prepared statements are prepared again on the new connection the first time they run. The
 * pool does not retry statements: a caller that gets BI_EUNAVAIL decides whether to retry.
 */
#ifndef BI_DB_POOL_H
#define BI_DB_POOL_H

#include <time.h>

#include <stdbool.h>

typedef struct db_pool db_pool;
typedef struct db_conn db_conn;

/* Creates a pool of size connections (size >= 1) to conninfo (a libpq keyword/value string or
 * URI; copied). No connection is opened yet. Returns 0 and a new pool in *out_pool (free with
 * db_pool_destroy), or BI_EINVAL when conninfo cannot be parsed. */
int db_pool_create(const char *conninfo, int size, db_pool **out_pool);

/* Closes every connection and frees the pool. All connections must have been released.
 * NULL does nothing. */
void db_pool_destroy(db_pool *pool);

/* Waits up to timeout_ms for a free connection, opening it if needed. Returns 0 and a borrowed
 * connection in *out_conn (give it back with db_pool_release), or BI_EUNAVAIL when none became
 * free in time or the database cannot be reached. */
int db_pool_acquire(db_pool *pool, int timeout_ms, db_conn **out_conn);

/* Gives conn back. An open transaction is rolled back and pending results are drained first; a
 * broken connection is closed, to be re-opened by the next acquire. */
void db_pool_release(db_pool *pool, db_conn *conn);

/* How many connections the pool has, and how many are lent out now (for the metrics). */
void db_pool_usage(db_pool *pool, int *out_size, int *out_in_use);

/* Transactions on a borrowed connection. Each returns 0, or BI_EUNAVAIL when the connection
 * broke, or BI_EINTERNAL — db_commit also when the transaction had failed earlier, so that
 * PostgreSQL rolled it back (its COMMIT's tag is ROLLBACK). db_rollback never fails the
 * caller's cleanup path: it marks the connection broken instead. */
int db_begin(db_conn *conn);
int db_commit(db_conn *conn);
void db_rollback(db_conn *conn);

/* One savepoint inside the open transaction: set it, release it, or roll back to it (which
 * also clears a failed statement's error state). Same returns as db_begin. */
int db_savepoint(db_conn *conn);
int db_savepoint_release(db_conn *conn);
int db_savepoint_rollback(db_conn *conn);

/* The database's one-line message of the last statement that failed on conn with BI_EREFUSED
 * or BI_EINVAL: it may quote a line's value, so it goes only into that line's own result. */
const char *db_refusal(const db_conn *conn);

/* Returns true when the server at conninfo accepts connections now (libpq's PQping: no
 * authentication is attempted). */
bool db_server_accepts(const char *conninfo);

/* Whether conn's server is a standby in recovery, which refuses writes; its connection is then
 * dropped at release, so the next acquire goes through the conninfo's host list again.
 * Returns 0 with *out, or BI_EUNAVAIL. */
int db_is_standby(db_conn *conn, bool *out);

/* Runs "SELECT 1". Returns 0 when the database answers, else BI_EUNAVAIL. */
int db_ping(db_conn *conn);

/* Sets *out to clock's time now plus ms milliseconds: a deadline for pthread_cond_timedwait. */
void db_deadline(clockid_t clock, int ms, struct timespec *out);

#endif
