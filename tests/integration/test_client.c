/* The bulkimport client binary and the server features it uses (long-poll, event stream,
 * the waiter cap), against a real bulkimportd and PostgreSQL. */
#include "harness.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROOT "Token " HARNESS_ROOT_TOKEN

static harness_server srv;

static void start(void) { harness_server_start_default(&srv); }
static void stop(void) { cr_expect_eq(harness_server_stop(&srv), 0); }

TestSuite(client, .init = start, .fini = stop, .timeout = 240);

static const char three[] = "{\"type\":\"Organization\",\"id\":\"C1\",\"name\":\"C\"}\n"
                            "{\"type\":\"Organization\",\"id\":\"C2\",\"name\":\"C\"}\n"
                            "{\"type\":\"Organization\",\"id\":\"C3\",\"name\":\"C\"}\n";

typedef struct run {
    int code;
    char out[65536], err[65536];
} run;

/* Runs the client with args (NULL-terminated) and env BULKIMPORT_URL/TOKEN for url and token
 * (either NULL: unset), stdin_text on standard input; fills r (a static buffer). */
static run *client(const char *url, const char *token, const char *stdin_text,
                   const char *const args[]) {
    static run r;
    memset(&r, 0, sizeof r);
    char in_path[300], out_path[300], err_path[300];
    snprintf(in_path, sizeof in_path, "%s.in", harness_temp_dir());
    snprintf(out_path, sizeof out_path, "%s.out", harness_temp_dir());
    snprintf(err_path, sizeof err_path, "%s.err", harness_temp_dir());
    FILE *in = fopen(in_path, "w");
    cr_assert_not_null(in);
    fputs(stdin_text ? stdin_text : "", in);
    fclose(in);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int fd_in = open(in_path, O_RDONLY), fd_out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600),
            fd_err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd_in, 0);
        dup2(fd_out, 1);
        dup2(fd_err, 2);
        url ? setenv("BULKIMPORT_URL", url, 1) : unsetenv("BULKIMPORT_URL");
        token ? setenv("BULKIMPORT_TOKEN", token, 1) : unsetenv("BULKIMPORT_TOKEN");
        char *argv[32] = {(char *)BI_CLIENT_PATH};
        for (int i = 0; args[i] != NULL && i < 30; i++)
            argv[i + 1] = (char *)args[i];
        execv(BI_CLIENT_PATH, argv);
        _exit(127);
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    harness_read_file(out_path, r.out, sizeof r.out);
    harness_read_file(err_path, r.err, sizeof r.err);
    return &r;
}

static const char *write_file(const char *text) {
    static char path[300];
    snprintf(path, sizeof path, "%s.jsonl", harness_temp_dir());
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

Test(client, submit_and_wait_prints_only_the_result_on_stdout) {
    const char *file = write_file(three);
    run *r = client(srv.url, HARNESS_ROOT_TOKEN, NULL,
                    (const char *[]){"submit", file, "--wait", NULL});
    cr_expect_eq(r->code, 0, "%s", r->err);
    cr_expect(strncmp(r->out, "Processed 3 of 3 -- 3 NEW (201:3) in ", 37) == 0, "%s", r->out);
    cr_expect(strchr(r->out, '\n') == r->out + strlen(r->out) - 1, "one line: %s", r->out);
    cr_expect(strstr(r->err, "queued") != NULL && strstr(r->err, "SUCCESS") != NULL, "%s", r->err);
    cr_expect(strstr(r->err, HARNESS_ROOT_TOKEN) == NULL && strstr(r->out, HARNESS_ROOT_TOKEN) == NULL,
              "the token is never printed");
}

/* A CSV (OCL's standard columns; its organization after the source that needs it) and a ZIP
 * of it import from their files, and from standard input with --input-format. */
Test(client, submit_reads_csv_and_zip_files) {
    static const char csv[] = "resource_type,id,owner_id,name\n"
                              "Source,S,CliOrg,Cli Source\n"
                              "Organization,CliOrg,,Cli Org\n";
    char path[300];
    snprintf(path, sizeof path, "%s.terms.csv", harness_temp_dir());
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(csv, f);
    fclose(f);
    run *r = client(srv.url, HARNESS_ROOT_TOKEN, NULL,
                    (const char *[]){"submit", path, "--wait", NULL});
    cr_expect_eq(r->code, 0, "%s", r->err);
    cr_expect(strncmp(r->out, "Processed 2 of 2 -- 2 NEW (201:2) in ", 37) == 0, "%s", r->out);

    static unsigned char zip[4096];
    const char *names[] = {"terms.csv"};
    const char *texts[] = {csv};
    size_t lens[] = {sizeof csv - 1};
    size_t n = harness_zip(names, texts, lens, 1, zip, sizeof zip);
    snprintf(path, sizeof path, "%s.terms.zip", harness_temp_dir());
    f = fopen(path, "wb");
    cr_assert_not_null(f);
    fwrite(zip, 1, n, f);
    fclose(f);
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"submit", path, "--wait", NULL});
    cr_expect_eq(r->code, 0, "%s", r->err);
    cr_expect(strncmp(r->out, "Processed 2 of 2 -- 2 UPDATE (200:2) in ", 40) == 0, "%s", r->out);

    r = client(srv.url, HARNESS_ROOT_TOKEN, csv,
               (const char *[]){"submit", "-", "--input-format", "csv", "--wait", NULL});
    cr_expect_eq(r->code, 0, "%s", r->err);
    cr_expect(strncmp(r->out, "Processed 2 of 2 -- 2 UPDATE (200:2) in ", 40) == 0, "%s", r->out);
}

