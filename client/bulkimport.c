/* bulkimport — the command-line client of bulkimportd (README "The bulkimport client").
 *
 * Streams uploads (a file or standard input, never held whole), follows tasks with the
 * server's long-poll, draws progress on standard error (progress.h) and prints only results
 * (or, without --wait, only the task id) on standard output. Exit codes: 0 success, 1 the
 * import finished with failed lines (or FAILURE, REVOKED), 2 usage, 3 server or network,
 * 4 authentication or permission, 5 refused (not found, conflict, bad input, too large, too
 * many requests), 130 interrupted while waiting (the task goes on).
 */
#include "progress.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
    EXIT_OK = 0,
    EXIT_FAILED_LINES = 1,
    EXIT_USAGE = 2,
    EXIT_SERVER = 3,
    EXIT_AUTH = 4,
    EXIT_REFUSED = 5,
    EXIT_INTERRUPTED = 130,
    EXIT_PIPE = -1 /* standard output was closed: stop quietly */
};

#define WAIT_TTY_S 1   /* long-poll length while a progress bar is drawn */
#define WAIT_PLAIN_S 5 /* ... and while plain progress lines are printed */

typedef struct options {
    const char *url, *token;
    const char *queue, *result, *result_flag, *output, *user, *state, *since;
    const char *callback_url, *file_url, *idempotency_key;
    const char *input_format, *owner, *owner_type, *export_version; /* how the file is read */
    long batch_size, limit;
    bool no_update, test_mode, wait, quiet, json;
    progress *progress;
} options;

/* Set by SIGINT while a task is followed: the wait stops, the task goes on. */
static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig) {
    (void)sig;
    interrupted = 1;
}

/* ---- messages ---- */

static void say(const options *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const options *o, const char *fmt, ...) {
    if (o->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("bulkimport: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

/* ---- HTTP ---- */

typedef struct response {
    long status;
    char *body;
    size_t len;
    FILE *sink; /* when set, a 200 body streams here instead */
    bool sink_broken; /* writing to sink failed (errno in sink_errno) */
    int sink_errno;
    char state[16];
    long failed;
    char error[700]; /* X-Task-Error: why the task failed */
} response;

static size_t on_body(char *data, size_t size, size_t n, void *ctx) {
    response *r = ctx;
    size_t len = size * n;
    if (r->sink != NULL && r->status == 200) {
        size_t written = fwrite(data, 1, len, r->sink);
        if (written < len) {
            r->sink_broken = true;
            r->sink_errno = errno;
        }
        return written;
    }
    char *grown = realloc(r->body, r->len + len + 1);
    if (grown == NULL)
        return 0;
    r->body = grown;
    memcpy(r->body + r->len, data, len);
    r->len += len;
    r->body[r->len] = '\0';
    return len;
}

/* Keeps the response status (for on_body) and the task headers the server adds. */
static size_t on_header(char *data, size_t size, size_t n, void *ctx) {
    response *r = ctx;
    size_t len = size * n;
    if (len > 9 && strncmp(data, "HTTP/", 5) == 0)
        r->status = strtol(strchr(data, ' ') ? strchr(data, ' ') + 1 : data, NULL, 10);
    if (len > 14 && strncasecmp(data, "X-Task-State: ", 14) == 0)
        snprintf(r->state, sizeof r->state, "%.*s", (int)strcspn(data + 14, "\r\n"), data + 14);
    if (len > 15 && strncasecmp(data, "X-Task-Failed: ", 15) == 0)
        r->failed = strtol(data + 15, NULL, 10);
    if (len > 14 && strncasecmp(data, "X-Task-Error: ", 14) == 0)
        snprintf(r->error, sizeof r->error, "%.*s", (int)strcspn(data + 14, "\r\n"), data + 14);
    return len;
}

/* An upload's source and its progress. */
typedef struct upload {
    FILE *in;
    const char *content_type; /* "Content-Type: …" */
    const options *o;
    double started;
} upload;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static size_t on_read(char *buf, size_t size, size_t n, void *ctx) {
    upload *u = ctx;
    return fread(buf, size, n, u->in);
}

/* libcurl's progress callback: draws an upload's progress; stops any transfer on Ctrl+C. */
static int on_progress(void *ctx, curl_off_t dl_total, curl_off_t dl_now, curl_off_t ul_total,
                       curl_off_t ul_now) {
    (void)dl_total;
    (void)dl_now;
    upload *u = ctx;
    if (interrupted)
        return 1;
    if (u != NULL && u->in != NULL)
        progress_show_upload(u->o->progress, (long long)ul_now, (long long)ul_total, u->started,
                             now_s());
    return 0;
}

/* Sends method path (with query) with the token; up (optional) streams the body. Fills *r.
 * Returns 0, EXIT_SERVER when the server could not be reached, EXIT_INTERRUPTED on Ctrl+C
 * while waiting, or EXIT_PIPE when the body's sink was closed (messages printed). */
static int request(const options *o, const char *method, const char *path, upload *up,
                   const char *extra_header, response *r) {
    CURL *c = curl_easy_init();
    if (c == NULL)
        return fail(EXIT_SERVER, "cannot start libcurl");
    char url[4096], auth[1024];
    snprintf(url, sizeof url, "%s%s", o->url, path);
    snprintf(auth, sizeof auth, "Authorization: Token %s", o->token);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    if (extra_header != NULL)
        h = curl_slist_append(h, extra_header);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* results come gzipped, decoded here */
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, up);
    if (up != NULL) {
        struct stat st;
        h = curl_slist_append(h, up->content_type);
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, up);
        if (fstat(fileno(up->in), &st) == 0 && S_ISREG(st.st_mode))
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)st.st_size);
        else /* standard input: chunked, never buffered whole */
            h = curl_slist_append(h, "Transfer-Encoding: chunked");
    }
    if (up == NULL && strcmp(method, "POST") == 0) { /* Content-Length: 0, not an open body */
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (up != NULL)
        progress_end(o->progress);
    if (r->sink_broken && r->sink_errno == EPIPE)
        return EXIT_PIPE;
    if (r->sink_broken)
        return fail(EXIT_SERVER, "cannot write the result: %s", strerror(r->sink_errno));
    if (rc == CURLE_ABORTED_BY_CALLBACK && interrupted)
        return EXIT_INTERRUPTED;
    if (rc != CURLE_OK)
        return fail(EXIT_SERVER, "cannot reach %s: %s", o->url, curl_easy_strerror(rc));
    return 0;
}

