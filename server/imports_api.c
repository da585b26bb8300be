#include "imports_api.h"

#include "admin_api.h"
#include "bodies.h"
#include "error.h"
#include "fault.h"
#include "fetch.h"
#include "ids.h"
#include "directives.h"
#include "intake.h"
#include "line_errors.h"
#include "log.h"
#include "metrics.h"
#include "owners.h"
#include "plan.h"
#include "summary.h"
#include "task_query.h"
#include "utf8.h"
#include "tasks.h"
#include "events.h"

#include <civetweb.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define IMPORTS_READ_CHUNK (64 * 1024)

/* ---- POST: the upload ---------------------------------------------------------------------- */

#define IMPORTS_KEY_MAX 255 /* an Idempotency-Key */

/* Reads the optional integer query parameter name, from min to max, into *out; answers 400. */
static int imports_long_param(http_req *req, const char *name, long min, long max, long *out) {
    char why[128];
    int err = http_query_long(req, name, min, max, out, why, sizeof why);
    if (err < 0)
        http_send_error(req, err, "%s", why);
    return err;
}

/* ---- POST: the options, from the query and the body ------------------------------------ */

/* What a POST may carry besides the file, alike as a query parameter, a form field or a
 * JSON envelope member: ours, and what oclapi2's import views read (owner, owner_type and
 * version serve its export conversion; verbose, username and import_type are accepted as
 * oclapi2 accepts them). */
static const char *const imports_fields[] = {
    "update_if_exists", "test_mode", "batch_size", "parallel", "callback_url", "queue",
    "owner",            "owner_type", "version",   "import_type", "verbose", "username", "format",
    "action_field",     "delete_values", NULL};

/* The value of option name into out (cap bytes): the query parameter, else the body's field
 * (the last given). Returns 1 when given, 0 when absent, or answers 400 and returns BI_EINVAL
 * when it is given twice with different values or is too long. */
static int imports_option_text(http_req *req, const body_reader *body, const char *name,
                               char *out, size_t cap) {
    const char *query = mg_get_request_info(req->conn)->query_string;
    char in_query[BODY_FIELD_VALUE_MAX];
    int n = query != NULL ? mg_get_var(query, strlen(query), name, in_query, sizeof in_query) : -1;
    const char *value = n >= 0 ? in_query : NULL;
    if (n < -1) {
        http_send_error(req, BI_EINVAL, "%s is too long", name);
        return BI_EINVAL;
    }
    const body_field *fields;
    size_t n_fields = body ? body_reader_fields(body, &fields) : 0;
    for (size_t i = 0; i < n_fields; i++) {
        if (strcmp(fields[i].name, name) != 0)
            continue;
        if (value != NULL && strcmp(value, fields[i].value) != 0) {
            http_send_error(req, BI_EINVAL, "%s is given twice, with different values", name);
            return BI_EINVAL;
        }
        value = fields[i].value;
    }
    if (value == NULL)
        return 0;
    if (strlen(value) >= cap) {
        http_send_error(req, BI_EINVAL, "%s is too long", name);
        return BI_EINVAL;
    }
    memcpy(out, value, strlen(value) + 1);
    return 1;
}

/* Option name as true or false into *out (left as is when absent); answers 400. */
static int imports_option_bool(http_req *req, const body_reader *body, const char *name,
                               bool *out) {
    char value[16];
    int given = imports_option_text(req, body, name, value, sizeof value);
    if (given <= 0)
        return given;
    if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
        http_send_error(req, BI_EINVAL, "%s must be either 'true' or 'false'", name);
        return BI_EINVAL;
    }
    *out = value[0] == 't';
    return 0;
}

/* Option name as an integer from min to max into *out (left as is when absent); answers 400. */
static int imports_option_long(http_req *req, const body_reader *body, const char *name,
                               long min, long max, long *out) {
    char value[24], *end;
    int given = imports_option_text(req, body, name, value, sizeof value);
    if (given <= 0)
        return given;
    long n = strtol(value, &end, 10);
    if (value[0] < '0' || value[0] > '9' || *end != '\0' || n < min || n > max) {
        http_send_error(req, BI_EINVAL, "%s must be an integer from %ld to %ld", name, min, max);
        return BI_EINVAL;
    }
    *out = n;
    return 0;
}

/* Checks url, given as name: an http(s) URL, and for file_url no private address the caller
 * may not reach (as far as that is known without resolving it: the download checks again
 * each address it connects to). Answers 400. */
static int imports_check_url(http_req *req, const char *name, const char *out) {
    if (!fetch_url_is_http(out)) {
        http_send_error(req, BI_EINVAL, "%s must be an http:// or https:// URL of at most %d bytes",
                        name, DB_URL_MAX);
        return BI_EINVAL;
    }
    if (strcmp(name, "file_url") == 0 && !req->user.is_root && !req->app->cfg.fetch_allow_private &&
        fetch_url_host_is_private(out)) { /* a webhook's is judged at delivery, and retried */
        http_send_error(req, BI_EINVAL, "%s names a loopback or private address, which only root "
                                        "may reach (--fetch-allow-private)", name);
        return BI_EINVAL;
    }
    return 0;
}

/* Option name, an http(s) URL, into out (DB_URL_MAX + 1 bytes; "" when absent); answers 400. */
static int imports_option_url(http_req *req, const body_reader *body, const char *name,
                              char *out) {
    out[0] = '\0';
    int given = imports_option_text(req, body, name, out, DB_URL_MAX + 1);
    return given <= 0 ? given : imports_check_url(req, name, out);
}

/* Fills task's queue: the path's (params[0]), else the option queue, else the standard queue
 * ("priority" for root); "concurrent", oclapi2's parallel pool, is the standard queue under
 * that name. Answers 400 for a bad name. */
static int imports_queue(http_req *req, const body_reader *body, db_task *task) {
    char given[DB_USERNAME_MAX + 8] = "";
    int from_option = req->n_params == 0
                          ? imports_option_text(req, body, "queue", given, sizeof given)
                          : 0;
    if (from_option < 0)
        return BI_EINVAL;
    const char *q = req->n_params > 0 ? req->params[0] : given;
    task->named = false;
    if (q[0] == '\0') {
        snprintf(task->queue, sizeof task->queue, "%s", req->user.is_root ? "priority" : "default");
        return 0;
    }
    if (strcmp(q, "concurrent") == 0) {
        snprintf(task->queue, sizeof task->queue, "concurrent");
        return 0;
    }
    if (!ids_queue_name_is_valid(q) || strcmp(q, "file-url") == 0 || strcmp(q, "upload") == 0) {
        http_send_error(req, BI_EINVAL,
                        "invalid queue name: use [A-Za-z0-9._@-]{1,64}, not default, priority, "
                        "file-url, upload, '.' or '..' (the standard queue needs no name)");
        return BI_EINVAL;
    }
    snprintf(task->queue, sizeof task->queue, "%.64s", q);
    task->named = true;
    return 0;
}