Test(client, submit_from_stdin_with_a_failed_line_exits_1_and_json_result) {
    static const char lines[] = "{\"type\":\"Organization\",\"id\":\"D1\",\"name\":\"D\"}\n"
                                "{\"type\":\"Organization\"}\n";
    run *r = client(srv.url, HARNESS_ROOT_TOKEN, lines,
                    (const char *[]){"submit", "-", "--wait", "--quiet", "--result", "json", NULL});
    cr_expect_eq(r->code, 1, "failed lines: exit 1 (%s)", r->err);
    cr_expect_str_eq(r->err, "", "--quiet");
    cr_expect(r->out[0] == '{' && strstr(r->out, "\"missing_field\"") != NULL, "%s", r->out);
}

Test(client, submit_without_wait_prints_the_id_then_status_results_list_and_wait) {
    static const char body[] = "{\"type\":\"Organization\",\"id\":\"E1\",\"name\":\"E\"}\n";
    run *r = client(srv.url, HARNESS_ROOT_TOKEN, body, (const char *[]){"submit", "-", NULL});
    cr_assert_eq(r->code, 0, "%s", r->err);
    char task[256];
    snprintf(task, sizeof task, "%.*s", (int)strcspn(r->out, "\n"), r->out);
    cr_expect(strstr(task, "-root~") != NULL, "a task id: %s", r->out);
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"wait", task, "--quiet", NULL});
    cr_expect_eq(r->code, 0, "%s", r->err);
    cr_expect(strncmp(r->out, "Processed 1 of 1", 16) == 0, "%s", r->out);
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"status", task, NULL});
    cr_expect_eq(r->code, 0);
    cr_expect(strstr(r->out, "\"state\":\"SUCCESS\"") != NULL &&
                  strstr(r->out, "\"message\":\"Processed 1 of 1 -- 1 NEW") != NULL,
              "the task JSON: %s", r->out);
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL,
               (const char *[]){"results", task, "--format", "report", NULL});
    cr_expect_eq(r->code, 0);
    cr_expect(strncmp(r->out, "REPORT OF IMPORT RESULTS:", 25) == 0, "%s", r->out);
    char out_path[300];
    snprintf(out_path, sizeof out_path, "%s.failed", harness_temp_dir());
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL,
               (const char *[]){"results", task, "--format", "json", "-o", out_path, NULL});
    char text[4096];
    cr_expect_eq(r->code, 0);
    cr_expect_gt(harness_read_file(out_path, text, sizeof text), 0);
    cr_expect(strstr(text, "\"count\":1") != NULL, "%s", text);
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"list", NULL});
    cr_expect_eq(r->code, 0);
    cr_expect(strstr(r->out, task) != NULL && strstr(r->out, "\tSUCCESS\t") != NULL, "%s", r->out);
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"list", "--state", "FAILURE", NULL});
    cr_expect(strstr(r->out, task) == NULL, "filtered by state: %s", r->out);
}

/* Blocks root's named queue "held" with a task that never runs, so tasks behind it stay
 * PENDING until release_queue. */
static void hold_queue(void) {
    harness_sql(srv.conninfo, "INSERT INTO import_tasks (id, username, queue, named,"
                              " update_if_exists, test_mode, state, content_sha256)"
                              " VALUES ('held-root~held', 'root', 'held', true, true, false,"
                              " 'STARTED', '\\x00')");
}

