/* bi_bench — bulkimportd against raw COPY, in one run on one machine and one database.
 *
 * Starts a private PostgreSQL (pgembed) and a Release bulkimportd on it, generates N concept
 * lines, measures COPY of the same rows into a scratch copy of the concepts table (the
 * reference), then through the server: the upload, a first import (all creates), a re-import
 * with every line changed (all updates), the same file again (all unchanged) and a file that
 * deletes half — sampling the server's RSS and the latency of status polls every 100 ms — and
 * last a feed's full sync with prune: a file of a quarter of the concepts, fetched over HTTP from
 * this process (CivetWeb), imported (all unchanged), and the other live quarter pruned. Also:
 * COPY of the raw lines into an unindexed text column (the upload's reference), the start
 * latency of one-line tasks on the idle server, and WAL bytes per line of each phase. Prints a
 * table and appends it to bench/RESULTS.md. Usage: bi_bench SERVER_BINARY [--lines N]
 * [--phases create,update,unchanged,delete,feed] (create always; the others build on it)
 * [--format jsonl|gz|csv|export] (gz: every file posted gzipped; csv, export: the creates and
 * updates posted in that format, the reference COPYs still of the JSON lines; no delete, feed).
 */
#include "pgembed.h"

#include <civetweb.h>
#include <curl/curl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define TOKEN "bench-root-token-0123456789"
#define MAX_POLLS 200000
#define N_PHASES 5

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what) {
    fprintf(stderr, "bi_bench: %s\n", what);
    exit(1);
}

/* Writes concept lines to path: variant 0 creates (an organization, a source and n - 2
 * concepts), 1 changes n concepts (the last two are new), 2 deletes every other one of them, 3
 * is the first half of the ones 2 left, as 1 wrote them. Returns the file's size. */
static long write_file(const char *path, long n, int variant) {
    FILE *out = fopen(path, "w");
    if (out == NULL)
        die("cannot write the generated file");
    if (variant == 0)
        fprintf(out, "{\"type\":\"Organization\",\"id\":\"Bench\",\"name\":\"Bench\"}\n"
                     "{\"type\":\"Source\",\"id\":\"S\",\"name\":\"S\",\"owner\":\"Bench\","
                     "\"owner_type\":\"Organization\"}\n");
    for (long i = 0; i < n - (variant == 0 ? 2 : 0); i++) {
        if ((variant == 2 && i % 2 == 1) || (variant == 3 && (i % 2 == 0 || i >= n / 2)))
            continue;
        fprintf(out,
                "{\"type\":\"Concept\",\"id\":\"concept-%08ld\",\"concept_class\":\"Diagnosis\","
                "\"datatype\":\"N/A\",\"names\":[{\"name\":\"Concept %ld %s\",\"locale\":\"en\","
                "\"name_type\":\"Fully Specified\",\"locale_preferred\":true}],\"descriptions\":"
                "[{\"description\":\"Generated concept %ld for the benchmark, deterministic and "
                "about four hundred bytes long\",\"locale\":\"en\"}],\"owner\":\"Bench\","
                "\"owner_type\":\"Organization\",\"source\":\"S\",\"extras\":{\"rank\":%ld}%s}\n",
                i, i, variant == 1 || variant == 3 ? "(revised)" : "", i, i % 97,
                variant == 2 ? ",\"__action\":\"DELETE\"" : "");
    }
    long size = ftell(out);
    fclose(out);
    return size;
}

/* Writes the concepts of variant 0 (with their organization and source) or 1 as OCL's
 * standard CSV (csv) or as one OCL source-version export (export, its organization and source
 * the export's own): the same resources as write_file's, in another format. Returns the size. */
