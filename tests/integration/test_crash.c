/* Crash safety with real processes: faults injected at every point, kill -9, a frozen node
 * fenced off, several nodes on one database, a broken database connection, cancel and resume,
 * graceful shutdown, and a PostgreSQL failover to a streaming replica. After each: every line
 * has exactly one result, the counters agree, and the resources are exactly what one clean
 * run leaves. */
#include "harness.h"
#include "pgembed.h"

#include <civetweb.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROOT "Token " HARNESS_ROOT_TOKEN
#define LINES 1500 /* 30 batches of 50 */

TestSuite(crash, .timeout = 300);

/* Starts a node of workers workers on conninfo with short heartbeats and small batches; fault
 * arms BULKIMPORT_FAULT for it (NULL: none). */
static void start_node_of(harness_server *s, const char *conninfo, const char *fault,
                          const char *workers) {
    if (fault != NULL)
        setenv("BULKIMPORT_FAULT", fault, 1);
    const char *args[] = {"--database-url", conninfo, "--root-token", HARNESS_ROOT_TOKEN,
                          "--workers", workers, "--heartbeat-ms", "200", "--rescue-after-ms", "1500",
                          "--batch-size", "50", NULL};
    harness_server_start(s, args);
    snprintf(s->conninfo, sizeof s->conninfo, "%s", conninfo);
    unsetenv("BULKIMPORT_FAULT");
}

static void start_node(harness_server *s, const char *conninfo, const char *fault) {
    start_node_of(s, conninfo, fault, "2");
}

/* Waits for s to exit by itself (an injected fault); returns its exit code. */
static int wait_exit_code(harness_server *s, int timeout_s) {
    for (int i = 0; i < timeout_s * 20; i++) {
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        usleep(50 * 1000);
    }
    cr_assert_fail("the node did not exit in %d s", timeout_s);
    return -1;
}

/* A file of lines lines: organization org, a source, then concepts c0, c1, ... */
static char *org_file_of(const char *org, int lines, size_t *out_len) {
    size_t cap = 256 + (size_t)lines * 200, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text, cap, "{\"type\":\"Organization\",\"id\":\"%s\",\"name\":\"O\"}\n"
                                       "{\"type\":\"Source\",\"id\":\"S\",\"name\":\"S\",\"owner\":\"%s\","
                                       "\"owner_type\":\"Organization\"}\n", org, org);
    for (int i = 0; i < lines - 2; i++)
        len += (size_t)snprintf(text + len, cap - len,
                                "{\"type\":\"Concept\",\"id\":\"c%d\",\"concept_class\":\"M\",\"datatype\":\"N\","
                                "\"names\":[{\"name\":\"n%d\",\"locale\":\"en\"}],\"owner\":\"%s\","
                                "\"owner_type\":\"Organization\",\"source\":\"S\"}\n",
                                i, i, org);
    *out_len = len;
    return text;
}

/* A file of LINES lines of org. */
static char *org_file(const char *org, size_t *out_len) { return org_file_of(org, LINES, out_len); }

static char *concepts_file(size_t *out_len) { return org_file("O", out_len); }

/* Submits the concepts file to s; returns the task id in out (found in the database when the
 * node died before answering). */
static void submit_file(harness_server *s, const char *auth, char *out, size_t out_len) {
    size_t len;
    char *text = concepts_file(&len);
    harness_response *r = harness_request_bytes(s, "POST", "/manage/bulkimport/", auth, text, len);
    free(text);
    cr_assert_eq(r->status, 202, "%s", r->body);
    snprintf(out, out_len, "%s", harness_json_string(r, "task"));
    harness_response_free(r);
}

/* Waits until task is finished (any final state); returns that state in out. */
static void wait_final(const harness_server *s, const char *task, char *state, size_t len) {
    char path[400];
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s", task);
    for (int i = 0; i < 1200; i++) {
        harness_response *r = harness_request(s, "GET", path, ROOT, NULL);
        if (r->status == 200) {
            harness_response_free(r);
            harness_response *l = harness_request(s, "GET", "/manage/bulkimport/?limit=100", ROOT, NULL);
            const cJSON *t;
            cJSON_ArrayForEach(t, l->json) if (strcmp(cJSON_GetObjectItem(t, "task")->valuestring, task) == 0)
                snprintf(state, len, "%s", cJSON_GetObjectItem(t, "state")->valuestring);
            harness_response_free(l);
            return;
        }
        harness_response_free(r);
        usleep(100 * 1000);
    }
    cr_assert_fail("task %s did not finish", task);
}

/* The exactness checks of task of lines lines: SUCCESS, one result per line, counters equal to
 * the results, every line NEW 201 (a line applied twice would be an UPDATE). */
static void expect_lines_exactly_once(const char *conninfo, const char *task, int lines) {
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM import_tasks t WHERE id = '%s' AND state = 'SUCCESS'"
                              " AND total = %d AND checkpoint = %d AND (SELECT (sum(processed),"
                              " sum(created)) = (%d, %d) FROM import_batches WHERE task_id = t.id)",
             task, lines, lines, lines, lines);
    cr_expect_eq(harness_sql(conninfo, sql), 1, "task %s is not a clean SUCCESS", task);
    snprintf(sql, sizeof sql, "SELECT count(DISTINCT line_no) FROM import_results WHERE task_id = '%s'"
                              " AND action = 'NEW' AND status = 201", task);
    cr_expect_eq(harness_sql(conninfo, sql), lines, "every line NEW 201 exactly once");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM import_results WHERE task_id = '%s'", task);
    cr_expect_eq(harness_sql(conninfo, sql), lines, "no line has two results");
}

/* expect_lines_exactly_once of a task of LINES lines. */
static void expect_task_exactly_once(const char *conninfo, const char *task) {
    expect_lines_exactly_once(conninfo, task, LINES);
}

