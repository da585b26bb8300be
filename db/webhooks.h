/* webhooks.h — queued webhook deliveries: a task's ending inserts one (a trigger, in the
 * ending's transaction); any node's delivery thread takes due ones, fixes the body on the
 * first attempt, and records the outcome.
 */
#ifndef BI_DB_WEBHOOKS_H
#define BI_DB_WEBHOOKS_H

#include "tasks.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct db_delivery {
    int64_t id;
    char task_id[DB_TASK_ID_MAX];
    char url[DB_URL_MAX + 1];
    char *body;      /* malloc'd; NULL before the first attempt fixed it */
    int attempts;    /* including this one */
    double age_s;    /* since the task ended */
    char username[DB_USERNAME_MAX + 1]; /* the task's owner, whose secret signs */
    bool is_root;
} db_delivery;

/* Takes the oldest due delivery for lease_ms (it is due again then, should this node die
 * mid-attempt) and counts the attempt. Returns 0 and *out (free with db_delivery_fini),
 * BI_ENOTFOUND when none is due, or BI_EUNAVAIL / BI_EINTERNAL. */
int db_webhooks_claim(db_conn *conn, int lease_ms, db_delivery *out);

/* Stores body as d's body unless one was stored already; d->body becomes the stored one. */
int db_webhooks_fix_body(db_conn *conn, db_delivery *d, const char *body);

/* Records d's attempt: delivered (status 2xx), or failed with status (0: no answer) and error,
 * due again after delay_ms, or never again when give_up. */
int db_webhooks_record(db_conn *conn, const db_delivery *d, bool delivered, long status,
                       const char *error, long delay_ms, bool give_up);

void db_delivery_fini(db_delivery *d);

#endif
