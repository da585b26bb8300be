/* Operating the server: GET /metrics read by Prometheus' own exposition-format parser (Debian's
 * python3-prometheus-client), its numbers moving as imports run, and who may read it where. */
#include "harness.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROOT "Token " HARNESS_ROOT_TOKEN
#define METRICS_TOKEN "metrics-scraper-token-0123456789"

static harness_server srv;

static void start(void) {
    harness_server_start_with(&srv, 2, (const char *const[]){"--metrics-token", METRICS_TOKEN, NULL});
}
static void stop(void) { cr_expect_eq(harness_server_stop(&srv), 0, "bulkimportd did not exit cleanly"); }

TestSuite(operate, .init = start, .fini = stop, .timeout = 240);

/* The newest migration's name ("0018_nodes"): the schema a server of this tree reports. */
static const char *latest_schema(void) {
    static char latest[128];
    DIR *d = opendir(BI_SOURCE_DIR "/migrations");
    cr_assert_not_null(d);
    latest[0] = '\0';
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".sql") == 0 && strcmp(e->d_name, latest) > 0)
            snprintf(latest, sizeof latest, "%.*s", (int)(len - 4), e->d_name);
    }
    closedir(d);
    return latest;
}

/* Parses a scrape with prometheus_client's parser into {"name{a=\"x\",b=\"y\"}": value} (labels
 * sorted); the parser fails the test on anything the format does not allow. */
static cJSON *parse_scrape(const char *text) {
    char in[300], out[320], cmd[2048];
    snprintf(in, sizeof in, "%s.scrape", harness_temp_dir());
    snprintf(out, sizeof out, "%s.json", in);
    FILE *f = fopen(in, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c '\n"
             "import json, sys\n"
             "from prometheus_client.parser import text_string_to_metric_families\n"
             "samples = {}\n"
             "for family in text_string_to_metric_families(open(sys.argv[1]).read()):\n"
             "    for s in family.samples:\n"
             "        labels = \",\".join(f\"{k}=\\\"{v}\\\"\" for k, v in sorted(s.labels.items()))\n"
             "        samples[s.name + (\"{\" + labels + \"}\" if labels else \"\")] = s.value\n"
             "json.dump(samples, open(sys.argv[2], \"w\"))\n' %s %s",
             in, out);
    cr_assert_eq(system(cmd), 0, "the exposition-format parser refused the scrape:\n%s", text);
    static char json[1 << 20];
    cr_assert_gt(harness_read_file(out, json, sizeof json), 0);
    cJSON *samples = cJSON_Parse(json);
    cr_assert_not_null(samples);
    return samples;
}

