#include "harness.h"

#include "pgembed.h"
#include "utf8.h"

#include <archive.h>
#include <archive_entry.h>
#include <civetweb.h>
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* Set in the runner by PRE_ALL and inherited by every test process through the environment
 * (Criterion runs each test in a fresh process image). */
#define ENV_DIR "BI_TEST_DIR"
#define ENV_PG "BI_TEST_PG_CONNINFO"
#define ENV_PG_ERROR "BI_TEST_PG_ERROR"

static pgembed *cluster; /* runner process only */

/* The bulkimportd under test: this build's, or BI_TEST_SERVER (e.g. a ThreadSanitizer build,
 * since Criterion itself cannot run under TSan). */
static const char *server_path(void) {
    const char *path = getenv("BI_TEST_SERVER");
    return path != NULL && path[0] != '\0' ? path : BI_SERVER_PATH;
}

ReportHook(PRE_ALL)(struct criterion_test_set *set) {
    (void)set;
    char dir[] = "/tmp/bi-test-XXXXXX";
    if (mkdtemp(dir) == NULL || chmod(dir, 0711) != 0) {
        setenv(ENV_PG_ERROR, "cannot create a temp dir under /tmp", 1);
        return;
    }
    setenv(ENV_DIR, dir, 1);
    char db_dir[64];
    snprintf(db_dir, sizeof db_dir, "%s/db", dir);
    mkdir(db_dir, 0700);
    if (pgembed_start(db_dir, 200, &cluster) < 0) {
        setenv(ENV_PG_ERROR,
               "the private PostgreSQL cluster did not start: is the postgresql package "
               "installed? (scripts/install-deps --test); see the log above",
               1);
        return;
    }
    setenv(ENV_PG, pgembed_conninfo(cluster), 1);
    setenv("BI_TEST_PG_BINDIR", pgembed_bindir(cluster), 1); /* for harness_pg_tool in the tests */
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats) {
    (void)stats;
    pgembed_stop(cluster);
    const char *dir = getenv(ENV_DIR);
    if (dir != NULL && strncmp(dir, "/tmp/bi-test-", 13) == 0) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "harness: could not remove %s\n", dir);
    }
}

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

const char *harness_temp_dir(void) {
    static int counter;
    static char path[256];
    const char *base = getenv(ENV_DIR);
    cr_assert_not_null(base, "harness: no temp dir: %s", getenv(ENV_PG_ERROR));
    snprintf(path, sizeof path, "%s/t%d-%d", base, (int)getpid(), ++counter);
    return path;
}

void harness_database_create(char *out, size_t out_len) {
    const char *conninfo = getenv(ENV_PG);
    cr_assert_not_null(conninfo, "harness: %s", getenv(ENV_PG_ERROR));
    static int counter;
    char name[64];
    snprintf(name, sizeof name, "t_%d_%d", (int)getpid(), ++counter);
    PGconn *pg = PQconnectdb(conninfo);
    cr_assert_eq(PQstatus(pg), CONNECTION_OK, "harness: %s", PQerrorMessage(pg));
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name); /* our own name: no user data */
    PGresult *res = PQexec(pg, sql);
    cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "harness: %s", PQerrorMessage(pg));
    PQclear(res);
    PQfinish(pg);
    snprintf(out, out_len, "%s dbname=%s", conninfo, name);
}

/* Runs bindir/program with argv (argv[0] is replaced by its path) as the postgres user when
 * running as root, as PostgreSQL's tools require; fails the test unless it exits 0. */
static void run_pg_tool(const char *bindir, const char *program, char *argv[]) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", bindir, program);
    argv[0] = path;
    struct passwd *pw = geteuid() == 0 ? getpwnam("postgres") : NULL;
    cr_assert(geteuid() != 0 || pw != NULL, "harness: no postgres user");
    pid_t pid = fork();
    if (pid == 0) {
        if (pw != NULL && (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 ||
                           setuid(pw->pw_uid) != 0))
            _exit(126);
        execv(path, argv);
        _exit(127);
    }
    int status = 0;
    cr_assert(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
                  WEXITSTATUS(status) == 0,
              "harness: %s failed (status %d)", program, status);
}

void harness_pg_tool(const char *program, char *argv[]) {
    const char *bindir = getenv("BI_TEST_PG_BINDIR");
    cr_assert_not_null(bindir, "harness: no PostgreSQL cluster: %s", getenv(ENV_PG_ERROR));
    run_pg_tool(bindir, program, argv);
}

