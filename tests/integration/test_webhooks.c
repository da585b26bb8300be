/* Completion webhooks, imports from a URL, the address policy and Idempotency-Key, against a
 * real bulkimportd and PostgreSQL. The other end — the webhook receiver and the file server —
 * is a CivetWeb server on loopback, started by each test. */
#include "harness.h"

#include <civetweb.h>
#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROOT "Token " HARNESS_ROOT_TOKEN
#define MAX_HITS 16

/* ---- the other end --------------------------------------------------------------------------- */

typedef struct peer {
    struct mg_context *ctx;
    int port;
    pthread_mutex_t lock;
    int fail_first; /* POSTs answered 500 before the first 200 */
    int hits;       /* POSTs received */
    int slow_gets;  /* GETs of /slow-then-ok.jsonl */
    char *bodies[MAX_HITS];
    char signatures[MAX_HITS][128];
    char tasks[MAX_HITS][256];
    unsigned char gz[1024], bomb[4096]; /* file_lines gzipped; 64 KiB of lines once inflated */
    size_t gz_len, bomb_len;
} peer;

static const char file_lines[] = "{\"type\":\"Organization\",\"id\":\"F1\",\"name\":\"F\"}\n"
                                 "{\"type\":\"Organization\",\"id\":\"F2\",\"name\":\"F\"}\n"
                                 "{\"type\":\"Organization\",\"id\":\"F3\",\"name\":\"F\"}\n";

/* GET /file.jsonl: three lines; /redirect: 302 to /file.jsonl; /big.jsonl: 64 KiB of lines;
 * anything else 404. POST: recorded, 500 for the first fail_first, then 200. */
static int peer_handle(struct mg_connection *conn, void *data) {
    peer *p = data;
    const struct mg_request_info *info = mg_get_request_info(conn);
    if (strcmp(info->request_method, "POST") == 0) {
        size_t cap = 65536, len = 0;
        char *body = malloc(cap);
        int n;
        while (len < cap - 1 && (n = mg_read(conn, body + len, cap - 1 - len)) > 0)
            len += (size_t)n;
        body[len] = '\0';
        const char *sig = mg_get_header(conn, "X-Bulkimport-Signature");
        const char *task = mg_get_header(conn, "X-Bulkimport-Task");
        pthread_mutex_lock(&p->lock);
        int hit = p->hits++;
        if (hit < MAX_HITS) {
            p->bodies[hit] = body;
            snprintf(p->signatures[hit], sizeof p->signatures[hit], "%s", sig ? sig : "");
            snprintf(p->tasks[hit], sizeof p->tasks[hit], "%s", task ? task : "");
        } else {
            free(body);
        }
        bool fail = hit < p->fail_first;
        pthread_mutex_unlock(&p->lock);
        mg_send_http_error(conn, fail ? 500 : 200, "%s", fail ? "not now" : "thanks");
        return fail ? 500 : 200;
    }
    if (strcmp(info->local_uri, "/file.jsonl") == 0) {
        mg_send_http_ok(conn, "application/x-ndjson", (long long)strlen(file_lines));
        mg_write(conn, file_lines, strlen(file_lines));
        return 200;
    }
    if (strcmp(info->local_uri, "/slow-then-ok.jsonl") == 0) { /* 404 after 3 s, then the file */
        pthread_mutex_lock(&p->lock);
        int get = p->slow_gets++;
        pthread_mutex_unlock(&p->lock);
        if (get > 0) {
            mg_send_http_ok(conn, "application/x-ndjson", (long long)strlen(file_lines));
            mg_write(conn, file_lines, strlen(file_lines));
            return 200;
        }
        sleep(3);
        mg_send_http_error(conn, 404, "%s", "not yet");
        return 404;
    }
    /* /file.jsonl.gz: file_lines gzipped; /cut.gz: the same cut short; /bomb.gz: a small gzip
     * of 64 KiB of lines. */
    bool cut = strcmp(info->local_uri, "/cut.gz") == 0;
    if (cut || strcmp(info->local_uri, "/file.jsonl.gz") == 0 ||
        strcmp(info->local_uri, "/bomb.gz") == 0) {
        bool bomb = info->local_uri[1] == 'b';
        size_t len = bomb ? p->bomb_len : cut ? p->gz_len - 6 : p->gz_len;
        mg_send_http_ok(conn, "application/gzip", (long long)len);
        mg_write(conn, bomb ? p->bomb : p->gz, len);
        return 200;
    }
    if (strcmp(info->local_uri, "/redirect") == 0) {
        mg_send_http_redirect(conn, "/file.jsonl", 302);
        return 302;
    }
    if (strcmp(info->local_uri, "/big.jsonl") == 0) {
        char line[64];
        int len = snprintf(line, sizeof line, "{\"type\":\"Organization\",\"id\":\"B\",\"name\":\"B\"}\n");
        mg_send_http_ok(conn, "application/x-ndjson", 1024LL * len);
        for (int i = 0; i < 1024; i++)
            mg_write(conn, line, (size_t)len);
        return 200;
    }
    mg_send_http_error(conn, 404, "%s", "no such file");
    return 404;
}