static void response_free(response *r) { free(r->body); }

/* The server's message in an error body, or the body itself. */
static const char *server_message(const response *r) {
    static char text[512];
    cJSON *j = r->body ? cJSON_Parse(r->body) : NULL;
    const cJSON *m = cJSON_GetObjectItem(j, "message");
    snprintf(text, sizeof text, "%s", cJSON_IsString(m) ? m->valuestring : r->body ? r->body : "");
    cJSON_Delete(j);
    return text;
}

/* Maps a non-success answer to an exit code, with a message saying what to do. */
static int answer_error(const response *r, const char *what) {
    if (r->status == 401)
        return fail(EXIT_AUTH, "%s: the server refused the token (401): set BULKIMPORT_TOKEN or "
                               "pass --token",
                    what);
    if (r->status == 403)
        return fail(EXIT_AUTH, "%s: not allowed (403): %s", what, server_message(r));
    if (r->status >= 400 && r->status < 500)
        return fail(EXIT_REFUSED, "%s: refused (%ld): %s", what, r->status, server_message(r));
    return fail(EXIT_SERVER, "%s: the server answered %ld: %s", what, r->status, server_message(r));
}

/* ---- commands ---- */

/* Appends "&name=value" (value URL-encoded) to query. */
static void add_param(char *query, size_t cap, const char *name, const char *value) {
    if (value == NULL)
        return;
    char *enc = curl_easy_escape(NULL, value, 0);
    size_t len = strlen(query);
    snprintf(query + len, cap - len, "%c%s=%s", strchr(query, '?') ? '&' : '?', name, enc);
    curl_free(enc);
}

/* The path of task's status: /manage/bulkimport/?task=<encoded id>. */
static void task_path(const char *task, char *path, size_t cap) {
    char *id = curl_easy_escape(NULL, task, 0);
    snprintf(path, cap, "/manage/bulkimport/?task=%s", id);
    curl_free(id);
}

/* Reads the progress of a task JSON (the server's) into *t. */
static void task_progress(const cJSON *status, progress_task *t) {
    memset(t, 0, sizeof *t);
    const cJSON *p = cJSON_GetObjectItem(status, "progress");
    const char *state = cJSON_GetStringValue(cJSON_GetObjectItem(status, "state"));
    const char *queue = cJSON_GetStringValue(cJSON_GetObjectItem(status, "queue"));
    snprintf(t->state, sizeof t->state, "%s", state ? state : "?");
    snprintf(t->queue, sizeof t->queue, "%s", queue ? queue : "");
#define N(name) (long)cJSON_GetNumberValue(cJSON_GetObjectItem(p, name))
    t->total = N("total");
    t->processed = N("processed");
    t->created = N("created");
    t->updated = N("updated");
    t->deleted = N("deleted");
    t->failed = N("failed");
#undef N
    const cJSON *ahead = cJSON_GetObjectItem(status, "ahead");
    t->ahead = cJSON_IsNumber(ahead) ? (long)ahead->valuedouble : -1;
}