/* Makes dir (mode 0700) owned by the postgres user when running as root. */
static void make_pg_dir(const char *dir) {
    cr_assert_eq(mkdir(dir, 0700), 0, "harness: mkdir %s: %s", dir, strerror(errno));
    struct passwd *pw = geteuid() == 0 ? getpwnam("postgres") : NULL;
    if (pw != NULL)
        cr_assert_eq(chown(dir, pw->pw_uid, pw->pw_gid), 0, "harness: chown %s", dir);
}

void harness_pg_pair_start(harness_pg_pair *p) {
    memset(p, 0, sizeof *p);
    char primary_dir[256], replica_dir[256], replica_pg[300];
    snprintf(primary_dir, sizeof primary_dir, "%s", harness_temp_dir());
    snprintf(replica_dir, sizeof replica_dir, "%s", harness_temp_dir());
    make_pg_dir(primary_dir);
    cr_assert_eq(pgembed_start(primary_dir, 100, &p->primary), 0, "harness: the primary did not start");
    const char *admin = pgembed_conninfo(p->primary);
    PGconn *pg = PQconnectdb(admin);
    cr_assert_eq(PQstatus(pg), CONNECTION_OK, "harness: %s", PQerrorMessage(pg));
    PGresult *res = PQexec(pg, "CREATE DATABASE bi");
    cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "harness: %s", PQerrorMessage(pg));
    PQclear(res);
    PQfinish(pg);
    make_pg_dir(replica_dir);
    snprintf(replica_pg, sizeof replica_pg, "%s/pg", replica_dir);
    char primary_pg[300];
    snprintf(primary_pg, sizeof primary_pg, "%s/pg", primary_dir);
    char *backup[] = {NULL, "-D", replica_pg, "-R", "-X", "stream", "-c", "fast", "-h", primary_pg,
                      "-p", "5432", "-U", "bulkimport", NULL};
    run_pg_tool(pgembed_bindir(p->primary), "pg_basebackup", backup);
    char lock[320]; /* the primary's socket lives in its data dir: its lock file came along */
    snprintf(lock, sizeof lock, "%s/.s.PGSQL.5432.lock", replica_pg);
    unlink(lock);
    cr_assert_eq(pgembed_start(replica_dir, 100, &p->replica), 0, "harness: the replica did not start");
    snprintf(p->primary_conninfo, sizeof p->primary_conninfo, "%s dbname=bi", admin);
    snprintf(p->replica_conninfo, sizeof p->replica_conninfo, "%s dbname=bi",
             pgembed_conninfo(p->replica));
    snprintf(p->conninfo, sizeof p->conninfo,
             "host=%s,%s port=5432,5432 user=bulkimport dbname=bi target_session_attrs=read-write",
             primary_pg, replica_pg);
    long streaming = 0;
    for (int i = 0; i < 200 && streaming == 0; i++, sleep_ms(50))
        streaming = harness_sql(p->replica_conninfo, "SELECT count(*) FROM pg_stat_wal_receiver"
                                                     " WHERE status = 'streaming'");
    cr_assert_eq(streaming, 1, "harness: the replica does not stream");
}

void harness_pg_pair_cut_replication(harness_pg_pair *p) {
    harness_sql(p->replica_conninfo, "ALTER SYSTEM SET primary_conninfo = ''");
    harness_sql(p->replica_conninfo, "SELECT pg_reload_conf()::int");
    long streaming = 1;
    for (int i = 0; i < 1000 && streaming != 0; i++, sleep_ms(20))
        streaming = harness_sql(p->replica_conninfo, "SELECT count(*) FROM pg_stat_wal_receiver");
    cr_assert_eq(streaming, 0, "harness: the replica still streams");
}

void harness_pg_pair_fail_over(harness_pg_pair *p, bool immediate) {
    pgembed_halt(p->primary, immediate);
    cr_assert_eq(harness_sql(p->replica_conninfo, "SELECT pg_promote(true, 60)::int"), 1,
                 "harness: the replica was not promoted");
}

void harness_pg_pair_stop(harness_pg_pair *p) {
    pgembed_stop(p->replica);
    pgembed_stop(p->primary);
    p->replica = p->primary = NULL;
}