/* Reads every option of the POST (the query and the body's fields so far) into task,
 * callback_url and file_url (DB_URL_MAX + 1 bytes each, "" when absent). Answers 400 itself:
 * a bad value, or a body field that is no option. */
static int imports_options(http_req *req, const body_reader *body, db_task *task,
                           char *callback_url, char *file_url) {
    const body_field *fields;
    size_t n_fields = body ? body_reader_fields(body, &fields) : 0;
    for (size_t i = 0; i < n_fields; i++) {
        bool known = false;
        for (const char *const *f = imports_fields; *f != NULL && !known; f++)
            known = strcmp(*f, fields[i].name) == 0;
        if (!known) {
            http_send_error(req, BI_EINVAL, "unknown field '%.31s' in the body", fields[i].name);
            return BI_EINVAL;
        }
    }
    long batch_size = req->app->cfg.batch_size, parallel = PLAN_PARALLEL_DEFAULT;
    char import_type[16] = "";
    task->update_if_exists = true;
    task->test_mode = false;
    if (imports_option_bool(req, body, "update_if_exists", &task->update_if_exists) < 0 ||
        imports_option_bool(req, body, "test_mode", &task->test_mode) < 0 ||
        imports_option_long(req, body, "batch_size", 1, CONFIG_MAX_BATCH_SIZE, &batch_size) < 0 ||
        imports_option_long(req, body, "parallel", 1, PLAN_PARALLEL_MAX, &parallel) < 0 ||
        imports_queue(req, body, task) < 0 ||
        imports_option_url(req, body, "callback_url", callback_url) < 0 ||
        imports_option_text(req, body, "import_type", import_type, sizeof import_type) < 0 ||
        imports_option_text(req, body, "format", task->format, sizeof task->format) < 0 ||
        imports_option_text(req, body, "owner", task->export_owner, sizeof task->export_owner) < 0 ||
        imports_option_text(req, body, "owner_type", task->export_owner_type,
                            sizeof task->export_owner_type) < 0 ||
        imports_option_text(req, body, "version", task->export_version,
                            sizeof task->export_version) < 0)
        return BI_EINVAL;
    if (imports_option_text(req, body, "action_field", task->action_field,
                            sizeof task->action_field) < 0 ||
        imports_option_text(req, body, "delete_values", task->delete_values,
                            sizeof task->delete_values) < 0)
        return BI_EINVAL;
    const char *why = directives_check_one(task->action_field, task->delete_values);
    if (why != NULL) {
        http_send_error(req, BI_EINVAL, "%s", why);
        return BI_EINVAL;
    }
    if (!intake_format_known(task->format)) {
        http_send_error(req, BI_EINVAL, "format must be jsonl, csv, zip or export (or absent, to "
                                        "tell it from the file's name and first bytes)");
        return BI_EINVAL;
    }
    if (file_url[0] == '\0' && imports_option_url(req, body, "file_url", file_url) < 0)
        return BI_EINVAL;
    if (import_type[0] && strcmp(import_type, "json") != 0 && strcmp(import_type, "jsonl") != 0) {
        http_send_error(req, BI_EINVAL,
                        "import_type %.15s is not supported here: only OCL's JSON lines", import_type);
        return BI_EINVAL;
    }
    task->batch_size = (int)batch_size;
    task->parallel = (int)parallel;
    plan_cut_fix(task);
    return 0;
}

/* ---- POST: the upload ---------------------------------------------------------------------- */

#define IMPORTS_KEY_MAX 255 /* an Idempotency-Key */

/* One POST's way into a task: the task row and its COPY open at the file's first byte, once
 * the options before it are known (a form or an envelope may give them before the file). */
typedef struct imports_upload {
    http_req *req;
    upload_ticket *ticket; /* its admission, watched for pace */
    db_conn *conn;
    body_reader *body;
    db_task task;
    char callback_url[DB_URL_MAX + 1], file_url[DB_URL_MAX + 1];
    db_upload *db; /* NULL until begun */
    intake in;
} imports_upload;

/* Opens the task with the options known now. Answers 400 itself (BI_EINVAL). */
static int imports_upload_begin(imports_upload *u) {
    int err = imports_options(u->req, u->body, &u->task, u->callback_url, u->file_url);
    if (err == 0)
        err = ids_task_id(u->task.username, u->task.queue, u->task.id, sizeof u->task.id);
    if (err == 0)
        err = db_upload_begin(u->conn, &u->task, u->callback_url[0] ? u->callback_url : NULL,
                              &u->db);
    if (err == 0)
        intake_init(&u->in, u->db, (size_t)u->req->app->cfg.max_line_bytes,
                    u->task.test_mode ? u->req->app->cfg.max_test_mode_lines : 0,
                    u->req->app->cfg.max_upload_bytes, true);
    if (err == 0)
        intake_file_of_task(&u->in.file, &u->task, u->body ? body_reader_file_name(u->body) : "");
    return err;
}

/* The body reader's sink: the file's bytes, into the task's lines. */
static int imports_upload_take(const char *data, size_t len, void *ctx) {
    imports_upload *u = ctx;
    int err = u->db == NULL ? imports_upload_begin(u) : 0;
    return err < 0 ? err : intake_feed(data, len, &u->in);
}

/* Answers 413 for the limit u's upload passed. */
static void imports_too_big(imports_upload *u) {
    const config *cfg = &u->req->app->cfg;
    if (u->in.too_many_lines)
        http_send_error(u->req, BI_ETOOBIG, "a test_mode import may have at most %d lines",
                        cfg->max_test_mode_lines);
    else
        http_send_error(u->req, BI_ETOOBIG, "the upload is larger than %lld bytes%s",
                        cfg->max_upload_bytes, u->in.too_big ? " once decompressed" : "");
}

/* Streams the request body through the body reader into the upload; answers 400 (malformed
 * body, bad options) and 413 (past the limit) itself. Returns 0 when the whole body arrived. */
