/* audit.h — the log of root's actions on users, tokens and other users' tasks
 * (migrations/0019_user_admin.sql), kept when a user is purged. */
#ifndef BI_DB_AUDIT_H
#define BI_DB_AUDIT_H

#include "users.h"

/* Records that actor did action to target; detail is a JSON object's text or NULL. Returns 0
 * or a BI_E* (the caller decides whether its action stands without the record). */
int db_audit_add(db_conn *conn, const char *actor, const char *action, const char *target,
                 const char *detail);

/* A page of the log, newest first, as a JSON array of {id, at, actor, action, target, detail}
 * in *out_json (free it), with the number of all entries in *out_total. */
int db_audit_list(db_conn *conn, long limit, long offset, char **out_json, long *out_total);

#endif