/* What tasks tasks of files of LINES lines leave when each applied exactly once: their
 * concepts, all at version 1, no history. */
static void expect_concepts_of(const char *conninfo, int tasks) {
    long concepts = (long)tasks * (LINES - 2);
    cr_expect_eq(harness_sql(conninfo, "SELECT count(*) FROM concepts WHERE version = 1"), concepts);
    cr_expect_eq(harness_sql(conninfo, "SELECT count(*) FROM concepts"), concepts);
    cr_expect_eq(harness_sql(conninfo, "SELECT count(*) FROM concept_versions"), 0);
}

/* expect_task_exactly_once of the one task of the database, and its concepts. */
static void expect_exactly_once(const char *conninfo, const char *task) {
    expect_task_exactly_once(conninfo, task);
    expect_concepts_of(conninfo, 1);
}

/* The lines of task's committed batches, as SQL. */
#define COMMITTED_SQL "SELECT coalesce(sum(processed), 0) FROM import_batches WHERE task_id = '%s'"

/* Waits (up to 6 s) until task has committed at least lines lines. */
static void wait_committed(const char *conninfo, const char *task, long lines) {
    char sql[512];
    snprintf(sql, sizeof sql, COMMITTED_SQL, task);
    for (int i = 0; i < 600 && harness_sql(conninfo, sql) < lines; i++)
        usleep(10 * 1000);
}

/* Starts a node of workers workers on conninfo, where the one task a dead node left waits, and
 * checks that it finishes exactly once. */
static void finish_on_a_new_node(const char *conninfo, const char *workers) {
    char task[256], state[16] = "";
    harness_server again;
    start_node_of(&again, conninfo, NULL, workers);
    harness_response *l = harness_request(&again, "GET", "/manage/bulkimport/", ROOT, NULL);
    snprintf(task, sizeof task, "%s", cJSON_GetObjectItem(cJSON_GetArrayItem(l->json, 0), "task")->valuestring);
    harness_response_free(l);
    wait_final(&again, task, state, sizeof state);
    cr_expect_str_eq(state, "SUCCESS");
    expect_exactly_once(conninfo, task);
    cr_expect_eq(harness_server_stop(&again), 0);
}

typedef struct fault_case {
    char point[32];
    int count;
} fault_case;

ParameterizedTestParameters(crash, every_fault_point) {
    static fault_case cases[] = {
        {"after_upload_commit", 1}, {"after_claim", 1},    {"mid_batch", 3},
        {"after_batch_commit", 5},  {"before_success", 1},
    };
    return cr_make_param_array(fault_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(fault_case *fc, crash, every_fault_point) {
    char conninfo[512], fault[64];
    harness_database_create(conninfo, sizeof conninfo);
    snprintf(fault, sizeof fault, "%s:%d", fc->point, fc->count);
    harness_server node;
    start_node(&node, conninfo, fault);
    /* The node may die before it answers (after_upload_commit always does; after_claim can,
     * as a worker may claim the task while the 202 is on its way): the answer is not needed. */
    size_t len;
    char *text = concepts_file(&len);
    harness_response *r = harness_try_request_bytes(&node, "POST", "/manage/bulkimport/", ROOT, text, len);
    if (strcmp(fc->point, "after_upload_commit") == 0)
        cr_expect_null(r, "the node answered: %s", r ? r->body : "");
    harness_response_free(r);
    free(text);
    cr_expect_eq(wait_exit_code(&node, 120), 137, "the fault fired");
    cr_assert_eq(harness_sql(conninfo, "SELECT count(*) FROM import_tasks"), 1, "the upload committed");
    finish_on_a_new_node(conninfo, "2");
}

typedef struct workers_case {
    char before[4], after[4]; /* --workers of the node that dies mid-wave, and of the next */
} workers_case;

ParameterizedTestParameters(crash, a_task_resumed_on_a_node_of_other_workers_cuts_the_same_batches) {
    static workers_case cases[] = {{"2", "1"}, {"1", "2"}, {"1", "3"}};
    return cr_make_param_array(workers_case, cases, sizeof cases / sizeof cases[0]);
}

/* The concepts' wave runs in parallel partitions; a node dies in its middle (six batches
 * committed, the wave's barrier not reached) and a node with another number of workers takes
 * the task over: it must cut the batches the first one cut, or it would skip lines of the
 * committed batches' partitions and apply others twice. */
ParameterizedTest(workers_case *wc, crash, a_task_resumed_on_a_node_of_other_workers_cuts_the_same_batches) {
    char conninfo[512];
    harness_database_create(conninfo, sizeof conninfo);
    harness_server node;
    start_node_of(&node, conninfo, "after_batch_commit:6", wc->before);
    size_t len;
    char *text = concepts_file(&len);
    harness_response_free(harness_try_request_bytes(&node, "POST", "/manage/bulkimport/", ROOT, text, len));
    free(text);
    cr_assert_eq(wait_exit_code(&node, 120), 137, "the fault fired");
    cr_assert_eq(harness_sql(conninfo, "SELECT count(*) FROM import_tasks"), 1);
    long committed = harness_sql(conninfo, "SELECT coalesce(sum(processed), 0) FROM import_batches");
    cr_expect(committed > 100 && committed < LINES - 100, "died mid-wave: %ld lines committed", committed);
    cr_expect_eq(harness_sql(conninfo, "SELECT checkpoint FROM import_tasks"), 2, "before the wave's barrier");
    finish_on_a_new_node(conninfo, wc->after);
}

Test(crash, a_frozen_node_is_fenced_off) {
    char conninfo[512], task[256], state[16] = "";
    harness_database_create(conninfo, sizeof conninfo);
    harness_server first, second;
    start_node(&first, conninfo, NULL);
    submit_file(&first, ROOT, task, sizeof task);
    char sql[512];
    wait_committed(conninfo, task, 100);
    kill(first.pid, SIGSTOP); /* frozen mid-task, perhaps mid-transaction */
    start_node(&second, conninfo, NULL);
    wait_final(&second, task, state, sizeof state);
    cr_expect_str_eq(state, "SUCCESS");
    snprintf(sql, sizeof sql, "SELECT lease FROM import_tasks WHERE id = '%s'", task);
    cr_expect_geq(harness_sql(conninfo, sql), 2, "the second node took the task over");
    kill(first.pid, SIGCONT);
    sleep(2); /* the woken node tries whatever it was doing */
    expect_exactly_once(conninfo, task);
    cr_expect_eq(harness_server_stop(&second), 0);
    cr_expect_eq(harness_server_stop(&first), 0);
}

Test(crash, graceful_shutdown_hands_tasks_back_at_once) {
    char conninfo[512], task[256], state[16] = "";
    harness_database_create(conninfo, sizeof conninfo);
    harness_server first, second;
    start_node(&first, conninfo, NULL);
    submit_file(&first, ROOT, task, sizeof task);
    char sql[512];
    wait_committed(conninfo, task, 100);
    cr_expect_eq(harness_server_stop(&first), 0, "SIGTERM exits 0");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM import_tasks WHERE id = '%s' AND state IN ('PENDING', 'SUCCESS')", task);
    cr_expect_eq(harness_sql(conninfo, sql), 1, "handed back without waiting for the rescue");
    start_node(&second, conninfo, NULL);
    wait_final(&second, task, state, sizeof state);
    expect_exactly_once(conninfo, task);
    cr_expect_eq(harness_server_stop(&second), 0);
}

Test(crash, a_broken_database_connection_mid_import) {
    char conninfo[512], task[256], state[16] = "";
    harness_database_create(conninfo, sizeof conninfo);
    harness_server node;
    start_node(&node, conninfo, NULL);
    submit_file(&node, ROOT, task, sizeof task);
    char sql[512];
    snprintf(sql, sizeof sql, COMMITTED_SQL, task);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 600 && harness_sql(conninfo, sql) < 300 * (round + 1); i++)
            usleep(10 * 1000);
        harness_sql(conninfo, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                              " WHERE datname = current_database() AND pid <> pg_backend_pid()");
    }
    wait_final(&node, task, state, sizeof state);
    cr_expect_str_eq(state, "SUCCESS");
    expect_exactly_once(conninfo, task);
    harness_response *r = harness_request(&node, "GET", "/readyz", NULL, NULL);
    cr_expect_eq(r->status, 200, "recovered by itself");
    harness_response_free(r);
    cr_expect_eq(harness_server_stop(&node), 0);
}

