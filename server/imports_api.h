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

/* POST with ?task=ID&action=resume resumes a REVOKED or FAILURE task instead. */
int imports_api_post(http_req *req);
/* The parallel-inline path: also takes an application/x-www-form-urlencoded field "data". */
int imports_api_post_inline(http_req *req);
int imports_api_get(http_req *req);
/* DELETE ?task=ID (or body {"task_id": ID}): cancel; 204, 404, or 409 once finished. */
int imports_api_delete(http_req *req);

#endif