static int imports_stream_body(imports_upload *u) {
    http_req *req = u->req;
    const config *cfg = &req->app->cfg;
    char *chunk = malloc(IMPORTS_READ_CHUNK);
    if (chunk == NULL)
        abort();
    long long received = 0, expected = mg_get_request_info(req->conn)->content_length;
    /* CivetWeb's read of a chunked body returns only once the buffer is full: read little
     * enough that an upload at the minimum rate reports progress well within its grace. */
    long long piece = IMPORTS_READ_CHUNK;
    if (expected < 0 && cfg->upload_min_rate > 0)
        piece = cfg->upload_min_rate * cfg->read_timeout_s / 2;
    piece = piece < 1024 ? 1024 : piece > IMPORTS_READ_CHUNK ? IMPORTS_READ_CHUNK : piece;
    int err = 0, n;
    while (err == 0 && (n = http_read(req, chunk, (size_t)piece)) > 0) {
        if (atomic_load(&req->app->uploads_cut)) {
            n = -1; /* the shutdown grace is over */
            break;
        }
        received += n;
        upload_ticket_progress(u->ticket, received);
        if (received > cfg->max_upload_bytes) {
            err = BI_ETOOBIG;
            break;
        }
        err = body_reader_feed(u->body, chunk, (size_t)n);
    }
    free(chunk);
    char why[160];
    if (err == 0 && (n < 0 || (expected >= 0 && received < expected)) &&
        upload_gate_was_cut(req->app->upload_gate, u->ticket, why, sizeof why)) {
        http_send_error(req, BI_ESLOW, "%s", why); /* too slow: the watcher stopped its reading */
        err = BI_ESLOW;
    } else if (err == 0 && (n < 0 || (expected >= 0 && received < expected))) {
        err = BI_EIO; /* the client went away mid-body (a chunked one: no terminating chunk) */
    }
    if (err == 0)
        err = body_reader_finish(u->body);
    const char *url = err == 0 ? body_reader_file_url(u->body) : NULL;
    if (url != NULL && (err = imports_check_url(req, "file_url", url)) == 0) {
        snprintf(u->file_url, sizeof u->file_url, "%s", url);
    } else if (err == BI_EINVAL && body_reader_error(u->body)[0]) {
        http_send_error(req, err, "%s", body_reader_error(u->body));
    } else if (err == BI_EINVAL && u->db != NULL && intake_error(&u->in)[0]) {
        http_send_error(req, err, "the file %s", intake_error(&u->in));
    } /* else the sink answered */
    if (err == BI_ETOOBIG)
        imports_too_big(u);
    return err;
}

/* The content hash of a task that downloads url: its lines are not here yet, so two tasks
 * queued for the same URL with the same options are the duplicate that 409 refuses. */
static void imports_url_hash(const char *url, unsigned char hash[32]) {
    EVP_MD_CTX *sha = EVP_MD_CTX_new();
    if (sha == NULL || EVP_DigestInit_ex(sha, EVP_sha256(), NULL) != 1)
        abort();
    EVP_DigestUpdate(sha, "file_url\n", 9);
    EVP_DigestUpdate(sha, url, strlen(url));
    EVP_DigestFinal_ex(sha, hash, NULL);
    EVP_MD_CTX_free(sha);
}

/* The Idempotency-Key header into key (IMPORTS_KEY_MAX + 1 bytes, "" when absent). Answers 400
 * for a malformed one. */
static int imports_idempotency_key(http_req *req, char *key) {
    const char *value = mg_get_header(req->conn, "Idempotency-Key");
    key[0] = '\0';
    if (value == NULL)
        return 0;
    size_t len = strlen(value);
    bool ok = len >= 1 && len <= IMPORTS_KEY_MAX;
    for (size_t i = 0; ok && i < len; i++)
        ok = value[i] > ' ' && value[i] < 0x7f;
    if (!ok) {
        http_send_error(req, BI_EINVAL,
                        "Idempotency-Key must be 1 to %d printable ASCII characters without spaces",
                        IMPORTS_KEY_MAX);
        return BI_EINVAL;
    }
    memcpy(key, value, len + 1);
    return 0;
}

/* Answers 202 with a new task as queued (summary_task_json, PENDING). */
static int imports_send_queued(http_req *req, const db_task *task, bool replayed) {
    db_task queued = *task;
    queued.state = DB_TASK_PENDING;
    cJSON *body = summary_task_json(&queued, NULL);
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (text == NULL)
        abort();
    http_send_json_text(req, 202, replayed ? "Idempotent-Replayed: true\r\n" : NULL, text,
                        strlen(text));
    free(text);
    return 0;
}

/* When the caller's key made a task in the last 24 hours, answers with that task's 202 body
 * and returns 1; returns 0 when it did not, or a database error. */
static int imports_replay(http_req *req, db_conn *conn, const char *key) {
    char task_id[DB_TASK_ID_MAX];
    db_task t;
    int err = db_idempotency_find(conn, req->user.username, key, task_id);
    if (err == 0)
        err = db_tasks_get(conn, task_id, &req->user, &t);
    if (err == BI_ENOTFOUND)
        return 0;
    if (err < 0)
        return err;
    log_info("task %s: the same Idempotency-Key again from %s: no new task", t.id,
             req->user.username);
    imports_send_queued(req, &t, true);
    return 1;
}