static void release_queue(void) {
    harness_sql(srv.conninfo, "DELETE FROM import_tasks WHERE id = 'held-root~held';"
                              " NOTIFY bulkimport_tasks");
}

Test(client, waiting_shows_plain_progress_lines_off_a_tty_and_cancel_works) {
    hold_queue();
    run *r = client(srv.url, HARNESS_ROOT_TOKEN, three,
                    (const char *[]){"submit", "-", "--queue", "held", NULL});
    cr_assert_eq(r->code, 0, "%s", r->err);
    char task[256];
    snprintf(task, sizeof task, "%.*s", (int)strcspn(r->out, "\n"), r->out);
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"cancel", task, NULL});
    cr_expect_eq(r->code, 0, "%s", r->err);
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"wait", task, NULL});
    cr_expect_eq(r->code, 1, "a REVOKED task did not succeed: %s", r->err);
    cr_expect(strstr(r->err, "REVOKED") != NULL, "%s", r->err);

    /* A plain progress line comes after one long-poll (5 s) of a task that cannot start yet. */
    r = client(srv.url, HARNESS_ROOT_TOKEN, three, (const char *[]){"submit", "-", "--queue", "held", NULL});
    snprintf(task, sizeof task, "%.*s", (int)strcspn(r->out, "\n"), r->out);
    pid_t releaser = fork();
    if (releaser == 0) {
        sleep(7);
        release_queue();
        _exit(0);
    }
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"wait", task, NULL});
    waitpid(releaser, NULL, 0);
    cr_expect_eq(r->code, 0, "%s", r->err);
    cr_expect(strstr(r->err, "progress: PENDING 0/3 lines") != NULL, "plain lines: %s", r->err);
    cr_expect(strchr(r->err, '\r') == NULL, "no bar off a TTY: %s", r->err);
}

Test(client, exit_codes_for_usage_auth_and_network_errors) {
    run *r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"frobnicate", NULL});
    cr_expect_eq(r->code, 2, "%s", r->err);
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"submit", NULL});
    cr_expect_eq(r->code, 2, "%s", r->err);
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"submit", "--help", NULL});
    cr_expect_eq(r->code, 0);
    cr_expect(strstr(r->out, "bulkimport submit FILE|-") != NULL, "%s", r->out);
    r = client(srv.url, "wrong-token-0123456789", three, (const char *[]){"submit", "-", NULL});
    cr_expect_eq(r->code, 4, "%s", r->err);
    cr_expect(strstr(r->err, "BULKIMPORT_TOKEN") != NULL, "says what to do: %s", r->err);
    r = client(srv.url, NULL, three, (const char *[]){"submit", "-", NULL});
    cr_expect_eq(r->code, 4, "%s", r->err);
    r = client("http://127.0.0.1:1", HARNESS_ROOT_TOKEN, three, (const char *[]){"submit", "-", NULL});
    cr_expect_eq(r->code, 3, "%s", r->err);
    cr_expect(strstr(r->err, "cannot reach http://127.0.0.1:1") != NULL, "%s", r->err);
}

/* ---- the server side: long-poll, event stream, the waiter cap ---- */

static char *submit(const char *path, const char *body) {
    harness_response *r = harness_request(&srv, "POST", path, ROOT, body);
    cr_assert_eq(r->status, 202, "%s", r->body);
    char *task = strdup(harness_json_string(r, "task"));
    harness_response_free(r);
    return task;
}

Test(client, long_poll_answers_when_the_task_ends_or_the_time_is_up) {
    char *task = submit("/manage/bulkimport/", three);
    char path[512];
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&wait=30", task);
    harness_response *r = harness_request(&srv, "GET", path, ROOT, NULL);
    cr_expect_eq(r->status, 200, "the wait ended with the task: %s", r->body);
    char state[32];
    cr_expect_str_eq(harness_response_header(r, "X-Task-State", state, sizeof state), "SUCCESS");
    harness_response_free(r);
    free(task);

    hold_queue();
    task = submit("/manage/bulkimport/held/", three);
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&wait=1", task);
    r = harness_request(&srv, "GET", path, ROOT, NULL);
    cr_expect_eq(r->status, 202, "time up: the progress %s", r->body);
    cr_expect(strstr(r->body, "\"progress\"") != NULL, "%s", r->body);
    harness_response_free(r);
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&wait=61", task);
    r = harness_request(&srv, "GET", path, ROOT, NULL);
    cr_expect_eq(r->status, 400, "%s", r->body);
    harness_response_free(r);
    release_queue();
    free(task);
}

