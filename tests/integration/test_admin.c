/* User administration, named tokens and the audit log, through a real bulkimportd: what root
 * may do to users, what disabling and deleting one does to its tokens, tasks and feeds, and
 * what every user may do with its own tokens. */
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROOT "Token " HARNESS_ROOT_TOKEN

static harness_server srv;

static void start(void) { harness_server_start_default(&srv); }
static void stop(void) { cr_expect_eq(harness_server_stop(&srv), 0, "bulkimportd did not exit cleanly"); }

TestSuite(admin, .init = start, .fini = stop, .timeout = 240);

static long status_of(const char *method, const char *path, const char *auth, const char *body) {
    harness_response *r = harness_request(&srv, method, path, auth, body);
    long status = r->status;
    harness_response_free(r);
    return status;
}

/* The value of key in the JSON object at path, as root sees it (static copy). */
static const char *field_of(const char *path, const char *key) {
    static char out[512];
    harness_response *r = harness_request(&srv, "GET", path, ROOT, NULL);
    const cJSON *v = cJSON_GetObjectItem(r->json, key);
    char *text = v ? cJSON_PrintUnformatted(v) : NULL;
    snprintf(out, sizeof out, "%s", text ? text : "(none)");
    free(text);
    harness_response_free(r);
    return out;
}

Test(admin, root_lists_users_and_others_may_not) {
    char ann[128];
    harness_create_user(&srv, "ann", ann, sizeof ann);
    harness_response *r = harness_request(&srv, "GET", "/users/?q=AN", ROOT, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_expect_eq(cJSON_GetArraySize(r->json), 1, "%s", r->body);
    const cJSON *u = cJSON_GetArrayItem(r->json, 0);
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(u, "username")), "ann");
    cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(u, "disabled")) && cJSON_IsFalse(cJSON_GetObjectItem(u, "is_root")));
    cr_expect_eq(cJSON_GetObjectItem(u, "tokens")->valueint, 1);
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/users/?is_root=true", ROOT, NULL);
    cr_expect_eq(cJSON_GetArraySize(r->json), 1, "root alone: %s", r->body);
    harness_response_free(r);
    cr_expect_eq(status_of("GET", "/users/?sort=name", ROOT, NULL), 400);
    cr_expect_eq(status_of("GET", "/users/", ann, NULL), 403);
    cr_expect_eq(status_of("PATCH", "/users/ann/", ann, "{\"is_root\":true}"), 403);
    cr_expect_eq(status_of("DELETE", "/users/root/", ann, NULL), 403);
    /* Root makes ann root, and she may list users; it cannot demote, disable or delete itself. */
    cr_expect_eq(status_of("PATCH", "/users/ann/", ROOT, "{\"is_root\":true}"), 200);
    cr_expect_eq(status_of("GET", "/users/", ann, NULL), 200);
    cr_expect_eq(status_of("PATCH", "/users/root/", ROOT, "{\"disabled\":true}"), 409);
    cr_expect_eq(status_of("PATCH", "/users/root/", ROOT, "{\"is_root\":false}"), 409);
    harness_response *d = harness_request(&srv, "DELETE", "/users/root/", ROOT, NULL);
    cr_expect_eq(d->status, 409, "%s", d->body);
    harness_response_free(d);
    cr_expect_eq(status_of("PATCH", "/users/ann/", ROOT, "{\"is_root\":\"yes\"}"), 400);
    cr_expect_eq(status_of("PATCH", "/users/ann/", ROOT, "{\"colour\":\"red\"}"), 400);
    cr_expect_eq(status_of("PATCH", "/users/nobody/", ROOT, "{\"disabled\":true}"), 404);
}

