#include "prune.h"

#include "content.h"
#include "error.h"
#include "pool.h"
#include "refs.h"
#include "repos.h"
#include "rights.h"
#include "stale.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRUNE_BATCH_MIN 5000 /* items per prune transaction, at least */

static const char *const prune_types[] = {"Concept", "Mapping", "Reference"};

static void prune_removed(const char *expression, void *ctx) {
    (void)expression;
    (*(size_t *)ctx)++;
}

/* Retires or removes items[0..n) (all of one repository, locked FOR SHARE first, as every
 * content writer does) and fills their results. */
static int prune_repo(db_conn *conn, const db_user *caller, const db_stale_item *items, size_t n,
                      db_result *results, char **messages) {
    db_repo repo;
    int err = db_repos_lookup(conn, caller->username, items[0].repo_url, DB_LOCK_SHARE, &repo);
    if (err < 0)
        return err;
    rights_target target = {.caller_is_owner = repo.caller_is_owner};
    if (rights_access_parse(repo.public_access, &target.public_access) < 0)
        target.public_access = RIGHTS_ACCESS_NONE;
    bool allowed = repo.found && rights_check(caller, &target, RIGHTS_EDIT) == 0;
    db_content_row *rows = calloc(n, sizeof *rows);
    const char **exprs = calloc(n, sizeof *exprs);
    if (rows == NULL || exprs == NULL)
        abort();
    size_t n_exprs = 0;
    for (int kind = DB_STALE_CONCEPT; kind <= DB_STALE_MAPPING && allowed && err == 0; kind++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if ((int)items[i].kind == kind)
                rows[k++] = (db_content_row){.id = items[i].id, .retired = true};
        err = db_content_update(conn, kind == DB_STALE_CONCEPT ? DB_CONCEPTS : DB_MAPPINGS,
                                caller->username, rows, k);
    }
    for (size_t i = 0; i < n; i++)
        if (items[i].kind == DB_STALE_REFERENCE)
            exprs[n_exprs++] = items[i].url;
    size_t removed = 0;
    if (allowed && err == 0 && n_exprs > 0)
        err = db_refs_remove(conn, repo.id, exprs, n_exprs, prune_removed, &removed);
    for (size_t i = 0; i < n && err == 0; i++) {
        const db_stale_item *it = &items[i];
        cJSON *m = cJSON_CreateObject();
        if (!allowed) {
            cJSON_AddStringToObject(m, "error", "the feed's owner may no longer change this "
                                                "repository");
        } else if (it->kind == DB_STALE_REFERENCE) {
            cJSON_AddStringToObject(m, "collection", it->repo_url);
            cJSON_AddItemToArray(cJSON_AddArrayToObject(m, "removed"),
                                 cJSON_CreateString(it->url));
        } else {
            cJSON_AddStringToObject(m, "url", it->url);
            cJSON_AddBoolToObject(m, "retired", true);
        }
        cJSON_AddStringToObject(m, "reason", "not in the feed's file");
        if ((messages[i] = cJSON_PrintUnformatted(m)) == NULL)
            abort();
        cJSON_Delete(m);
        results[i] = (db_result){.root = it->repo_url,
                                 .action = "DELETE",
                                 .status = allowed ? 204 : 403,
                                 .obj_type = prune_types[it->kind],
                                 .obj_url = it->url,
                                 .repo_url = it->repo_url,
                                 .message = messages[i],
                                 .error_code = allowed ? NULL : error_code(BI_EPERM)};
    }
    free(exprs);
    free(rows);
    return err;
}

/* One prune batch: finds up to cap stale items after *cursor and prunes them. *out_n: how
 * many. */
static int prune_batch(db_conn *conn, const db_task *task, const db_user *caller, int64_t number,
                       db_stale_cursor *cursor, db_stale_item *items, size_t cap, int timeout_ms,
                       size_t *out_n, bool *out_cancel) {
    int err = db_tasks_batch_timeouts(conn, timeout_ms);
    if (err == 0)
        err = db_stale_find(conn, cursor, items, cap, out_n);
    size_t n = err == 0 ? *out_n : 0;
    if (n == 0)
        return err;
    db_result *results = calloc(n, sizeof *results);
    char **messages = calloc(n, sizeof *messages);
    if (results == NULL || messages == NULL)
        abort();
    for (size_t start = 0, end; start < n && err == 0; start = end) {
        for (end = start + 1; end < n && items[end].repo_id == items[start].repo_id; end++)
            continue;
        err = prune_repo(conn, caller, items + start, end - start, results + start,
                         messages + start);
    }
    if (err == 0)
        err = db_tasks_record_prune(conn, task->id, task->lease, number, results, n, out_cancel);
    db_stale_free(items, n);
    for (size_t i = 0; i < n; i++)
        free(messages[i]);
    free(messages);
    free(results);
    return err;
}

int prune_run(db_conn *conn, const db_task *task, const db_user *caller, int batch_size,
              int timeout_ms, int64_t *out_pruned, bool *out_cancel) {
    *out_cancel = false;
    *out_pruned = 0;
    int64_t done = 0;
    int err = db_tasks_prune_batches(conn, task->id, &done);
    if (err == 0 && (err = db_begin(conn)) == 0) { /* the task's results, read once */
        if ((err = db_tasks_batch_timeouts(conn, timeout_ms)) == 0 &&
            (err = db_stale_prepare(conn, task->id)) == 0)
            err = db_commit(conn);
        else
            db_rollback(conn);
    }
    /* Each batch is one transaction of writes and results: larger ones than the import's
     * keep the per-commit cost per item small. */
    size_t cap = (size_t)(batch_size > PRUNE_BATCH_MIN ? batch_size : PRUNE_BATCH_MIN);
    db_stale_item *items = calloc(cap, sizeof *items);
    if (items == NULL)
        abort();
    size_t n = cap;
    db_stale_cursor cursor = {0};
    while (err == 0 && n > 0 && !*out_cancel) {
        if ((err = db_begin(conn)) < 0)
            break;
        err = prune_batch(conn, task, caller, done + 1, &cursor, items, cap, timeout_ms, &n,
                          out_cancel);
        if (err == 0)
            err = db_commit(conn);
        else
            db_rollback(conn);
        if (err == 0)
            *out_pruned += (int64_t)n;
        done++;
    }
    free(items);
    if (err != BI_EUNAVAIL)
        db_stale_clear(conn);
    return err == BI_ECONFLICT ? BI_EBUSY : err;
}