long harness_sql(const char *conninfo, const char *sql) {
    PGconn *pg = PQconnectdb(conninfo);
    cr_assert_eq(PQstatus(pg), CONNECTION_OK, "harness: %s", PQerrorMessage(pg));
    PGresult *res = PQexec(pg, sql);
    ExecStatusType status = PQresultStatus(res);
    cr_assert(status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK, "harness: %s: %s", sql,
              PQerrorMessage(pg));
    long value = PQntuples(res) > 0 ? atol(PQgetvalue(res, 0, 0)) : 0;
    PQclear(res);
    PQfinish(pg);
    return value;
}

/* Forks bulkimportd with argv, output to log_path, killed if this process dies. */
static pid_t spawn_server(char *const argv[], const char *log_path) {
    pid_t parent = getpid();
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(126);
        execv(server_path(), argv);
        _exit(127);
    }
    return pid;
}

static void dump_log(const char *path) {
    char text[16384];
    if (harness_read_file(path, text, sizeof text) >= 0)
        fprintf(stderr, "---- %s ----\n%s---- end ----\n", path, text);
}

/* Builds argv: the binary, args, and the defaults args lacks. */
static void build_argv(char *argv[32], const char *const args[], const char *data_dir) {
    int n = 0;
    bool has_listen = false, has_dir = false;
    argv[n++] = (char *)server_path();
    for (int i = 0; args != NULL && args[i] != NULL && n < 27; i++) {
        has_listen |= strncmp(args[i], "--listen", 8) == 0;
        has_dir |= strncmp(args[i], "--data-dir", 10) == 0;
        argv[n++] = (char *)args[i];
    }
    if (!has_listen) {
        argv[n++] = "--listen";
        argv[n++] = "127.0.0.1:0";
    }
    if (!has_dir) {
        argv[n++] = "--data-dir";
        argv[n++] = (char *)data_dir;
    }
    argv[n] = NULL;
}

void harness_server_start(harness_server *s, const char *const args[]) {
    memset(s, 0, sizeof *s);
    snprintf(s->data_dir, sizeof s->data_dir, "%s", harness_temp_dir());
    for (int i = 0; args != NULL && args[i] != NULL; i++)
        if (strcmp(args[i], "--data-dir") == 0 && args[i + 1] != NULL)
            snprintf(s->data_dir, sizeof s->data_dir, "%s", args[i + 1]);
    snprintf(s->log_path, sizeof s->log_path, "%s.%ld.log", s->data_dir, now_ms());
    char *argv[32];
    build_argv(argv, args, s->data_dir);
    s->pid = spawn_server(argv, s->log_path);

    long deadline = now_ms() + 60000;
    char text[16384];
    while (s->port == 0) {
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            dump_log(s->log_path);
            cr_assert_fail("bulkimportd exited during start-up (status %d)", status);
        }
        cr_assert_lt(now_ms(), deadline, "bulkimportd did not start listening in 60 s");
        const char *at;
        if (harness_read_file(s->log_path, text, sizeof text) > 0 &&
            (at = strstr(text, "listening on http://127.0.0.1:")) != NULL)
            s->port = atoi(at + strlen("listening on http://127.0.0.1:"));
        else
            sleep_ms(20);
    }
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
    for (;;) {
        harness_response *r = harness_request(s, "GET", "/readyz", NULL, NULL);
        long status = r->status;
        harness_response_free(r);
        if (status == 200)
            return;
        cr_assert_lt(now_ms(), deadline, "bulkimportd not ready in 60 s (last %ld)", status);
        sleep_ms(50);
    }
}