Test(crash, cancel_and_resume) {
    char conninfo[512], task[256], state[16] = "", alice[128];
    harness_database_create(conninfo, sizeof conninfo);
    harness_server node;
    start_node(&node, conninfo, NULL);
    harness_create_user(&node, "alice", alice, sizeof alice);
    submit_file(&node, ROOT, task, sizeof task);
    char sql[512], path[400];
    snprintf(sql, sizeof sql, COMMITTED_SQL, task);
    for (int i = 0; i < 600 && harness_sql(conninfo, sql) < 100; i++)
        usleep(10 * 1000);
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s", task);
    harness_response *r = harness_request(&node, "DELETE", path, alice, NULL);
    cr_expect_eq(r->status, 404, "not alice's task: %s", r->body);
    harness_response_free(r);
    r = harness_request(&node, "DELETE", path, ROOT, NULL);
    cr_expect_eq(r->status, 204, "%s", r->body);
    harness_response_free(r);
    wait_final(&node, task, state, sizeof state);
    cr_expect_str_eq(state, "REVOKED");
    snprintf(sql, sizeof sql, "SELECT sum(processed) FROM import_batches WHERE task_id = '%s'", task);
    long processed = harness_sql(conninfo, sql);
    cr_expect(processed > 0 && processed < LINES, "stopped at a batch boundary: %ld", processed);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM import_results WHERE task_id = '%s'", task);
    cr_expect_eq(harness_sql(conninfo, sql), processed, "what was applied has its results");
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&result=summary", task);
    r = harness_request(&node, "GET", path, ROOT, NULL);
    char want[64];
    snprintf(want, sizeof want, "Processed %ld of %d -- ", processed, LINES);
    cr_expect(strncmp(r->body, want, strlen(want)) == 0, "%s", r->body);
    harness_response_free(r);
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&result=unprocessed", task);
    r = harness_request(&node, "GET", path, ROOT, NULL);
    long lines = 0;
    for (const char *p = r->body; (p = strchr(p, '\n')) != NULL; p++)
        lines++;
    cr_expect_eq(lines, LINES - processed, "the unprocessed lines, ready to resubmit");
    cr_expect(r->body[0] == '{' && strstr(r->body, "__error") == NULL, "as submitted");
    harness_response_free(r);
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&result=failed", task);
    r = harness_request(&node, "GET", path, ROOT, NULL);
    cr_expect_str_eq(r->body, "", "none failed: the unprocessed are not failed lines");
    harness_response_free(r);

    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&action=resume", task);
    r = harness_request(&node, "POST", path, ROOT, "");
    cr_expect_eq(r->status, 202, "%s", r->body);
    harness_response_free(r);
    wait_final(&node, task, state, sizeof state);
    expect_exactly_once(conninfo, task);
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s", task);
    r = harness_request(&node, "DELETE", path, ROOT, NULL);
    cr_expect_eq(r->status, 409, "finished: %s", r->body);
    harness_response_free(r);
    r = harness_request(&node, "POST", "/manage/bulkimport/?task=nope&action=resume", ROOT, "");
    cr_expect_eq(r->status, 404, "%s", r->body);
    harness_response_free(r);

    /* A PENDING task is cancelled at once: hold its queue with a task that never ends. */
    harness_sql(conninfo, "INSERT INTO import_tasks (id, username, queue, named, state, update_if_exists,"
                          " test_mode, content_sha256, started_at, heartbeat_at) VALUES ('held-root~held',"
                          " 'root', 'held', true, 'STARTED', true, false, '\\x00', now(), now() + interval '1 hour')");
    static const char line[] = "{\"type\":\"Organization\",\"id\":\"P\",\"name\":\"P\"}\n";
    r = harness_request(&node, "POST", "/manage/bulkimport/held/", ROOT, line);
    snprintf(task, sizeof task, "%s", harness_json_string(r, "task"));
    harness_response_free(r);
    r = harness_request(&node, "DELETE", "/manage/bulkimport/", ROOT, "{\"task_id\":\"x\"}");
    cr_expect_eq(r->status, 404);
    harness_response_free(r);
    char body[400];
    snprintf(body, sizeof body, "{\"task_id\":\"%s\"}", task);
    r = harness_request(&node, "DELETE", "/manage/bulkimport/", ROOT, body);
    cr_expect_eq(r->status, 204, "%s", r->body);
    harness_response_free(r);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM import_tasks WHERE id = '%s' AND state = 'REVOKED'", task);
    cr_expect_eq(harness_sql(conninfo, sql), 1);
    harness_sql(conninfo, "DELETE FROM import_tasks WHERE id = 'held-root~held'");
    cr_expect_eq(harness_server_stop(&node), 0);
}

