/* feeds_api.h — feeds over HTTP (/manage/feeds/): define, list, change, delete, pause and
 * resume a feed, run it now, and read its history. A feed belongs to its user: another user's
 * is 404 (root reaches any with ?username=). Header values are stored and sent, never shown.
 */
#ifndef BI_SERVER_FEEDS_API_H
#define BI_SERVER_FEEDS_API_H

#include "http.h"

/* POST /manage/feeds/, body {name, url, schedule, mode?, prune?, prune_on_errors?, queue?,
 * update_if_exists?, batch_size?, cursor_param?, cursor_field?, headers?}: 201 with the feed;
 * 400 naming a missing, unknown or ill-typed field; 409 when the caller has a feed so named. */
int feeds_api_create(http_req *req);

/* GET /manage/feeds/: 200 [feed, ...] — the caller's; root's: everyone's, or ?username='s. */
int feeds_api_list(http_req *req);

/* GET /manage/feeds/:name/: 200 with the feed, or 404. */
int feeds_api_get(http_req *req);

/* PATCH /manage/feeds/:name/, body with any fields of POST: 200 with the changed feed. A new
 * schedule is due one interval (or at the next cron match) from now; a new url forgets the
 * validators and the cursor. */
int feeds_api_update(http_req *req);

/* DELETE /manage/feeds/:name/: 204; the feed and its history go, its tasks stay. */
int feeds_api_delete(http_req *req);

/* POST /manage/feeds/:name/pause/ and /resume/: 200 with the feed. A resumed feed is next due
 * one interval (or at the next cron match) from now. */
int feeds_api_pause_feed(http_req *req);
int feeds_api_resume_feed(http_req *req);

/* POST /manage/feeds/:name/run/: runs the feed now and answers once the fetch decided: 202
 * {feed, task, state} when it queued a task, 200 {feed, unchanged: true} when the source is
 * unchanged (or empty), 409 while a run of the feed is under way, 502 when the fetch failed. */
int feeds_api_run(http_req *req);

/* GET /manage/feeds/:name/runs/: 200 with the last 100 runs, newest first. */
int feeds_api_runs(http_req *req);

#endif