void harness_server_start_with(harness_server *s, int workers, const char *const extra[]) {
    char conninfo[512], threads[16];
    harness_database_create(conninfo, sizeof conninfo);
    snprintf(threads, sizeof threads, "%d", workers);
    const char *args[24] = {"--database-url", conninfo, "--root-token", HARNESS_ROOT_TOKEN,
                            "--workers", threads};
    int n = 6;
    for (int i = 0; extra[i] != NULL && n < 22; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    harness_server_start(s, args);
    snprintf(s->conninfo, sizeof s->conninfo, "%s", conninfo);
}

void harness_server_start_default(harness_server *s) {
    harness_server_start_with(s, 2, (const char *const[]){NULL});
}

static int wait_exit(pid_t pid, int timeout_s) {
    long deadline = now_ms() + timeout_s * 1000L;
    int status;
    while (waitpid(pid, &status, WNOHANG) != pid) {
        if (now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        sleep_ms(10);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int harness_server_stop(harness_server *s) {
    if (s->pid <= 0)
        return 0;
    kill(s->pid, SIGTERM);
    int code = wait_exit(s->pid, 60);
    s->pid = 0;
    if (code != 0)
        dump_log(s->log_path);
    return code;
}

int harness_run_to_exit(const char *const args[], int timeout_s, char *out, size_t out_len) {
    char log_path[300];
    snprintf(log_path, sizeof log_path, "%s.log", harness_temp_dir());
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)server_path();
    for (int i = 0; args[i] != NULL && n < 31; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    pid_t pid = spawn_server(argv, log_path);
    int code = wait_exit(pid, timeout_s);
    if (harness_read_file(log_path, out, out_len) < 0)
        out[0] = '\0';
    return code;
}

struct buffer {
    char *data;
    size_t len;
};

static size_t collect(char *ptr, size_t size, size_t nmemb, void *userdata) {
    struct buffer *b = userdata;
    size_t n = size * nmemb;
    b->data = realloc(b->data, b->len + n + 1);
    cr_assert_not_null(b->data);
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

harness_response *harness_request(const harness_server *s, const char *method, const char *path,
                                  const char *auth, const char *body) {
    return harness_request_bytes(s, method, path, auth, body, body ? strlen(body) : 0);
}

harness_response *harness_request_bytes(const harness_server *s, const char *method,
                                        const char *path, const char *auth, const char *body,
                                        size_t body_len) {
    return harness_request_typed(s, method, path, auth, "application/json", body, body_len);
}

#define CONFORMANCE_BODY_MAX (1024 * 1024) /* larger bodies are recorded without their text */

/* Appends the exchange to $BI_CONFORMANCE_LOG/<pid>.jsonl, when that directory is set, for the
 * conformance check (scripts/check-conformance): method, path with query, the request's content
 * type, the response's status, headers (the last response's; names in lower case) and body
 * (null when large, compressed or not UTF-8 text). */
static void harness_record(const char *method, const char *path, const char *content_type,
                           bool sent_body, const harness_response *r) {
    const char *dir = getenv("BI_CONFORMANCE_LOG");
    if (dir == NULL || dir[0] == '\0')
        return;
    cJSON *x = cJSON_CreateObject(), *headers = cJSON_AddObjectToObject(x, "headers");
    cJSON_AddStringToObject(x, "method", method);
    cJSON_AddStringToObject(x, "path", path);
    if (sent_body)
        cJSON_AddStringToObject(x, "request_type", content_type);
    cJSON_AddNumberToObject(x, "status", (double)r->status);
    const char *block = r->headers, *last = r->headers;
    for (const char *p = block; (p = strstr(p, "HTTP/")) != NULL; p++)
        if (p == block || p[-1] == '\n')
            last = p;
    bool encoded = false;
    for (const char *line = strchr(last, '\n'); line != NULL && line[1] != '\0'; line = strchr(line + 1, '\n')) {
        const char *start = line + 1, *colon = strchr(start, ':'), *end = strpbrk(start, "\r\n");
        if (colon == NULL || end == NULL || colon > end)
            continue;
        char name[128], value[2048];
        snprintf(name, sizeof name, "%.*s", (int)(colon - start), start);
        for (char *c = name; *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
        const char *v = colon + 1 + strspn(colon + 1, " ");
        snprintf(value, sizeof value, "%.*s", (int)(end - v), v);
        encoded |= strcmp(name, "content-encoding") == 0;
        if (cJSON_GetObjectItemCaseSensitive(headers, name) == NULL)
            cJSON_AddStringToObject(headers, name, value);
    }
    bool text = !encoded && r->body_len <= CONFORMANCE_BODY_MAX && strlen(r->body) == r->body_len &&
                utf8_invalid_at(r->body, r->body_len) == r->body_len;
    if (text)
        cJSON_AddStringToObject(x, "body", r->body);
    else
        cJSON_AddNullToObject(x, "body");
    char file[512];
    snprintf(file, sizeof file, "%s/%d.jsonl", dir, (int)getpid());
    char *line = cJSON_PrintUnformatted(x);
    int fd = open(file, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0 && line != NULL) {
        size_t len = strlen(line);
        line[len] = '\n'; /* one write: lines of parallel tests never interleave */
        ssize_t n = write(fd, line, len + 1);
        (void)n;
    }
    if (fd >= 0)
        close(fd);
    free(line);
    cJSON_Delete(x);
}

/* Sends one request: a body from memory (body, body_len), from file (streamed), or none. */
static harness_response *harness_send(const harness_server *s, const char *method,
                                      const char *path, const char *auth,
                                      const char *content_type, const char *body,
                                      size_t body_len, FILE *file, long timeout_s,
                                      bool may_fail, const char *extra_header) {
    static bool curl_ready;
    if (!curl_ready) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        curl_ready = true;
    }
    char url[8192]; /* long enough for the tests' over-long queries: never cut silently */
    if (snprintf(url, sizeof url, "%s%s", s->url, path) >= (int)sizeof url)
        cr_assert_fail("a test's URL is longer than %zu bytes", sizeof url);
    struct buffer resp_body = {calloc(1, 1), 0}, resp_headers = {calloc(1, 1), 0};
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    char auth_line[512], type_line[256];
    if (auth != NULL) {
        snprintf(auth_line, sizeof auth_line, "Authorization: %s", auth);
        headers = curl_slist_append(headers, auth_line);
    }
    if (body != NULL || file != NULL) {
        snprintf(type_line, sizeof type_line, "Content-Type: %s", content_type);
        headers = curl_slist_append(headers, type_line);
    }
    for (const char *h = extra_header; h != NULL && *h != '\0';) { /* lines split by CRLF */
        size_t n = strcspn(h, "\r\n");
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)n, h);
        headers = curl_slist_append(headers, line);
        h += n + strspn(h + n, "\r\n");
    }
    if (file != NULL) {
        fseek(file, 0, SEEK_END);
        curl_off_t size = ftell(file);
        rewind(file);
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_READDATA, file); /* the default read function is fread */
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, size);
    } else if (body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp_body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &resp_headers);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_s);
    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK && may_fail) {
        curl_slist_free_all(headers);
        curl_easy_cleanup(curl);
        free(resp_body.data);
        free(resp_headers.data);
        return NULL;
    }
    cr_assert_eq(rc, CURLE_OK, "%s %s: %s", method, url, curl_easy_strerror(rc));
    harness_response *r = calloc(1, sizeof *r);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    r->body = resp_body.data;
    r->body_len = resp_body.len;
    r->headers = resp_headers.data;
    r->json = cJSON_ParseWithLength(r->body, r->body_len);
    harness_record(method, path, content_type, body != NULL || file != NULL, r);
    return r;
}