Test(crash, three_nodes_share_the_work) {
    char conninfo[512];
    harness_database_create(conninfo, sizeof conninfo);
    harness_server nodes[3];
    for (int i = 0; i < 3; i++)
        start_node(&nodes[i], conninfo, NULL);
    char tasks[40][256];
    for (int i = 0; i < 40; i++) {
        char body[256];
        snprintf(body, sizeof body, "{\"type\":\"Organization\",\"id\":\"N%d\",\"name\":\"N\"}\n"
                                    "{\"type\":\"Organization\",\"id\":\"N%d\",\"name\":\"N2\"}\n", i, i);
        harness_response *r = harness_request(&nodes[i % 3], "POST",
                                              i < 30 ? "/manage/bulkimport/" : "/manage/bulkimport/one/",
                                              ROOT, body);
        cr_assert_eq(r->status, 202, "%s", r->body);
        snprintf(tasks[i], sizeof tasks[i], "%s", harness_json_string(r, "task"));
        harness_response_free(r);
    }
    char state[16];
    for (int i = 0; i < 40; i++) {
        wait_final(&nodes[0], tasks[i], state, sizeof state);
        cr_expect_str_eq(state, "SUCCESS", "%s", tasks[i]);
    }
    cr_expect_eq(harness_sql(conninfo, "SELECT count(*) FROM import_tasks t WHERE state = 'SUCCESS'"
                                       " AND lease = 1 AND (SELECT (sum(processed), sum(created),"
                                       " sum(updated)) = (2, 1, 1) FROM import_batches b"
                                       " WHERE b.task_id = t.id)"),
                 40, "each task ran exactly once");
    cr_expect_eq(harness_sql(conninfo, "SELECT count(*) FROM import_results"), 80);
    cr_expect_eq(harness_sql(conninfo, "SELECT count(*) FROM import_tasks a JOIN import_tasks b"
                                       " ON a.queue = b.queue AND a.created_at < b.created_at"
                                       " WHERE a.queue = 'one' AND (b.started_at < a.finished_at"
                                       " OR b.started_at < a.started_at)"),
                 0, "the named queue never overlaps and keeps submission order");
    cr_expect_gt(harness_sql(conninfo, "SELECT count(DISTINCT worker) FROM import_tasks"), 1,
                 "the work spreads over the nodes");
    for (int i = 0; i < 3; i++)
        cr_expect_eq(harness_server_stop(&nodes[i]), 0);
}

Test(crash, random_kill_soak, .timeout = 400) {
    char conninfo[512], tasks[6][256];
    harness_database_create(conninfo, sizeof conninfo);
    srand(20261123);
    harness_server node;
    start_node(&node, conninfo, NULL);
    for (int round = 0; round < 6; round++) {
        char org[16];
        snprintf(org, sizeof org, "K%d", round);
        size_t len;
        char *text = org_file(org, &len);
        harness_response *r = harness_request_bytes(&node, "POST", "/manage/bulkimport/", ROOT, text, len);
        free(text);
        cr_assert_eq(r->status, 202, "%s", r->body);
        snprintf(tasks[round], sizeof tasks[round], "%s", harness_json_string(r, "task"));
        harness_response_free(r);
        usleep((useconds_t)(100000 + rand() % 1500000)); /* somewhere in the import, or after */
        kill(node.pid, SIGKILL);
        cr_expect_eq(wait_exit_code(&node, 30), 128 + SIGKILL);
        start_node(&node, conninfo, NULL);
    }
    char state[16];
    for (int i = 0; i < 6; i++) {
        wait_final(&node, tasks[i], state, sizeof state);
        cr_expect_str_eq(state, "SUCCESS", "%s", tasks[i]);
        char sql[1024];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM import_results WHERE task_id = '%.255s'"
                                  " AND action = 'NEW' AND status = 201", tasks[i]);
        cr_expect_eq(harness_sql(conninfo, sql), LINES, "%s: every line NEW 201 exactly once", tasks[i]);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM import_tasks t WHERE id = '%.255s'"
                                  " AND checkpoint = %d AND (SELECT (sum(processed), sum(created))"
                                  " = (%d, %d) FROM import_batches WHERE task_id = t.id)",
                 tasks[i], LINES, LINES, LINES);
        cr_expect_eq(harness_sql(conninfo, sql), 1, "%s: counters agree", tasks[i]);
    }
    cr_expect_eq(harness_sql(conninfo, "SELECT count(*) FROM import_results"), 6 * LINES);
    cr_expect_eq(harness_sql(conninfo, "SELECT count(*) FROM concepts WHERE version = 1"), 6 * (LINES - 2));
    cr_expect_eq(harness_sql(conninfo, "SELECT count(*) FROM concept_versions"), 0);
    cr_expect_eq(harness_server_stop(&node), 0);
}