static long write_converted(const char *path, long n, int variant, bool csv) {
    FILE *out = fopen(path, "w");
    if (out == NULL)
        die("cannot write the generated file");
    if (csv) {
        fprintf(out, "resource_type,id,owner_id,source,name,name_type,concept_class,datatype,"
                     "description,attr:rank:int\n");
        if (variant == 0)
            fprintf(out, "Organization,Bench,,,Bench,,,,,\nSource,S,Bench,,S,,,,,\n");
    } else {
        fprintf(out, "{\"type\": \"Source Version\", \"version\": \"HEAD\", \"short_code\": \"S\","
                     " \"name\": \"S\", \"owner\": \"Bench\", \"owner_type\": \"Organization\","
                     " \"owner_url\": \"/orgs/Bench/\", \"mappings\": [], \"concepts\": [");
    }
    for (long i = 0; i < n - (variant == 0 ? 2 : 0); i++) {
        const char *revised = variant == 1 ? "(revised)" : "";
        if (csv)
            fprintf(out, "Concept,concept-%08ld,Bench,S,Concept %ld %s,Fully Specified,Diagnosis,"
                         "N/A,\"Generated concept %ld for the benchmark, deterministic and about "
                         "four hundred bytes long\",%ld\n", i, i, revised, i, i % 97);
        else
            fprintf(out, "%s{\"type\":\"Concept\",\"id\":\"concept-%08ld\",\"concept_class\":"
                         "\"Diagnosis\",\"datatype\":\"N/A\",\"names\":[{\"name\":\"Concept %ld %s\","
                         "\"locale\":\"en\",\"name_type\":\"Fully Specified\",\"locale_preferred\":true}],"
                         "\"source\":\"S\",\"extras\":{\"rank\":%ld}}", i ? "," : "", i, i, revised,
                    i % 97);
    }
    if (!csv)
        fprintf(out, "]}");
    long size = ftell(out);
    fclose(out);
    return size;
}

/* COPYs path's lines, on one connection, into a scratch table (dropped after): with
 * as_concepts, each concept line as a row of a table shaped like concepts, with the same unique
 * keys (the import's reference); else every line as it is, into an unindexed text column (the
 * upload's reference). Returns the seconds the COPY took; *out_rows the rows it wrote. */