static cJSON *scrape(void) {
    harness_response *r = harness_request(&srv, "GET", "/metrics", "Bearer " METRICS_TOKEN, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    char type[128];
    cr_expect_str_eq(harness_response_header(r, "Content-Type", type, sizeof type),
                     "text/plain; version=0.0.4; charset=utf-8");
    cJSON *samples = parse_scrape(r->body);
    harness_response_free(r);
    return samples;
}

static double sample(const cJSON *samples, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(samples, name);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* The counters and histograms move with an import: its lines by action and status, its batch,
 * its upload, its task's end, its wait and run time; the gauges are there, the leader's too. */
Test(operate, metrics_move_as_imports_run) {
    cJSON *before = scrape();
    static const char body[] = "{\"type\":\"Organization\",\"id\":\"M1\",\"name\":\"M\"}\n"
                               "{\"type\":\"Organization\",\"id\":\"M2\",\"name\":\"M\"}\n"
                               "{\"type\":\"Organization\",\"id\":\"M3\",\"name\":\"M\"}\n"
                               "{\"type\":\"Nonsense\"}\n"
                               "{\"type\":\"Organization\",\"id\":\"M1\",\"name\":\"M again\"}\n";
    char task[256];
    harness_submit(&srv, "/manage/bulkimport/", ROOT, NULL, body, sizeof body - 1, task, sizeof task);
    harness_response_free(harness_wait_result(&srv, task, ROOT, "summary", NULL));
    cJSON *after = NULL;
    for (int i = 0; i < 100; i++) { /* the task's end is counted just after its state is written */
        cJSON_Delete(after);
        after = scrape();
        if (sample(after, "bulkimport_tasks_finished_total{state=\"SUCCESS\"}") >
            sample(before, "bulkimport_tasks_finished_total{state=\"SUCCESS\"}"))
            break;
        usleep(50 * 1000);
    }
    const struct {
        const char *name;
        double by;
    } moved[] = {
        {"bulkimport_lines_total{action=\"NEW\",status=\"201\"}", 3},
        {"bulkimport_lines_total{action=\"SKIP\",status=\"400\"}", 1},
        {"bulkimport_lines_total{action=\"UPDATE\",status=\"200\"}", 1},
        {"bulkimport_tasks_finished_total{state=\"SUCCESS\"}", 1},
        {"bulkimport_batch_duration_seconds_count", 1},
        {"bulkimport_batch_lines_count", 1},
        {"bulkimport_batch_lines_sum", 5},
        {"bulkimport_uploads_total", 1},
        {"bulkimport_upload_bytes_total", sizeof body - 1},
        {"bulkimport_upload_duration_seconds_count", 1},
        {"bulkimport_task_queue_wait_seconds_count", 1},
        {"bulkimport_task_run_seconds_count", 1},
    };
    for (size_t i = 0; i < sizeof moved / sizeof moved[0]; i++) {
        double was = sample(before, moved[i].name), now = sample(after, moved[i].name);
        cr_expect_eq(now - (was < 0 ? 0 : was), moved[i].by, "%s: %g -> %g", moved[i].name, was, now);
    }
    cr_expect_eq(sample(after, "bulkimport_batch_lines_bucket{le=\"10\"}") -
                     sample(before, "bulkimport_batch_lines_bucket{le=\"10\"}"), 1,
                 "a batch of 5 lines falls in le=10");
    cr_expect_eq(sample(after, "bulkimport_batch_lines_bucket{le=\"1\"}") -
                     sample(before, "bulkimport_batch_lines_bucket{le=\"1\"}"), 0, "and not in le=1");
    cr_expect_geq(sample(after, "bulkimport_http_responses_total{code=\"202\"}"), 1, "the POST's 202");
    cr_expect_eq(sample(after, "bulkimport_database_up"), 1);
    cr_expect_eq(sample(after, "bulkimport_workers"), 2);
    cr_expect_geq(sample(after, "bulkimport_pool_connections"), 3);
    int builds = 0; /* one build_info sample: version, the commit (a git hash or unknown), schema */
    char schema_label[160];
    snprintf(schema_label, sizeof schema_label, ",schema=\"%s\",version=\"0.1.0\"}", latest_schema());
    const cJSON *m;
    cJSON_ArrayForEach(m, after)
        builds += strncmp(m->string, "bulkimport_build_info{commit=\"", 30) == 0 &&
                  strstr(m->string, schema_label) != NULL && m->valuedouble == 1;
    cr_expect_eq(builds, 1, "build info with version, commit and schema");
    cJSON_Delete(before);
    cJSON_Delete(after);
    /* The one node leads (within a scheduler tick) and then exports the cluster's tasks. */
    cJSON *led = NULL;
    for (int i = 0; i < 100; i++) {
        cJSON_Delete(led);
        led = scrape();
        if (sample(led, "bulkimport_leader") == 1)
            break;
        usleep(100 * 1000);
    }
    cr_expect_eq(sample(led, "bulkimport_leader"), 1);
    cr_expect_geq(sample(led, "bulkimport_tasks{queue=\"priority\",state=\"SUCCESS\"}"), 1);
    int heartbeats = 0; /* this node's heartbeat age, from the nodes' table */
    cJSON_ArrayForEach(m, led)
        heartbeats += strncmp(m->string, "bulkimport_node_heartbeat_age_seconds{node=", 43) == 0 &&
                      m->valuedouble >= 0 && m->valuedouble < 30;
    cr_expect_eq(heartbeats, 1, "one node beats");
    cJSON_Delete(led);
}

/* Only --metrics-token or root's token reads the metrics; a user's is 403, none 401. */
Test(operate, metrics_need_their_token_or_roots) {
    char alice[128];
    harness_create_user(&srv, "malice", alice, sizeof alice);
    harness_response *r = harness_request(&srv, "GET", "/metrics", NULL, NULL);
    cr_expect_eq(r->status, 401, "%s", r->body);
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/metrics", "Bearer wrong-metrics-token-0123456789", NULL);
    cr_expect_eq(r->status, 401, "%s", r->body);
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/metrics", alice, NULL);
    cr_expect_eq(r->status, 403, "%s", r->body);
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/metrics", ROOT, NULL);
    cr_expect_eq(r->status, 200, "%s", r->body);
    harness_response_free(r);
}

/* --metrics-listen serves /metrics alone, and the API's listener no longer serves it. */
Test(operate, metrics_listen_is_a_listener_of_its_own) {
    harness_server other;
    harness_server_start_with(&other, 1, (const char *const[]){"--metrics-listen", "127.0.0.1:0", NULL});
    char log[65536];
    long n = 0;
    const char *at = NULL;
    for (int i = 0; i < 100 && at == NULL; i++, usleep(50 * 1000)) {
        n = harness_read_file(other.log_path, log, sizeof log);
        at = n > 0 ? strstr(log, "metrics on http://127.0.0.1:") : NULL;
    }
    cr_assert_not_null(at, "the log names the metrics address: %s", log);
    harness_server metrics = other;
    snprintf(metrics.url, sizeof metrics.url, "http://127.0.0.1:%d",
             atoi(at + strlen("metrics on http://127.0.0.1:")));
    harness_response *r = harness_request(&metrics, "GET", "/metrics", ROOT, NULL);
    cr_expect_eq(r->status, 200, "%s", r->body);
    cr_expect(strstr(r->body, "# TYPE bulkimport_lines_total counter") != NULL, "%.300s", r->body);
    harness_response_free(r);
    r = harness_request(&metrics, "GET", "/user/", ROOT, NULL);
    cr_expect_eq(r->status, 404, "the metrics listener serves nothing else: %s", r->body);
    harness_response_free(r);
    r = harness_request(&other, "GET", "/metrics", ROOT, NULL);
    cr_expect_eq(r->status, 404, "not on the API's listener: %s", r->body);
    harness_response_free(r);
    cr_expect_eq(harness_server_stop(&other), 0);
}

/* Reads server s's log into a static buffer. */
static const char *server_log(const harness_server *s) {
    static char log[1 << 20];
    cr_assert_geq(harness_read_file(s->log_path, log, sizeof log), 0);
    return log;
}

/* The JSON log line of the request with request id id (a static copy), or NULL. */
static cJSON *access_line(const harness_server *s, const char *id) {
    const char *log = server_log(s);
    char needle[200];
    snprintf(needle, sizeof needle, "\"msg\":\"request\"");
    for (const char *p = log; (p = strstr(p, needle)) != NULL; p++) {
        const char *start = p, *end = strchr(p, '\n');
        while (start > log && start[-1] != '\n')
            start--;
        cJSON *line = cJSON_ParseWithLength(start, (size_t)(end ? end - start : (long)strlen(start)));
        const char *rid = cJSON_GetStringValue(cJSON_GetObjectItem(line, "request_id"));
        if (rid != NULL && strcmp(rid, id) == 0)
            return line;
        cJSON_Delete(line);
    }
    return NULL;
}

/* --log-format json: every line is a JSON object; each request has an access line with its
 * method, path, status, bytes, duration, user and request id, which the response carries too
 * (the client's when sane, else a new one); no token or secret ever reaches the log. */
Test(operate, json_logs_with_request_ids_and_no_secrets) {
    harness_server s;
    harness_server_start_with(&s, 1, (const char *const[]){"--log-format", "json", NULL});
    harness_response *r = harness_request_with_header(&s, "GET", "/user/", ROOT,
                                                      "X-Request-Id: ci-run-42.step:7", NULL, NULL, 0);
    cr_expect_eq(r->status, 200);
    char id[160];
    cr_expect_str_eq(harness_response_header(r, "X-Request-Id", id, sizeof id), "ci-run-42.step:7");
    harness_response_free(r);
    r = harness_request_with_header(&s, "GET", "/tasks/nope/", ROOT, "X-Request-Id: not sane!", NULL,
                                    NULL, 0);
    cr_expect_eq(r->status, 404);
    harness_response_header(r, "X-Request-Id", id, sizeof id);
    cr_expect_eq(strlen(id), 16, "a new id: %s", id);
    cr_expect_eq(strspn(id, "0123456789abcdef"), 16, "%s", id);
    cr_expect_str_eq(harness_json_string(r, "request_id"), id, "the error body names it: %s", r->body);
    harness_response_free(r);
    /* A secret in the query, a token in the header, and a task whose lines are logged. */
    static const char body[] = "{\"type\":\"Organization\",\"id\":\"LogOrg\",\"name\":\"L\"}\n";
    r = harness_request_with_header(
        &s, "POST",
        "/manage/bulkimport/?callback_url=https%3A%2F%2Fhook-user%3Ahook-password%40127.0.0.1%2Fx",
        ROOT, "X-Request-Id: post-1", "application/x-ndjson", body, sizeof body - 1);
    char task[256];
    snprintf(task, sizeof task, "%s", r->status == 202 ? harness_json_string(r, "task") : "");
    harness_response_free(r);
    if (task[0])
        harness_response_free(harness_wait_result(&s, task, ROOT, "summary", NULL));
    r = harness_request(&s, "GET", "/user/", "Token wrong-token-never-logged-42", NULL);
    harness_response_free(r);
    r = harness_request_with_header(&s, "GET", "/tasks/?api_token=query-secret-1&state=SUCCESS", ROOT,
                                    "X-Request-Id: list-1", NULL, NULL, 0);
    harness_response_free(r);
    usleep(200 * 1000);
    cr_expect_eq(harness_server_stop(&s), 0);

    cJSON *line = access_line(&s, "ci-run-42.step:7");
    cr_assert_not_null(line, "an access line: %s", server_log(&s));
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(line, "method")), "GET");
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(line, "path")), "/user/");
    cr_expect(cJSON_IsNumber(cJSON_GetObjectItem(line, "status")) &&
              cJSON_GetObjectItem(line, "status")->valueint == 200);
    cr_expect(cJSON_GetObjectItem(line, "bytes")->valueint > 10);
    cr_expect(cJSON_IsNumber(cJSON_GetObjectItem(line, "duration_ms")));
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(line, "user")), "root");
    cr_expect(cJSON_IsString(cJSON_GetObjectItem(line, "ts")) && cJSON_IsString(cJSON_GetObjectItem(line, "node")));
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(line, "level")), "info");
    cJSON_Delete(line);
    line = access_line(&s, "post-1");
    cr_assert_not_null(line);
    cr_expect_eq(cJSON_GetObjectItem(line, "status")->valueint, 202);
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(line, "query")), "callback_url=[redacted]");
    cJSON_Delete(line);
    line = access_line(&s, "list-1");
    cr_assert_not_null(line);
    cr_expect_eq(cJSON_GetObjectItem(line, "status")->valueint, 400);
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(line, "query")),
                     "api_token=[redacted]&state=SUCCESS");
    cJSON_Delete(line);

    const char *log = server_log(&s);
    const char *const secrets[] = {HARNESS_ROOT_TOKEN, "wrong-token-never-logged-42", "query-secret-1",
                                   "hook-password", "hook-user"};
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        cr_expect(strstr(log, secrets[i]) == NULL, "the log holds %s", secrets[i]);
    /* Every line is one JSON object; the task's own lines name it. */
    long lines = 0, task_lines = 0;
    for (const char *p = log; *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 0 && p[0] == '{') {
            cJSON *j = cJSON_ParseWithLength(p, len);
            cr_expect_not_null(j, "not JSON: %.*s", (int)len, p);
            const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(j, "task"));
            task_lines += t != NULL && task[0] && strcmp(t, task) == 0;
            cJSON_Delete(j);
            lines++;
        }
        p += len + (end != NULL);
    }
    cr_expect_gt(lines, 5);
    cr_expect_geq(task_lines, 2, "the worker's lines of the task carry its id");
}

