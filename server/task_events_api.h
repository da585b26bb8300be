/* task_events_api.h — one event stream for a whole list of tasks (the console's tasks table),
 * so a page follows every running task over one connection, counted once against
 * --max-waiters.
 */
#ifndef BI_SERVER_TASK_EVENTS_API_H
#define BI_SERVER_TASK_EVENTS_API_H

#include "http.h"

/* GET /tasks/events/: Server-Sent Events. Every second, and at once when a task ends, an
 * "active" event whose data is {"tasks": [...]}: the caller's PENDING and STARTED tasks (root:
 * everyone's; the newest 200), each as the task JSON (progress, ahead); after it, an "ended"
 * event {"id"} for each task that has ended since the last one (a task pushed out of the 200
 * is looked up, not taken for ended). The stream ends within 5 seconds of its token being
 * revoked or its user disabled. Read it with fetch() and the Authorization header:
 * EventSource can send no header. */
int task_events_api_stream(http_req *req);

#endif
