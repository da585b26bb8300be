/* bulkimport — the command-line client of bulkimportd (README "The bulkimport client").
 *
 * Streams uploads (a file or standard input, never held whole), follows tasks with the
 * server's long-poll, draws progress on standard error and prints only results (or, without
 * --wait, only the task id) on standard output. Exit codes: 0 success, 1 the import finished
 * with failed lines (or FAILURE, REVOKED), 2 usage, 3 server or network, 4 authentication.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_OK = 0, EXIT_FAILED_LINES = 1, EXIT_USAGE = 2, EXIT_SERVER = 3, EXIT_AUTH = 4 };

#define WAIT_TTY_S 1   /* long-poll length while a progress bar is drawn */
#define WAIT_PLAIN_S 5 /* ... and while plain progress lines are printed */

typedef struct options {
    const char *url, *token;
    const char *queue, *result, *output, *user, *state;
    const char *callback_url, *file_url, *idempotency_key;
    const char *input_format, *owner, *owner_type, *export_version; /* how the file is read */
    long batch_size;
    bool no_update, test_mode, wait, quiet, tty;
} options;

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
    char state[16];
    long failed;
    char error[700]; /* X-Task-Error: why the task failed */
} response;

static size_t on_body(char *data, size_t size, size_t n, void *ctx) {
    response *r = ctx;
    size_t len = size * n;
    if (r->sink != NULL && r->status == 200)
        return fwrite(data, 1, len, r->sink);
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
    double started, last_shown;
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

static int on_upload_progress(void *ctx, curl_off_t dl_total, curl_off_t dl_now, curl_off_t ul_total,
                              curl_off_t ul_now) {
    (void)dl_total;
    (void)dl_now;
    upload *u = ctx;
    double now = now_s();
    if (u->o->quiet || now - u->last_shown < (u->o->tty ? 0.2 : 5.0) || ul_now == 0)
        return 0;
    u->last_shown = now;
    double mb = (double)ul_now / 1e6, rate = mb / (now - u->started);
    if (ul_total > 0)
        fprintf(stderr, "%supload %.1f of %.1f MB (%.0f%%), %.1f MB/s%s", u->o->tty ? "\r" : "",
                mb, (double)ul_total / 1e6, 100.0 * (double)ul_now / (double)ul_total, rate,
                u->o->tty ? "   " : "\n");
    else
        fprintf(stderr, "%supload %.1f MB, %.1f MB/s%s", u->o->tty ? "\r" : "", mb, rate,
                u->o->tty ? "   " : "\n");
    return 0;
}

/* Sends method path (with query) with the token; up (optional) streams the body. Fills *r.
 * Returns 0, or EXIT_SERVER when the server could not be reached (message printed). */
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
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_upload_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, up);
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
    if (up != NULL && o->tty && !o->quiet)
        fputc('\n', stderr);
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

static void draw_progress(const options *o, const cJSON *status) {
    const cJSON *p = cJSON_GetObjectItem(status, "progress");
    if (o->quiet || p == NULL)
        return;
#define N(name) (long)cJSON_GetNumberValue(cJSON_GetObjectItem(p, name))
    long total = N("total"), done = N("processed");
    const cJSON *eta = cJSON_GetObjectItem(p, "eta_seconds");
    char eta_text[32] = "?";
    if (cJSON_IsNumber(eta))
        snprintf(eta_text, sizeof eta_text, "%lds", (long)eta->valuedouble);
    int width = 30, filled = total > 0 ? (int)((double)width * (double)done / (double)total) : 0;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    const char *state = cJSON_GetStringValue(cJSON_GetObjectItem(status, "state"));
    if (o->tty)
        fprintf(stderr, "\r[%s] %ld/%ld %s, %.0f lines/s, ETA %s, created %ld updated %ld failed %ld   ",
                bar, done, total, state ? state : "", cJSON_GetNumberValue(cJSON_GetObjectItem(p, "lines_per_second")),
                eta_text, N("created"), N("updated"), N("failed"));
    else
        fprintf(stderr, "progress: %s %ld/%ld lines, %.0f lines/s, ETA %s, created %ld, updated %ld, failed %ld\n",
                state ? state : "", done, total,
                cJSON_GetNumberValue(cJSON_GetObjectItem(p, "lines_per_second")), eta_text,
                N("created"), N("updated"), N("failed"));
#undef N
}

