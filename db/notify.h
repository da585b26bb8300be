/* notify.h — waiting for PostgreSQL notifications (LISTEN) on a dedicated connection, so idle
 * workers on every node start a queued task at once instead of at their next poll.
 */
#ifndef BI_DB_NOTIFY_H
#define BI_DB_NOTIFY_H

typedef struct db_listener db_listener;

#define DB_TASKS_CHANNEL "bulkimport_tasks" /* NOTIFYed when a task is queued */
#define DB_DONE_CHANNEL "bulkimport_done"   /* NOTIFYed when a task ends */

/* What db_listener_wait saw: a bit per channel. */
#define DB_NOTIFY_QUEUED 1
#define DB_NOTIFY_DONE 2

/* Opens a listener on conninfo for the channels DB_TASKS_CHANNEL and DB_DONE_CHANNEL. The
 * connection is made lazily and again after it breaks. Returns a listener (free with
 * db_listener_close). */
db_listener *db_listener_open(const char *conninfo);

/* Waits up to timeout_ms for notifications. Returns the DB_NOTIFY_* bits of those that
 * arrived, 0 on timeout, or BI_EUNAVAIL when the database cannot be reached (the caller waits and retries). */
int db_listener_wait(db_listener *l, int timeout_ms);

void db_listener_close(db_listener *l);

#endif
