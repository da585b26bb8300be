/* header_watch.h — a deadline on request headers of its own. CivetWeb gives a request's
 * headers as long as it gives a body's next bytes (--read-timeout, which must allow for slow
 * networks), so a few clients trickling headers would hold every handler thread that long.
 * CivetWeb tells http.c when a connection opens and closes, and the dispatcher when a
 * request's headers are complete; a watcher thread shuts down each connection still waiting
 * for headers past --header-timeout. It does not watch bodies (server/upload_gate.h does).
 * Thread-safe.
 */
#ifndef BI_SERVER_HEADER_WATCH_H
#define BI_SERVER_HEADER_WATCH_H

typedef struct header_watch header_watch;
typedef struct header_watch_conn header_watch_conn;

/* Shuts down connection conn (called by the watcher, on its thread, while conn cannot close:
 * its header_watch_close waits). */
typedef void (*header_watch_cut_fn)(const void *conn);

/* A watch that cuts with cut connections whose headers take more than timeout_s seconds, and
 * its watcher thread. Free with header_watch_free. */
header_watch *header_watch_new(long timeout_s, header_watch_cut_fn cut);

/* Stops the watcher and frees hw; every connection must have been closed. NULL does nothing. */
void header_watch_free(header_watch *hw);

/* Connection conn (borrowed until header_watch_close) was accepted: its first request's
 * headers are awaited from now. Returns its entry, to pass to the calls below. */
header_watch_conn *header_watch_open(header_watch *hw, const void *conn);

/* c's request's headers are complete: no deadline while its handler runs. NULL does nothing
 * (neither does it below). */
void header_watch_arrived(header_watch *hw, header_watch_conn *c);

/* c's request was answered: the next request's headers are awaited from now. */
void header_watch_awaiting(header_watch *hw, header_watch_conn *c);

/* c closed: frees its entry. NULL does nothing. */
void header_watch_close(header_watch *hw, header_watch_conn *c);

#endif