/* Queues the body (or the file at file_url) as a task. */
static int imports_post(http_req *req, upload_ticket *ticket) {
    struct timespec began, ended;
    clock_gettime(CLOCK_MONOTONIC, &began);
    imports_upload *u = calloc(1, sizeof *u);
    if (u == NULL)
        abort();
    u->req = req;
    u->ticket = ticket;
    snprintf(u->task.username, sizeof u->task.username, "%s", req->user.username);
    char key[IMPORTS_KEY_MAX + 1];
    /* The query's options alone first: a bad one is refused before any byte is read. */
    int err = imports_options(req, NULL, &u->task, u->callback_url, u->file_url);
    if (err == 0)
        err = imports_idempotency_key(req, key);
    long long length = mg_get_request_info(req->conn)->content_length;
    if (err == 0 && u->file_url[0] && length < 0) { /* chunked: is there a byte? */
        char byte;
        length = http_read(req, &byte, 1);
    }
    if (err == 0 && u->file_url[0] && length > 0) {
        http_send_error(req, BI_EINVAL, "give the file in the body or file_url, not both");
        err = BI_EINVAL;
    }
    if (err == 0 && length > req->app->cfg.max_upload_bytes) {
        http_send_error(req, BI_ETOOBIG, "the upload is larger than %lld bytes",
                        req->app->cfg.max_upload_bytes);
        err = BI_ETOOBIG;
    }
    if (err < 0) {
        free(u);
        return 0; /* answered */
    }
    if ((err = db_pool_acquire(req->app->pool, HTTP_DB_WAIT_MS, &u->conn)) < 0) {
        free(u);
        return err;
    }
    int replayed = key[0] ? imports_replay(req, u->conn, key) : 0;
    if (replayed == 0 && !u->file_url[0]) {
        const char *why = NULL;
        u->body = body_reader_new(mg_get_header(req->conn, "Content-Type"), imports_fields,
                                  imports_upload_take, u, &why);
        if (u->body == NULL) {
            http_send_error(req, BI_EINVAL, "%s", why);
            err = BI_EINVAL;
        } else {
            err = imports_stream_body(u);
        }
    }
    if (replayed == 0 && err == 0 && u->db == NULL)
        err = imports_upload_begin(u); /* no file bytes came: file_url, or nothing */
    if (replayed == 0 && err == 0) { /* options that came after the file's first byte */
        db_task final = u->task;
        char callback_url[DB_URL_MAX + 1], file_url[DB_URL_MAX + 1];
        snprintf(file_url, sizeof file_url, "%s", u->file_url);
        err = imports_options(req, u->body, &final, callback_url, file_url);
        if (err == 0 && (strcmp(final.queue, u->task.queue) != 0 ||
                         strcmp(callback_url, u->callback_url) != 0)) {
            http_send_error(req, BI_EINVAL, "queue and callback_url must come before the file");
            err = BI_EINVAL;
        }
        if (err == 0 && (strcmp(final.format, u->task.format) != 0 ||
                         strcmp(final.export_owner, u->task.export_owner) != 0 ||
                         strcmp(final.export_owner_type, u->task.export_owner_type) != 0 ||
                         strcmp(final.export_version, u->task.export_version) != 0)) {
            http_send_error(req, BI_EINVAL,
                            "format, owner, owner_type and version must come before the file");
            err = BI_EINVAL;
        }
        /* Checked on the whole request: the two may come apart, in the query and the form. */
        const char *why = err == 0 ? directives_check(final.action_field, final.delete_values) : NULL;
        if (why != NULL) {
            http_send_error(req, BI_EINVAL, "%s", why);
            err = BI_EINVAL;
        }
        if (err == 0 && final.test_mode) /* lines a converter is yet to make count too */
            u->in.max_lines = req->app->cfg.max_test_mode_lines;
        if (err == 0 && final.test_mode && !u->task.test_mode &&
            u->in.lines > req->app->cfg.max_test_mode_lines) {
            http_send_error(req, BI_ETOOBIG, "a test_mode import may have at most %d lines",
                            req->app->cfg.max_test_mode_lines);
            err = BI_ETOOBIG;
        }
        if (err == 0)
            db_upload_options(u->db, &final);
        u->task = final;
    }
    unsigned char hash[32];
    if (u->db != NULL) {
        /* Only what intake_finish itself refuses is answered here: earlier errors were. */
        if (err == 0 && (err = intake_finish(&u->in, hash)) < 0) {
            if (err == BI_ETOOBIG)
                imports_too_big(u); /* its last line, unterminated */
            else if (err == BI_EINVAL) /* a truncated gzip */
                http_send_error(req, err, "the file %s", intake_error(&u->in));
        }
        if (u->file_url[0])
            imports_url_hash(u->file_url, hash);
        if (err == 0 && u->in.lines == 0 && !u->file_url[0])
            err = BI_ENOTFOUND; /* nothing to import: answered below */
        if (err == 0)
            err = db_upload_commit(u->db, hash, u->in.lines, u->file_url[0] ? u->file_url : NULL,
                                   key[0] ? key : NULL);
        else
            db_upload_abort(u->db);
        intake_fini(&u->in);
    }
    if ((err == BI_EREPEATED || err == BI_ECONFLICT) && key[0])
        replayed = imports_replay(req, u->conn, key); /* a twin with the same key won the race */
    db_task stored; /* the answer shows the task as it was queued, with its stored created_at */
    if (err == 0 && db_tasks_get(u->conn, u->task.id, &req->user, &stored) == 0) {
        memcpy(u->task.created_at, stored.created_at, sizeof stored.created_at);
        u->task.total = stored.total;
    }
    db_pool_release(req->app->pool, u->conn);
    body_reader_free(u->body);
    int64_t lines = u->in.lines, bytes = u->in.bytes;
    char spool_error[sizeof u->in.refused] = "";
    if (u->db != NULL && u->in.spool_failed) /* the server's fault, not a client gone */
        snprintf(spool_error, sizeof spool_error, "%s", u->in.refused);
    db_task task = u->task;
    bool by_url = u->file_url[0] != '\0';
    free(u);
    if (replayed != 0)
        return replayed < 0 ? replayed : 0;
    if (err == BI_ETOOBIG || err == BI_EINVAL || err == BI_ESLOW)
        return 0; /* answered while streaming */
    if (err == BI_EIO && spool_error[0]) {
        log_error("upload by %s: the file %s", task.username, spool_error);
        return http_send_error(req, BI_EIO, "the file %s", spool_error);
    }
    if (err == BI_EIO) {
        log_info("upload by %s %s mid-body: nothing stored", task.username,
                 atomic_load(&req->app->uploads_cut) ? "cut off by the shutdown" : "abandoned");
        return 0;
    }
    if (err == BI_ENOTFOUND)
        return http_send_error(req, BI_EINVAL, "No content to import");
    if (err == BI_ECONFLICT || err == BI_EREPEATED)
        return http_send_error(req, BI_ECONFLICT, "The same import has been already queued");
    if (err < 0)
        return err;
    fault_point("after_upload_commit");
    clock_gettime(CLOCK_MONOTONIC, &ended);
    if (!by_url)
        metrics_upload(bytes, (double)(ended.tv_sec - began.tv_sec) +
                                  (double)(ended.tv_nsec - began.tv_nsec) / 1e9);
    events_note_work(req->app->events);
    if (by_url)
        log_info("task %s: queued, its file to be downloaded", task.id);
    else
        log_info("task %s: queued, %lld lines", task.id, (long long)lines);
    return imports_send_queued(req, &task, false);
}

void imports_api_audit_task(http_req *req, const char *action, const char *task_id) {
    char owner[DB_USERNAME_MAX + 1];
    admin_api_task_owner(task_id, owner, sizeof owner);
    if (req->user.is_root && strcmp(owner, req->user.username) != 0)
        admin_api_audit(req, action, task_id, NULL);
}

/* POST ?task=ID&action=resume: a REVOKED or FAILURE task goes back to PENDING. */
static int imports_resume(http_req *req, const char *task_id) {
    char action[16];
    int got = http_query_text(req, "action", action, sizeof action);
    if (got < 0)
        return 0; /* answered */
    if (got == 0 || strcmp(action, "resume") != 0)
        return http_send_error(req, BI_EINVAL, "with ?task=, the only action is action=resume");
    db_conn *conn;
    int err = db_pool_acquire(req->app->pool, HTTP_DB_WAIT_MS, &conn);
    if (err < 0)
        return err;
    err = db_tasks_resume(conn, task_id, &req->user);
    db_task t;
    if (err == 0)
        err = db_tasks_get(conn, task_id, &req->user, &t);
    db_pool_release(req->app->pool, conn);
    if (err == BI_ENOTFOUND)
        return http_send_error(req, err, "task %.200s not found", task_id);
    if (err == BI_ECONFLICT)
        return http_send_error(req, err, "only a REVOKED or FAILURE task can be resumed");
    if (err < 0)
        return err;
    events_note_work(req->app->events);
    imports_api_audit_task(req, "task.resume", task_id);
    log_info("task %s: resumed by %s from line %lld", task_id, req->user.username,
             (long long)t.checkpoint + 1);
    cJSON *body = summary_task_json(&t, NULL);
    http_send_json(req, 202, body);
    cJSON_Delete(body);
    return 0;
}