static void peer_start(peer *p, int fail_first) {
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    p->fail_first = fail_first;
    p->gz_len = harness_gzip(file_lines, strlen(file_lines), p->gz, sizeof p->gz);
    static const char line[] = "{\"type\":\"Organization\",\"id\":\"B\",\"name\":\"Bomb\"}\n";
    static char lines[64 * 1024];
    memset(lines, '\n', sizeof lines);
    for (size_t at = 0; at + sizeof line - 1 <= sizeof lines; at += sizeof line - 1)
        memcpy(lines + at, line, sizeof line - 1);
    p->bomb_len = harness_gzip(lines, sizeof lines, p->bomb, sizeof p->bomb);
    p->ctx = harness_peer_start(peer_handle, p, 4, &p->port);
}

static void peer_stop(peer *p) {
    harness_peer_stop(p->ctx);
    for (int i = 0; i < MAX_HITS; i++)
        free(p->bodies[i]);
    pthread_mutex_destroy(&p->lock);
}

static int peer_hits(peer *p) {
    pthread_mutex_lock(&p->lock);
    int n = p->hits;
    pthread_mutex_unlock(&p->lock);
    return n;
}

/* Waits up to timeout_s for the peer to have received n POSTs; returns how many it has. */
static int peer_wait_hits(peer *p, int n, int timeout_s) {
    for (int i = 0; i < timeout_s * 20 && peer_hits(p) < n; i++)
        usleep(50 * 1000);
    return peer_hits(p);
}

/* ---- helpers --------------------------------------------------------------------------------- */

/* A server on a fresh database with the extra flags (NULL-terminated). */
static void start_with(harness_server *s, const char *const extra[]) {
    harness_server_start_with(s, 2, extra);
}

/* POSTs body to path as auth (no body: NULL); asserts 202 and returns the task id (static). */
static const char *submit(const harness_server *s, const char *path, const char *auth,
                          const char *body) {
    static char id[256];
    harness_response *r = harness_request_typed(s, "POST", path, auth, "application/x-ndjson",
                                                body, body ? strlen(body) : 0);
    cr_assert_eq(r->status, 202, "POST %s: %ld %s", path, r->status, r->body);
    snprintf(id, sizeof id, "%s", harness_json_string(r, "task"));
    harness_response_free(r);
    return id;
}

/* Long-polls task to its end; returns the final summary response (free it). */
static harness_response *wait_done(const harness_server *s, const char *task, const char *auth) {
    char path[512];
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&wait=30", task);
    for (int i = 0; i < 4; i++) {
        harness_response *r = harness_request(s, "GET", path, auth, NULL);
        if (r->status != 202)
            return r;
        harness_response_free(r);
    }
    cr_assert_fail("task %s did not finish", task);
    return NULL;
}

/* The final state of task (the summary's X-Task-State), in static storage. */
static const char *final_state(const harness_server *s, const char *task) {
    static char state[32];
    harness_response *r = wait_done(s, task, ROOT);
    cr_assert_not_null(harness_response_header(r, "X-Task-State", state, sizeof state), "%s",
                       r->body);
    harness_response_free(r);
    return state;
}

static void hmac_hex(const char *key, const char *body, char *out) {
    unsigned char mac[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)body, strlen(body), mac, &len);
    strcpy(out, "sha256=");
    for (unsigned i = 0; i < len; i++)
        sprintf(out + 7 + 2 * i, "%02x", mac[i]);
}

