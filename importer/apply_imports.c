/* apply_imports.c — how an Import line is applied: it queues a child task of the caller that
 * downloads the line's file_url when it runs, in the standard queue unless the line names one,
 * inside the parent's batch (so the child exists exactly when that batch commits). The parent
 * does not wait for it. One line at a time; parsing and dispatch are apply.c's. */
#include "apply_internal.h"

#include "error.h"
#include "ids.h"
#include "plan.h"
#include "tasks.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

int apply_imports_line(apply_ctx *ctx, size_t i) {
    apply_result *r = &ctx->results[i];
    const db_task *parent = ctx->opt->task;
    r->action = "NEW";
    if (parent == NULL) {
        apply_fail(r, "SKIP", 400, BI_EBADVALUE, "an Import line runs only inside a task");
        return 0;
    }
    if (parent->depth + 1 > DB_TASKS_MAX_DEPTH) {
        apply_fail(r, "SKIP", 400, BI_EBADVALUE,
                   "an Import line of a task %d levels deep would make a task deeper than %d",
                   parent->depth, DB_TASKS_MAX_DEPTH);
        return 0;
    }
    const cJSON *json = ctx->lines[i].json;
    const char *url = cJSON_GetObjectItemCaseSensitive(json, "file_url")->valuestring;
    const cJSON *queue = cJSON_GetObjectItemCaseSensitive(json, "queue");
    db_task child;
    memset(&child, 0, sizeof child);
    snprintf(child.username, sizeof child.username, "%s", parent->username);
    child.named = cJSON_IsString(queue);
    snprintf(child.queue, sizeof child.queue, "%s",
             child.named ? queue->valuestring : ctx->caller->is_root ? "priority" : "default");
    child.batch_size = parent->batch_size;
    child.parallel = PLAN_PARALLEL_DEFAULT;
    plan_cut_fix(&child);
    /* Named by its parent and line: a batch run again after it committed (a crash before the
     * checkpoint moved) names the same child, which the database then keeps as it is. */
    unsigned char digest[SHA256_DIGEST_LENGTH];
    char seed[DB_TASK_ID_MAX + 32];
    int seed_len = snprintf(seed, sizeof seed, "child\n%s\n%d", parent->id, r->line);
    SHA256((const unsigned char *)seed, (size_t)seed_len, digest);
    ids_task_id_from(digest, child.username, child.queue, child.id, sizeof child.id);
    if (parent->test_mode) { /* its batches roll back: the child would never be */
        apply_fail(r, "SKIP", APPLY_STATUS_SKIP, 0,
                   "INFO: test mode: a task downloading %s would be queued in %s", url,
                   child.queue);
        return 0;
    }
    int err = db_tasks_create_child(ctx->conn, parent, &child, r->line, url);
    if (err == BI_ETOOMANY) {
        apply_fail(r, "SKIP", 400, BI_EBADVALUE, "a task may queue at most %d child tasks",
                   DB_TASKS_MAX_CHILDREN);
        return 0;
    }
    if (err == BI_ECONFLICT) {
        apply_fail(r, "SKIP", 409, BI_ECONFLICT, "the task is being cancelled: no child task");
        return 0;
    }
    if (err < 0)
        return err;
    char url_of_task[DB_TASK_ID_MAX + 16];
    snprintf(url_of_task, sizeof url_of_task, "/tasks/%s/", child.id);
    apply_set(&r->obj_url, url_of_task);
    cJSON *summary = cJSON_CreateObject();
    cJSON_AddStringToObject(summary, "type", "Import");
    cJSON_AddStringToObject(summary, "task", child.id);
    cJSON_AddStringToObject(summary, "queue", child.queue);
    cJSON_AddStringToObject(summary, "file_url", url);
    apply_succeed(r, 202, summary);
    return 0;
}