/* GET /manage/nodes/ (root): each node with its heartbeat, workers, running tasks, version and
 * schema; a node that stopped says so. */
Test(operate, nodes_report_their_heartbeats_and_versions) {
    harness_server other;
    harness_server_start_with(&other, 1, (const char *const[]){NULL});
    cr_expect_eq(harness_server_stop(&other), 0);
    cJSON *nodes = NULL;
    for (int i = 0; i < 100; i++) { /* the first heartbeat comes with the keeper's first round */
        harness_response *r = harness_request(&srv, "GET", "/manage/nodes/", ROOT, NULL);
        cr_assert_eq(r->status, 200, "%s", r->body);
        cJSON_Delete(nodes);
        nodes = cJSON_Duplicate(r->json, true);
        harness_response_free(r);
        if (cJSON_GetArraySize(nodes) >= 1)
            break;
        usleep(100 * 1000);
    }
    int running = 0;
    const cJSON *n;
    cJSON_ArrayForEach(n, nodes) {
        cr_expect(strchr(cJSON_GetStringValue(cJSON_GetObjectItem(n, "name")), ':') != NULL);
        cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(n, "version")), "0.1.0");
        cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(n, "schema")), latest_schema());
        cr_expect(cJSON_IsString(cJSON_GetObjectItem(n, "commit")));
        if (cJSON_IsNull(cJSON_GetObjectItem(n, "stopped_at"))) {
            running++;
            cr_expect_eq(cJSON_GetObjectItem(n, "workers")->valueint, 2);
            cr_expect_lt(cJSON_GetObjectItem(n, "heartbeat_age_seconds")->valuedouble, 30);
        }
    }
    cr_expect_eq(running, 1, "this node runs, the other stopped: %s", cJSON_PrintUnformatted(nodes));
    cJSON_Delete(nodes);
    char bob[128];
    harness_create_user(&srv, "nbob", bob, sizeof bob);
    harness_response *r = harness_request(&srv, "GET", "/manage/nodes/", bob, NULL);
    cr_expect_eq(r->status, 403, "%s", r->body);
    harness_response_free(r);
}