static double copy_timed(const char *conninfo, const char *path, bool as_concepts,
                         long *out_rows) {
    PGconn *pg = PQconnectdb(conninfo);
    if (PQstatus(pg) != CONNECTION_OK)
        die(PQerrorMessage(pg));
    PQclear(PQexec(pg, as_concepts ? "DROP TABLE IF EXISTS bench_copy; CREATE TABLE bench_copy"
                                     " (LIKE concepts INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
                                     " INCLUDING INDEXES)"
                                   : "DROP TABLE IF EXISTS bench_copy; CREATE TABLE bench_copy"
                                     " (line text)"));
    FILE *in = fopen(path, "r");
    char *line = NULL, *buf = malloc(1 << 20);
    size_t cap = 0, len = 0;
    ssize_t n;
    long rows = 0;
    double start = now_s();
    PGresult *res = PQexec(pg, as_concepts ? "COPY bench_copy (id, repo_id, mnemonic, url, data,"
                                             " seq, created_by, updated_by) FROM STDIN"
                                           : "COPY bench_copy (line) FROM STDIN");
    if (PQresultStatus(res) != PGRES_COPY_IN)
        die(PQerrorMessage(pg));
    PQclear(res);
    while ((n = getline(&line, &cap, in)) > 0) {
        if (as_concepts && strstr(line, "\"Concept\"") == NULL)
            continue;
        if (len + (size_t)n * 2 + 200 > (1 << 20)) {
            PQputCopyData(pg, buf, (int)len);
            len = 0;
        }
        if (as_concepts)
            len += (size_t)sprintf(buf + len, "%ld\t1\tc%ld\t/orgs/Bench/sources/S/concepts/c%ld/\t",
                                   rows, rows, rows);
        for (ssize_t i = 0; i < n - 1; i++) {
            if (line[i] == '\\')
                buf[len++] = '\\';
            buf[len++] = line[i];
        }
        if (as_concepts)
            len += (size_t)sprintf(buf + len, "\t%ld\tbench\tbench", rows);
        buf[len++] = '\n';
        rows++;
    }
    PQputCopyData(pg, buf, (int)len);
    PQputCopyEnd(pg, NULL);
    while ((res = PQgetResult(pg)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            die(PQerrorMessage(pg));
        PQclear(res);
    }
    double elapsed = now_s() - start;
    PQclear(PQexec(pg, "DROP TABLE bench_copy"));
    PQfinish(pg);
    free(buf);
    free(line);
    fclose(in);
    *out_rows = rows;
    return elapsed;
}

/* The database's WAL position now, in bytes. */
static double wal_bytes(PGconn *pg) {
    PGresult *res = PQexec(pg, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')");
    double bytes = PQresultStatus(res) == PGRES_TUPLES_OK ? atof(PQgetvalue(res, 0, 0)) : 0;
    PQclear(res);
    return bytes;
}

static size_t collect(char *ptr, size_t size, size_t nmemb, void *userdata) {
    char *out = userdata;
    size_t have = strlen(out), n = size * nmemb;
    if (have + n < 4095) {
        memcpy(out + have, ptr, n);
        out[have + n] = '\0';
    }
    return n;
}

/* Sends a request: a POST of file or of json when one is not NULL, else a GET. Returns the
 * status; the body's first 4 KiB in out. */
static long request_with(const char *url, const char *file, const char *json, char out[4096]) {
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Authorization: Token " TOKEN);
    if (json != NULL) {
        h = curl_slist_append(h, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    }
    FILE *in = NULL;
    out[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (file != NULL) {
        struct stat st;
        in = fopen(file, "rb");
        stat(file, &st);
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READDATA, in);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)st.st_size);
    }
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (in != NULL)
        fclose(in);
    return status;
}

static long request(const char *url, const char *file, char out[4096]) {
    return request_with(url, file, NULL, out);
}

static long rss_kb(pid_t pid) {
    char path[64], text[8192];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *at = strstr(text, "VmRSS:");
    return at ? atol(at + 6) : 0;
}

typedef struct phase {
    const char *name;
    long lines;
    double upload_s, total_s, upload_mb_s, summary_ms, wal_bytes;
    char summary[256];
} phase;

static double polls[MAX_POLLS];
static int n_polls;
static long peak_rss;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The task of a 202 answer (status, body) into id (256 bytes); dies on anything else. */
static void queued_task(long status, const char *body, char *id) {
    const char *task = strstr(body, "\"task\":\"");
    if (status != 202 || task == NULL) {
        fprintf(stderr, "the server answered %ld: %s\n", status, body);
        die("no task was queued");
    }
    snprintf(id, 256, "%.*s", (int)strcspn(task + 8, "\""), task + 8);
}

static void poll_task(const char *base, pid_t server, const char *id, double start, phase *p);

/* POSTs file, then polls the task every 100 ms until it ends, timing each poll. */
static void run_phase(const char *base, pid_t server, const char *file, long bytes, phase *p) {
    char url[512], body[4096], id[256];
    snprintf(url, sizeof url, "%s/manage/bulkimport/", base);
    double start = now_s();
    long status = request(url, file, body);
    p->upload_s = now_s() - start;
    p->upload_mb_s = (double)bytes / 1e6 / p->upload_s;
    queued_task(status, body, id);
    poll_task(base, server, id, start, p);
}

/* A feed's run of file_url (full, with prune), timed from the run request (which answers once
 * the file is fetched into the task) to the task's end. */
static void run_feed_phase(const char *base, pid_t server, const char *file_url, long bytes,
                           phase *p) {
    char url[512], json[1024], body[4096], id[256];
    snprintf(url, sizeof url, "%s/manage/feeds/", base);
    snprintf(json, sizeof json,
             "{\"name\":\"bench\",\"url\":\"%s\",\"schedule\":\"1d\",\"prune\":true}", file_url);
    if (request_with(url, NULL, json, body) != 201) {
        fprintf(stderr, "%s\n", body);
        die("the feed was not created");
    }
    snprintf(url, sizeof url, "%s/manage/feeds/bench/run/", base);
    double start = now_s();
    long status = request_with(url, NULL, "", body);
    p->upload_s = now_s() - start;
    p->upload_mb_s = (double)bytes / 1e6 / p->upload_s;
    queued_task(status, body, id);
    poll_task(base, server, id, start, p);
}

/* On an idle server: 50 one-line imports, each timed from its 202 to the first status poll
 * (every 2 ms) that no longer says PENDING. Returns the p99 in ms, *out_p50 the median. */
static double start_latency(const char *base, const char *dir, double *out_p50) {
    double ms[50];
    char path[160], url[512], body[4096], id[256];
    snprintf(path, sizeof path, "%s/one.json", dir);
    for (int i = 0; i < 50; i++) {
        FILE *f = fopen(path, "w");
        if (f == NULL)
            die("cannot write the one-line file");
        fprintf(f, "{\"type\":\"Organization\",\"id\":\"Start%d\",\"name\":\"S\"}\n", i);
        fclose(f);
        snprintf(url, sizeof url, "%s/manage/bulkimport/", base);
        long status = request(url, path, body);
        double t0 = now_s();
        queued_task(status, body, id);
        snprintf(url, sizeof url, "%s/manage/bulkimport/?task=%s&result=json", base, id);
        for (;;) {
            status = request(url, NULL, body);
            if (status == 200 || strstr(body, "PENDING") == NULL)
                break;
            struct timespec pause = {0, 2 * 1000000L};
            nanosleep(&pause, NULL);
        }
        ms[i] = (now_s() - t0) * 1000;
        struct timespec settle = {0, 50 * 1000000L}; /* the server idle again */
        nanosleep(&settle, NULL);
    }
    qsort(ms, 50, sizeof ms[0], cmp_double);
    *out_p50 = ms[25];
    return ms[49];
}

/* Polls task id every 100 ms until it ends, timing each poll; the phase took from start. */
static void poll_task(const char *base, pid_t server, const char *id, double start, phase *p) {
    char url[512], body[4096];
    long status;
    snprintf(url, sizeof url, "%s/manage/bulkimport/?task=%s", base, id);
    for (;;) {
        struct timespec pause = {0, 100 * 1000000L};
        nanosleep(&pause, NULL);
        double t0 = now_s();
        status = request(url, NULL, body);
        double ms = (now_s() - t0) * 1000;
        if (status == 202 && n_polls < MAX_POLLS) /* a status poll while the import runs */
            polls[n_polls++] = ms;
        else if (status == 200) /* the final answer carries the summary of every line */
            p->summary_ms = ms;
        long rss = rss_kb(server);
        peak_rss = rss > peak_rss ? rss : peak_rss;
        if (status == 200)
            break;
        if (status != 202)
            die("a status poll failed");
    }
    p->total_s = now_s() - start;
    snprintf(p->summary, sizeof p->summary, "%.200s", body);
}

/* Whether phase name (create, update, unchanged, delete, feed) is in the comma-separated list
 * (NULL: all). */
static bool phase_wanted(const char *list, const char *name) {
    if (list == NULL)
        return true;
    size_t len = strlen(name);
    for (const char *p = list; *p != '\0'; p += strcspn(p, ","), p += *p == ',')
        if (strncmp(p, name, len) == 0 && (p[len] == ',' || p[len] == '\0'))
            return true;
    return false;
}

/* Writes the gzip of the file at from to to (zlib's default level, as gzip(1)). */
static void gzip_file(const char *from, const char *to) {
    FILE *in = fopen(from, "rb");
    gzFile out = gzopen(to, "wb6");
    if (in == NULL || out == NULL)
        die("cannot gzip the bench's file");
    static char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (gzwrite(out, buf, (unsigned)n) != (int)n)
            die("cannot gzip the bench's file");
    fclose(in);
    if (gzclose(out) != Z_OK)
        die("cannot gzip the bench's file");
}

int main(int argc, char **argv) {
    if (argc < 2)
        die("usage: bi_bench SERVER_BINARY [--lines N] [--phases create,update,unchanged,delete,feed]"
            " [--format jsonl|gz|csv|export]");
    long lines = 1000000;
    const char *wanted = NULL;
    bool gz = false; /* --format gz: every file is posted (and served to the feed) gzipped */
    const char *converted = NULL; /* --format csv or export: the creates and updates posted so */
    for (int i = 2; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--lines") == 0)
            lines = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--phases") == 0)
            wanted = argv[i + 1];
        else if (strcmp(argv[i], "--format") == 0 && strcmp(argv[i + 1], "gz") == 0)
            gz = true;
        else if (strcmp(argv[i], "--format") == 0 &&
                 (strcmp(argv[i + 1], "csv") == 0 || strcmp(argv[i + 1], "export") == 0))
            converted = argv[i + 1];
        else if (strcmp(argv[i], "--format") == 0 && strcmp(argv[i + 1], "jsonl") != 0)
            die("--format is jsonl, gz, csv or export");
    }
    if (lines < 10)
        die("--lines must be at least 10");
    static const char *const phase_names[N_PHASES] = {"create", "update", "unchanged", "delete",
                                                      "feed"};
    bool run[N_PHASES];
    for (int i = 0; i < N_PHASES; i++) /* CSV and exports carry no directives: no delete, feed */
        run[i] = phase_wanted(wanted, phase_names[i]) && (converted == NULL || i < 3);
    /* Each phase builds on the ones before it: a later one needs the creates. */
    if (!run[0])
        die("--phases must include create");
    char dir[] = "/tmp/bi-bench-XXXXXX";
    if (mkdtemp(dir) == NULL || chmod(dir, 0711) != 0)
        die("cannot create a temp dir");
    char db_dir[64], data_dir[64], files[4][96];
    snprintf(db_dir, sizeof db_dir, "%s/db", dir);
    snprintf(data_dir, sizeof data_dir, "%s/server", dir);
    mkdir(db_dir, 0700);
    pgembed *pg;
    if (pgembed_start(db_dir, 100, &pg) < 0)
        die("PostgreSQL did not start");
    const char *conninfo = pgembed_conninfo(pg);
    long bytes[4], posted_bytes[4];
    const bool file_needed[4] = {true, run[1] || run[2], run[3], run[4]};
    char posted[4][100]; /* what is sent: the file or its gzip (the references COPY the file) */
    for (int v = 0; v < 4; v++) {
        snprintf(files[v], sizeof files[v], "%s/phase%d.json", dir, v);
        bytes[v] = file_needed[v] ? write_file(files[v], lines, v) : 0;
        snprintf(posted[v], sizeof posted[v], "%.95s%s", files[v], gz ? ".gz" : "");
        if (gz && file_needed[v])
            gzip_file(files[v], posted[v]);
        if (converted != NULL && file_needed[v] && v < 2) {
            snprintf(posted[v], sizeof posted[v], "%.90s.%s", files[v], converted);
            posted_bytes[v] = write_converted(posted[v], lines, v, strcmp(converted, "csv") == 0);
        } else {
            posted_bytes[v] = bytes[v]; /* a gzip's MB/s are those of the file itself */
        }
    }
    fprintf(stderr, "bi_bench: %ld lines, %ld bytes\n", lines, bytes[0]);

    pid_t server = fork();
    if (server == 0) {
        freopen("/dev/null", "w", stdout);
        /* The upload limit raised for the run: 5,000,000 lines are about 2 GB. */
        execl(argv[1], argv[1], "--database-url", conninfo, "--data-dir", data_dir, "--listen",
              "127.0.0.1:18765", "--root-token", TOKEN, "--log-level", "warn",
              "--max-upload-bytes", "68719476736", (char *)NULL);
        _exit(127);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char body[4096];
    for (int i = 0; i < 600 && request("http://127.0.0.1:18765/readyz", NULL, body) != 200; i++)
        usleep(100 * 1000);
    long idle_rss = rss_kb(server);
    peak_rss = idle_rss;

    long copy_rows, raw_rows;
    double copy_s = copy_timed(conninfo, files[0], true, &copy_rows);
    double copy_rows_s = (double)copy_rows / copy_s, copy_mb_s = (double)bytes[0] / 1e6 / copy_s;
    double raw_mb_s = (double)bytes[0] / 1e6 / copy_timed(conninfo, files[0], false, &raw_rows);
    double start_p50, start_p99 = start_latency("http://127.0.0.1:18765", dir, &start_p50);
    PGconn *wal = PQconnectdb(conninfo);
    if (PQstatus(wal) != CONNECTION_OK)
        die(PQerrorMessage(wal));
    phase phases[N_PHASES] = {
        {.name = "first import (creates)", .lines = lines},
        {.name = "re-import (all updated)", .lines = lines},
        {.name = "same file (unchanged)", .lines = lines},
        {.name = "delete half", .lines = (lines + 1) / 2},
        /* a quarter imported unchanged and a quarter pruned: both count as lines here */
        {.name = "feed: fetch, a quarter unchanged, a quarter pruned", .lines = lines / 2}};
    const int file_of[N_PHASES] = {0, 1, 1, 2, 3};
    for (int i = 0; i < N_PHASES - 1; i++) {
        if (!run[i])
            continue;
        double wal_before = wal_bytes(wal);
        run_phase("http://127.0.0.1:18765", server, posted[file_of[i]], posted_bytes[file_of[i]],
                  &phases[i]);
        phases[i].wal_bytes = wal_bytes(wal) - wal_before;
        fprintf(stderr, "bi_bench: %s: %s\n", phases[i].name, phases[i].summary);
    }
    if (run[N_PHASES - 1]) {
        const char *serve[] = {"document_root", dir, "listening_ports", "127.0.0.1:0", NULL};
        struct mg_context *files_http = mg_start(NULL, NULL, serve);
        struct mg_server_port port = {0};
        if (files_http == NULL || mg_get_server_ports(files_http, 1, &port) != 1)
            die("cannot serve the feed's file");
        char file_url[256];
        snprintf(file_url, sizeof file_url, "http://127.0.0.1:%d/phase3.json%s", port.port,
                 gz ? ".gz" : "");
        double wal_before = wal_bytes(wal);
        run_feed_phase("http://127.0.0.1:18765", server, file_url, bytes[3], &phases[N_PHASES - 1]);
        phases[N_PHASES - 1].wal_bytes = wal_bytes(wal) - wal_before;
        fprintf(stderr, "bi_bench: %s: %s\n", phases[N_PHASES - 1].name,
                phases[N_PHASES - 1].summary);
        mg_stop(files_http);
    }
    PQfinish(wal);
    qsort(polls, (size_t)n_polls, sizeof polls[0], cmp_double);
    double p50 = n_polls ? polls[n_polls / 2] : 0, p99 = n_polls ? polls[n_polls * 99 / 100] : 0;

    char table[8192];
    size_t len = 0;
    struct utsname u;
    uname(&u);
    time_t t = time(NULL);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&t));
    len += (size_t)snprintf(table + len, sizeof table - len,
                            "\n## %s — %s, %ld CPUs, %ld lines (%.1f MB%s)\n\n"
                            "| phase | lines/s | × raw COPY | upload MB/s | upload × raw lines COPY |"
                            " after the upload, lines/s | final summary, ms | WAL bytes/line |\n"
                            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
                            "| raw COPY (reference, one connection) | %.0f | 1.00 | %.1f | | | | |\n"
                            "| raw lines COPY into an unindexed text column (upload reference) |"
                            " | | %.1f | 1.00 | | | |\n",
                            date, u.nodename, sysconf(_SC_NPROCESSORS_ONLN), lines,
                            (double)bytes[0] / 1e6,
                            gz          ? ", posted gzipped; MB/s of the file itself"
                            : converted ? (strcmp(converted, "csv") == 0
                                               ? ", posted as OCL's standard CSV"
                                               : ", posted as one OCL source-version export")
                                        : "",
                            copy_rows_s, copy_mb_s, raw_mb_s);
    for (int i = 0; i < N_PHASES; i++) {
        if (!run[i])
            continue;
        double rate = (double)phases[i].lines / phases[i].total_s;
        len += (size_t)snprintf(table + len, sizeof table - len,
                                "| %s, end to end | %.0f | %.2f | %.1f | %.2f | %.0f | %.1f | %.0f |\n",
                                phases[i].name, rate, rate / copy_rows_s, phases[i].upload_mb_s,
                                phases[i].upload_mb_s / raw_mb_s,
                                (double)phases[i].lines / (phases[i].total_s - phases[i].upload_s),
                                phases[i].summary_ms, phases[i].wal_bytes / (double)phases[i].lines);
    }
    len += (size_t)snprintf(table + len, sizeof table - len,
                            "\n%s"
                            "Peak server RSS %.1f MB (idle %.1f MB, +%.1f MB). Status polls every "
                            "100 ms while the imports ran (202): %d polls, p50 %.1f ms, p99 %.1f ms.\n"
                            "Task start after its POST on the idle server (50 one-line imports): "
                            "p50 %.1f ms, p99 %.1f ms.\n",
                            run[N_PHASES - 1] ? "The feed's upload is its fetch: the run request "
                                                "answers once the file is in the task.\n"
                                              : "",
                            (double)peak_rss / 1024, (double)idle_rss / 1024,
                            (double)(peak_rss - idle_rss) / 1024, n_polls, p50, p99, start_p50,
                            start_p99);
    fputs(table, stdout);
    FILE *results = fopen(BI_BENCH_RESULTS, "a");
    if (results != NULL) {
        fputs(table, results);
        fclose(results);
    }
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
    pgembed_stop(pg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bi_bench: could not remove %s\n", dir);
    return 0;
}