/* The webhook secret of auth's user. */
static void webhook_secret(const harness_server *s, const char *auth, char *out, size_t out_len) {
    harness_response *r = harness_request(s, "GET", "/user/webhook-secret/", auth, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    snprintf(out, out_len, "%s", harness_json_string(r, "webhook_secret"));
    harness_response_free(r);
}

/* Checks delivery i of p: for task, signed with secret, a SUCCESS status with its summary. */
static void expect_delivery(peer *p, int i, const char *task, const char *secret) {
    char expected[128];
    hmac_hex(secret, p->bodies[i], expected);
    cr_expect_str_eq(p->signatures[i], expected, "the signature does not verify");
    cr_expect_str_eq(p->tasks[i], task);
    cJSON *body = cJSON_Parse(p->bodies[i]);
    cr_assert_not_null(body, "%s", p->bodies[i]);
    cr_expect_str_eq(cJSON_GetObjectItem(body, "task")->valuestring, task);
    cr_expect_str_eq(cJSON_GetObjectItem(body, "state")->valuestring, "SUCCESS");
    const cJSON *message = cJSON_GetObjectItem(body, "message"); /* the one task shape */
    cr_expect(cJSON_IsString(message) && strncmp(message->valuestring, "Processed 3 of 3", 16) == 0,
              "%s", p->bodies[i]);
    cr_expect_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(body, "summary"), "created")->valueint, 3);
    const cJSON *progress = cJSON_GetObjectItem(body, "progress");
    cr_expect_eq(cJSON_GetObjectItem(progress, "created")->valueint, 3, "%s", p->bodies[i]);
    cJSON_Delete(body);
}

/* ---- webhooks -------------------------------------------------------------------------------- */

TestSuite(webhooks, .timeout = 240);

Test(webhooks, one_signed_delivery_per_task_also_after_two_500s) {
    peer p;
    peer_start(&p, 2);
    harness_server s;
    start_with(&s, (const char *const[]){"--fetch-allow-private", "--webhook-retry-ms", "200",
                                         NULL});
    char alice[128], secret[128], path[512];
    harness_create_user(&s, "alice", alice, sizeof alice);
    webhook_secret(&s, alice, secret, sizeof secret);
    cr_expect_eq(strlen(secret), 64);
    snprintf(path, sizeof path,
             "/manage/bulkimport/?callback_url=http%%3A%%2F%%2F127.0.0.1%%3A%d%%2Fhook", p.port);
    char task[256];
    snprintf(task, sizeof task, "%s", submit(&s, path, alice, file_lines));
    harness_response_free(wait_done(&s, task, alice));
    cr_assert_eq(peer_wait_hits(&p, 3, 30), 3, "expected two failed attempts and one delivery");
    usleep(1500 * 1000); /* nothing more comes once one was delivered */
    cr_expect_eq(peer_hits(&p), 3);
    for (int i = 0; i < 3; i++)
        expect_delivery(&p, i, task, secret);
    cr_expect_str_eq(p.bodies[0], p.bodies[2], "every attempt sends the same body");
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT attempts FROM webhook_deliveries WHERE task_id = '%s'"
             " AND delivered_at IS NOT NULL AND last_status = 200", task);
    cr_expect_eq(harness_sql(s.conninfo, sql), 3);
    /* The node counted each attempt by its outcome. */
    harness_response *m = harness_request(&s, "GET", "/metrics", "Token " HARNESS_ROOT_TOKEN, NULL);
    cr_expect(strstr(m->body, "bulkimport_webhook_deliveries_total{outcome=\"retried\"} 2\n") != NULL &&
                  strstr(m->body, "bulkimport_webhook_deliveries_total{outcome=\"delivered\"} 1\n") != NULL,
              "%s", m->body);
    harness_response_free(m);

    /* A task without callback_url sends nothing. */
    harness_response_free(wait_done(&s, submit(&s, "/manage/bulkimport/", alice,
                                               "{\"type\":\"Organization\",\"id\":\"N\",\"name\":\"N\"}\n"),
                                    alice));
    usleep(500 * 1000);
    cr_expect_eq(peer_hits(&p), 3);
    cr_expect_eq(harness_server_stop(&s), 0);
    peer_stop(&p);
}