/* Reads task's JSON status (any state) into *out (cJSON_Delete it). Returns 0 or an exit code. */
static int read_status(const options *o, const char *task, cJSON **out) {
    char path[2048];
    task_path(task, path, sizeof path);
    response r = {0};
    int err = request(o, "GET", path, NULL, "Accept: application/json", &r);
    if (err == 0 && r.status != 200 && r.status != 202)
        err = answer_error(&r, "status");
    if (err == 0 && (*out = cJSON_Parse(r.body ? r.body : "")) == NULL)
        err = fail(EXIT_SERVER, "status: not JSON: %.200s", r.body ? r.body : "");
    response_free(&r);
    return err;
}

/* Says, after Ctrl+C, that the task goes on and how to follow it. */
static int stopped_waiting(const options *o, const char *task) {
    progress_end(o->progress);
    fprintf(stderr, "bulkimport: stopped waiting; task %s keeps running on the server.\n"
                    "  follow it: bulkimport wait %s\n  cancel it: bulkimport cancel %s\n",
            task, task, task);
    return EXIT_INTERRUPTED;
}

/* Follows task until it ends (long-polls, drawing progress), draws its final frame, then
 * prints its result in format (or, with --json, its task JSON) to out. */
static int follow(const options *o, const char *task, const char *format, FILE *out) {
    char *id = curl_easy_escape(NULL, task, 0);
    char path[2048];
    struct sigaction sa = {.sa_handler = on_interrupt}, old_sa;
    sigaction(SIGINT, &sa, &old_sa);
    int err = 0;
    for (;;) {
        snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&wait=%d", id,
                 o->progress->tty ? WAIT_TTY_S : WAIT_PLAIN_S);
        response r = {0};
        err = request(o, "GET", path, NULL, NULL, &r);
        if (err == 0 && r.status == 202) {
            cJSON *status = cJSON_Parse(r.body ? r.body : "");
            progress_task t;
            task_progress(status, &t);
            progress_show_task(o->progress, &t, now_s(), false);
            cJSON_Delete(status);
            response_free(&r);
            continue;
        }
        if (err == 0 && r.status != 200)
            err = answer_error(&r, "status");
        response_free(&r);
        break;
    }
    sigaction(SIGINT, &old_sa, NULL);
    curl_free(id);
    if (err == EXIT_INTERRUPTED)
        return stopped_waiting(o, task);
    if (err != 0) {
        progress_end(o->progress);
        return err;
    }
    /* The final frame, from the final status: never a frame the task had left behind. */
    cJSON *status = NULL;
    if ((err = read_status(o, task, &status)) != 0) {
        progress_end(o->progress);
        return err;
    }
    progress_task t;
    task_progress(status, &t);
    progress_show_task(o->progress, &t, now_s(), true);
    const char *error = cJSON_GetStringValue(cJSON_GetObjectItem(status, "error_message"));
    bool ok = strcmp(t.state, "SUCCESS") == 0 && t.failed == 0;
    if (o->json) {
        char *text = cJSON_PrintUnformatted(status);
        fprintf(out, "%s\n", text);
        free(text);
    } else if (strcmp(format, "summary") == 0) {
        const char *message = cJSON_GetStringValue(cJSON_GetObjectItem(status, "message"));
        fprintf(out, "%s\n", message ? message : "");
    } else {
        char query[2048];
        task_path(task, query, sizeof query);
        bool lines = strcmp(format, "lines") == 0;
        add_param(query, sizeof query, "result", lines ? "json" : format);
        add_param(query, sizeof query, "format", lines ? "lines" : NULL);
        response r = {.sink = out};
        err = request(o, "GET", query, NULL, NULL, &r);
        if (err == 0 && r.status != 200)
            err = answer_error(&r, "result");
        response_free(&r);
    }
    if (err == 0)
        say(o, "task %s: %s%s%s%s, %ld failed line(s)\n", task, t.state, error ? " (" : "",
            error ? error : "", error ? ")" : "", t.failed);
    cJSON_Delete(status);
    return err != 0 ? err : ok ? EXIT_OK : EXIT_FAILED_LINES;
}

/* Whether name ends with suffix, or with suffix and ".gz", case aside. */
static bool name_ends(const char *name, const char *suffix) {
    size_t len = strlen(name), sl = strlen(suffix);
    if (len >= 3 && strcasecmp(name + len - 3, ".gz") == 0)
        len -= 3;
    return len >= sl && strncasecmp(name + len - sl, suffix, sl) == 0;
}

