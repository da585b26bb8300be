/* admin_api.h — user administration for root, named tokens for everyone, and the audit log
 * (README "Users and tokens").
 *
 *   GET    /users/            root: a page of users (q, is_root, disabled, page, limit)
 *   PATCH  /users/:u/         root: {"is_root"?, "disabled"?} → the user
 *   DELETE /users/:u/         root: deactivate (tokens revoked, tasks cancelled, feeds paused);
 *                             ?purge=true deletes the user and all it has
 *   POST   /user/tokens/      {"name", "expires_at"?, "read_only"?} → 201 with the token, once
 *   GET    /user/tokens/      the caller's tokens (never their values)
 *   DELETE /user/tokens/:id/  revoke one ("default": the first)
 *   GET    /manage/audit/     root: what root did, newest first
 * Root's changes to users and tokens, and its cancels and resumes of others' tasks, are
 * recorded in the audit log (admin_api_audit).
 */
#ifndef BI_SERVER_ADMIN_API_H
#define BI_SERVER_ADMIN_API_H

#include "http.h"

int admin_api_list_users(http_req *req);
int admin_api_update_user(http_req *req);
int admin_api_delete_user(http_req *req);
int admin_api_create_token(http_req *req);
int admin_api_list_tokens(http_req *req);
int admin_api_revoke_token(http_req *req);
int admin_api_list_audit(http_req *req);

/* Records root's action (action, target, detail: a JSON object's text or NULL) when the caller
 * is root; a failure to record is logged, the action stands. */
void admin_api_audit(http_req *req, const char *action, const char *target, const char *detail);

/* The owner a task id names ("<uuid>-<owner>~<queue>") into out, or "" when it names none. */
void admin_api_task_owner(const char *task_id, char *out, size_t cap);

#endif
