/* task_detail_api.h — what a page about one task needs besides the task (the console's task
 * page): its per-line results a page at a time, filtered; when each batch committed; its
 * webhook deliveries. Rights as for the task itself: root sees every task, any other user only
 * its own (another's is 404, never revealed).
 */
#ifndef BI_SERVER_TASK_DETAIL_API_H
#define BI_SERVER_TASK_DETAIL_API_H

#include "http.h"

/* GET /tasks/:task/results/: a JSON array of result objects (line, root, action_type,
 * status_code, obj_type, obj_url, obj_repo_url, obj_owner_url, message, error_code, text and
 * text_bytes; text null beyond 64 KiB) in line order, paged as the task lists are (page, limit
 * 1-200 default 50, and their headers).
 * Filters: action, type (obj_type), status (failed, succeeded, skipped or a code), from and to
 * (line numbers, both included). */
int task_detail_api_results(http_req *req);

/* GET /tasks/:task/batches/: a JSON array of the committed batches in commit order, each with
 * first_line, its counters (processed, created, updated, deleted, skipped, failed), began_at
 * and recorded_at; streamed, for a task of any size. */
int task_detail_api_batches(http_req *req);

/* GET /tasks/:task/deliveries/: a JSON array of the task's webhook deliveries, oldest first. */
int task_detail_api_deliveries(http_req *req);

#endif
