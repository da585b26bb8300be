/* webhook.h — completion webhooks: a thread on every node delivers the queued deliveries
 * (db/webhooks.h) — the task's status with its summary, POSTed to its callback_url and signed
 * with the owner's secret — retrying with exponential backoff for up to an hour. Deliveries
 * live in the database, so they survive restarts and never hold up a worker.
 */
#ifndef BI_IMPORTER_WEBHOOK_H
#define BI_IMPORTER_WEBHOOK_H

#include "events.h"

#include <stdbool.h>
#include <stddef.h>

#define WEBHOOK_RETRY_FOR_MS (3600L * 1000) /* a delivery is retried this long after the ending */
#define WEBHOOK_SIGNATURE_MAX 72            /* "sha256=" + 64 hex digits + NUL */

typedef struct webhooks webhooks;

typedef struct webhooks_config {
    const char *conninfo;  /* the thread keeps a connection of its own */
    events *events;        /* whose task endings wake the thread (borrowed) */
    bool any_address;      /* --fetch-allow-private: non-root callbacks may be private too */
    long first_retry_ms;   /* the delay after the first failed attempt; doubles after each */
    long timeout_s;        /* one attempt's limit */
} webhooks_config;

/* Starts the delivery thread (cfg is copied). Returns 0 and *out, or BI_EINTERNAL. */
int webhooks_start(const webhooks_config *cfg, webhooks **out);

/* Stops the thread after its current attempt and frees wh. NULL does nothing. */
void webhooks_stop(webhooks *wh);

/* The delay before the next attempt after attempts failed ones, first_ms doubling each time,
 * for a delivery age_s seconds old; never past WEBHOOK_RETRY_FOR_MS, so the last attempt comes
 * at the hour. *give_up is set when the hour has passed. */
long webhook_retry_delay_ms(long first_ms, int attempts, double age_s, bool *give_up);

/* Writes "sha256=" and the lowercase hex HMAC-SHA256 of body (len bytes) under secret to out
 * (WEBHOOK_SIGNATURE_MAX bytes): the X-Bulkimport-Signature header's value. */
void webhook_sign(const char *secret, const char *body, size_t len, char *out);

#endif