/* The format option a file's name asks for, or NULL (JSON lines and exports tell themselves). */
static const char *format_of_name(const char *file) {
    return name_ends(file, ".csv") ? "csv" : name_ends(file, ".zip") ? "zip" : NULL;
}

/* The Content-Type header of an upload of file (NULL or "-": standard input). */
static const char *content_type_of(const char *file, const char *format) {
    size_t len = file ? strlen(file) : 0;
    if (len >= 3 && strcasecmp(file + len - 3, ".gz") == 0)
        return "Content-Type: application/gzip";
    if (format != NULL && strcmp(format, "csv") == 0)
        return "Content-Type: text/csv";
    if (format != NULL && strcmp(format, "zip") == 0)
        return "Content-Type: application/zip";
    return "Content-Type: application/x-ndjson";
}

/* Opens file for the upload ("-": standard input): a directory or a file that cannot be read
 * is refused here, before anything is sent. */
static int open_upload(const char *file, FILE **out) {
    if (strcmp(file, "-") == 0) {
        *out = stdin;
        return 0;
    }
    struct stat st;
    if (stat(file, &st) != 0)
        return fail(EXIT_USAGE, "cannot read %s: %s", file, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return fail(EXIT_USAGE, "%s is a directory: give a file to import", file);
    if ((*out = fopen(file, "rb")) == NULL)
        return fail(EXIT_USAGE, "cannot read %s: %s", file, strerror(errno));
    return 0;
}

static int cmd_submit(const options *o, const char *file) {
    if ((file == NULL) == (o->file_url == NULL))
        return fail(EXIT_USAGE, "submit needs FILE, -, or --file-url URL (one of them)");
    FILE *in = NULL;
    int err = file != NULL ? open_upload(file, &in) : 0;
    if (err != 0)
        return err;
    char path[4096] = "/manage/bulkimport/";
    if (o->queue != NULL) {
        char *q = curl_easy_escape(NULL, o->queue, 0);
        snprintf(path, sizeof path, "/manage/bulkimport/%s/", q);
        curl_free(q);
    }
    if (o->no_update)
        add_param(path, sizeof path, "update_if_exists", "false");
    if (o->test_mode)
        add_param(path, sizeof path, "test_mode", "true");
    if (o->batch_size > 0) {
        char n[32];
        snprintf(n, sizeof n, "%ld", o->batch_size);
        add_param(path, sizeof path, "batch_size", n);
    }
    add_param(path, sizeof path, "callback_url", o->callback_url);
    add_param(path, sizeof path, "file_url", o->file_url);
    /* The format from --input-format, else the file's name (as oclapi2 tells it); the server
     * tells the rest from the first bytes. */
    const char *format = o->input_format ? o->input_format : file ? format_of_name(file) : NULL;
    add_param(path, sizeof path, "format", format);
    add_param(path, sizeof path, "owner", o->owner);
    add_param(path, sizeof path, "owner_type", o->owner_type);
    add_param(path, sizeof path, "version", o->export_version);
    char key[512];
    if (o->idempotency_key != NULL)
        snprintf(key, sizeof key, "Idempotency-Key: %s", o->idempotency_key);
    upload up = {.in = in, .o = o, .started = now_s(), .content_type = content_type_of(file, format)};
    response r = {0};
    err = request(o, "POST", path, in ? &up : NULL, o->idempotency_key ? key : NULL, &r);
    if (in != NULL && in != stdin)
        fclose(in);
    if (err == 0 && r.status != 202)
        err = answer_error(&r, "submit");
    char task[512] = "";
    if (err == 0) {
        cJSON *j = cJSON_Parse(r.body ? r.body : "");
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(j, "task"));
        snprintf(task, sizeof task, "%s", id ? id : "");
        cJSON_Delete(j);
        if (task[0] == '\0')
            err = fail(EXIT_SERVER, "submit: no task id in the answer: %s", r.body);
    }
    if (err == 0 && !o->wait)
        printf("%s\n", o->json ? r.body : task);
    response_free(&r);
    if (err != 0 || !o->wait)
        return err;
    say(o, "task %s queued\n", task);
    return follow(o, task, o->result ? o->result : "summary", stdout);
}

