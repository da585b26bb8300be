/* manage_api.h — what an operator looks at (README "Operating"): the queues with tasks waiting
 * or running (GET /manage/queues/; a user sees its own, root everyone's) and the cluster's
 * nodes with their heartbeats, workers, running tasks and versions (GET /manage/nodes/, root),
 * and the statistics that add up across imports (GET /manage/stats/).
 */
#ifndef BI_SERVER_MANAGE_API_H
#define BI_SERVER_MANAGE_API_H

#include "http.h"

int manage_api_queues(http_req *req);
int manage_api_nodes(http_req *req);

/* GET /manage/stats/?since=&until=&by=day|user|queue|repository[&username=]: lines by action
 * and status, tasks by state and bytes, summed from the daily roll-ups (a user's own; root
 * everyone's or one user's). */
int manage_api_stats(http_req *req);

#endif