Test(webhooks, a_delivery_survives_a_restart_between_attempts) {
    peer p;
    peer_start(&p, 1);
    harness_server s;
    start_with(&s, (const char *const[]){"--webhook-retry-ms", "4000", NULL});
    char path[512], secret[128];
    snprintf(path, sizeof path, "/manage/bulkimport/?callback_url=http://127.0.0.1:%d/hook",
             p.port);
    char task[256];
    snprintf(task, sizeof task, "%s", submit(&s, path, ROOT, file_lines)); /* root: loopback ok */
    harness_response_free(wait_done(&s, task, ROOT));
    cr_assert_eq(peer_wait_hits(&p, 1, 20), 1);
    cr_assert_eq(harness_server_stop(&s), 0);

    harness_server again; /* the same database, a new process */
    const char *args[] = {"--database-url", s.conninfo, "--webhook-retry-ms", "4000", NULL};
    harness_server_start(&again, args);
    cr_assert_eq(peer_wait_hits(&p, 2, 30), 2, "the retry did not come after the restart");
    usleep(1000 * 1000);
    cr_expect_eq(peer_hits(&p), 2);
    webhook_secret(&again, ROOT, secret, sizeof secret);
    expect_delivery(&p, 1, task, secret);
    cr_expect_str_eq(p.bodies[0], p.bodies[1]);
    cr_expect_eq(harness_server_stop(&again), 0);
    peer_stop(&p);
}

Test(webhooks, secret_is_shown_and_rotated) {
    harness_server s;
    start_with(&s, (const char *const[]){NULL});
    char alice[128], bob[128], first[128], again[128], bobs[128];
    harness_create_user(&s, "alice", alice, sizeof alice);
    harness_create_user(&s, "bob", bob, sizeof bob);
    webhook_secret(&s, alice, first, sizeof first);
    webhook_secret(&s, alice, again, sizeof again);
    webhook_secret(&s, bob, bobs, sizeof bobs);
    cr_expect_str_eq(first, again, "the secret is stable until rotated");
    cr_expect_str_neq(first, bobs, "each user has a secret of their own");
    harness_response *r = harness_request(&s, "POST", "/user/webhook-secret/", alice, NULL);
    cr_expect_eq(r->status, 200, "%s", r->body);
    cr_expect_str_neq(harness_json_string(r, "webhook_secret"), first);
    harness_response_free(r);
    webhook_secret(&s, alice, again, sizeof again);
    cr_expect_str_neq(again, first);
    r = harness_request(&s, "GET", "/user/webhook-secret/", NULL, NULL);
    cr_expect_eq(r->status, 401);
    harness_response_free(r);
    cr_expect_eq(harness_server_stop(&s), 0);
}

Test(webhooks, bad_callback_urls_are_400) {
    harness_server s;
    start_with(&s, (const char *const[]){NULL});
    const char *bad[] = {"ftp://example.org/x", "file:///etc/passwd", "example.org/hook",
                         "http://", "http:///path"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "/manage/bulkimport/?callback_url=%s", bad[i]);
        harness_response *r = harness_request_typed(&s, "POST", path, ROOT, "application/x-ndjson",
                                                    file_lines, strlen(file_lines));
        cr_expect_eq(r->status, 400, "%s: %ld %s", bad[i], r->status, r->body);
        cr_expect(strstr(r->body, "callback_url must be an http") != NULL, "%s", r->body);
        harness_response_free(r);
    }
    cr_expect_eq(harness_sql(s.conninfo, "SELECT count(*) FROM import_tasks"), 0);
    cr_expect_eq(harness_server_stop(&s), 0);
}

/* ---- file_url and the address policy ---------------------------------------------------------- */

TestSuite(file_url, .timeout = 240);