static int cmd_status(const options *o, const char *task) {
    cJSON *status = NULL;
    int err = read_status(o, task, &status);
    if (err != 0)
        return err;
    if (o->json) { /* the server's task JSON, the same shape at every state */
        char *text = cJSON_PrintUnformatted(status);
        printf("%s\n", text);
        free(text);
        cJSON_Delete(status);
        return EXIT_OK;
    }
    progress_task t;
    task_progress(status, &t);
    char done[32], total[32], failed[32], took[24] = "";
    progress_count(t.processed, done, sizeof done);
    progress_count(t.total, total, sizeof total);
    progress_count(t.failed, failed, sizeof failed);
    const cJSON *duration = cJSON_GetObjectItem(status, "duration");
    if (cJSON_IsNumber(duration))
        progress_duration(duration->valuedouble, took, sizeof took);
    printf("%s  %s  queue %s  %s/%s lines  failed %s", task, t.state, t.queue, done, total, failed);
    if (strcmp(t.state, "PENDING") == 0 && t.ahead >= 0)
        printf("  %ld ahead", t.ahead);
    if (took[0])
        printf("  %s %s", strcmp(t.state, "STARTED") == 0 ? "running" : "took", took);
    printf("\n");
    const char *message = cJSON_GetStringValue(cJSON_GetObjectItem(status, "message"));
    const char *error = cJSON_GetStringValue(cJSON_GetObjectItem(status, "error_message"));
    if (message != NULL)
        printf("%s\n", message);
    if (error != NULL)
        printf("reason: %s\n", error);
    cJSON_Delete(status);
    return EXIT_OK;
}

static int cmd_results(const options *o, const char *task) {
    const char *format = o->result ? o->result : "summary";
    FILE *out = o->output ? fopen(o->output, "wb") : stdout;
    if (out == NULL)
        return fail(EXIT_USAGE, "cannot write %s: %s", o->output, strerror(errno));
    char path[2048];
    task_path(task, path, sizeof path);
    bool lines = strcmp(format, "lines") == 0;
    add_param(path, sizeof path, "result", lines ? "json" : format);
    add_param(path, sizeof path, "format", lines ? "lines" : NULL);
    response r = {.sink = out};
    int err = request(o, "GET", path, NULL, NULL, &r);
    if (err == 0 && r.status == 202)
        err = fail(EXIT_REFUSED, "task %s has not finished yet: bulkimport wait %s", task, task);
    else if (err == 0 && r.status != 200)
        err = answer_error(&r, "results");
    else if (err == 0 && strcmp(format, "summary") == 0)
        fputc('\n', out);
    response_free(&r);
    if (out != stdout)
        fclose(out);
    return err;
}

/* Writes the time seconds ago as ISO 8601 UTC into out, for --since 30m/2h/7d. Returns false
 * when since is neither that nor an ISO date or time (passed on as it is). */