typedef struct poll_arg {
    const char *path;
    long status;
} poll_arg;

static void *long_poll(void *arg) {
    poll_arg *p = arg;
    harness_response *r = harness_request(&srv, "GET", p->path, ROOT, NULL);
    p->status = r->status;
    harness_response_free(r);
    return NULL;
}

Test(client, waiters_beyond_the_cap_get_503_with_retry_after) {
    harness_server capped;
    const char *args[] = {"--database-url", srv.conninfo, "--root-token", HARNESS_ROOT_TOKEN,
                          "--max-waiters", "1", NULL};
    harness_server_start(&capped, args);
    hold_queue();
    char *task = submit("/manage/bulkimport/held/", three);
    char path[512];
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&wait=4", task);
    poll_arg first = {path, 0};
    pthread_t t;
    harness_server saved = srv;
    srv = capped; /* long_poll talks to the capped node */
    pthread_create(&t, NULL, long_poll, &first);
    usleep(1000 * 1000);
    harness_response *r = harness_request(&capped, "GET", path, ROOT, NULL);
    cr_expect_eq(r->status, 503, "%s", r->body);
    char retry[16];
    cr_expect_str_eq(harness_response_header(r, "Retry-After", retry, sizeof retry), "2");
    harness_response_free(r);
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s", task);
    r = harness_request(&capped, "GET", path, ROOT, NULL);
    cr_expect_eq(r->status, 202, "a plain status is never capped: %s", r->body);
    harness_response_free(r);
    pthread_join(t, NULL);
    srv = saved;
    cr_expect_eq(first.status, 202);
    release_queue();
    free(task);
    cr_expect_eq(harness_server_stop(&capped), 0);
}

static size_t collect(char *data, size_t size, size_t n, void *ctx) {
    strncat(ctx, data, size * n < 8000 - strlen(ctx) ? size * n : 8000 - strlen(ctx) - 1);
    return size * n;
}

Test(client, event_stream_sends_progress_then_done_with_the_summary) {
    hold_queue();
    char *task = submit("/manage/bulkimport/held/", three);
    pid_t releaser = fork();
    if (releaser == 0) {
        sleep(2);
        release_queue();
        _exit(0);
    }
    char url[512], text[8192] = "";
    snprintf(url, sizeof url, "%s/manage/bulkimport/?task=%s", srv.url, task);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Accept: text/event-stream");
    h = curl_slist_append(h, "Authorization: " ROOT);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, text);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    cr_expect_eq(curl_easy_perform(c), CURLE_OK);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    waitpid(releaser, NULL, 0);
    cr_expect(strncmp(text, "event: progress\ndata: {", 23) == 0, "%s", text);
    const char *done = strstr(text, "event: done\ndata: ");
    cr_expect(done != NULL && strstr(done, "\"state\":\"SUCCESS\"") != NULL &&
                  strstr(done, "\"message\":\"Processed 3 of 3 -- 3 NEW (201:3)") != NULL,
              "%s", text);
    free(task);
}

Test(client, callback_url_file_url_and_idempotency_key) {
    const char *file = write_file(three);
    const char *args[] = {"submit", file, "--idempotency-key", "ci-run-42", "--callback-url",
                          "https://hooks.example.org/bulkimport", NULL};
    run *r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, args);
    cr_assert_eq(r->code, 0, "%s", r->err);
    char first[256];
    snprintf(first, sizeof first, "%.255s", r->out);
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, args);
    cr_assert_eq(r->code, 0, "%s", r->err);
    cr_expect_str_eq(r->out, first, "the same key gives the same task");
    cr_expect_eq(harness_sql(srv.conninfo, "SELECT count(*) FROM import_tasks WHERE callback_url"
                                           " = 'https://hooks.example.org/bulkimport'"),
                 1);

    /* The server downloads --file-url; a missing file fails the task, and the client says why. */
    char url[256];
    snprintf(url, sizeof url, "%s/no-such-file.jsonl", srv.url);
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL,
               (const char *[]){"submit", "--file-url", url, "--wait", NULL});
    cr_expect_eq(r->code, 1, "a failed task exits 1: %s", r->err);
    cr_expect(strstr(r->err, "FAILURE (file_url download failed: the server answered HTTP 404)") !=
                  NULL,
              "%s", r->err);
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"submit", NULL});
    cr_expect_eq(r->code, 2, "%s", r->err);
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL,
               (const char *[]){"submit", file, "--file-url", url, NULL});
    cr_expect_eq(r->code, 2, "FILE and --file-url at once: %s", r->err);
}