Test(file_url, downloads_import_and_failures_say_why) {
    peer p;
    peer_start(&p, 0);
    harness_server s;
    start_with(&s, (const char *const[]){"--fetch-allow-private", "--max-upload-bytes", "16384",
                                         NULL});
    char alice[128], path[512];
    harness_create_user(&s, "alice", alice, sizeof alice);

    snprintf(path, sizeof path, "/manage/bulkimport/?file_url=http://127.0.0.1:%d/file.jsonl",
             p.port);
    harness_response *r = wait_done(&s, submit(&s, path, alice, NULL), alice);
    cr_expect_eq(r->status, 200, "%s", r->body);
    cr_expect(strncmp(r->body, "Processed 3 of 3 -- 3 NEW (201:3)", 33) == 0, "%s", r->body);
    harness_response_free(r);

    /* A redirect is followed; the multipart field works like the query parameter. */
    char form[512];
    snprintf(form, sizeof form,
             "--XyZ\r\nContent-Disposition: form-data; name=\"file_url\"\r\n\r\n"
             "http://127.0.0.1:%d/redirect\r\n--XyZ--\r\n", p.port);
    r = harness_request_typed(&s, "POST", "/importers/bulk-import/", alice,
                              "multipart/form-data; boundary=XyZ", form, strlen(form));
    cr_assert_eq(r->status, 202, "%s", r->body);
    harness_response *done = wait_done(&s, harness_json_string(r, "task"), alice);
    cr_expect(strncmp(done->body, "Processed 3 of 3 -- 3 UPDATE", 28) == 0 ||
                  strncmp(done->body, "Processed 3 of 3 -- 3 NEW", 25) == 0,
              "%s", done->body);
    harness_response_free(done);
    harness_response_free(r);

    snprintf(path, sizeof path, "/manage/bulkimport/?file_url=http://127.0.0.1:%d/missing.jsonl",
             p.port);
    const char *task = submit(&s, path, alice, NULL);
    char id[256];
    snprintf(id, sizeof id, "%s", task);
    cr_expect_str_eq(final_state(&s, id), "FAILURE");
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM import_tasks WHERE id = '%s' AND error ="
             " 'file_url download failed: the server answered HTTP 404'", id);
    cr_expect_eq(harness_sql(s.conninfo, sql), 1, "the 404 is not the task's error");

    snprintf(path, sizeof path, "/manage/bulkimport/?file_url=http://127.0.0.1:%d/big.jsonl",
             p.port);
    snprintf(id, sizeof id, "%s", submit(&s, path, alice, NULL));
    cr_expect_str_eq(final_state(&s, id), "FAILURE");
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM import_tasks WHERE id = '%s' AND error LIKE"
             " 'file_url download failed: the file is larger than 16384 bytes%%' AND total = 0", id);
    cr_expect_eq(harness_sql(s.conninfo, sql), 1, "the size limit is not the task's error");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM import_chunks WHERE task_id = '%s'", id);
    cr_expect_eq(harness_sql(s.conninfo, sql), 0, "a failed download stores no line");

    /* A URL and a body at once, a bad scheme: 400 before anything is queued. */
    r = harness_request_typed(&s, "POST", path, alice, "application/x-ndjson", file_lines,
                              strlen(file_lines));
    cr_expect_eq(r->status, 400, "%s", r->body);
    harness_response_free(r);
    r = harness_request_typed(&s, "POST", "/manage/bulkimport/?file_url=gopher://x/y", alice,
                              "application/x-ndjson", NULL, 0);
    cr_expect_eq(r->status, 400, "%s", r->body);
    harness_response_free(r);
    cr_expect_eq(harness_server_stop(&s), 0);
    peer_stop(&p);
}

/* A gzip file_url is downloaded decompressed; past the limit once decompressed, or cut short,
 * its task fails with that reason and stores no line. */
Test(file_url, gzip_files_download_decompressed) {
    peer p;
    peer_start(&p, 0);
    harness_server s;
    start_with(&s, (const char *const[]){"--fetch-allow-private", "--max-upload-bytes", "16384",
                                         NULL});
    char alice[128], path[512], id[256], sql[768];
    harness_create_user(&s, "alice", alice, sizeof alice);
    snprintf(path, sizeof path, "/manage/bulkimport/?file_url=http://127.0.0.1:%d/file.jsonl.gz",
             p.port);
    harness_response *r = wait_done(&s, submit(&s, path, alice, NULL), alice);
    cr_expect(strncmp(r->body, "Processed 3 of 3 -- 3 NEW (201:3)", 33) == 0, "%s", r->body);
    harness_response_free(r);
    static const struct {
        const char *file, *error;
    } failing[] = {{"bomb.gz", "the file is larger than 16384 bytes once decompressed"},
                   {"cut.gz", "the file is a truncated gzip file"}};
    for (size_t i = 0; i < sizeof failing / sizeof failing[0]; i++) {
        snprintf(path, sizeof path, "/manage/bulkimport/?file_url=http://127.0.0.1:%d/%s", p.port,
                 failing[i].file);
        snprintf(id, sizeof id, "%s", submit(&s, path, alice, NULL));
        cr_expect_str_eq(final_state(&s, id), "FAILURE", "%s", failing[i].file);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM import_tasks WHERE id = '%s' AND error ="
                                  " 'file_url download failed: %s' AND total = 0", id, failing[i].error);
        cr_expect_eq(harness_sql(s.conninfo, sql), 1, "%s fails saying why", failing[i].file);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM import_chunks WHERE task_id = '%s'", id);
        cr_expect_eq(harness_sql(s.conninfo, sql), 0, "%s stores no line", failing[i].file);
    }
    cr_expect_eq(harness_server_stop(&s), 0);
    peer_stop(&p);
}