static bool since_time(const char *since, char *out, size_t cap) {
    char *end;
    double n = strtod(since, &end);
    double unit = strcmp(end, "s") == 0 ? 1 : strcmp(end, "m") == 0 ? 60 : strcmp(end, "h") == 0 ? 3600
                  : strcmp(end, "d") == 0 ? 86400 : 0;
    if (end == since || unit == 0 || n < 0) {
        snprintf(out, cap, "%s", since);
        return strlen(since) >= 10 && since[4] == '-';
    }
    time_t at = time(NULL) - (time_t)(n * unit);
    struct tm tm;
    gmtime_r(&at, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return true;
}

/* A column of the task list: its header and each task's cell. */
enum { COL_TASK, COL_STATE, COL_QUEUE, COL_USER, COL_LINES, COL_FAILED, COL_CREATED, COL_REASON, COLS };

static void list_cells(const cJSON *t, char cells[COLS][256]) {
    const char *keys[COLS] = {"task", "state", "queue", "username", NULL, NULL, "created_at",
                              "error_message"};
    for (int c = 0; c < COLS; c++) {
        const char *v = keys[c] ? cJSON_GetStringValue(cJSON_GetObjectItem(t, keys[c])) : NULL;
        snprintf(cells[c], 256, "%s", v ? v : "");
    }
    progress_task p;
    task_progress(t, &p);
    snprintf(cells[COL_LINES], 256, "%ld/%ld", p.processed, p.total);
    snprintf(cells[COL_FAILED], 256, "%ld", p.failed);
    for (char *ch = cells[COL_REASON]; *ch; ch++) /* one line per task */
        *ch = *ch == '\n' || *ch == '\t' ? ' ' : *ch;
}

static int cmd_list(const options *o, bool root) {
    char path[2048] = "/manage/bulkimport/";
    if (o->queue != NULL) {
        char *q = curl_easy_escape(NULL, o->queue, 0);
        snprintf(path, sizeof path, "/manage/bulkimport/%s/", q);
        curl_free(q);
    }
    add_param(path, sizeof path, "username", o->user);
    add_param(path, sizeof path, "state", o->state);
    char since[64], limit[32];
    if (o->since != NULL && !since_time(o->since, since, sizeof since))
        return fail(EXIT_USAGE, "--since takes a time ago (30m, 2h, 7d) or an ISO 8601 date or "
                                "time (2026-12-01, 2026-12-01T10:00:00Z)");
    add_param(path, sizeof path, "created_after", o->since ? since : NULL);
    snprintf(limit, sizeof limit, "%ld", o->limit > 0 ? o->limit : 50);
    add_param(path, sizeof path, "limit", limit);
    response r = {0};
    int err = request(o, "GET", path, NULL, NULL, &r);
    if (err == 0 && r.status != 200)
        err = answer_error(&r, "list");
    if (err == 0 && o->json)
        printf("%s\n", r.body ? r.body : "[]");
    cJSON *tasks = err == 0 && !o->json ? cJSON_Parse(r.body ? r.body : "") : NULL;
    if (tasks != NULL) {
        /* Aligned columns on a terminal, tab-separated for tools; the user column for root. */
        bool aligned = isatty(STDOUT_FILENO);
        static const char *const header[COLS] = {"TASK",   "STATE",   "QUEUE",   "USER",
                                                 "LINES",  "FAILED",  "CREATED", "REASON"};
        int width[COLS];
        for (int c = 0; c < COLS; c++)
            width[c] = (int)strlen(header[c]);
        char cells[COLS][256];
        const cJSON *t;
        cJSON_ArrayForEach(t, tasks) {
            list_cells(t, cells);
            for (int c = 0; c < COLS; c++)
                width[c] = (int)strlen(cells[c]) > width[c] ? (int)strlen(cells[c]) : width[c];
        }
        for (int row = -1; row < cJSON_GetArraySize(tasks); row++) {
            if (row >= 0)
                list_cells(cJSON_GetArrayItem(tasks, row), cells);
            for (int c = 0, first = 1; c < COLS; c++) {
                if (c == COL_USER && !root)
                    continue;
                const char *cell = row < 0 ? header[c] : cells[c];
                if (aligned && c < COL_REASON)
                    printf("%s%-*s", first ? "" : "  ", width[c], cell);
                else
                    printf("%s%s", first ? "" : aligned ? "  " : "\t", cell);
                first = 0;
            }
            printf("\n");
        }
        cJSON_Delete(tasks);
    }
    response_free(&r);
    return err;
}

static int cmd_cancel(const options *o, const char *task) {
    char path[2048];
    task_path(task, path, sizeof path);
    response r = {0};
    int err = request(o, "DELETE", path, NULL, NULL, &r);
    if (err == 0 && r.status != 204)
        err = answer_error(&r, "cancel");
    else if (err == 0)
        say(o, "task %s: cancel requested\n", task);
    response_free(&r);
    return err;
}

static int cmd_resume(const options *o, const char *task) {
    char path[2048];
    task_path(task, path, sizeof path);
    add_param(path, sizeof path, "action", "resume");
    response r = {0};
    int err = request(o, "POST", path, NULL, NULL, &r);
    if (err == 0 && r.status != 202)
        err = answer_error(&r, "resume");
    response_free(&r);
    if (err != 0)
        return err;
    say(o, "task %s: resumed from its last committed batch\n", task);
    return o->wait ? follow(o, task, o->result ? o->result : "summary", stdout) : EXIT_OK;
}

static int cmd_whoami(const options *o) {
    response r = {0};
    int err = request(o, "GET", "/user/", NULL, NULL, &r);
    if (err == 0 && r.status != 200)
        err = answer_error(&r, "whoami");
    if (err == 0 && o->json) {
        printf("%s\n", r.body ? r.body : "");
    } else if (err == 0) {
        cJSON *me = cJSON_Parse(r.body ? r.body : "");
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(me, "username"));
        printf("%s%s on %s\n", name ? name : "?",
               cJSON_IsTrue(cJSON_GetObjectItem(me, "is_root")) ? " (root)" : "", o->url);
        cJSON_Delete(me);
    }
    response_free(&r);
    return err;
}

/* Whether the token's user is root (for the list's user column); false when unknown. */
static bool is_root(const options *o) {
    response r = {0};
    bool root = false;
    if (request(o, "GET", "/user/", NULL, NULL, &r) == 0 && r.status == 200) {
        cJSON *me = cJSON_Parse(r.body ? r.body : "");
        root = cJSON_IsTrue(cJSON_GetObjectItem(me, "is_root"));
        cJSON_Delete(me);
    }
    response_free(&r);
    return root;
}

/* ---- usage ---- */