Test(crash, postgresql_restarts_mid_import, .timeout = 400) {
    /* A PostgreSQL of this test's own, so restarting it disturbs no other test. */
    char dir[300];
    snprintf(dir, sizeof dir, "%s", harness_temp_dir());
    cr_assert_eq(mkdir(dir, 0700), 0);
    pgembed *pg;
    cr_assert_eq(pgembed_start(dir, 100, &pg), 0);
    char conninfo[512], task[256], state[16] = "";
    snprintf(conninfo, sizeof conninfo, "%s", pgembed_conninfo(pg));
    harness_server node;
    start_node(&node, conninfo, NULL);
    submit_file(&node, ROOT, task, sizeof task);
    wait_committed(conninfo, task, 200);
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM import_tasks WHERE id = '%.255s' AND state = 'STARTED'", task);
    cr_expect_eq(harness_sql(conninfo, sql), 1, "the restart comes mid-import");
    pgembed_stop(pg); /* a fast shutdown: sessions end, the open batch is lost */
    harness_response *r = harness_request(&node, "GET", "/readyz", NULL, NULL);
    cr_expect_eq(r->status, 503, "the database is away: %s", r->body);
    harness_response_free(r);
    cr_assert_eq(pgembed_start(dir, 100, &pg), 0);
    wait_final(&node, task, state, sizeof state);
    cr_expect_str_eq(state, "SUCCESS");
    expect_exactly_once(conninfo, task);
    cr_expect_eq(harness_server_stop(&node), 0);
    pgembed_stop(pg);
}

Test(crash, finished_tasks_are_purged_after_the_retention) {
    char conninfo[512];
    harness_database_create(conninfo, sizeof conninfo);
    harness_server node;
    start_node(&node, conninfo, NULL);
    char task[256], state[16];
    submit_file(&node, ROOT, task, sizeof task);
    wait_final(&node, task, state, sizeof state);
    cr_assert_eq(harness_server_stop(&node), 0);
    char sql[512];
    snprintf(sql, sizeof sql, "UPDATE import_tasks SET finished_at = now() - interval '31 days' WHERE id = '%.255s'", task);
    harness_sql(conninfo, sql);
    harness_sql(conninfo, "INSERT INTO import_tasks (id, username, queue, named, state, update_if_exists, test_mode,"
                          " content_sha256, finished_at) VALUES ('recent-root~default', 'root', 'default', false,"
                          " 'SUCCESS', true, false, '\\x01', now() - interval '29 days')");
    start_node(&node, conninfo, NULL); /* purges on start, then every minute */
    for (int i = 0; i < 100 && harness_sql(conninfo, "SELECT count(*) FROM import_tasks") > 1; i++)
        usleep(50 * 1000);
    cr_expect_eq(harness_sql(conninfo, "SELECT count(*) FROM import_tasks"), 1, "only the recent task stays");
    cr_expect_eq(harness_sql(conninfo, "SELECT count(*) FROM import_chunks"), 0);
    cr_expect_eq(harness_sql(conninfo, "SELECT count(*) FROM import_results"), 0);
    cr_expect_eq(harness_server_stop(&node), 0);
}

/* ---- upgrade ------------------------------------------------------------------------------- */

/* The lines of the upgrade test's tasks that are not concepts of the org file: a concept of a
 * missing source (404, its text given back by result=failed) and, in the second, a line the
 * upload flags. */
#define UPGRADE_MISSING_MEMBERS                                                                    \
    "\"type\":\"Concept\",\"id\":\"x\",\"concept_class\":\"M\",\"datatype\":\"N\","                 \
    "\"names\":[{\"name\":\"n\",\"locale\":\"en\"}],\"owner\":\"O\","                              \
    "\"owner_type\":\"Organization\",\"source\":\"Missing\"}"
#define UPGRADE_MISSING "{" UPGRADE_MISSING_MEMBERS

/* POSTs the org file of org with extra appended to the named queue "up" of s; returns the task
 * id in out, or "" when the node died before answering (tolerated when may_die). */
static void submit_upgrade_file(harness_server *s, const char *org, const char *extra,
                                bool may_die, char *out, size_t out_len) {
    size_t len;
    char *text = org_file_of(org, LINES, &len);
    text = realloc(text, len + strlen(extra) + 1);
    memcpy(text + len, extra, strlen(extra) + 1);
    len += strlen(extra);
    harness_response *r = harness_try_request_bytes(s, "POST", "/manage/bulkimport/?queue=up", ROOT,
                                                    text, len);
    free(text);
    if (!may_die && (r == NULL || r->status != 202)) {
        static char log[16384];
        harness_read_file(s->log_path, log, sizeof log);
        cr_assert_fail("%s; the node's log: %s", r ? r->body : "no answer", log);
    }
    snprintf(out, out_len, "%s", r != NULL && r->status == 202 ? harness_json_string(r, "task") : "");
    harness_response_free(r);
}

/* A database written before migration 0015 (uploads stored one row per line) holds a task
 * STARTED by a node that died mid-task, with batches committed, and one PENDING behind it in
 * its named queue. This version migrates the stored uploads to chunks and finishes both,
 * every line exactly once: the first from its checkpoint, the second whole, its flagged line
 * still flagged, the failed line's text still given back as submitted. */