/* GET /manage/queues/: each queue with tasks waiting or running, its counts, the oldest
 * waiting one's age, the one running and the next ones; a user sees its own. */
Test(operate, queues_show_what_waits_and_what_runs) {
    harness_sql(srv.conninfo, "INSERT INTO import_tasks (id, username, queue, named, update_if_exists,"
                              " test_mode, state, content_sha256, started_at) VALUES ('held-root~held',"
                              " 'root', 'held', true, true, false, 'STARTED', '\\x00', now())");
    static const char one[] = "{\"type\":\"Organization\",\"id\":\"Q1\",\"name\":\"Q\"}\n";
    static const char two[] = "{\"type\":\"Organization\",\"id\":\"Q2\",\"name\":\"Q\"}\n";
    char first[256], second[256];
    harness_submit(&srv, "/manage/bulkimport/held/", ROOT, NULL, one, sizeof one - 1, first, sizeof first);
    harness_submit(&srv, "/manage/bulkimport/held/", ROOT, NULL, two, sizeof two - 1, second, sizeof second);
    harness_response *r = harness_request(&srv, "GET", "/manage/queues/", ROOT, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    const cJSON *q, *held = NULL;
    cJSON_ArrayForEach(q, r->json)
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(q, "queue")), "held") == 0)
            held = q;
    cr_assert_not_null(held, "%s", r->body);
    cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(held, "named")));
    cr_expect_eq(cJSON_GetObjectItem(held, "pending")->valueint, 2);
    cr_expect_eq(cJSON_GetObjectItem(held, "started")->valueint, 1);
    cr_expect_geq(cJSON_GetObjectItem(held, "oldest_pending_seconds")->valuedouble, 0);
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(held, "running"), 0)),
                     "held-root~held");
    const cJSON *next = cJSON_GetObjectItem(held, "next");
    cr_expect_eq(cJSON_GetArraySize(next), 2);
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(next, 0)), first, "in the order they run");
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(next, 1)), second);
    harness_response_free(r);
    char carol[128];
    harness_create_user(&srv, "qcarol", carol, sizeof carol);
    r = harness_request(&srv, "GET", "/manage/queues/", carol, NULL);
    cr_expect_eq(r->status, 200);
    cr_expect_str_eq(r->body, "[]", "a user sees its own queues only");
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/manage/queues/?username=root", carol, NULL);
    cr_expect_eq(r->status, 403, "%s", r->body);
    harness_response_free(r);
    harness_sql(srv.conninfo, "DELETE FROM import_tasks WHERE id = 'held-root~held'; NOTIFY bulkimport_tasks");
}

/* Behind --trusted-proxies, the access line names the client X-Forwarded-For gives: the
 * nearest hop the proxies do not vouch for. */
Test(operate, the_client_behind_a_trusted_proxy) {
    harness_server s;
    harness_server_start_with(&s, 1, (const char *const[]){"--trusted-proxies", "127.0.0.1,10.0.0.0/8",
                                                           "--log-format", "json", NULL});
    harness_response *r = harness_request_with_header(&s, "GET", "/user/", ROOT,
                                                      "X-Request-Id: xff-1\r\nX-Forwarded-For: 198.51.100.7, 203.0.113.9, 10.1.1.1",
                                                      NULL, NULL, 0);
    cr_expect_eq(r->status, 200, "%s", r->body);
    harness_response_free(r);
    cr_expect_eq(harness_server_stop(&s), 0);
    cJSON *line = access_line(&s, "xff-1");
    cr_assert_not_null(line, "%s", server_log(&s));
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(line, "remote")), "203.0.113.9");
    cJSON_Delete(line);
}