/* Answers 400 for a query parameter no POST takes. */
static int imports_post_params(http_req *req) {
    const char *params[sizeof imports_fields / sizeof imports_fields[0] + 3] = {"task", "action", "file_url"};
    for (size_t i = 0; imports_fields[i] != NULL; i++)
        params[3 + i] = imports_fields[i];
    return http_query_only(req, params);
}

/* imports_post, refused once shutdown began or when too many uploads are in flight (in all,
 * or the caller's: upload_gate), and counted while it runs: shutdown gives the uploads in
 * flight a grace period (app_wait_uploads). */
static int imports_post_counted(http_req *req) {
    app *a = req->app;
    if (atomic_load(&a->stopping))
        return http_send_error(req, BI_EUNAVAIL, "the server is shutting down; try again shortly");
    upload_ticket *ticket;
    int err = upload_gate_enter(a->upload_gate, req->user.username, req, &ticket);
    if (err == BI_ETOOMANY)
        return http_send_error_headers(req, err, "Retry-After: 5\r\n",
                                       "you have %d uploads in flight already (--max-user-uploads)",
                                       a->cfg.max_user_uploads);
    if (err < 0)
        return http_send_error_headers(req, err, "Retry-After: 5\r\n",
                                       "%d uploads are in flight already (--max-uploads)",
                                       a->cfg.max_uploads);
    atomic_fetch_add(&a->uploads, 1);
    int rc = imports_post(req, ticket);
    atomic_fetch_sub(&a->uploads, 1);
    upload_gate_leave(a->upload_gate, ticket);
    return rc;
}

int imports_api_post(http_req *req) {
    if (imports_post_params(req) < 0)
        return 0;
    char task_id[1024];
    int got = req->n_params == 0 ? http_query_text(req, "task", task_id, sizeof task_id) : 0;
    if (got < 0)
        return 0; /* answered */
    if (got > 0)
        return imports_resume(req, task_id);
    return imports_post_counted(req);
}

int imports_api_post_inline(http_req *req) {
    return imports_post_params(req) < 0 ? 0 : imports_post_counted(req);
}

/* The query parameter task into task_id (cap bytes). Returns 1 when given, 0 when absent, or
 * answers 404 and returns BI_ENOTFOUND when it is given but can name no task (too long, not
 * UTF-8, holding a NUL): never the task list, never a database error. */
static int imports_task_param(http_req *req, char *task_id, size_t cap) {
    const char *query = mg_get_request_info(req->conn)->query_string;
    int n = query != NULL ? mg_get_var(query, strlen(query), "task", task_id, cap) : -1;
    if (n == -1)
        return 0;
    if (n < 0 || utf8_invalid_at(task_id, (size_t)n) != (size_t)n || strlen(task_id) != (size_t)n) {
        http_send_error(req, BI_ENOTFOUND, "task not found");
        return BI_ENOTFOUND;
    }
    return 1;
}

#define IMPORTS_DELETE_BODY_MAX 4096

typedef struct small_body {
    char text[IMPORTS_DELETE_BODY_MAX + 1];
    size_t len;
} small_body;

/* A body reader's sink that keeps a small raw body whole. */
static int imports_keep_small(const char *data, size_t len, void *ctx) {
    small_body *b = ctx;
    if (b->len + len > IMPORTS_DELETE_BODY_MAX)
        return BI_ETOOBIG;
    memcpy(b->text + b->len, data, len);
    b->len += len;
    b->text[b->len] = '\0';
    return 0;
}

/* The task a DELETE names: ?task=ID, or task_id in the body as JSON {"task_id": ID}, a
 * urlencoded or a multipart form (oclapi2's forms), into task_id (cap bytes). Answers 400 or
 * 413 itself (a negative return). */
static int imports_delete_task_id(http_req *req, char *task_id, size_t cap) {
    int in_query = imports_task_param(req, task_id, cap);
    if (in_query != 0)
        return in_query > 0 ? 0 : in_query;
    static const char *const fields[] = {"task_id", NULL};
    small_body *b = calloc(1, sizeof *b);
    const char *why = NULL;
    body_reader *reader = b ? body_reader_new(mg_get_header(req->conn, "Content-Type"), fields,
                                              imports_keep_small, b, &why)
                            : NULL;
    if (b == NULL)
        abort();
    int err = reader == NULL ? BI_EINVAL : 0, n;
    char chunk[1024];
    while (err == 0 && (n = http_read(req, chunk, sizeof chunk)) > 0)
        err = body_reader_feed(reader, chunk, (size_t)n);
    if (err == 0)
        body_reader_finish(reader); /* a form without a file is fine here: only task_id counts */
    const body_field *given;
    size_t n_given = reader ? body_reader_fields(reader, &given) : 0;
    bool found = false;
    for (size_t i = 0; i < n_given && err == 0; i++)
        if (strcmp(given[i].name, "task_id") == 0 && (found = strlen(given[i].value) < cap))
            memcpy(task_id, given[i].value, strlen(given[i].value) + 1);
    cJSON *json = !found && err == 0 ? cJSON_ParseWithLength(b->text, b->len) : NULL;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(json, "task_id");
    if (cJSON_IsString(id) && strlen(id->valuestring) < cap) {
        memcpy(task_id, id->valuestring, strlen(id->valuestring) + 1);
        found = true;
    }
    cJSON_Delete(json);
    body_reader_free(reader);
    free(b);
    if (err == BI_ETOOBIG) {
        http_send_error(req, err, "the body is larger than %d bytes", IMPORTS_DELETE_BODY_MAX);
        return err;
    }
    if (!found) {
        http_send_error(req, BI_EINVAL, "give ?task=ID or task_id in the body (JSON or a form)");
        return BI_EINVAL;
    }
    return 0;
}

int imports_api_delete(http_req *req) {
    static const char *const params[] = {"task", NULL};
    if (http_query_only(req, params) < 0)
        return 0;
    char task_id[1024];
    if (imports_delete_task_id(req, task_id, sizeof task_id) < 0)
        return 0;
    db_conn *conn;
    int err = db_pool_acquire(req->app->pool, HTTP_DB_WAIT_MS, &conn);
    if (err < 0)
        return err;
    err = db_tasks_cancel(conn, task_id, &req->user);
    db_pool_release(req->app->pool, conn);
    if (err == BI_ENOTFOUND)
        return http_send_error(req, err, "task %.200s not found", task_id);
    if (err == BI_ECONFLICT)
        return http_send_error(req, err, "task %.200s has already finished", task_id);
    if (err < 0)
        return err;
    log_info("task %s: cancelled by %s", task_id, req->user.username);
    imports_api_audit_task(req, "task.cancel", task_id);
    return http_send_no_content(req);
}

#define IMPORTS_MAX_WAIT_S 60 /* the longest long-poll */

/* ---- GET ?task=: status and results -------------------------------------------------------- */