Test(crash, tasks_stored_before_the_upgrade_finish_after_it_exactly_once) {
    char conninfo[512], first[256], second[256], sql[1024];
    harness_database_create(conninfo, sizeof conninfo);
    harness_server node;
    start_node_of(&node, conninfo, "after_batch_commit:3", "1");
    submit_upgrade_file(&node, "O", UPGRADE_MISSING "\n", true, first, sizeof first);
    cr_assert_eq(wait_exit_code(&node, 120), 137, "the fault fired");
    /* A node that does not rescue the dead node's task queues the second one behind it. */
    const char *args[] = {"--database-url", conninfo, "--root-token", HARNESS_ROOT_TOKEN,
                          "--workers", "1", "--rescue-after-ms", "600000", NULL};
    harness_server_start(&node, args);
    submit_upgrade_file(&node, "P", "\xff\xfe not UTF-8\n" UPGRADE_MISSING "\n", false, second,
                        sizeof second);
    cr_assert_eq(harness_server_stop(&node), 0);
    cr_assert_eq(harness_sql(conninfo, "SELECT count(*) FROM import_tasks WHERE state = 'STARTED'"
                                       " AND checkpoint > 0"), 1, "the first is mid-task");
    cr_assert_eq(harness_sql(conninfo, "SELECT count(*) FROM import_tasks WHERE state = 'PENDING'"), 1);
    cr_assert_eq(harness_sql(conninfo, "SELECT count(*) FROM import_batches"), 3);

    harness_sql(conninfo, harness_fixture(BI_SOURCE_DIR "/tests/fixtures/upgrade/before_0015.sql"));
    cr_assert_eq(harness_sql(conninfo, "SELECT count(*) FROM import_lines"), 2 * LINES + 3);
    cr_assert_eq(harness_sql(conninfo, "SELECT count(*) FROM import_lines WHERE error = 'invalid_utf8'"), 1);

    start_node(&node, conninfo, NULL);
    cr_expect_eq(harness_sql(conninfo, "SELECT count(*) FROM pg_tables WHERE tablename = 'import_lines'"), 0);
    cr_expect_eq(harness_sql(conninfo, "SELECT sum(last_line - first_line + 1) FROM import_chunks"),
                 2 * LINES + 3, "every stored line converted");
    if (first[0] == '\0') { /* the node died before its answer: the task is the oldest */
        harness_response *l = harness_request(&node, "GET", "/manage/bulkimport/?queue=up", ROOT, NULL);
        int n = cJSON_GetArraySize(l->json);
        snprintf(first, sizeof first, "%s",
                 cJSON_GetObjectItem(cJSON_GetArrayItem(l->json, n - 1), "task")->valuestring);
        harness_response_free(l);
    }
    char state[16] = "";
    wait_final(&node, second, state, sizeof state);
    cr_expect_str_eq(state, "SUCCESS");
    wait_final(&node, first, state, sizeof state);
    cr_expect_str_eq(state, "SUCCESS");
    const char *tasks[] = {first, second};
    for (int t = 0; t < 2; t++) {
        int lines = LINES + 1 + t;
        snprintf(sql, sizeof sql, "SELECT count(*) FROM import_tasks t WHERE id = '%s' AND total = %d"
                                  " AND checkpoint = %d AND (SELECT (sum(processed), sum(created),"
                                  " sum(failed)) = (%d, %d, %d) FROM import_batches WHERE task_id = t.id)",
                 tasks[t], lines, lines, lines, LINES, 1 + t);
        cr_expect_eq(harness_sql(conninfo, sql), 1, "task %d's counters", t);
        snprintf(sql, sizeof sql, "SELECT (count(DISTINCT line_no) = count(*) AND count(*) = %d)::integer"
                                  " FROM import_results WHERE task_id = '%s'", lines, tasks[t]);
        cr_expect_eq(harness_sql(conninfo, sql), 1, "task %d: one result per line", t);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM import_results WHERE task_id = '%s'"
                                  " AND action = 'NEW' AND status = 201", tasks[t]);
        cr_expect_eq(harness_sql(conninfo, sql), LINES, "task %d: every line applied once", t);
        char path[400];
        snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&result=failed", tasks[t]);
        harness_response *r = harness_request(&node, "GET", path, ROOT, NULL);
        /* The failed line with its reason spliced in, the rest as submitted; the second
         * task's line the upload flagged is one of them. */
        const char *reason = strstr(r->body, "{\"__error\":{\"code\":\"not_found\"");
        cr_expect(reason != NULL && strstr(reason, "}," UPGRADE_MISSING_MEMBERS "\n") != NULL,
                  "task %d's failed line: %s", t, r->body);
        cr_expect_eq(strstr(r->body, "\"invalid_utf8\"") != NULL, t == 1, "%s", r->body);
        harness_response_free(r);
    }
    snprintf(sql, sizeof sql, "SELECT count(*) FROM import_results WHERE task_id = '%s'"
                              " AND line_no = %d AND error_code = 'invalid_utf8'", second, LINES + 1);
    cr_expect_eq(harness_sql(conninfo, sql), 1, "the flagged line is still flagged");
    cr_expect_eq(harness_sql(conninfo, "SELECT count(*) FROM concepts"), 2L * (LINES - 2));
    cr_expect_eq(harness_sql(conninfo, "SELECT count(*) FROM concept_versions"), 0, "none applied twice");
    cr_expect_eq(harness_server_stop(&node), 0);
}

/* ---- failover ------------------------------------------------------------------------------ */

/* Submits the file of lines lines of org to path on s; returns the task id in out. */
static void submit_org_of(harness_server *s, const char *path, const char *org, int lines,
                          char *out, size_t out_len) {
    size_t len;
    char *text = org_file_of(org, lines, &len);
    harness_response *r = harness_request_bytes(s, "POST", path, ROOT, text, len);
    free(text);
    cr_assert_eq(r->status, 202, "%s", r->body);
    snprintf(out, out_len, "%s", harness_json_string(r, "task"));
    harness_response_free(r);
}

