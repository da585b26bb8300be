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
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"status", task, "--json", NULL});
    cr_expect_eq(r->code, 0);
    cr_expect(strstr(r->out, "\"state\":\"SUCCESS\"") != NULL &&
                  strstr(r->out, "\"message\":\"Processed 1 of 1 -- 1 NEW") != NULL,
              "the task JSON: %s", r->out);
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"status", task, NULL});
    cr_expect_eq(r->code, 0);
    char want[600];
    snprintf(want, sizeof want, "%s  SUCCESS  queue priority  1/1 lines  failed 0  took ", task);
    cr_expect(strncmp(r->out, want, strlen(want)) == 0 &&
                  strstr(r->out, "\nProcessed 1 of 1 -- 1 NEW") != NULL,
              "for people: %s", r->out);
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
    static const char header[] = "TASK\tSTATE\tQUEUE\tUSER\tLINES\tFAILED\tCREATED\tREASON\n";
    cr_expect(strncmp(r->out, header, sizeof header - 1) == 0,
              "a header, the user column for root: %s", r->out);
    snprintf(want, sizeof want, "%s\tSUCCESS\tpriority\troot\t1/1\t0\t", task);
    cr_expect(strstr(r->out, want) != NULL, "%s", r->out);
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"list", "--state", "FAILURE,REVOKED", NULL});
    cr_expect(strstr(r->out, task) == NULL, "filtered by state: %s", r->out);
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL,
               (const char *[]){"list", "--state", "SUCCESS,REVOKED", "--since", "1h", "--limit", "1", "--json", NULL});
    cr_expect_eq(r->code, 0, "%s", r->err);
    cJSON *list = cJSON_Parse(r->out);
    cr_expect_eq(cJSON_GetArraySize(list), 1, "--limit 1 --json: %s", r->out);
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "task")), task);
    cJSON_Delete(list);
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"list", "--since", "2999-01-01", NULL});
    cr_expect_str_eq(r->out, "TASK\tSTATE\tQUEUE\tUSER\tLINES\tFAILED\tCREATED\tREASON\n", "none since");
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"list", "--since", "yesterday", NULL});
    cr_expect_eq(r->code, 2, "%s", r->err);
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
    cr_expect(strstr(r->err, "progress: PENDING 0/3 lines, 1 task(s) ahead in its queue") != NULL,
              "plain lines: %s", r->err);
    cr_expect(strstr(r->err, "progress: SUCCESS 3/3 lines") != NULL, "the last one: %s", r->err);
    cr_expect(strchr(r->err, '\r') == NULL, "no bar off a TTY: %s", r->err);
}

/* Ctrl+C while waiting stops the wait, not the task, and says how to follow it; resume puts a
 * cancelled task back in its queue. */
Test(client, ctrl_c_leaves_the_task_running_and_resume_requeues_a_cancelled_one) {
    hold_queue();
    run *r = client(srv.url, HARNESS_ROOT_TOKEN, three, (const char *[]){"submit", "-", "--queue", "held", NULL});
    cr_assert_eq(r->code, 0, "%s", r->err);
    char task[256], cmd[1024], err_path[300], err[4096] = "";
    snprintf(task, sizeof task, "%.*s", (int)strcspn(r->out, "\n"), r->out);
    snprintf(err_path, sizeof err_path, "%s.int-err", harness_temp_dir());
    /* timeout(1) sends SIGINT after 2 s, as Ctrl+C would. */
    snprintf(cmd, sizeof cmd, "BULKIMPORT_URL=%s BULKIMPORT_TOKEN=%s timeout --preserve-status -s INT 2 %s wait %s 2>%s",
             srv.url, HARNESS_ROOT_TOKEN, BI_CLIENT_PATH, task, err_path);
    int status = system(cmd);
    harness_read_file(err_path, err, sizeof err);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 130, "exit %d: %s", WEXITSTATUS(status), err);
    char want[600];
    snprintf(want, sizeof want, "task %s keeps running on the server.\n  follow it: bulkimport wait %s\n",
             task, task);
    cr_expect(strstr(err, want) != NULL, "%s", err);
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"status", task, "--json", NULL});
    cr_expect(strstr(r->out, "\"state\":\"PENDING\"") != NULL, "the task goes on: %s", r->out);

    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"resume", task, NULL});
    cr_expect_eq(r->code, 5, "a PENDING task cannot be resumed: %s", r->err);
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"cancel", task, NULL});
    cr_expect_eq(r->code, 0, "%s", r->err);
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"results", task, "--result", "unprocessed", NULL});
    cr_expect_str_eq(r->out, three, "the lines it never reached");
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"resume", task, NULL});
    cr_expect_eq(r->code, 0, "%s", r->err);
    cr_expect(strstr(r->err, "resumed") != NULL, "%s", r->err);
    release_queue();
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"wait", task, NULL});
    cr_expect_eq(r->code, 0, "%s", r->err);
    cr_expect(strncmp(r->out, "Processed 3 of 3", 16) == 0, "%s", r->out);
}

