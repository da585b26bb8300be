/* imports_api.h — OCL's bulk-import endpoints (OCL.md "Endpoints", "Results").
 *
 * POST streams the body through the line splitter into PostgreSQL (COPY, in the transaction
 * that creates the task) in bounded memory, answers 202 with the task id and wakes the workers.
 * GET ?task=ID answers 202 with live progress while the task runs, then its results as summary,
 * report or json — streamed from the database. Errors carry OCL's "exception".
 */
#ifndef BI_SERVER_IMPORTS_API_H
#define BI_SERVER_IMPORTS_API_H

#include "http.h"
#include "tasks.h"

/* POST with ?task=ID&action=resume resumes a REVOKED or FAILURE task instead. */
int imports_api_post(http_req *req);
/* The parallel-inline path: also takes an application/x-www-form-urlencoded field "data". */
int imports_api_post_inline(http_req *req);
int imports_api_get(http_req *req);
/* DELETE ?task=ID (or body {"task_id": ID}): cancel; 204, 404, or 409 once finished. */
int imports_api_delete(http_req *req);

/* Writes extra header lines (each ending in CRLF) for a list page of total tasks into out
 * (out_len bytes). */
#define IMPORTS_LIST_HEADERS_MAX 4096
typedef void (*imports_list_headers_fn)(long total, long limit, long offset, void *ctx, char *out,
                                        size_t out_len);

/* Answers 200 with a page of the tasks filter selects, newest first, as a JSON array of task
 * JSON (summary.h), streamed, with X-Total-Count and what headers (NULL: nothing) adds.
 * Returns 0 once answered, or a database error before anything was sent. */
int imports_api_send_list(http_req *req, const db_task_filter *filter, long limit, long offset,
                          imports_list_headers_fn headers, void *ctx);

/* Answers 200 with finished task t as JSON, its summary line as its message. Returns 0, or a
 * database error before anything was sent. */
int imports_api_send_task(http_req *req, db_conn *conn, const db_task *t);

/* Records root's action on another user's task in the audit log (admin_api_audit). */
void imports_api_audit_task(http_req *req, const char *action, const char *task_id);

/* Takes a place for a long-poll or event stream (--max-waiters), so waiters never starve
 * uploads and health checks: true, or answers 503 with Retry-After and returns false. Give the
 * place back with atomic_fetch_sub(&req->app->waiters, 1). */
bool imports_api_take_waiter(http_req *req);

#endif