/* submit_org_of a file of LINES lines. */
static void submit_org(harness_server *s, const char *path, const char *org, char *out, size_t out_len) {
    submit_org_of(s, path, org, LINES, out, out_len);
}

/* Starts a node on the pair's conninfo with short heartbeats and batches of 10 (so that a
 * failover lands mid-import). */
static void start_failover_node(harness_server *s, const char *conninfo) {
    const char *args[] = {"--database-url", conninfo, "--root-token", HARNESS_ROOT_TOKEN,
                          "--workers", "2", "--heartbeat-ms", "200", "--rescue-after-ms", "1500",
                          "--batch-size", "10", NULL};
    harness_server_start(s, args);
    snprintf(s->conninfo, sizeof s->conninfo, "%s", conninfo);
}

/* Serves one organization as /catalog.jsonl: a feed's source across the failover. */
static int catalog_handle(struct mg_connection *conn, void *data) {
    (void)data;
    static const char body[] = "{\"type\":\"Organization\",\"id\":\"Fed\",\"name\":\"F\"}\n";
    mg_printf(conn, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
              sizeof body - 1, body);
    return 200;
}

/* Waits (up to 30 s) until the SQL count on conninfo reaches at least n; returns the last. */
static long wait_count(const char *conninfo, const char *sql, long n) {
    long got = 0;
    for (int i = 0; i < 300 && (got = harness_sql(conninfo, sql)) < n; i++)
        usleep(100 * 1000);
    return got;
}

#define FAILOVER_LINES 6000 /* long enough a task for a failover to land in its middle */

/* Two nodes on a primary and its streaming replica (the multi-host conninfo with
 * target_session_attrs=read-write), a feed due every 2 s; mid-import the primary stops and
 * the replica is promoted. Fast: the primary hands its last commits over as it stops.
 * Immediate: a crash, and first the replica stops streaming, so that batches the old primary
 * acknowledged are missing on the new one, as asynchronous replication may leave them. Either
 * way a standard-queue task and a named-queue one end SUCCESS with every line exactly once on
 * the new primary (the lost batches applied again, nothing skipped); a task submitted after
 * the promotion runs normally; the feed's scheduled runs go on there under one leader; each
 * node LISTENs there again. */
static void fail_over_mid_import(bool immediate) {
    harness_pg_pair pair;
    harness_pg_pair_start(&pair);
    int port;
    struct mg_context *source = harness_peer_start(catalog_handle, NULL, 4, &port);
    harness_server a, b;
    start_failover_node(&a, pair.conninfo);
    start_failover_node(&b, pair.conninfo);
    char feed[256];
    snprintf(feed, sizeof feed, "{\"name\":\"tick\",\"url\":\"http://127.0.0.1:%d/catalog.jsonl\","
             "\"schedule\":\"2s\"}", port);
    harness_response *r = harness_request_typed(&a, "POST", "/manage/feeds/", ROOT, "application/json",
                                                feed, strlen(feed));
    cr_assert_eq(r->status, 201, "%s", r->body);
    harness_response_free(r);
    char standard[256], named[256], after[256], state[16] = "";
    submit_org_of(&a, "/manage/bulkimport/", "A", FAILOVER_LINES, standard, sizeof standard);
    submit_org_of(&b, "/manage/bulkimport/sync/", "N", FAILOVER_LINES, named, sizeof named);
    const char *committed = "SELECT coalesce(sum(processed), 0) FROM import_batches";
    wait_committed(pair.replica_conninfo, standard, 200);
    if (immediate) {
        harness_pg_pair_cut_replication(&pair);
        long replicated = harness_sql(pair.replica_conninfo, committed);
        long acknowledged = replicated;
        for (int i = 0; i < 3000 && acknowledged < replicated + 300; i++, usleep(10 * 1000))
            acknowledged = harness_sql(pair.primary_conninfo, committed);
        cr_expect_geq(acknowledged, replicated + 300, "the old primary committed batches the replica lacks");
    }
    long before = harness_sql(pair.primary_conninfo, committed);
    cr_expect(before < 2 * FAILOVER_LINES - 500, "the failover comes mid-import (%ld lines committed)", before);
    harness_pg_pair_fail_over(&pair, immediate);
    const char *runs = "SELECT count(*) FROM feed_runs WHERE trigger = 'schedule'";
    long runs_at_promotion = harness_sql(pair.replica_conninfo, runs);
    wait_final(&a, standard, state, sizeof state);
    cr_expect_str_eq(state, "SUCCESS");
    wait_final(&b, named, state, sizeof state);
    cr_expect_str_eq(state, "SUCCESS");
    submit_org(&b, "/manage/bulkimport/", "P", after, sizeof after);
    wait_final(&a, after, state, sizeof state);
    cr_expect_str_eq(state, "SUCCESS", "a task submitted after the promotion");
    expect_lines_exactly_once(pair.replica_conninfo, standard, FAILOVER_LINES);
    expect_lines_exactly_once(pair.replica_conninfo, named, FAILOVER_LINES);
    expect_task_exactly_once(pair.replica_conninfo, after);
    long concepts = 2 * (FAILOVER_LINES - 2) + LINES - 2;
    cr_expect_eq(harness_sql(pair.replica_conninfo, "SELECT count(*) FROM concepts WHERE version = 1"), concepts);
    cr_expect_eq(harness_sql(pair.replica_conninfo, "SELECT count(*) FROM concepts"), concepts);
    cr_expect_eq(harness_sql(pair.replica_conninfo, "SELECT count(*) FROM concept_versions"), 0);
    cr_expect_geq(wait_count(pair.replica_conninfo, runs, runs_at_promotion + 2), runs_at_promotion + 2,
                  "the feed's schedule goes on on the new primary");
    cr_expect_eq(wait_count(pair.replica_conninfo, "SELECT count(*) FROM pg_locks WHERE locktype ="
                                                   " 'advisory' AND classid = 1112080385 AND objid = 0"
                                                   " AND granted", 1),
                 1, "one node leads the feed scheduler on the new primary");
    cr_expect_eq(wait_count(pair.replica_conninfo, "SELECT count(*) FROM pg_stat_activity WHERE query"
                                                   " LIKE 'LISTEN%'", 2),
                 2, "both nodes LISTEN on the new primary");
    cr_expect_eq(harness_server_stop(&a), 0);
    cr_expect_eq(harness_server_stop(&b), 0);
    harness_peer_stop(source);
    harness_pg_pair_stop(&pair);
}

