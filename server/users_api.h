/* users_api.h — the caller, user accounts and API tokens over HTTP.
 *
 * Tokens are generated here (auth.h) and shown exactly once, in the response that creates them;
 * only their hashes are stored.
 */
#ifndef BI_SERVER_USERS_API_H
#define BI_SERVER_USERS_API_H

#include "http.h"

/* GET /user/: 200 {"username","is_root"} of the caller. */
int users_api_get_me(http_req *req);

/* POST /users/ (root only, else 403), body {"username", "is_root"?}: 201
 * {"username","is_root","token"}; 400 on a bad name, unknown field or malformed body; 409 when
 * the name is taken. */
int users_api_create(http_req *req);

/* POST /user/token/: replaces the caller's token; 200 {"username","token"}. The old token stops
 * working at once. */
int users_api_rotate_own_token(http_req *req);

/* POST /users/:username/token/ (root only, else 403): issues a new token for that user; 200
 * {"username","token"}; 404 for an unknown user. */
int users_api_issue_token(http_req *req);

/* GET /user/webhook-secret/: 200 {"username","webhook_secret","algorithm","header"} — the
 * caller's key for verifying webhook signatures (made on first use). */
int users_api_get_webhook_secret(http_req *req);

/* POST /user/webhook-secret/: replaces the caller's webhook secret and answers as GET. Webhooks
 * sent from then on, retries included, are signed with the new one. */
int users_api_rotate_webhook_secret(http_req *req);

#endif