harness_response *harness_request_typed(const harness_server *s, const char *method,
                                        const char *path, const char *auth,
                                        const char *content_type, const char *body,
                                        size_t body_len) {
    return harness_send(s, method, path, auth, content_type, body, body_len, NULL, 60, false,
                        NULL);
}

harness_response *harness_request_with_header(const harness_server *s, const char *method,
                                              const char *path, const char *auth,
                                              const char *header, const char *content_type,
                                              const char *body, size_t body_len) {
    return harness_send(s, method, path, auth, content_type, body, body_len, NULL, 60, false,
                        header);
}

void harness_submit(const harness_server *s, const char *path, const char *auth,
                    const char *content_type, const char *body, size_t len, char *out,
                    size_t out_len) {
    harness_response *r = harness_request_typed(s, "POST", path, auth,
                                                content_type ? content_type : "application/json",
                                                body, len);
    cr_assert_eq(r->status, 202, "POST %s: %ld %s", path, r->status, r->body);
    snprintf(out, out_len, "%s", harness_json_string(r, "task"));
    harness_response_free(r);
}

harness_response *harness_wait_result(const harness_server *s, const char *task,
                                      const char *auth, const char *format, const char *extra) {
    char path[1024];
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&result=%s%s", task, format,
             extra ? extra : "");
    for (int i = 0; i < 1200; i++) {
        harness_response *r = harness_request(s, "GET", path, auth, NULL);
        if (r->status != 202)
            return r;
        harness_response_free(r);
        sleep_ms(50);
    }
    cr_assert_fail("task %s did not finish", task);
    return NULL;
}

harness_response *harness_try_request_bytes(const harness_server *s, const char *method,
                                            const char *path, const char *auth, const char *body,
                                            size_t body_len) {
    return harness_send(s, method, path, auth, "application/json", body, body_len, NULL, 60,
                        true, NULL);
}