Test(crash, the_primary_stops_fast_and_the_replica_takes_over) { fail_over_mid_import(false); }

Test(crash, the_primary_crashes_and_the_replica_takes_over) { fail_over_mid_import(true); }

/* A node whose conninfo lets it land on a standby (target_session_attrs=any) while the
 * failover is under way: /readyz says the database is a read-only standby, the standby's
 * "read-only transaction" answers are a reason to connect again (never a task failure), and
 * once the replica is promoted the task goes on and ends exactly once. */
Test(crash, a_node_on_a_standby_waits_for_a_primary) {
    harness_pg_pair pair;
    harness_pg_pair_start(&pair);
    char any[1024];
    snprintf(any, sizeof any, "%.*s target_session_attrs=any",
             (int)(strstr(pair.conninfo, " target_session_attrs") - pair.conninfo), pair.conninfo);
    harness_server node;
    start_failover_node(&node, any);
    char task[256], state[16] = "";
    submit_org(&node, "/manage/bulkimport/", "A", task, sizeof task);
    wait_committed(pair.primary_conninfo, task, 200);
    pgembed_halt(pair.primary, false);
    long standby_answers = 0;
    for (int i = 0; i < 50 && standby_answers == 0; i++) { /* the node finds the standby */
        harness_response *ready = harness_request(&node, "GET", "/readyz", NULL, NULL);
        standby_answers = ready->status == 503 && strstr(ready->body, "read-only standby") != NULL;
        harness_response_free(ready);
        usleep(100 * 1000);
    }
    cr_expect(standby_answers, "/readyz says the database is a read-only standby");
    sleep(1); /* its workers meet the standby too */
    cr_assert_eq(harness_sql(pair.replica_conninfo, "SELECT pg_promote(true, 60)::int"), 1);
    wait_final(&node, task, state, sizeof state);
    cr_expect_str_eq(state, "SUCCESS", "the task did not fail on the standby");
    expect_exactly_once(pair.replica_conninfo, task);
    cr_expect_eq(harness_server_stop(&node), 0);
    harness_pg_pair_stop(&pair);
}

#define IMPORT_LINES 60

/* Import lines queue their child tasks exactly once across a crash: the node dies right after
 * a batch of them committed (its children with it); the node that finishes the task leaves one
 * child per Import line, no more, no fewer. (A batch run twice — a fenced-off twin — names the
 * same child from parent and line, and the database keeps the first.) */
Test(crash, import_lines_queue_each_child_once_across_a_crash) {
    /* Not against the ThreadSanitizer server (BI_TEST_SERVER): a fresh 2-core machine once
     * failed this executable's run there, and 60 child tasks under TSan are this file's slowest
     * runs; the AddressSanitizer run covers it. */
    if (getenv("BI_TEST_SERVER") != NULL)
        cr_skip_test("run against the AddressSanitizer server only");
    char conninfo[512], task[256] = "", state[16] = "";
    harness_database_create(conninfo, sizeof conninfo);
    harness_server node;
    start_node_of(&node, conninfo, "after_batch_commit:1", "1");
    size_t cap = 256 + IMPORT_LINES * 128, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text, cap, "{\"type\":\"Organization\",\"id\":\"Kids\",\"name\":\"K\"}\n");
    for (int i = 0; i < IMPORT_LINES; i++) /* children whose download fails at once */
        len += (size_t)snprintf(text + len, cap - len,
                                "{\"type\":\"Import\",\"file_url\":\"http://127.0.0.1:1/child-%d.jsonl\"}\n",
                                i);
    harness_response *r = harness_try_request_bytes(&node, "POST", "/manage/bulkimport/", ROOT, text, len);
    if (r != NULL && r->status == 202)
        snprintf(task, sizeof task, "%s", harness_json_string(r, "task"));
    harness_response_free(r);
    free(text);
    cr_assert_eq(wait_exit_code(&node, 120), 137, "the fault fired");
    cr_assert_gt(harness_sql(conninfo, "SELECT count(*) FROM import_tasks WHERE depth = 1"), 0,
                 "the first batch queued children before the node died");
    start_node(&node, conninfo, NULL);
    if (task[0] == '\0') {
        PGconn *pg = PQconnectdb(conninfo);
        PGresult *res = PQexec(pg, "SELECT id FROM import_tasks WHERE depth = 0");
        snprintf(task, sizeof task, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        PQfinish(pg);
    }
    wait_final(&node, task, state, sizeof state);
    cr_expect_str_eq(state, "SUCCESS");
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM import_tasks WHERE parent_id = '%s'", task);
    cr_expect_eq(harness_sql(conninfo, sql), IMPORT_LINES, "one child per Import line");
    snprintf(sql, sizeof sql, "SELECT count(DISTINCT file_url) FROM import_tasks WHERE parent_id = '%s'",
             task);
    cr_expect_eq(harness_sql(conninfo, sql), IMPORT_LINES);
    cr_expect_eq(harness_sql(conninfo, "SELECT coalesce(sum(processed), 0) FROM import_batches b"
                                       " JOIN import_tasks t ON t.id = b.task_id WHERE t.depth = 0"),
                 IMPORT_LINES + 1, "every line's result once");
    cr_expect_eq(harness_server_stop(&node), 0);
}