/* Follows task until it ends (long-polls), then prints its result in format to out. */
static int follow(const options *o, const char *task, const char *format, FILE *out) {
    char *id = curl_easy_escape(NULL, task, 0);
    char path[2048];
    for (;;) {
        snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&wait=%d", id,
                 o->tty ? WAIT_TTY_S : WAIT_PLAIN_S);
        response r = {0};
        int err = request(o, "GET", path, NULL, NULL, &r);
        if (err == 0 && r.status == 202) {
            cJSON *status = cJSON_Parse(r.body ? r.body : "");
            draw_progress(o, status);
            cJSON_Delete(status);
            response_free(&r);
            continue;
        }
        if (err == 0 && r.status != 200)
            err = answer_error(&r, "status");
        response_free(&r);
        if (err != 0) {
            curl_free(id);
            return err;
        }
        break;
    }
    if (o->tty && !o->quiet)
        fputc('\n', stderr);
    /* The summary carries the outcome in headers; the chosen format then streams to out. */
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&result=summary", id);
    response sum = {0};
    int err = request(o, "GET", path, NULL, NULL, &sum);
    if (err == 0 && sum.status != 200)
        err = answer_error(&sum, "result");
    if (err == 0 && strcmp(format, "summary") == 0) {
        fprintf(out, "%s\n", sum.body ? sum.body : "");
    } else if (err == 0) {
        snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&result=%s", id, format);
        response r = {.sink = out};
        err = request(o, "GET", path, NULL, NULL, &r);
        if (err == 0 && r.status != 200)
            err = answer_error(&r, "result");
        response_free(&r);
    }
    curl_free(id);
    if (err == 0) {
        say(o, "task %s: %s%s%s%s, %ld failed line(s)\n", task, sum.state,
            sum.error[0] ? " (" : "", sum.error, sum.error[0] ? ")" : "", sum.failed);
        if (sum.failed > 0 || strcmp(sum.state, "SUCCESS") != 0)
            err = EXIT_FAILED_LINES;
    }
    response_free(&sum);
    return err;
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

static int cmd_submit(const options *o, const char *file) {
    if ((file == NULL) == (o->file_url == NULL))
        return fail(EXIT_USAGE, "submit needs FILE, -, or --file-url URL (one of them)");
    FILE *in = file == NULL ? NULL : strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
    if (file != NULL && in == NULL)
        return fail(EXIT_USAGE, "cannot open %s: %s", file, strerror(errno));
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
    int err = request(o, "POST", path, in ? &up : NULL, o->idempotency_key ? key : NULL, &r);
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
    response_free(&r);
    if (err != 0)
        return err;
    if (!o->wait) {
        printf("%s\n", task);
        return EXIT_OK;
    }
    say(o, "task %s queued\n", task);
    return follow(o, task, o->result ? o->result : "summary", stdout);
}

/* The path of task's status: /manage/bulkimport/?task=<encoded id>. */
static void task_path(const char *task, char *path, size_t cap) {
    char *id = curl_easy_escape(NULL, task, 0);
    snprintf(path, cap, "/manage/bulkimport/?task=%s", id);
    curl_free(id);
}

static int cmd_status(const options *o, const char *task) {
    char path[2048];
    task_path(task, path, sizeof path);
    response r = {0};
    /* The server's task JSON at every state, the same shape as its webhooks and events. */
    int err = request(o, "GET", path, NULL, "Accept: application/json", &r);
    if (err == 0 && (r.status == 202 || r.status == 200))
        printf("%s\n", r.body);
    else if (err == 0)
        err = answer_error(&r, "status");
    response_free(&r);
    return err;
}

