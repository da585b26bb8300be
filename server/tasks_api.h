/* tasks_api.h — oclapi2's task API: /tasks/, /tasks/:id/ and /users/:user/tasks/, over the
 * same tasks and the same task JSON as the bulk-import endpoints (summary.h).
 *
 * Lists page as oclapi2 pages them: page (from 1) and limit (1-1000, default 25), newest
 * first, with the headers num_found, num_returned, pages, page_number, and next and previous
 * where they exist; filters q (a piece of the task id), state (comma-separated), start_date
 * (started at or after an ISO 8601 date or time), queue (its name); verbose is taken (every
 * item is whole).
 * A malformed or unknown parameter is 400 naming it. Rights: root sees everyone's; any other
 * user sees only its own (another user's task or list is 404, never revealed).
 */
#ifndef BI_SERVER_TASKS_API_H
#define BI_SERVER_TASKS_API_H

#include "http.h"

/* GET /tasks/: root's view of every task, any other user's of its own. */
int tasks_api_list(http_req *req);

/* GET /users/:username/tasks/: that user's tasks, for the user itself or root (else 404). */
int tasks_api_list_user(http_req *req);

/* GET /tasks/:id/: the task (200 in every state), own or root's view, else 404. */
int tasks_api_get(http_req *req);

/* DELETE /tasks/:id/: cancels it (204); 400 "Task is already finished." once finished. */
int tasks_api_delete(http_req *req);

/* Whether the path's first parameter (a task's or a user's id) can name anything (UTF-8, as
 * ids are): else answer 404, never a database error. */
bool tasks_api_id_is_possible(const http_req *req);

/* oclapi2's paging headers (core/common/mixins.py) for page (from 1) of a list of total items,
 * limit a page from offset, into out (out_len bytes): "Name: value\r\n" lines. */
void tasks_api_page_headers(http_req *req, long page, long total, long limit, long offset,
                            char *out, size_t out_len);

#endif