/* 202 with live progress for a task that is not finished. */
static int imports_send_progress(http_req *req, const db_task *t) {
    cJSON *body = NULL;
    db_conn *conn = NULL;
    if (db_pool_acquire(req->app->pool, HTTP_DB_WAIT_MS, &conn) == 0) { /* with its children */
        summary_task_json_read(conn, t, &body);
        db_pool_release(req->app->pool, conn);
    }
    if (body == NULL)
        body = summary_task_json(t, NULL);
    http_send_json(req, 202, body);
    cJSON_Delete(body);
    return 0;
}

static int imports_send_summary(http_req *req, db_conn *conn, const db_task *t) {
    char line[SUMMARY_TEXT_MAX + 128];
    long len = summary_of_task(conn, t, line, sizeof line);
    if (len < 0)
        return (int)len;
    char error[sizeof t->error + 32] = ""; /* why a task failed, as one printable ASCII line */
    if (t->error[0]) {
        int n = snprintf(error, sizeof error, "X-Task-Error: %s\r\n", t->error);
        for (int i = 14; i < n - 2; i++)
            error[i] = error[i] < ' ' || error[i] > '~' ? '?' : error[i];
    }
    mg_printf(req->conn,
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
              "Content-Length: %ld\r\nCache-Control: no-store\r\nX-Task-State: %s\r\n"
              "X-Task-Failed: %lld\r\n%s%s\r\n",
              len, db_task_state_name(t->state), (long long)t->failed, error,
              http_cors_headers(req));
    mg_write(req->conn, line, (size_t)len);
    http_sent(req, 200, (size_t)len);
    return 0;
}

/* Streams the results as OCL's JSON or report, grouped root → action → status. */
typedef struct results_out {
    http_stream *out;
    bool json;
    char root[1400], action[16];
    int status;
    bool first;
} results_out;

static int results_row(const char *root, const char *action, int status, const char *json,
                       const char *text, void *ctx) {
    results_out *r = ctx;
    char code[16];
    snprintf(code, sizeof code, status ? "%d" : "skip", status);
    bool new_root = r->first || strcmp(root, r->root) != 0;
    bool new_action = new_root || strcmp(action, r->action) != 0;
    bool new_status = new_action || status != r->status;
    if (r->json) {
        cJSON *root_string = cJSON_CreateStringReference(root);
        char *root_json = cJSON_PrintUnformatted(root_string);
        cJSON_Delete(root_string);
        if (new_root)
            http_stream_printf(r->out, "%s%s:{\"%s\":{\"%s\":[", r->first ? "" : "]}},", root_json,
                               action, code);
        else if (new_action)
            http_stream_printf(r->out, "]},\"%s\":{\"%s\":[", action, code);
        else if (new_status)
            http_stream_printf(r->out, "],\"%s\":[", code);
        else
            http_stream_write(r->out, ",", 1);
        free(root_json);
        http_stream_write(r->out, json, strlen(json));
    } else {
        cJSON *parsed = cJSON_Parse(json);
        const cJSON *message = cJSON_GetObjectItem(parsed, "message");
        if (new_root)
            http_stream_printf(r->out, "%s:\n", root);
        if (new_status)
            http_stream_printf(r->out, "  %s %s:\n", action, code);
        http_stream_write(r->out, "    ", 4);
        if (cJSON_IsString(message))
            http_stream_write(r->out, message->valuestring, strlen(message->valuestring));
        http_stream_write(r->out, "  ", 2);
        http_stream_write(r->out, text, strlen(text));
        http_stream_write(r->out, "\n", 1);
        cJSON_Delete(parsed);
    }
    snprintf(r->root, sizeof r->root, "%s", root);
    snprintf(r->action, sizeof r->action, "%s", action);
    r->status = status;
    r->first = false;
    return http_stream_write(r->out, "", 0); /* the stream's state: a client gone stops it */
}

static int imports_send_results(http_req *req, db_conn *conn, const db_task *t, bool json) {
    int64_t skipped = t->skipped; /* status "skip" */
    results_out r = {.json = json, .first = true};
    char *fields = NULL; /* the task's own JSON, whose members go first: both dialects in one */
    if (json) {
        cJSON *task;
        int err = summary_task_json_read(conn, t, &task);
        if (err < 0)
            return err;
        if ((fields = cJSON_PrintUnformatted(task)) == NULL)
            abort();
        cJSON_Delete(task);
        fields[strlen(fields) - 1] = ','; /* its closing brace: more members follow */
    }
    r.out = http_stream_begin_download(req, 200,
                                       json ? "application/json" : "text/plain; charset=utf-8");
    if (json) {
        http_stream_write(r.out, fields, strlen(fields));
        http_stream_printf(r.out,
                           "\"count\":%lld,\"num_skipped\":%lld,\"total_lines\":%lld,"
                           "\"elapsed_seconds\":%.2f,\"results\":{",
                           (long long)t->processed, (long long)skipped, (long long)t->total,
                           t->started_at[0] ? t->elapsed_seconds : 0.0);
    } else {
        http_stream_printf(r.out, "REPORT OF IMPORT RESULTS:\n");
    }
    free(fields);
    int err = db_results_stream(conn, t->id, results_row, &r);
    if (json && err == 0)
        http_stream_printf(r.out, "%s}}", r.first ? "" : "]}}");
    if (err < 0)
        log_error("task %s: results stream broke off: %s", t->id, error_message(err));
    http_stream_end(r.out, err);
    return 0;
}

static int imports_stream_piece(const char *data, size_t len, void *ctx) {
    return http_stream_write(ctx, data, len);
}

static int imports_failed_line(const db_line *line, void *ctx) {
    int err = line_errors_write_failed(line, imports_stream_piece, ctx);
    return err == 0 ? http_stream_write(ctx, "", 0) : err; /* a client gone stops the query */
}

static int imports_unprocessed_line(const db_line *line, void *ctx) {
    int err = line_errors_write_unprocessed(line, imports_stream_piece, ctx);
    return err == 0 ? http_stream_write(ctx, "", 0) : err;
}

/* Streams the lines that failed, each with its reason, or (unprocessed) the lines the task
 * never reached, as submitted, in file order: ready to fix and resubmit (line_errors.h). */
static int imports_send_lines(http_req *req, db_conn *conn, const db_task *t, bool unprocessed) {
    http_stream *out = http_stream_begin_download(req, 200, "application/x-ndjson");
    int err = db_results_lines(conn, t->id, unprocessed,
                               unprocessed ? imports_unprocessed_line : imports_failed_line, out);
    if (err < 0)
        log_error("task %s: %s lines stream broke off: %s", t->id,
                  unprocessed ? "unprocessed" : "failed", error_message(err));
    http_stream_end(out, err);
    return 0;
}

static int imports_result_line(const char *json, size_t len, void *ctx) {
    http_stream_write(ctx, json, len);
    return http_stream_write(ctx, "\n", 1);
}