/* Concept lines of org, n of them after the organization and source (malloc'd). */
static char *org_file(const char *org, int n, size_t *len) {
    size_t cap = 512 + (size_t)n * 256, at = 0;
    char *text = malloc(cap);
    at += (size_t)snprintf(text, cap,
                           "{\"type\":\"Organization\",\"id\":\"%s\",\"name\":\"O\"}\n"
                           "{\"type\":\"Source\",\"id\":\"S\",\"name\":\"S\",\"owner\":\"%s\","
                           "\"owner_type\":\"Organization\"}\n", org, org);
    for (int i = 0; i < n; i++)
        at += (size_t)snprintf(text + at, cap - at,
                               "{\"type\":\"Concept\",\"id\":\"c%d\",\"concept_class\":\"M\",\"datatype\":\"N\","
                               "\"names\":[{\"name\":\"n\",\"locale\":\"en\"}],\"owner\":\"%s\","
                               "\"owner_type\":\"Organization\",\"source\":\"S\"}\n", i, org);
    *len = at;
    return text;
}

/* Disabling a user: its token answers 401 at once, its waiting task is cancelled and its running
 * one stops at its next batch (both REVOKED, "user disabled"), its feed is paused; enabled
 * again, its token works (what was cancelled stays so). */
Test(admin, disabling_a_user_stops_all_it_has_running) {
    char bo[128], running[256], waiting[256], task_path[400];
    harness_create_user(&srv, "bo", bo, sizeof bo);
    size_t len;
    char *big = org_file("BoOrg", 30000, &len);
    harness_submit(&srv, "/manage/bulkimport/bq/?batch_size=50", bo, NULL, big, len, running, sizeof running);
    free(big);
    char *small = org_file("BoOrg2", 2, &len);
    harness_submit(&srv, "/manage/bulkimport/bq/", bo, NULL, small, len, waiting, sizeof waiting);
    free(small);
    cr_assert_eq(status_of("POST", "/manage/feeds/", bo,
                           "{\"name\":\"bofeed\",\"url\":\"https://example.org/x.jsonl\",\"schedule\":\"1h\"}"),
                 201);
    snprintf(task_path, sizeof task_path, "/tasks/%s/", running);
    for (int i = 0; i < 400 && strcmp(field_of(task_path, "state"), "\"STARTED\"") != 0; i++)
        usleep(25 * 1000);
    cr_assert_str_eq(field_of(task_path, "state"), "\"STARTED\"");
    harness_response *r = harness_request(&srv, "PATCH", "/users/bo/", ROOT, "{\"disabled\":true}");
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(r->json, "disabled")), "%s", r->body);
    harness_response_free(r);
    cr_expect_eq(status_of("GET", "/user/", bo, NULL), 401, "its token at once");
    for (int i = 0; i < 600 && strcmp(field_of(task_path, "state"), "\"STARTED\"") == 0; i++)
        usleep(25 * 1000);
    cr_expect_str_eq(field_of(task_path, "state"), "\"REVOKED\"", "stopped at a batch boundary");
    cr_expect_str_eq(field_of(task_path, "error_message"), "\"user disabled\"");
    harness_response *t = harness_request(&srv, "GET", task_path, ROOT, NULL);
    const cJSON *p = cJSON_GetObjectItem(t->json, "progress");
    cr_expect_lt(cJSON_GetObjectItem(p, "processed")->valueint, cJSON_GetObjectItem(p, "total")->valueint);
    harness_response_free(t);
    snprintf(task_path, sizeof task_path, "/tasks/%s/", waiting);
    cr_expect_str_eq(field_of(task_path, "state"), "\"REVOKED\"");
    cr_expect_str_eq(field_of(task_path, "error_message"), "\"user disabled\"");
    cr_expect_str_eq(field_of("/manage/feeds/bofeed/?username=bo", "paused"), "true");
    cr_expect_eq(status_of("GET", "/users/bo/", bo, NULL), 401);
    cr_expect_str_eq(field_of("/users/bo/", "disabled"), "true", "root sees the admin fields");
    cr_expect_eq(status_of("PATCH", "/users/bo/", ROOT, "{\"disabled\":false}"), 200);
    cr_expect_eq(status_of("GET", "/user/", bo, NULL), 200, "enabled again");
    cr_expect_str_eq(field_of(task_path, "state"), "\"REVOKED\"", "what was cancelled stays so");
}