static int cmd_results(const options *o, const char *task) {
    const char *format = o->result ? o->result : "summary";
    FILE *out = o->output ? fopen(o->output, "wb") : stdout;
    if (out == NULL)
        return fail(EXIT_USAGE, "cannot write %s: %s", o->output, strerror(errno));
    char *id = curl_easy_escape(NULL, task, 0);
    char path[2048];
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&result=%s", id, format);
    curl_free(id);
    response r = {.sink = out};
    int err = request(o, "GET", path, NULL, NULL, &r);
    if (err == 0 && r.status == 202)
        err = fail(EXIT_SERVER, "task %s has not finished yet: bulkimport wait %s", task, task);
    else if (err == 0 && r.status != 200)
        err = answer_error(&r, "results");
    else if (err == 0 && strcmp(format, "summary") == 0)
        fputc('\n', out);
    response_free(&r);
    if (out != stdout)
        fclose(out);
    return err;
}

static int cmd_list(const options *o) {
    char path[2048] = "/manage/bulkimport/";
    if (o->queue != NULL) {
        char *q = curl_easy_escape(NULL, o->queue, 0);
        snprintf(path, sizeof path, "/manage/bulkimport/%s/", q);
        curl_free(q);
    }
    add_param(path, sizeof path, "username", o->user);
    add_param(path, sizeof path, "state", o->state);
    response r = {0};
    int err = request(o, "GET", path, NULL, NULL, &r);
    if (err == 0 && r.status != 200)
        err = answer_error(&r, "list");
    if (err == 0) {
        cJSON *tasks = cJSON_Parse(r.body);
        const cJSON *t;
        cJSON_ArrayForEach(t, tasks) {
            printf("%s\t%s\t%s\t%ld/%ld\t%s\n", cJSON_GetStringValue(cJSON_GetObjectItem(t, "task")),
                   cJSON_GetStringValue(cJSON_GetObjectItem(t, "state")),
                   cJSON_GetStringValue(cJSON_GetObjectItem(t, "queue")),
                   (long)cJSON_GetNumberValue(cJSON_GetObjectItem(t, "processed")),
                   (long)cJSON_GetNumberValue(cJSON_GetObjectItem(t, "total")),
                   cJSON_IsString(cJSON_GetObjectItem(t, "created_at"))
                       ? cJSON_GetStringValue(cJSON_GetObjectItem(t, "created_at"))
                       : "");
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

/* ---- usage ---- */

static const char *const usage[][2] = {
    {"submit", "bulkimport submit FILE|-|--file-url URL [--queue Q] [--no-update] [--test-mode]\n"
               "       [--wait] [--result summary|report|json|failed] [--batch-size N]\n"
               "       [--callback-url URL] [--idempotency-key KEY]\n"
               "       [--input-format jsonl|csv|zip|export] [--owner O --owner-type T]\n"
               "       [--export-version V]\n"
               "  Streams FILE (- is standard input) to the server and prints the task id; with\n"
               "  --wait, follows the task and prints the chosen result instead. FILE may be\n"
               "  OCL's JSON lines, standard CSV (.csv), a source-version export, a ZIP (.zip)\n"
               "  of one of them, or any of these gzipped (.gz).\n"
               "  --input-format F       read FILE as F, whatever its name or first bytes say\n"
               "  --owner, --owner-type, --export-version  an export's new owner and version\n"
               "  --file-url URL         the server downloads the file from URL instead\n"
               "  --callback-url URL     the server POSTs the task's signed status there at its end\n"
               "  --idempotency-key KEY  a repeat with the same KEY (24 h) gives the same task\n"},
    {"status", "bulkimport status TASK\n  Prints the task's status as JSON.\n"},
    {"results", "bulkimport results TASK [--format summary|report|json|failed] [-o FILE]\n"
                "  Prints (or writes to FILE) a finished task's result.\n"},
    {"list", "bulkimport list [--queue Q] [--user U] [--state S]\n"
             "  Lists your tasks (root: everyone's), newest first: id, state, queue,\n"
             "  processed/total, created.\n"},
    {"cancel", "bulkimport cancel TASK\n  Cancels a pending or running task.\n"},
    {"wait", "bulkimport wait TASK [--result summary|report|json|failed]\n"
             "  Follows the task to its end and prints the chosen result.\n"},
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
                     "  --help         this text\n"
                     "Exit codes: 0 success, 1 the import finished with failed lines (or did not\n"
                     "succeed), 2 usage error, 3 server or network error, 4 authentication error.\n");
    return code;
}

int main(int argc, char **argv) {
    options o = {.url = getenv("BULKIMPORT_URL"), .token = getenv("BULKIMPORT_TOKEN"),
                 .tty = isatty(STDERR_FILENO)};
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
        else if (strcmp(a, "--url") == 0)
            VALUE(url);
        else if (strcmp(a, "--token") == 0)
            VALUE(token);
        else if (strcmp(a, "--queue") == 0)
            VALUE(queue);
        else if (strcmp(a, "--result") == 0 || strcmp(a, "--format") == 0)
            VALUE(result);
        else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0)
            VALUE(output);
        else if (strcmp(a, "--user") == 0)
            VALUE(user);
        else if (strcmp(a, "--state") == 0)
            VALUE(state);
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
        else if (strcmp(a, "--batch-size") == 0) {
            if (value == NULL || (o.batch_size = strtol(value, NULL, 10)) < 1)
                return fail(EXIT_USAGE, "--batch-size needs a positive number");
            i++;
        } else if (strcmp(a, "--no-update") == 0)
            o.no_update = true;
        else if (strcmp(a, "--test-mode") == 0)
            o.test_mode = true;
        else if (strcmp(a, "--wait") == 0)
            o.wait = true;
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
    bool known = false, needs_arg = strcmp(command, "list") != 0 &&
                                     !(strcmp(command, "submit") == 0 && o.file_url != NULL);
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++)
        known |= strcmp(command, usage[i][0]) == 0;
    if (!known)
        return fail(EXIT_USAGE, "unknown command %s (see bulkimport --help)", command);
    if (needs_arg && arg == NULL) {
        fprintf(stderr, "bulkimport: %s needs an argument\n", command);
        return print_usage(stderr, command, EXIT_USAGE);
    }
    if (o.result != NULL && strcmp(o.result, "summary") != 0 && strcmp(o.result, "report") != 0 &&
        strcmp(o.result, "json") != 0 && strcmp(o.result, "failed") != 0)
        return fail(EXIT_USAGE, "--result must be summary, report, json or failed");
    if (o.url == NULL || o.url[0] == '\0')
        o.url = "http://127.0.0.1:8000";
    if (o.token == NULL || o.token[0] == '\0')
        return fail(EXIT_AUTH, "no token: set BULKIMPORT_TOKEN or pass --token");
    size_t url_len = strlen(o.url);
    char url[2048];
    snprintf(url, sizeof url, "%.*s", (int)(url_len && o.url[url_len - 1] == '/' ? url_len - 1 : url_len),
             o.url);
    o.url = url;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc;
    if (strcmp(command, "submit") == 0)
        rc = cmd_submit(&o, arg);
    else if (strcmp(command, "status") == 0)
        rc = cmd_status(&o, arg);
    else if (strcmp(command, "results") == 0)
        rc = cmd_results(&o, arg);
    else if (strcmp(command, "list") == 0)
        rc = cmd_list(&o);
    else if (strcmp(command, "cancel") == 0)
        rc = cmd_cancel(&o, arg);
    else
        rc = follow(&o, arg, o.result ? o.result : "summary", stdout);
    curl_global_cleanup();
    return rc;
}