/* A worker cut off while it downloads is rescued (its task goes back to PENDING); when its
 * download then fails, it must not mark the task it no longer holds FAILURE: the task runs
 * again and succeeds. (The SQL below is what a rescue did while the old worker was away; with
 * one worker, nobody else takes the task meanwhile.) */
Test(file_url, a_rescued_task_is_not_failed_by_the_worker_that_lost_it) {
    peer p;
    peer_start(&p, 0);
    harness_server s;
    harness_server_start_with(&s, 1, (const char *const[]){NULL});
    char path[512], sql[700], id[256];
    snprintf(path, sizeof path, "/manage/bulkimport/?file_url=http://127.0.0.1:%d/slow-then-ok.jsonl",
             p.port);
    snprintf(id, sizeof id, "%s", submit(&s, path, ROOT, NULL));
    snprintf(sql, sizeof sql, "SELECT count(*) FROM import_tasks WHERE id = '%s' AND state = 'STARTED'", id);
    for (int i = 0; i < 100 && harness_sql(s.conninfo, sql) == 0; i++)
        usleep(20 * 1000);
    cr_assert_eq(harness_sql(s.conninfo, sql), 1, "the download started");
    snprintf(sql, sizeof sql, "UPDATE import_tasks SET state = 'PENDING', worker = NULL WHERE id = '%s'", id);
    harness_sql(s.conninfo, sql);
    cr_expect_str_eq(final_state(&s, id), "SUCCESS");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM import_tasks WHERE id = '%s' AND error IS NULL AND total = 3", id);
    cr_expect_eq(harness_sql(s.conninfo, sql), 1, "no failure recorded by the worker that lost the task");
    cr_expect_eq(harness_server_stop(&s), 0);
    peer_stop(&p);
}

Test(file_url, private_addresses_are_for_root_unless_allowed) {
    peer p;
    peer_start(&p, 0);
    harness_server s;
    start_with(&s, (const char *const[]){"--webhook-retry-ms", "100", NULL});
    char alice[128], path[512], sql[700], id[256];
    harness_create_user(&s, "alice", alice, sizeof alice);

    /* alice may not fetch from loopback: refused when posted, whatever form it comes in... */
    static const char *const loopback[] = {"127.0.0.1", "[::1]", "localhost", "10.1.2.3", "[::ffff:127.0.0.1]"};
    for (size_t i = 0; i < sizeof loopback / sizeof loopback[0]; i++) {
        snprintf(path, sizeof path, "/manage/bulkimport/?file_url=http://%s:%d/file.jsonl",
                 loopback[i], p.port);
        harness_response *refused = harness_request(&s, "POST", path, alice, NULL);
        cr_expect_eq(refused->status, 400, "%s: %s", loopback[i], refused->body);
        cr_expect(strstr(refused->body, "only root") != NULL, "%s", refused->body);
        harness_response_free(refused);
    }
    char body[256];
    snprintf(body, sizeof body, "{\"file_url\":\"http://127.0.0.1:%d/file.jsonl\"}", p.port);
    harness_response *r = harness_request_typed(&s, "POST", "/importers/bulk-import/", alice,
                                                "application/json", body, strlen(body));
    cr_expect_eq(r->status, 400, "an envelope's file_url: %s", r->body);
    harness_response_free(r);
    cr_expect_eq(harness_sql(s.conninfo, "SELECT count(*) FROM import_tasks WHERE username = 'alice'"), 0);

    /* ...nor have her webhook call it; root may do both. */
    snprintf(path, sizeof path, "/manage/bulkimport/?callback_url=http://127.0.0.1:%d/hook",
             p.port);
    snprintf(id, sizeof id, "%s", submit(&s, path, alice, file_lines));
    harness_response_free(wait_done(&s, id, alice));
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM webhook_deliveries WHERE task_id = '%s'"
             " AND gave_up_at IS NOT NULL AND last_error LIKE '%%only root may%%'", id);
    for (int i = 0; i < 100 && harness_sql(s.conninfo, sql) == 0; i++)
        usleep(100 * 1000);
    cr_expect_eq(harness_sql(s.conninfo, sql), 1, "alice's webhook to loopback was not refused");
    cr_expect_eq(peer_hits(&p), 0);

    snprintf(path, sizeof path,
             "/manage/bulkimport/?file_url=http://127.0.0.1:%d/file.jsonl&callback_url="
             "http://127.0.0.1:%d/hook", p.port, p.port);
    r = wait_done(&s, submit(&s, path, ROOT, NULL), ROOT);
    cr_expect(strncmp(r->body, "Processed 3 of 3", 16) == 0, "root may: %s", r->body);
    harness_response_free(r);
    cr_expect_eq(peer_wait_hits(&p, 1, 20), 1, "root's webhook to loopback was not delivered");
    cr_expect_eq(harness_server_stop(&s), 0);
    peer_stop(&p);
}