/* DELETE deactivates: tokens revoked, hidden from others, what it owns kept; purge removes the
 * user with its tasks. A User DELETE line of an import does the same as the DELETE. */
Test(admin, delete_deactivates_and_purge_removes) {
    char cy[128], dee[128], task[256];
    harness_create_user(&srv, "cy", cy, sizeof cy);
    harness_create_user(&srv, "dee", dee, sizeof dee);
    static const char own[] = "{\"type\":\"Source\",\"id\":\"CyS\",\"name\":\"S\",\"owner\":\"cy\",\"owner_type\":\"User\"}\n"
                              "{\"type\":\"Organization\",\"id\":\"CyO\",\"name\":\"O\"}\n";
    harness_submit(&srv, "/manage/bulkimport/", cy, NULL, own, sizeof own - 1, task, sizeof task);
    harness_response_free(harness_wait_result(&srv, task, cy, "summary", NULL));
    cr_expect_eq(status_of("PUT", "/orgs/CyO/members/dee/", cy, NULL), 204);
    cr_expect_eq(status_of("DELETE", "/users/cy/", ROOT, NULL), 204);
    cr_expect_eq(status_of("GET", "/user/", cy, NULL), 401);
    cr_expect_eq(status_of("PATCH", "/users/cy/", ROOT, "{\"disabled\":false}"), 200);
    cr_expect_eq(status_of("GET", "/user/", cy, NULL), 401, "its tokens were revoked, not paused");
    cr_expect_eq(status_of("PATCH", "/users/cy/", ROOT, "{\"disabled\":true}"), 200);
    cr_expect_eq(status_of("GET", "/users/cy/", dee, NULL), 404, "hidden from others");
    harness_response *m = harness_request(&srv, "GET", "/orgs/CyO/members/", dee, NULL);
    cr_expect(m->status == 200 && strstr(m->body, "\"cy\"") == NULL && strstr(m->body, "\"dee\"") != NULL,
              "hidden from the members list: %s", m->body);
    harness_response_free(m);
    m = harness_request(&srv, "GET", "/orgs/CyO/members/", ROOT, NULL);
    cr_expect(strstr(m->body, "\"cy\"") != NULL, "root still sees it: %s", m->body);
    harness_response_free(m);
    cr_expect_eq(status_of("GET", "/users/cy/sources/CyS/", ROOT, NULL), 200, "what it owns stays");
    cr_expect_eq(status_of("DELETE", "/users/cy/?purge=true", ROOT, NULL), 204);
    cr_expect_eq(status_of("GET", "/users/cy/", ROOT, NULL), 404);
    char path[400];
    snprintf(path, sizeof path, "/tasks/%s/", task);
    cr_expect_eq(status_of("GET", path, ROOT, NULL), 404, "its tasks went with it");
    cr_expect_eq(status_of("DELETE", "/users/cy/?purge=true", ROOT, NULL), 404);
    cr_expect_eq(status_of("DELETE", "/users/dee/?purge=maybe", ROOT, NULL), 400);
    /* An import's User DELETE deactivates too. */
    static const char line[] = "{\"type\":\"User\",\"username\":\"dee\",\"__action\":\"DELETE\"}\n";
    harness_submit(&srv, "/manage/bulkimport/", ROOT, NULL, line, sizeof line - 1, task, sizeof task);
    harness_response *r = harness_wait_result(&srv, task, ROOT, "summary", NULL);
    cr_expect(strstr(r->body, "1 DELETE (204:1)") != NULL, "%s", r->body);
    harness_response_free(r);
    cr_expect_eq(status_of("GET", "/user/", dee, NULL), 401);
    cr_expect_str_eq(field_of("/users/dee/", "disabled"), "true", "kept, deactivated");
}

/* Named tokens: made once with their value, listed without it, read-only ones only read, an
 * expired one is refused, and revoking one refuses it at once. */