/* result=json&format=lines: one result object per line, in line order, for tools. */
static int imports_send_by_line(http_req *req, db_conn *conn, const db_task *t) {
    http_stream *out = http_stream_begin_download(req, 200, "application/x-ndjson");
    int err = db_results_by_line(conn, t->id, imports_result_line, out);
    if (err < 0)
        log_error("task %s: results stream broke off: %s", t->id, error_message(err));
    http_stream_end(out, err);
    return 0;
}

static bool imports_running(const db_task *t) {
    return db_task_state_running(t->state);
}

/* Reads task_id as the caller into *t on a pooled connection. */
static int imports_load_task(http_req *req, const char *task_id, db_task *t) {
    db_conn *conn;
    int err = db_pool_acquire(req->app->pool, HTTP_DB_WAIT_MS, &conn);
    if (err < 0)
        return err;
    err = db_tasks_get(conn, task_id, &req->user, t);
    db_pool_release(req->app->pool, conn);
    return err;
}

/* imports_load_task that answers 404 itself (and returns BI_ENOTFOUND). */
static int imports_read_task(http_req *req, const char *task_id, db_task *t) {
    int err = imports_load_task(req, task_id, t);
    if (err == BI_ENOTFOUND)
        http_send_error(req, BI_ENOTFOUND, "task %.200s not found", task_id);
    return err;
}

/* Takes one of max places counted by in_use, or answers 503 with Retry-After naming what
 * (and its flag) when none is free. */
static bool imports_take_place(http_req *req, atomic_int *in_use, int max, const char *what) {
    if (atomic_fetch_add(in_use, 1) < max)
        return true;
    atomic_fetch_sub(in_use, 1);
    http_send_error_headers(req, BI_EUNAVAIL, "Retry-After: 2\r\n", "too many %s (%d); retry", what,
                            max);
    return false;
}

bool imports_api_take_waiter(http_req *req) {
    return imports_take_place(req, &req->app->waiters, req->app->cfg.max_waiters,
                              "clients are waiting on tasks (--max-waiters)");
}

/* A place for a result download, which holds a database connection for as long as its client
 * reads, so slow downloads never take the pool from everything else. */
static bool imports_take_stream(http_req *req) {
    return imports_take_place(req, &req->app->streams, req->app->cfg.max_streams,
                              "result downloads at once (--max-streams)");
}

/* Long-poll: waits until task_id ends (any node's NOTIFY wakes it; it looks again every second
 * in case one was missed) or wait_s seconds pass, then leaves *t as it last read it. */
static int imports_wait_task(http_req *req, const char *task_id, long wait_s, db_task *t) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        unsigned long seen = events_endings(req->app->events);
        int err = imports_read_task(req, task_id, t);
        if (err < 0 || !imports_running(t) || atomic_load(&req->app->stopping))
            return err;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left_ms = wait_s * 1000 - ((now.tv_sec - start.tv_sec) * 1000 +
                                        (now.tv_nsec - start.tv_nsec) / 1000000);
        if (left_ms <= 0)
            return 0;
        events_await_ending(req->app->events, seen, left_ms < 1000 ? (int)left_ms : 1000);
    }
}

/* Server-Sent Events: a "progress" event with the status every second while task_id runs,
 * then one "done" event with the final status and its summary line. */
static int imports_stream_events(http_req *req, const char *task_id) {
    db_task t;
    int err = imports_read_task(req, task_id, &t);
    if (err < 0)
        return err == BI_ENOTFOUND ? 0 : err;
    mg_printf(req->conn, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                         "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\n"
                         "Connection: close\r\n%s\r\n",
              http_cors_headers(req));
    http_sent(req, 200, 0);
    for (;;) {
        if (!imports_running(&t))
            break;
        cJSON *body = summary_task_json(&t, NULL);
        char *text = cJSON_PrintUnformatted(body);
        int sent = mg_printf(req->conn, "event: progress\ndata: %s\n\n", text);
        http_sent(req, 0, sent > 0 ? (size_t)sent : 0);
        free(text);
        cJSON_Delete(body);
        if (sent <= 0 || atomic_load(&req->app->stopping))
            return 0; /* the client went away, or the server stops */
        unsigned long seen = events_endings(req->app->events);
        events_await_ending(req->app->events, seen, 1000);
        err = imports_load_task(req, task_id, &t);
        if (err == BI_ENOTFOUND)
            return 0; /* purged meanwhile: the stream just ends */
        if (err < 0)
            continue; /* the database is away: try again next second */
    }
    db_conn *conn;
    cJSON *body = NULL;
    if (db_pool_acquire(req->app->pool, HTTP_DB_WAIT_MS, &conn) == 0) {
        summary_task_json_read(conn, &t, &body);
        db_pool_release(req->app->pool, conn);
    }
    if (body == NULL) /* the database is away: the ending without its summary line */
        body = summary_task_json(&t, NULL);
    char *text = cJSON_PrintUnformatted(body);
    int sent = mg_printf(req->conn, "event: done\ndata: %s\n\n", text);
    http_sent(req, 0, sent > 0 ? (size_t)sent : 0);
    free(text);
    cJSON_Delete(body);
    return 0;
}

/* Whether the Accept header's preferred media type (the first of the highest q) is
 * application/json: such a client gets a finished task as JSON, not the text summary. */
static bool imports_prefers_json(const char *accept) {
    double best_q = -1;
    bool best_json = false;
    for (const char *p = accept; p != NULL && *p != '\0';) {
        size_t n = strcspn(p, ",");
        char range[128];
        snprintf(range, sizeof range, "%.*s", (int)(n < sizeof range ? n : sizeof range - 1), p);
        double q = 1;
        const char *qs = strstr(range, ";q=");
        if (qs == NULL)
            qs = strstr(range, "; q=");
        if (qs != NULL)
            q = strtod(strchr(qs, '=') + 1, NULL);
        char *type = range + strspn(range, " \t");
        type[strcspn(type, " \t;")] = '\0';
        if (q > best_q) {
            best_q = q;
            best_json = strcasecmp(type, "application/json") == 0;
        }
        p += n + (p[n] == ',');
    }
    return best_json;
}

int imports_api_send_task(http_req *req, db_conn *conn, const db_task *t) {
    cJSON *body;
    int err = summary_task_json_read(conn, t, &body);
    if (err < 0)
        return err;
    http_send_json(req, 200, body);
    cJSON_Delete(body);
    return 0;
}