/* Runs the client in a pseudo-terminal of cols columns (script(1)); returns what the terminal
 * received (static), with the exit code in *code. */
static const char *in_terminal(int cols, const char *args, int *code) {
    static char screen[262144];
    char cmd[2048], out_path[300];
    snprintf(out_path, sizeof out_path, "%s.tty", harness_temp_dir());
    snprintf(cmd, sizeof cmd,
             "script -qec 'stty cols %d rows 40; BULKIMPORT_URL=%s BULKIMPORT_TOKEN=%s %s %s' "
             "/dev/null >%s 2>&1",
             cols, srv.url, HARNESS_ROOT_TOKEN, BI_CLIENT_PATH, args, out_path);
    int status = system(cmd);
    *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    harness_read_file(out_path, screen, sizeof screen);
    return screen;
}

/* The widest frame on screen: a piece between a carriage return and the erase-to-end-of-line
 * code that ends each frame. */
static int widest_frame(const char *screen) {
    int widest = 0;
    for (const char *p = strchr(screen, '\r'); p != NULL; p = strchr(p + 1, '\r')) {
        const char *end = strstr(p + 1, "\033[K");
        const char *next = strpbrk(p + 1, "\r\n");
        if (end != NULL && (next == NULL || end < next))
            widest = (int)(end - p - 1) > widest ? (int)(end - p - 1) : widest;
    }
    return widest;
}

/* On a terminal: frames that fit its width (80 and 200 columns), redrawn in place, the upload
 * as a bar, and the final 100 % frame before the outcome. */