Test(admin, named_tokens) {
    char eve[128];
    harness_create_user(&srv, "eve", eve, sizeof eve);
    harness_response *r = harness_request(&srv, "POST", "/user/tokens/", eve,
                                          "{\"name\":\"ci reader\",\"read_only\":true}");
    cr_assert_eq(r->status, 201, "%s", r->body);
    char reader[256], id[32];
    snprintf(reader, sizeof reader, "Bearer %s", harness_json_string(r, "token"));
    snprintf(id, sizeof id, "%s", harness_json_string(r, "id"));
    harness_response_free(r);
    cr_expect_eq(status_of("GET", "/user/", reader, NULL), 200);
    cr_expect_eq(status_of("POST", "/manage/bulkimport/", reader, "{\"type\":\"Organization\",\"id\":\"E\",\"name\":\"E\"}\n"),
                 403, "a read-only token only reads");
    cr_expect_eq(status_of("POST", "/user/tokens/", eve, "{\"name\":\"ci reader\"}"), 409);
    cr_expect_eq(status_of("POST", "/user/tokens/", eve, "{\"name\":\"default\"}"), 400);
    cr_expect_eq(status_of("POST", "/user/tokens/", eve, "{\"name\":\"bad/name\"}"), 400);
    cr_expect_eq(status_of("POST", "/user/tokens/", eve, "{\"name\":\"x\",\"expires_at\":\"soon\"}"), 400);
    r = harness_request(&srv, "POST", "/user/tokens/", eve, "{\"name\":\"old\",\"expires_at\":\"2020-01-01T00:00:00Z\"}");
    cr_assert_eq(r->status, 201, "%s", r->body);
    char expired[256];
    snprintf(expired, sizeof expired, "Token %s", harness_json_string(r, "token"));
    harness_response_free(r);
    cr_expect_eq(status_of("GET", "/user/", expired, NULL), 401, "expired");
    r = harness_request(&srv, "GET", "/user/tokens/", eve, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_expect_eq(cJSON_GetArraySize(r->json), 3, "default, ci reader, old: %s", r->body);
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(r->json, 0), "name")), "default");
    cr_expect(strstr(r->body, "\"token\"") == NULL, "never the values: %s", r->body);
    cr_expect(!cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(r->json, 1), "last_used_at")),
              "the reader's last use is recorded: %s", r->body);
    harness_response_free(r);
    char path[64];
    snprintf(path, sizeof path, "/user/tokens/%s/", id);
    cr_expect_eq(status_of("DELETE", path, reader, NULL), 403, "not with itself: it only reads");
    cr_expect_eq(status_of("DELETE", path, eve, NULL), 204);
    cr_expect_eq(status_of("GET", "/user/", reader, NULL), 401, "revoked at once");
    cr_expect_eq(status_of("DELETE", path, eve, NULL), 404);
    cr_expect_eq(status_of("DELETE", "/user/tokens/default/", eve, NULL), 204);
    cr_expect_eq(status_of("GET", "/user/", eve, NULL), 401, "the first token, revoked");
}

/* Root's changes and its cancels of others' tasks are in the audit log, which only root reads. */
Test(admin, the_audit_log_records_roots_actions) {
    char fay[128], task[256], path[400];
    harness_create_user(&srv, "fay", fay, sizeof fay);
    harness_sql(srv.conninfo, "INSERT INTO import_tasks (id, username, queue, named, update_if_exists,"
                              " test_mode, state, content_sha256) VALUES ('held-fay~fq', 'fay', 'fq',"
                              " true, true, false, 'STARTED', '\\x00')");
    static const char line[] = "{\"type\":\"Organization\",\"id\":\"FayOrg\",\"name\":\"F\"}\n";
    harness_submit(&srv, "/manage/bulkimport/fq/", fay, NULL, line, sizeof line - 1, task, sizeof task);
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s", task);
    cr_expect_eq(status_of("DELETE", path, ROOT, NULL), 204);
    cr_expect_eq(status_of("PATCH", "/users/fay/", ROOT, "{\"is_root\":false}"), 200);
    cr_expect_eq(status_of("POST", "/users/fay/token/", ROOT, NULL), 200);
    harness_response *r = harness_request(&srv, "GET", "/manage/audit/?limit=3", ROOT, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    const char *const want[] = {"token.issue", "user.update", "task.cancel"}; /* newest first */
    for (int i = 0; i < 3; i++) {
        const cJSON *e = cJSON_GetArrayItem(r->json, i);
        cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(e, "action")), want[i], "%s", r->body);
        cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(e, "actor")), "root");
    }
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(r->json, 2), "target")), task);
    harness_response_free(r);
    cr_expect_eq(status_of("GET", "/manage/audit/", fay, NULL), 401, "fay's token was replaced");
    harness_sql(srv.conninfo, "DELETE FROM import_tasks WHERE id = 'held-fay~fq'");
}