static const char *const usage[][2] = {
    {"submit", "bulkimport submit FILE|-|--file-url URL [--queue Q] [--no-update] [--test-mode]\n"
               "       [--wait] [--result summary|report|json|lines|failed|unprocessed] [--json]\n"
               "       [--batch-size N] [--callback-url URL] [--idempotency-key KEY]\n"
               "       [--input-format jsonl|csv|zip|export] [--owner O --owner-type T]\n"
               "       [--export-version V]\n"
               "  Streams FILE (- is standard input) to the server and prints the task id; with\n"
               "  --wait, follows the task and prints the chosen result instead. FILE may be\n"
               "  OCL's JSON lines, standard CSV (.csv), a source-version export, a ZIP (.zip)\n"
               "  of one of them, or any of these gzipped (.gz).\n"
               "  --json                 the server's JSON (the task) instead of the id or result\n"
               "  --input-format F       read FILE as F, whatever its name or first bytes say\n"
               "  --owner, --owner-type, --export-version  an export's new owner and version\n"
               "  --file-url URL         the server downloads the file from URL instead\n"
               "  --callback-url URL     the server POSTs the task's signed status there at its end\n"
               "  --idempotency-key KEY  a repeat with the same KEY (24 h) gives the same task\n"},
    {"status", "bulkimport status TASK [--json]\n"
               "  Prints the task's state, lines, failures and timing (--json: the server's task\n"
               "  JSON, the same shape at every state).\n"},
    {"results", "bulkimport results TASK [--result summary|report|json|lines|failed|unprocessed]\n"
                "       [-o FILE]\n"
                "  Prints (or writes to FILE) a finished task's result: failed gives each failed\n"
                "  line with its reason (\"__error\") ready to fix and resubmit, unprocessed the\n"
                "  lines a cancelled task never reached, lines one result object per line.\n"},
    {"list", "bulkimport list [--queue Q] [--user U] [--state A,B] [--since 2h|2026-12-01]\n"
             "       [--limit N] [--json]\n"
             "  Lists your tasks (root: everyone's, with their users), newest first, 50 unless\n"
             "  --limit says otherwise.\n"},
    {"cancel", "bulkimport cancel TASK\n  Cancels a pending or running task.\n"},
    {"resume", "bulkimport resume TASK [--wait] [--result …]\n"
               "  Resumes a cancelled or failed task from its last committed batch.\n"},
    {"wait", "bulkimport wait TASK [--result summary|report|json|lines|failed|unprocessed] [--json]\n"
             "  Follows the task to its end and prints the chosen result. Ctrl+C stops waiting;\n"
             "  the task goes on.\n"},
    {"whoami", "bulkimport whoami [--json]\n  Prints whose token this is, and whether it is root.\n"},
};

static int print_usage(FILE *out, const char *command, int code) {
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++)
        if (command == NULL || strcmp(command, usage[i][0]) == 0)
            fprintf(out, "%s\n", usage[i][1]);
    if (command == NULL || code == EXIT_OK)
        fprintf(out, "Options for every command:\n"
                     "  --url URL      the server (or BULKIMPORT_URL; default http://127.0.0.1:8000)\n"
                     "  --token TOKEN  your API token (or BULKIMPORT_TOKEN); never printed\n"
                     "  --quiet        no progress or messages on standard error\n"
                     "  --help         this text;  --version  the client's version\n"
                     "Exit codes: 0 success, 1 the import finished with failed lines (or FAILURE or\n"
                     "REVOKED), 2 usage error, 3 server or network error, 4 authentication or\n"
                     "permission (401, 403), 5 refused (not found, conflict, bad input, 413, 429),\n"
                     "130 interrupted while waiting (the task goes on).\n");
    return code;
}

static const char *const result_names[] = {"summary", "report", "json", "lines", "failed",
                                           "unprocessed", NULL};

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN); /* a closed pipe is EPIPE, told apart from the network */
    progress bar;
    options o = {.url = getenv("BULKIMPORT_URL"), .token = getenv("BULKIMPORT_TOKEN"),
                 .progress = &bar};
    const char *command = NULL, *arg = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
