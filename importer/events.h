/* events.h — the node's event signals: one thread LISTENs for the database's notifications
 * (db/notify.h) and turns them into counters that threads of this node wait on. Idle workers
 * wait for work (a task queued on any node, or batches of a task under way here that a helper
 * may take); long-polls, webhooks and the event stream wait for task endings. Waiting is by
 * counter: read it, look at the database, then wait until it moves, so no signal between the
 * look and the wait is lost. It does not know what tasks are; it only counts.
 */
#ifndef BI_IMPORTER_EVENTS_H
#define BI_IMPORTER_EVENTS_H

#include <stdatomic.h>

typedef struct events events;

/* Starts the listener thread on a connection of its own to conninfo (copied; made lazily and
 * again after it breaks). Returns 0 and *out (stop with events_stop), or BI_EINTERNAL when
 * the thread cannot start. */
int events_start(const char *conninfo, events **out);

/* Stops the listener and frees ev. Nothing may wait on ev any more. NULL does nothing. */
void events_stop(events *ev);

/* How much work this node has been told of: pass it to events_await_work. */
unsigned long events_work(events *ev);

/* Waits up to ms milliseconds until events_work moves past seen. */
void events_await_work(events *ev, unsigned long seen, int ms);

/* Tells this node's idle workers there is work: a task was queued here, batches wait for
 * helpers, or the workers are stopping (they look at their own flag). Safe from any thread. */
void events_note_work(events *ev);

/* How many task endings (on any node) this node has heard of: pass it to events_await_ending. */
unsigned long events_endings(events *ev);

/* Waits up to ms milliseconds until a task ends after events_endings returned seen, or
 * events_wake_waiters is called. */
void events_await_ending(events *ev, unsigned long seen, int ms);

/* Wakes every events_await_ending now, once (the server is shutting down: waiters look at
 * their own flags). */
void events_wake_waiters(events *ev);

/* Sleeps ms milliseconds, or less once *stopping is set (checked every 50 ms): how the
 * node's background threads pause. */
void events_sleep(const atomic_bool *stopping, int ms);

#endif