/* GET /manage/stats/: lines by action and status, tasks by state and bytes, from the daily
 * roll-ups written as tasks end; a resumed task's lines count once; the totals survive the
 * user's purge. */
Test(admin, statistics_add_up_across_imports) {
    char sam[128], task[256], path[400];
    harness_create_user(&srv, "sam", sam, sizeof sam);
    static const char body[] =
        "{\"type\":\"Organization\",\"id\":\"SamOrg\",\"name\":\"S\"}\n"
        "{\"type\":\"Source\",\"id\":\"S\",\"name\":\"S\",\"owner\":\"SamOrg\",\"owner_type\":\"Organization\"}\n"
        "{\"type\":\"Concept\",\"id\":\"c\",\"concept_class\":\"M\",\"datatype\":\"N\",\"names\":[{\"name\":\"n\","
        "\"locale\":\"en\"}],\"owner\":\"SamOrg\",\"owner_type\":\"Organization\",\"source\":\"S\"}\n"
        "{\"type\":\"Nonsense\"}\n";
    harness_submit(&srv, "/manage/bulkimport/", sam, NULL, body, sizeof body - 1, task, sizeof task);
    harness_response_free(harness_wait_result(&srv, task, sam, "summary", NULL));
    /* A task cancelled while it waits, resumed, then run: its lines count once. */
    harness_sql(srv.conninfo, "INSERT INTO import_tasks (id, username, queue, named, update_if_exists,"
                              " test_mode, state, content_sha256) VALUES ('held-sam~sq', 'sam', 'sq',"
                              " true, true, false, 'STARTED', '\\x00')");
    static const char more[] = "{\"type\":\"Organization\",\"id\":\"SamOrg2\",\"name\":\"S\"}\n";
    harness_submit(&srv, "/manage/bulkimport/sq/", sam, NULL, more, sizeof more - 1, task, sizeof task);
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s", task);
    cr_expect_eq(status_of("DELETE", path, sam, NULL), 204);
    snprintf(path, sizeof path, "/manage/bulkimport/?task=%s&action=resume", task);
    cr_expect_eq(status_of("POST", path, sam, ""), 202);
    harness_sql(srv.conninfo, "DELETE FROM import_tasks WHERE id = 'held-sam~sq'; NOTIFY bulkimport_tasks");
    harness_response_free(harness_wait_result(&srv, task, sam, "summary", NULL));

    harness_response *r = harness_request(&srv, "GET", "/manage/stats/?by=user", sam, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_eq(cJSON_GetArraySize(r->json), 1, "its own only: %s", r->body);
    const cJSON *s = cJSON_GetArrayItem(r->json, 0);
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(s, "user")), "sam");
    cr_expect_eq(cJSON_GetObjectItem(s, "lines")->valueint, 5, "%s", r->body);
    const cJSON *by = cJSON_GetObjectItem(s, "lines_by");
    cr_expect_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(by, "NEW"), "201")->valueint, 4, "%s", r->body);
    cr_expect_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(by, "SKIP"), "400")->valueint, 1, "%s", r->body);
    const cJSON *tasks = cJSON_GetObjectItem(s, "tasks");
    cr_expect_eq(cJSON_GetObjectItem(tasks, "SUCCESS")->valueint, 2, "%s", r->body);
    cr_expect_eq(cJSON_GetObjectItem(tasks, "REVOKED")->valueint, 1, "the cancel was an ending too");
    cr_expect_eq(cJSON_GetObjectItem(s, "bytes")->valueint, (int)(sizeof body - 1 - 4 + sizeof more - 1 - 1),
                 "each task's line bytes (without their newlines) once: %s", r->body);
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/manage/stats/?by=repository", sam, NULL);
    cr_assert_eq(cJSON_GetArraySize(r->json), 2, "%s", r->body);
    const cJSON *none = cJSON_GetArrayItem(r->json, 0), *source = cJSON_GetArrayItem(r->json, 1);
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(none, "repository")), "");
    cr_expect_eq(cJSON_GetObjectItem(none, "lines")->valueint, 3, "the organizations and the refused line");
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(source, "repository")), "/orgs/SamOrg/sources/S/");
    cr_expect_eq(cJSON_GetObjectItem(source, "lines")->valueint, 2, "the source and its concept");
    harness_response_free(r);
    r = harness_request(&srv, "GET", "/manage/stats/?until=2000-01-01", sam, NULL);
    cr_expect_str_eq(r->body, "[]");
    harness_response_free(r);
    cr_expect_eq(status_of("GET", "/manage/stats/?by=week", sam, NULL), 400);
    cr_expect_eq(status_of("GET", "/manage/stats/?since=yesterday", sam, NULL), 400);
    cr_expect_eq(status_of("GET", "/manage/stats/?username=root", sam, NULL), 403);
    /* Purged, sam's work still adds up in root's statistics. */
    cr_expect_eq(status_of("DELETE", "/users/sam/?purge=true", ROOT, NULL), 204);
    r = harness_request(&srv, "GET", "/manage/stats/?by=user&username=sam", ROOT, NULL);
    cr_expect_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(r->json, 0), "lines")->valueint, 5, "%s", r->body);
    harness_response_free(r);
}