#define VALUE(field)                                                                               \
    do {                                                                                           \
        if (value == NULL)                                                                         \
            return fail(EXIT_USAGE, "%s needs a value (see --help)", a);                           \
        o.field = value;                                                                           \
        i++;                                                                                       \
    } while (0)
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return print_usage(stdout, command, EXIT_OK);
        else if (strcmp(a, "--version") == 0) {
            printf("bulkimport %s (%s)\n", BI_VERSION, curl_version());
            return EXIT_OK;
        } else if (strcmp(a, "--url") == 0)
            VALUE(url);
        else if (strcmp(a, "--token") == 0)
            VALUE(token);
        else if (strcmp(a, "--queue") == 0)
            VALUE(queue);
        else if (strcmp(a, "--result") == 0 || strcmp(a, "--format") == 0) {
            o.result_flag = a;
            VALUE(result);
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0)
            VALUE(output);
        else if (strcmp(a, "--user") == 0)
            VALUE(user);
        else if (strcmp(a, "--state") == 0)
            VALUE(state);
        else if (strcmp(a, "--since") == 0)
            VALUE(since);
        else if (strcmp(a, "--callback-url") == 0)
            VALUE(callback_url);
        else if (strcmp(a, "--file-url") == 0)
            VALUE(file_url);
        else if (strcmp(a, "--idempotency-key") == 0)
            VALUE(idempotency_key);
        else if (strcmp(a, "--input-format") == 0)
            VALUE(input_format);
        else if (strcmp(a, "--owner") == 0)
            VALUE(owner);
        else if (strcmp(a, "--owner-type") == 0)
            VALUE(owner_type);
        else if (strcmp(a, "--export-version") == 0)
            VALUE(export_version);
        else if (strcmp(a, "--batch-size") == 0 || strcmp(a, "--limit") == 0) {
            char *end = NULL;
            long n = value ? strtol(value, &end, 10) : 0;
            if (value == NULL || *end != '\0' || n < 1)
                return fail(EXIT_USAGE, "%s needs a positive number", a);
            *(a[2] == 'b' ? &o.batch_size : &o.limit) = n;
            i++;
        } else if (strcmp(a, "--no-update") == 0)
            o.no_update = true;
        else if (strcmp(a, "--test-mode") == 0)
            o.test_mode = true;
        else if (strcmp(a, "--wait") == 0)
            o.wait = true;
        else if (strcmp(a, "--json") == 0)
            o.json = true;
        else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0)
            o.quiet = true;
        else if (a[0] == '-' && a[1] != '\0')
            return fail(EXIT_USAGE, "unknown option %s (see bulkimport --help)", a);
        else if (command == NULL)
            command = a;
        else if (arg == NULL)
            arg = a;
        else
            return fail(EXIT_USAGE, "unexpected argument %s (see bulkimport --help)", a);
#undef VALUE
    }
    if (command == NULL)
        return print_usage(stderr, NULL, EXIT_USAGE);
    bool known = false, needs_arg = strcmp(command, "list") != 0 && strcmp(command, "whoami") != 0 &&
                                     !(strcmp(command, "submit") == 0 && o.file_url != NULL);
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++)
        known |= strcmp(command, usage[i][0]) == 0;
    if (!known)
        return fail(EXIT_USAGE, "unknown command %s (see bulkimport --help)", command);
    if (needs_arg && arg == NULL) {
        fprintf(stderr, "bulkimport: %s needs an argument\n", command);
        return print_usage(stderr, command, EXIT_USAGE);
    }
    if (o.result != NULL) {
        bool valid = false;
        for (int i = 0; result_names[i] != NULL; i++)
            valid |= strcmp(o.result, result_names[i]) == 0;
        if (!valid)
            return fail(EXIT_USAGE, "%s must be summary, report, json, lines, failed or unprocessed",
                        o.result_flag);
    }
    if (o.url == NULL || o.url[0] == '\0')
        o.url = "http://127.0.0.1:8000";
    if (o.token == NULL || o.token[0] == '\0')
        return fail(EXIT_AUTH, "no token: set BULKIMPORT_TOKEN or pass --token");
    size_t url_len = strlen(o.url);
    char url[2048];
    snprintf(url, sizeof url, "%.*s", (int)(url_len && o.url[url_len - 1] == '/' ? url_len - 1 : url_len),
             o.url);
    o.url = url;
    progress_init(&bar, o.quiet);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc;
    if (strcmp(command, "submit") == 0)
        rc = cmd_submit(&o, arg);
    else if (strcmp(command, "status") == 0)
        rc = cmd_status(&o, arg);
    else if (strcmp(command, "results") == 0)
        rc = cmd_results(&o, arg);
    else if (strcmp(command, "list") == 0)
        rc = cmd_list(&o, !o.json && is_root(&o));
    else if (strcmp(command, "cancel") == 0)
        rc = cmd_cancel(&o, arg);
    else if (strcmp(command, "resume") == 0)
        rc = cmd_resume(&o, arg);
    else if (strcmp(command, "whoami") == 0)
        rc = cmd_whoami(&o);
    else
        rc = follow(&o, arg, o.result ? o.result : "summary", stdout);
    curl_global_cleanup();
    /* A reader that closed standard output (| head) got what it wanted: no message. */
    if (rc == EXIT_PIPE || (fflush(stdout) == EOF && errno == EPIPE))
        return rc == EXIT_PIPE ? EXIT_OK : rc;
    return rc;
}