Test(client, the_progress_bar_fits_the_terminal_and_ends_at_100_percent) {
    size_t cap = 3000 * 80, at = 0;
    char *lines = malloc(cap);
    for (int i = 0; i < 3000; i++)
        at += (size_t)snprintf(lines + at, cap - at,
                               "{\"type\":\"Organization\",\"id\":\"Tty%d\",\"name\":\"T\"}\n", i);
    char path[300];
    snprintf(path, sizeof path, "%s.tty.jsonl", harness_temp_dir());
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fwrite(lines, 1, at, f);
    fclose(f);
    free(lines);
    const int widths[] = {80, 200};
    for (int w = 0; w < 2; w++) {
        char args[600];
        snprintf(args, sizeof args, "submit %s --wait --no-update --batch-size 100", path);
        int code;
        const char *screen = in_terminal(widths[w], args, &code);
        cr_expect_eq(code, 0, "%d columns: exit %d: %s", widths[w], code, screen);
        cr_expect_gt(widest_frame(screen), 40, "frames seen: %s", screen);
        cr_expect_leq(widest_frame(screen), widths[w] - 1, "%d columns: %s", widths[w], screen);
        cr_expect(strstr(screen, "\033[K") != NULL, "redrawn in place: %s", screen);
        cr_expect(strstr(screen, "upload [") != NULL && strstr(screen, "100%") != NULL, "%s", screen);
        const char *last = strstr(screen, "SUCCESS [");
        cr_expect(last != NULL && strstr(last, "100%  3,000/3,000") != NULL, "the final frame: %s", screen);
        if (w == 1) /* room for every count; the second run updates nothing (no-update) */
            cr_expect(strstr(screen, "failed 0  created 0  updated 0  deleted 0") != NULL, "%s", screen);
        for (const char *eta = strstr(screen, "ETA "); eta != NULL; eta = strstr(eta + 1, "ETA "))
            cr_expect(strncmp(eta + 4, "--", 2) == 0 || (eta[4] >= '0' && eta[4] <= '9'), "%.20s", eta);
        cr_expect(strstr(screen, "Processed 3000 of 3000") != NULL, "the result: %s", screen);
    }
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

    /* Refused requests (not found, bad input) are 5, not the network's 3. */
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"status", "no-such-task", NULL});
    cr_expect_eq(r->code, 5, "%s", r->err);
    cr_expect(strstr(r->err, "refused (404)") != NULL, "%s", r->err);
    r = client(srv.url, HARNESS_ROOT_TOKEN, three, (const char *[]){"submit", "-", "--batch-size", "999999", NULL});
    cr_expect_eq(r->code, 5, "a 400: %s", r->err);
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"results", "x", "--format", "xml", NULL});
    cr_expect_eq(r->code, 2);
    cr_expect(strstr(r->err, "--format must be") != NULL, "names the flag given: %s", r->err);
    /* A directory or a file that cannot be read is refused before anything is sent. */
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"submit", "/tmp", NULL});
    cr_expect_eq(r->code, 2, "%s", r->err);
    cr_expect(strstr(r->err, "/tmp is a directory") != NULL, "%s", r->err);
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"submit", "/no/such/file.jsonl", NULL});
    cr_expect_eq(r->code, 2, "%s", r->err);
    cr_expect(strstr(r->err, "cannot read /no/such/file.jsonl: No such file") != NULL, "%s", r->err);
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"--version", NULL});
    cr_expect_eq(r->code, 0);
    cr_expect(strncmp(r->out, "bulkimport 0.", 13) == 0, "%s", r->out);
}

Test(client, whoami_names_the_tokens_user) {
    run *r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"whoami", NULL});
    cr_expect_eq(r->code, 0, "%s", r->err);
    char want[128];
    snprintf(want, sizeof want, "root (root) on %s\n", srv.url);
    cr_expect_str_eq(r->out, want);
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"whoami", "--json", NULL});
    cr_expect_str_eq(r->out, "{\"username\":\"root\",\"is_root\":true}\n");
}

/* A reader that closes the pipe early (| head) stops the client quietly. */
Test(client, a_closed_pipe_is_not_a_network_error) {
    size_t cap = 2000 * 80, at = 0;
    char *lines = malloc(cap);
    for (int i = 0; i < 2000; i++)
        at += (size_t)snprintf(lines + at, cap - at,
                               "{\"type\":\"Organization\",\"id\":\"Pipe%d\",\"name\":\"P\"}\n", i);
    run *r = client(srv.url, HARNESS_ROOT_TOKEN, lines, (const char *[]){"submit", "-", "--quiet", NULL});
    free(lines);
    cr_assert_eq(r->code, 0, "%s", r->err);
    char task[256], cmd[1024], err_path[300], err[4096] = "";
    snprintf(task, sizeof task, "%.*s", (int)strcspn(r->out, "\n"), r->out);
    r = client(srv.url, HARNESS_ROOT_TOKEN, NULL, (const char *[]){"wait", task, "--quiet", NULL});
    cr_assert_eq(r->code, 0, "%s", r->err);
    snprintf(err_path, sizeof err_path, "%s.pipe-err", harness_temp_dir());
    snprintf(cmd, sizeof cmd,
             "BULKIMPORT_URL=%s BULKIMPORT_TOKEN=%s %s results %s --result report 2>%s | head -c 100 "
             ">/dev/null; exit ${PIPESTATUS[0]}",
             srv.url, HARNESS_ROOT_TOKEN, BI_CLIENT_PATH, task, err_path);
    char script[1200];
    snprintf(script, sizeof script, "bash -c '%s'", cmd);
    int status = system(script);
    harness_read_file(err_path, err, sizeof err);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit %d: %s", WEXITSTATUS(status), err);
    cr_expect_str_eq(err, "", "no message");
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