/* A backup made with pg_dump while the server runs restores, with pg_restore, into a database a
 * new server then serves: the task and what it imported are there. */
Test(admin, a_backup_restores_into_a_working_server) {
    char task[256], dump[128], restored[1024], path[400];
    static const char line[] = "{\"type\":\"Organization\",\"id\":\"Backed\",\"name\":\"B\"}\n";
    harness_submit(&srv, "/manage/bulkimport/", ROOT, NULL, line, sizeof line - 1, task, sizeof task);
    harness_response_free(harness_wait_result(&srv, task, ROOT, "summary", NULL));
    snprintf(dump, sizeof dump, "/tmp/bi-backup-%d.dump", (int)getpid()); /* postgres writes it */
    unlink(dump);
    harness_pg_tool("pg_dump", (char *[]){"", "--format=custom", "--dbname", srv.conninfo, "--file", dump, NULL});
    harness_database_create(restored, sizeof restored);
    harness_pg_tool("pg_restore", (char *[]){"", "--no-owner", "--dbname", restored, dump, NULL});
    unlink(dump);
    harness_server back;
    harness_server_start(&back, (const char *const[]){"--database-url", restored, "--root-token",
                                                      HARNESS_ROOT_TOKEN, "--workers", "1", NULL});
    snprintf(path, sizeof path, "/tasks/%s/", task);
    harness_response *r = harness_request(&back, "GET", path, ROOT, NULL);
    cr_expect_eq(r->status, 200, "%s", r->body);
    cr_expect_str_eq(harness_json_string(r, "state"), "SUCCESS");
    harness_response_free(r);
    r = harness_request(&back, "GET", "/orgs/Backed/", ROOT, NULL);
    cr_expect_eq(r->status, 200, "%s", r->body);
    harness_response_free(r);
    cr_expect_eq(harness_server_stop(&back), 0);
}
