/* apply_refs.c — how a collection reference line is applied: the collection is looked up
 * (share-locked) and must be visible and editable, then the line's expressions are added —
 * resolved set-wise to their concepts and mappings, optionally cascading to the mappings of the
 * added concepts — or removed ("*": all). One result for the whole line, naming each expression;
 * parsing and dispatch are apply.c's. */
#include "apply_internal.h"

#include "error.h"
#include "refs.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct apply_refs_text {
    char expression[URLS_MAX];
    char target_url[URLS_MAX];
    const char *reason; /* why it cannot be added, before asking the store */
} apply_refs_text;

/* Reads expression text into t and row: canonical expression, target URL, version. */
static void apply_refs_parse(const char *text, apply_refs_text *t, db_ref_row *row) {
    memset(row, 0, sizeof *row);
    urls_ref ref;
    snprintf(t->expression, sizeof t->expression, "%s", text);
    t->reason = NULL;
    if (urls_parse(text, &ref) < 0 || (ref.kind != URLS_CONCEPT && ref.kind != URLS_MAPPING)) {
        t->reason = "not the URL of a concept or mapping";
        return;
    }
    urls_format(&ref, t->expression, sizeof t->expression);
    row->is_concept = ref.kind == URLS_CONCEPT;
    if (ref.version[0] != '\0') {
        char *end;
        long v = strtol(ref.version, &end, 10);
        if (*end != '\0' || v < 1 || v > INT32_MAX) {
            t->reason = "no such version";
            return;
        }
        row->target_version = (int)v;
        ref.version[0] = '\0';
    }
    urls_format(&ref, t->target_url, sizeof t->target_url);
    row->expression = t->expression;
    row->target_url = t->target_url;
}

static void apply_refs_collect(const char *url, void *ctx) {
    cJSON_AddItemToArray((cJSON *)ctx, cJSON_CreateString(url));
}

/* Adds the line's expressions to the collection; one result for the whole line. */
static int apply_refs_add(apply_ctx *ctx, size_t i, const db_repo *coll) {
    const rules_line *rl = &ctx->lines[i].rl;
    size_t n = (size_t)cJSON_GetArraySize(rl->expressions);
    apply_refs_text *texts = calloc(n, sizeof *texts);
    db_ref_row *rows = calloc(n, sizeof *rows);
    if (texts == NULL || rows == NULL)
        abort();
    size_t k = 0;
    for (const cJSON *e = rl->expressions->child; e != NULL; e = e->next, k++)
        apply_refs_parse(e->valuestring, &texts[k], &rows[k]);
    int err = db_refs_resolve(ctx->conn, ctx->caller->username, ctx->caller->is_root, rows, n);
    if (err == 0)
        err = db_refs_add(ctx->conn, ctx->caller->username, coll->id, rows, n);
    int64_t *concepts = calloc(n + 1, sizeof *concepts);
    size_t n_concepts = 0, n_added = 0;
    cJSON *summary = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(summary, "expressions");
    cJSON_AddStringToObject(summary, "collection", rl->parent_url);
    for (k = 0; k < n && err == 0; k++) {
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "expression", texts[k].expression);
        cJSON_AddBoolToObject(item, "added", rows[k].found);
        if (rows[k].found && !rows[k].inserted)
            cJSON_AddStringToObject(item, "note", "already in the collection");
        else if (!rows[k].found)
            cJSON_AddStringToObject(item, "reason", texts[k].reason ? texts[k].reason
                                                                    : "not found");
        cJSON_AddItemToArray(list, item);
        n_added += rows[k].found;
        if (rows[k].found && rows[k].is_concept)
            concepts[n_concepts++] = rows[k].target_id;
    }
    if (err == 0 && rl->cascade_mappings)
        err = db_refs_cascade_mappings(ctx->conn, ctx->caller->username, coll->id, concepts,
                                       n_concepts, apply_refs_collect,
                                       cJSON_AddArrayToObject(summary, "cascaded_mappings"));
    apply_result *r = &ctx->results[i];
    r->action = "NEW";
    if (err < 0) {
        cJSON_Delete(summary);
    } else if (n_added == 0) {
        free(r->message);
        r->message = cJSON_PrintUnformatted(summary);
        cJSON_Delete(summary);
        r->status = 400;
        r->error = BI_EUNRESOLVED;
    } else {
        apply_succeed(r, n_added == n ? 200 : 207, summary);
    }
    free(concepts);
    free(rows);
    free(texts);
    return err;
}

/* Removes the line's expressions (all with "*") from the collection. */
static int apply_refs_remove(apply_ctx *ctx, size_t i, const db_repo *coll) {
    const rules_line *rl = &ctx->lines[i].rl;
    size_t n = (size_t)cJSON_GetArraySize(rl->expressions);
    apply_refs_text *texts = calloc(n, sizeof *texts);
    const char **exprs = calloc(n, sizeof *exprs);
    if (texts == NULL || exprs == NULL)
        abort();
    bool all = false;
    size_t k = 0;
    for (const cJSON *e = rl->expressions->child; e != NULL; e = e->next, k++) {
        db_ref_row row;
        all |= strcmp(e->valuestring, "*") == 0;
        apply_refs_parse(e->valuestring, &texts[k], &row);
        exprs[k] = texts[k].expression;
    }
    cJSON *summary = cJSON_CreateObject();
    cJSON_AddStringToObject(summary, "collection", rl->parent_url);
    int err = db_refs_remove(ctx->conn, coll->id, all ? NULL : exprs, n, apply_refs_collect,
                             cJSON_AddArrayToObject(summary, "removed"));
    ctx->results[i].action = "DELETE";
    if (err == 0)
        apply_succeed(&ctx->results[i], 204, summary);
    else
        cJSON_Delete(summary);
    free(exprs);
    free(texts);
    return err;
}

int apply_refs_reference(apply_ctx *ctx, size_t i) {
    enum rules_action action = ctx->lines[i].rl.action;
    if (action == RULES_SKIP) {
        apply_decide(ctx, i, false);
        return 0;
    }
    bool removing = action == RULES_DELETE || action == RULES_DELETE_IF_EXISTS;
    const char *name = removing ? "DELETE" : "NEW";
    ctx->results[i].action = name;
    db_repo coll;
    bool found;
    int err = apply_parent_repo(ctx, i, name, DB_LOCK_SHARE, &coll, &found);
    if (err < 0 || !found)
        return err;
    if (!apply_allowed(ctx, i, coll.caller_is_owner, coll.public_access, RIGHTS_EDIT,
                       ctx->lines[i].rl.parent_url))
        return 0;
    return removing ? apply_refs_remove(ctx, i, &coll) : apply_refs_add(ctx, i, &coll);
}