/* ---- Idempotency-Key ------------------------------------------------------------------------- */

TestSuite(idempotency, .timeout = 120);

Test(idempotency, a_repeated_key_returns_the_first_task) {
    harness_server s;
    start_with(&s, (const char *const[]){NULL});
    char alice[128], bob[128];
    harness_create_user(&s, "alice", alice, sizeof alice);
    harness_create_user(&s, "bob", bob, sizeof bob);
    const char *key = "Idempotency-Key: nightly-2026-11-23";
    harness_response *a = harness_request_with_header(&s, "POST", "/manage/bulkimport/", alice,
                                                      key, "application/x-ndjson", file_lines,
                                                      strlen(file_lines));
    cr_assert_eq(a->status, 202, "%s", a->body);
    harness_response *b = harness_request_with_header(&s, "POST", "/manage/bulkimport/", alice,
                                                      key, "application/x-ndjson", file_lines,
                                                      strlen(file_lines));
    cr_assert_eq(b->status, 202, "a repeated key is not the 409 duplicate: %s", b->body);
    cr_expect_str_eq(harness_json_string(b, "task"), harness_json_string(a, "task"));
    cr_expect_str_eq(harness_json_string(b, "state"), "PENDING");
    char replayed[16];
    cr_expect_str_eq(harness_response_header(b, "Idempotent-Replayed", replayed, sizeof replayed),
                     "true");
    harness_response_free(wait_done(&s, harness_json_string(a, "task"), alice));
    harness_response_free(b);
    /* Still the same task once it has finished. */
    b = harness_request_with_header(&s, "POST", "/manage/bulkimport/", alice, key,
                                    "application/x-ndjson", "{}\n", 3);
    cr_expect_eq(b->status, 202);
    cr_expect_str_eq(harness_json_string(b, "task"), harness_json_string(a, "task"));
    harness_response_free(b);
    cr_expect_eq(harness_sql(s.conninfo, "SELECT count(*) FROM import_tasks"), 1);

    /* Keys are per user; a bad key is 400. */
    b = harness_request_with_header(&s, "POST", "/manage/bulkimport/", bob, key,
                                    "application/x-ndjson", file_lines, strlen(file_lines));
    cr_expect_eq(b->status, 202);
    cr_expect_str_neq(harness_json_string(b, "task"), harness_json_string(a, "task"));
    harness_response_free(b);
    b = harness_request_with_header(&s, "POST", "/manage/bulkimport/", bob,
                                    "Idempotency-Key: has space", "application/x-ndjson",
                                    file_lines, strlen(file_lines));
    cr_expect_eq(b->status, 400, "%s", b->body);
    harness_response_free(b);
    cr_expect_eq(harness_sql(s.conninfo, "SELECT count(*) FROM import_tasks"), 2);
    harness_response_free(a);
    cr_expect_eq(harness_server_stop(&s), 0);
}