harness_response *harness_upload_file(const harness_server *s, const char *path,
                                      const char *auth, const char *file) {
    FILE *in = fopen(file, "rb");
    cr_assert_not_null(in, "cannot open %s", file);
    harness_response *r =
        harness_send(s, "POST", path, auth, "application/x-ndjson", NULL, 0, in, 600, false, NULL);
    fclose(in);
    return r;
}

size_t harness_gzip(const char *text, size_t len, unsigned char *out, size_t cap) {
    z_stream z = {0};
    cr_assert_eq(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (unsigned char *)text;
    z.avail_in = (unsigned)len;
    z.next_out = out;
    z.avail_out = (unsigned)cap;
    cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END, "harness: the gzip needs more than %zu bytes", cap);
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    return n;
}

size_t harness_zip(const char *const names[], const char *const texts[], const size_t lens[],
                   size_t n, unsigned char *out, size_t cap) {
    struct archive *a = archive_write_new();
    cr_assert_eq(archive_write_set_format_zip(a), ARCHIVE_OK);
    size_t used = 0;
    cr_assert_eq(archive_write_open_memory(a, out, cap, &used), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, names[i]);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)lens[i]);
        cr_assert_eq(archive_write_header(a, e), ARCHIVE_OK, "%s", archive_error_string(a));
        cr_assert_eq(archive_write_data(a, texts[i], lens[i]), (la_ssize_t)lens[i]);
        archive_entry_free(e);
    }
    cr_assert_eq(archive_write_close(a), ARCHIVE_OK, "harness: the zip needs more than %zu bytes", cap);
    archive_write_free(a);
    return used;
}

char *harness_fixture(const char *path) {
    static char buf[512 * 1024];
    long len = harness_read_file(path, buf, sizeof buf);
    cr_assert_gt(len, 0, "cannot read %s", path);
    return buf;
}

void harness_create_user(const harness_server *s, const char *name, char *out, size_t out_len) {
    char body[128];
    snprintf(body, sizeof body, "{\"username\":\"%s\"}", name);
    harness_response *r = harness_request(s, "POST", "/users/", "Token " HARNESS_ROOT_TOKEN, body);
    cr_assert_eq(r->status, 201, "%s", r->body);
    snprintf(out, out_len, "Token %s", harness_json_string(r, "token"));
    harness_response_free(r);
}

void harness_response_free(harness_response *r) {
    if (r == NULL)
        return;
    cJSON_Delete(r->json);
    free(r->body);
    free(r->headers);
    free(r);
}

const char *harness_response_header(const harness_response *r, const char *name, char *out,
                                    size_t out_len) {
    size_t name_len = strlen(name);
    for (const char *line = r->headers; line != NULL && *line != '\0';) {
        const char *end = strstr(line, "\r\n");
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > name_len && strncasecmp(line, name, name_len) == 0 && line[name_len] == ':') {
            const char *v = line + name_len + 1;
            while (*v == ' ')
                v++;
            snprintf(out, out_len, "%.*s", (int)(line + len - v), v);
            return out;
        }
        line = end ? end + 2 : NULL;
    }
    return NULL;
}

const char *harness_json_string(const harness_response *r, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->json, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

long harness_read_file(const char *path, char *out, size_t out_len) {
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(out, 1, out_len - 1, f);
    fclose(f);
    out[n] = '\0';
    return (long)n;
}

struct mg_context *harness_peer_start(int (*handle)(struct mg_connection *conn, void *data),
                                      void *data, int threads, int *out_port) {
    char n_threads[16];
    snprintf(n_threads, sizeof n_threads, "%d", threads);
    const char *options[] = {"listening_ports", "127.0.0.1:0", "num_threads", n_threads, NULL};
    mg_init_library(0);
    struct mg_context *ctx = mg_start(NULL, data, options);
    cr_assert_not_null(ctx, "the test's CivetWeb server did not start");
    mg_set_request_handler(ctx, "/", handle, data);
    struct mg_server_port port = {0};
    cr_assert_eq(mg_get_server_ports(ctx, 1, &port), 1);
    *out_port = port.port;
    return ctx;
}

void harness_peer_stop(struct mg_context *ctx) {
    mg_stop(ctx);
    mg_exit_library();
}
