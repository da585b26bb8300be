#include "webhook.h"

#include "error.h"
#include "fetch.h"
#include "ids.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "summary.h"
#include "users.h"
#include "webhooks.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WEBHOOK_POLL_MS 1000 /* due retries are looked for this often; endings wake it sooner */
#define WEBHOOK_LEASE_SLACK_MS 30000

struct webhooks {
    webhooks_config cfg;
    char *conninfo;
    pthread_t thread;
    atomic_bool stopping;
};

long webhook_retry_delay_ms(long first_ms, int attempts, double age_s, bool *give_up) {
    long left = WEBHOOK_RETRY_FOR_MS - (long)(age_s * 1000);
    *give_up = left <= 0;
    if (*give_up)
        return 0;
    long delay = first_ms;
    for (int i = 1; i < attempts && delay < left; i++)
        delay *= 2;
    return delay < left ? delay : left;
}

void webhook_sign(const char *secret, const char *body, size_t len, char *out) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len, mac,
         &mac_len);
    memcpy(out, "sha256=", 7);
    ids_hex(mac, mac_len, out + 7);
}

/* The body of d: the task's status with its counts, times and summary line. Returns it
 * (malloc'd) or NULL when the task cannot be read now. */
static char *webhook_body(db_conn *conn, const db_delivery *d) {
    db_user owner = {.is_root = true};
    snprintf(owner.username, sizeof owner.username, "%s", d->username);
    db_task t;
    cJSON *body;
    if (db_tasks_get(conn, d->task_id, &owner, &t) < 0 || summary_task_json_read(conn, &t, &body) < 0)
        return NULL;
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (text == NULL)
        abort();
    return text;
}

/* POSTs d's body, signed, and says how it went: 0 delivered (2xx), BI_EPERM never deliverable,
 * BI_EIO try again; the status (0: none) in *status and why in why. */
static int webhook_attempt(db_conn *conn, const webhooks *wh, const db_delivery *d,
                           long *status, char *why) {
    char fresh[DB_WEBHOOK_SECRET_MAX + 1], secret[DB_WEBHOOK_SECRET_MAX + 1];
    int err = ids_random_hex(DB_WEBHOOK_SECRET_MAX / 2, fresh);
    if (err == 0)
        err = db_users_webhook_secret(conn, d->username, fresh, false, secret);
    if (err < 0) {
        snprintf(why, FETCH_WHY_MAX, "the signing secret could not be read");
        return BI_EIO;
    }
    char signature[WEBHOOK_SIGNATURE_MAX], signature_header[WEBHOOK_SIGNATURE_MAX + 32];
    char task_header[DB_TASK_ID_MAX + 32], delivery_header[64];
    webhook_sign(secret, d->body, strlen(d->body), signature);
    snprintf(signature_header, sizeof signature_header, "X-Bulkimport-Signature: %s", signature);
    snprintf(task_header, sizeof task_header, "X-Bulkimport-Task: %s", d->task_id);
    snprintf(delivery_header, sizeof delivery_header, "X-Bulkimport-Delivery: %lld",
             (long long)d->id);
    const char *headers[] = {"Content-Type: application/json", signature_header, task_header,
                             delivery_header, "Expect:", NULL};
    *status = 0;
    err = fetch_post(d->url, d->is_root || wh->cfg.any_address, headers, d->body,
                     strlen(d->body), wh->cfg.timeout_s, status, why);
    if (err == 0 && (*status < 200 || *status >= 300)) {
        snprintf(why, FETCH_WHY_MAX, "the receiver answered HTTP %ld", *status);
        return BI_EIO;
    }
    return err;
}

/* Delivers the next due delivery, if any. Returns 0 when one was attempted, BI_ENOTFOUND when
 * none is due, or a database error. */
static int webhook_deliver_next(webhooks *wh, db_conn *conn) {
    db_delivery d;
    int lease_ms = (int)(wh->cfg.timeout_s * 1000 + WEBHOOK_LEASE_SLACK_MS);
    int err = db_webhooks_claim(conn, lease_ms, &d);
    if (err < 0)
        return err;
    if (d.body == NULL) { /* the first attempt fixes the body every retry sends */
        char *body = webhook_body(conn, &d);
        err = body != NULL ? db_webhooks_fix_body(conn, &d, body) : BI_EUNAVAIL;
        free(body);
        if (err < 0) {
            db_delivery_fini(&d);
            return err; /* due again when the lease ends */
        }
    }
    long status = 0;
    char why[FETCH_WHY_MAX] = "";
    int rc = webhook_attempt(conn, wh, &d, &status, why);
    bool give_up = rc == BI_EPERM;
    long delay = rc == 0 || give_up
                     ? 0
                     : webhook_retry_delay_ms(wh->cfg.first_retry_ms, d.attempts, d.age_s,
                                              &give_up);
    err = db_webhooks_record(conn, &d, rc == 0, status, rc == 0 ? NULL : why, delay, give_up);
    metrics_webhook(rc == 0 ? "delivered" : give_up ? "given_up" : "retried");
    if (rc == 0)
        log_info("task %s: webhook delivered (HTTP %ld, attempt %d)", d.task_id, status,
                 d.attempts);
    else if (give_up)
        log_warn("task %s: webhook given up after %d attempt(s): %s", d.task_id, d.attempts, why);
    else
        log_info("task %s: webhook attempt %d failed (%s); next in %ld ms", d.task_id,
                 d.attempts, why, delay);
    db_delivery_fini(&d);
    return err;
}

static void *webhook_main(void *arg) {
    webhooks *wh = arg;
    db_pool *own;
    if (db_pool_create(wh->conninfo, 1, &own) < 0)
        return NULL;
    while (!atomic_load(&wh->stopping)) {
        unsigned long seen = events_endings(wh->cfg.events);
        db_conn *conn;
        if (db_pool_acquire(own, WEBHOOK_POLL_MS, &conn) == 0) {
            while (!atomic_load(&wh->stopping) && webhook_deliver_next(wh, conn) == 0)
                continue;
            db_pool_release(own, conn);
        }
        events_await_ending(wh->cfg.events, seen, WEBHOOK_POLL_MS);
    }
    db_pool_destroy(own);
    return NULL;
}

int webhooks_start(const webhooks_config *cfg, webhooks **out) {
    webhooks *wh = calloc(1, sizeof *wh);
    if (wh == NULL || (wh->conninfo = strdup(cfg->conninfo)) == NULL)
        abort();
    wh->cfg = *cfg;
    wh->cfg.conninfo = wh->conninfo;
    if (pthread_create(&wh->thread, NULL, webhook_main, wh) != 0) {
        log_error("cannot start the webhook thread");
        free(wh->conninfo);
        free(wh);
        return BI_EINTERNAL;
    }
    *out = wh;
    return 0;
}

void webhooks_stop(webhooks *wh) {
    if (wh == NULL)
        return;
    atomic_store(&wh->stopping, true);
    events_wake_waiters(wh->cfg.events);
    pthread_join(wh->thread, NULL);
    free(wh->conninfo);
    free(wh);
}