static int imports_get_task(http_req *req, const char *task_id) {
    char format[16];
    int got = http_query_text(req, "result", format, sizeof format);
    if (got < 0)
        return 0;
    bool explicit_result = got > 0;
    if (!explicit_result)
        strcpy(format, "summary");
    if (strcmp(format, "all") == 0) /* oclapi2's name for everything: the json answer */
        strcpy(format, "json");
    bool known = strcmp(format, "summary") == 0 || strcmp(format, "json") == 0 ||
                 strcmp(format, "report") == 0 || strcmp(format, "failed") == 0 ||
                 strcmp(format, "unprocessed") == 0;
    if (!known)
        return http_send_error(req, BI_EINVAL,
                               "result must be summary, report, json, all, failed or unprocessed");
    char shape[16]; /* result=json's: grouped (OCL's) or lines (one object per line) */
    if ((got = http_query_text(req, "format", shape, sizeof shape)) < 0)
        return 0;
    bool by_line = got > 0 && strcmp(shape, "lines") == 0;
    if (got > 0 && !by_line && strcmp(shape, "grouped") != 0)
        return http_send_error(req, BI_EINVAL, "format must be grouped or lines");
    if (got > 0 && strcmp(format, "json") != 0)
        return http_send_error(req, BI_EINVAL, "format is an option of result=json only");
    long wait_s = 0;
    if (imports_long_param(req, "wait", 0, IMPORTS_MAX_WAIT_S, &wait_s) < 0)
        return 0;
    const char *accept = mg_get_header(req->conn, "Accept");
    bool event_stream = accept != NULL && strstr(accept, "text/event-stream") != NULL;
    if ((event_stream || wait_s > 0) && !imports_api_take_waiter(req))
        return 0;
    db_task t;
    int err;
    if (event_stream) {
        err = imports_stream_events(req, task_id);
        atomic_fetch_sub(&req->app->waiters, 1);
        return err;
    }
    err = wait_s > 0 ? imports_wait_task(req, task_id, wait_s, &t)
                     : imports_read_task(req, task_id, &t);
    if (wait_s > 0)
        atomic_fetch_sub(&req->app->waiters, 1);
    if (err == BI_ENOTFOUND)
        return 0; /* answered */
    if (err < 0)
        return err;
    if (imports_running(&t))
        return imports_send_progress(req, &t);
    bool as_task = !explicit_result && imports_prefers_json(mg_get_header(req->conn, "Accept"));
    bool streams = !as_task && strcmp(format, "summary") != 0; /* results of any size */
    if (streams && !imports_take_stream(req))
        return 0; /* answered */
    db_conn *conn;
    if ((err = db_pool_acquire(req->app->pool, HTTP_DB_WAIT_MS, &conn)) == 0) {
        if (as_task)
            err = imports_api_send_task(req, conn, &t);
        else if (!streams)
            err = imports_send_summary(req, conn, &t);
        else if (strcmp(format, "failed") == 0 || strcmp(format, "unprocessed") == 0)
            err = imports_send_lines(req, conn, &t, format[0] == 'u');
        else if (by_line)
            err = imports_send_by_line(req, conn, &t);
        else
            err = imports_send_results(req, conn, &t, strcmp(format, "json") == 0);
        db_pool_release(req->app->pool, conn);
    }
    if (streams)
        atomic_fetch_sub(&req->app->streams, 1);
    return err;
}

/* A page of tasks being streamed as a JSON array. */
typedef struct task_list {
    http_req *req;
    db_conn *conn;
    long total, limit, offset;
    imports_list_headers_fn headers;
    void *headers_ctx;
    http_stream *stream; /* begun with the first task */
} task_list;

/* Streams task (NULL: none, to begin an empty page) as the next item of the list. */
static int imports_list_item(const db_task *task, void *ctx) {
    task_list *out = ctx;
    if (out->stream == NULL) {
        char header[IMPORTS_LIST_HEADERS_MAX];
        int n = snprintf(header, sizeof header, "X-Total-Count: %ld\r\n", out->total);
        if (out->headers != NULL)
            out->headers(out->total, out->limit, out->offset, out->headers_ctx, header + n,
                         sizeof header - (size_t)n);
        out->stream = http_stream_begin_with(out->req, 200, "application/json", header);
        http_stream_write(out->stream, "[", 1);
    } else if (task != NULL) {
        http_stream_write(out->stream, ",", 1);
    }
    if (task == NULL)
        return 0;
    cJSON *item;
    int err = summary_task_json_read(out->conn, task, &item);
    if (err < 0)
        return err; /* the list breaks off visibly */
    char *text = cJSON_PrintUnformatted(item);
    cJSON_Delete(item);
    if (text == NULL)
        abort();
    err = http_stream_write(out->stream, text, strlen(text));
    free(text);
    return err;
}

#define IMPORTS_LIST_LIMIT 1000 /* the legacy default, kept on OCL's list routes */

/* The caller's tasks (root: everyone's, ?username= filters), newest first. */
static int imports_list(http_req *req, const char *queue) {
    static const char *const extra[] = {"username", NULL};
    task_query tq;
    if (task_query_read(req, extra, IMPORTS_LIST_LIMIT, 100000, &tq) < 0)
        return 0;
    char username[DB_USERNAME_MAX + 1];
    const char *who;
    if (http_list_owner(req, "tasks", username, &who) < 0)
        return 0;
    if (who != NULL && strcmp(who, req->user.username) != 0) { /* root names a user */
        db_conn *conn;
        db_owner owner;
        int err = db_pool_acquire(req->app->pool, HTTP_DB_WAIT_MS, &conn);
        if (err < 0)
            return err;
        err = db_owners_lookup(conn, req->user.username, false, who, &owner);
        db_pool_release(req->app->pool, conn);
        if (err < 0)
            return err;
        if (!owner.found)
            return http_send_error(req, BI_ENOTFOUND, "User not found");
    }
    tq.filter.username = who;
    tq.filter.queue = queue;
    return imports_api_send_list(req, &tq.filter, tq.limit, tq.offset, NULL, NULL);
}

int imports_api_send_list(http_req *req, const db_task_filter *filter, long limit, long offset,
                          imports_list_headers_fn headers, void *ctx) {
    db_conn *conn;
    int err = db_pool_acquire(req->app->pool, HTTP_DB_WAIT_MS, &conn);
    if (err < 0)
        return err;
    task_list out = {.req = req, .conn = conn, .limit = limit, .offset = offset,
                     .headers = headers, .headers_ctx = ctx};
    err = db_tasks_list(conn, filter, limit, offset, imports_list_item, &out, &out.total);
    if (err == 0 && out.stream == NULL)
        imports_list_item(NULL, &out); /* an empty page */
    if (out.stream != NULL) {
        if (err == 0)
            http_stream_write(out.stream, "]", 1);
        else
            log_error("the task list broke off: %s", error_message(err));
        http_stream_end(out.stream, err);
        err = 0; /* answered */
    }
    db_pool_release(req->app->pool, conn);
    return err;
}

int imports_api_get(http_req *req) {
    static const char *const task_params[] = {"task", "result", "wait", "format", "verbose", NULL};
    char task_id[1024]; /* longer than any id: an over-long one is simply not found */
    int given = imports_task_param(req, task_id, sizeof task_id);
    if (given < 0)
        return 0;
    if (given == 0) /* the list, whose parameters are its own */
        return imports_list(req, req->n_params ? req->params[0] : NULL);
    if (http_query_only(req, task_params) < 0)
        return 0;
    return imports_get_task(req, task_id); /* on /:queue/ too, as oclapi2 */
}
