#include "apply.h"

#include "content.h"
#include "drf.h"
#include "error.h"
#include "jsontext.h"
#include "owners.h"
#include "refs.h"
#include "repos.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a line does to its object once the directive met the store. */
#define APPLY_JSON_DEPTH 1000 /* the scan's recursion bound; rules.h refuses beyond its own depth */

enum apply_op { APPLY_OP_NONE, APPLY_OP_CREATE, APPLY_OP_UPDATE, APPLY_OP_DELETE };

typedef struct apply_line {
    cJSON *json;
    rules_line rl;
    bool pending; /* checked, not yet applied */
    const char *data; /* the line without its "__" directives, as JSON text */
    size_t data_len;
    char *data_owned;
    bool wrote;  /* concepts and mappings: it created or updated its object */
    int version; /* the object's version after this line */
} apply_line;

typedef struct apply_ctx {
    db_conn *conn;
    const db_user *caller;
    const apply_options *opt;
    apply_line *lines;
    apply_result *results;
} apply_ctx;

/* ---- results ---------------------------------------------------------------------------- */

/* Replaces the URL *field with a copy of value (NULL: ""). */
static void apply_set(char **field, const char *value) {
    char *copy = strdup(value != NULL ? value : "");
    if (copy == NULL)
        abort();
    free(*field);
    *field = copy;
}

static char *apply_vformat(const char *fmt, va_list ap) {
    va_list copy;
    va_copy(copy, ap);
    int len = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    char *text = malloc((size_t)len + 1);
    if (text == NULL)
        abort();
    vsnprintf(text, (size_t)len + 1, fmt, ap);
    return text;
}

/* Ends line r with action, status and error, the message printf-style. */
static void apply_fail(apply_result *r, const char *action, int status, int error,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void apply_fail(apply_result *r, const char *action, int status, int error,
                       const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    free(r->message);
    r->message = apply_vformat(fmt, ap);
    va_end(ap);
    r->action = action;
    r->status = status;
    r->error = error;
}

/* Ends line r with success: message is a summary (taken, cJSON_Delete'd here). */
static void apply_succeed(apply_result *r, int status, cJSON *summary) {
    free(r->message);
    r->message = cJSON_PrintUnformatted(summary);
    cJSON_Delete(summary);
    r->status = status;
    r->error = 0;
}

/* The summary of an object a line wrote: {"type", "url", "version"[, "unchanged"]}. */
static cJSON *apply_summary(const apply_result *r, const char *url, int version, bool unchanged) {
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "type", rules_type_name(r->type));
    cJSON_AddStringToObject(s, "url", url);
    if (version > 0)
        cJSON_AddNumberToObject(s, "version", version);
    if (unchanged)
        cJSON_AddBoolToObject(s, "unchanged", true);
    return s;
}

/* Decides what line i does now that we know whether its object exists; when that is nothing,
 * ends the line's result. Sets the result's action either way. */
static enum apply_op apply_decide(apply_ctx *ctx, size_t i, bool exists) {
    apply_result *r = &ctx->results[i];
    switch (ctx->lines[i].rl.action) {
    case RULES_CREATE_OR_UPDATE:
        if (!exists) {
            r->action = "NEW";
            return APPLY_OP_CREATE;
        }
        if (!ctx->opt->update_if_exists) {
            apply_fail(r, "SKIP", APPLY_STATUS_SKIP, 0, "INFO: Object already exists at: %s",
                       r->obj_url);
            return APPLY_OP_NONE;
        }
        r->action = "UPDATE";
        return APPLY_OP_UPDATE;
    case RULES_NEW:
        r->action = "NEW";
        if (!exists)
            return APPLY_OP_CREATE;
        apply_fail(r, "NEW", 409, BI_ECONFLICT, "Object already exists at: %s", r->obj_url);
        return APPLY_OP_NONE;
    case RULES_UPDATE:
    case RULES_DELETE:
        r->action = ctx->lines[i].rl.action == RULES_UPDATE ? "UPDATE" : "DELETE";
        if (exists)
            return ctx->lines[i].rl.action == RULES_UPDATE ? APPLY_OP_UPDATE : APPLY_OP_DELETE;
        apply_fail(r, r->action, 404, BI_ENOTFOUND, "Object does not exist at: %s", r->obj_url);
        return APPLY_OP_NONE;
    case RULES_DELETE_IF_EXISTS:
        r->action = "DELETE";
        if (exists)
            return APPLY_OP_DELETE;
        apply_fail(r, "SKIP", APPLY_STATUS_SKIP, 0, "INFO: Object does not exist at: %s",
                   r->obj_url);
        return APPLY_OP_NONE;
    case RULES_SKIP:
    default:
        apply_fail(r, "SKIP", APPLY_STATUS_SKIP, 0, "SKIP: the line asks to be skipped");
        return APPLY_OP_NONE;
    }
}

/* Checks op on target for line i's caller; on refusal ends the line (403, or 404 when the
 * caller may not even see target) and returns false. */
static bool apply_allowed(apply_ctx *ctx, size_t i, bool caller_is_owner, const char *access,
                          enum rights_op op, const char *target_url) {
    rights_target target = {.caller_is_owner = caller_is_owner};
    if (rights_access_parse(access, &target.public_access) < 0)
        target.public_access = RIGHTS_ACCESS_NONE;
    int rc = rights_check(ctx->caller, &target, op);
    apply_result *r = &ctx->results[i];
    if (rc == BI_EPERM)
        apply_fail(r, r->action, 403, BI_EPERM, "%s may not change %s", ctx->caller->username,
                   target_url);
    else if (rc == BI_ENOTFOUND)
        apply_fail(r, r->action, 404, BI_ENOTFOUND, "Object does not exist at: %s", target_url);
    return rc == 0;
}

/* Ends line i after a single-row write: err from the db call, version and changed as returned
 * by an update. Returns err when it is a database failure, else 0. */
static int apply_written(apply_ctx *ctx, size_t i, enum apply_op op, int err, int version,
                         bool changed) {
    apply_result *r = &ctx->results[i];
    if (err == BI_ECONFLICT) {
        apply_fail(r, r->action, 409, BI_ECONFLICT, "Object already exists at: %s", r->obj_url);
        return 0;
    }
    if (err < 0)
        return err;
    if (op == APPLY_OP_DELETE) {
        cJSON *s = apply_summary(r, r->obj_url, 0, false);
        cJSON_AddBoolToObject(s, "deleted", true);
        apply_succeed(r, 204, s);
    } else {
        apply_succeed(r, op == APPLY_OP_CREATE ? 201 : 200,
                      apply_summary(r, r->obj_url, op == APPLY_OP_CREATE ? 1 : version, !changed));
    }
    return 0;
}

/* ---- one line at a time: organizations, users, repositories, versions -------------------- */

static const char *apply_access(const rules_line *rl, const char *stored) {
    return rl->has_public_access ? rights_access_name(rl->public_access) : stored;
}

static int apply_organization(apply_ctx *ctx, size_t i) {
    apply_line *l = &ctx->lines[i];
    const char *caller = ctx->caller->username;
    db_owner org;
    int err = db_owners_lookup(ctx->conn, caller, true, l->rl.ref.owner, &org);
    if (err < 0)
        return err;
    enum apply_op op = apply_decide(ctx, i, org.found);
    if (op == APPLY_OP_NONE)
        return 0;
    /* Anyone may create an organization; changing one takes membership. */
    if (op != APPLY_OP_CREATE && !apply_allowed(ctx, i, org.caller_is_owner, org.public_access,
                                                RIGHTS_ADMIN, l->rl.url))
        return 0;
    int version = 0;
    bool changed = true;
    if (op == APPLY_OP_CREATE)
        err = db_orgs_create(ctx->conn, caller, l->rl.ref.owner, l->rl.url,
                             apply_access(&l->rl, "View"), l->data);
    else if (op == APPLY_OP_UPDATE)
        err = db_orgs_update(ctx->conn, caller, org.org_id, apply_access(&l->rl, org.public_access),
                             l->data, &version, &changed);
    else
        err = db_orgs_delete(ctx->conn, org.org_id);
    return apply_written(ctx, i, op, err, version, changed);
}

static int apply_user(apply_ctx *ctx, size_t i) {
    apply_line *l = &ctx->lines[i];
    const char *caller = ctx->caller->username;
    db_owner user;
    int err = db_owners_lookup(ctx->conn, caller, false, l->rl.ref.owner, &user);
    if (err < 0)
        return err;
    enum apply_op op = apply_decide(ctx, i, user.found);
    if (op == APPLY_OP_NONE)
        return 0;
    apply_result *r = &ctx->results[i];
    if (!ctx->caller->is_root) {
        apply_fail(r, r->action, 403, BI_EPERM, "only root may create or change users");
        return 0;
    }
    if (op == APPLY_OP_DELETE && user.is_root) {
        apply_fail(r, r->action, 403, BI_EPERM, "a root user cannot be deleted by an import");
        return 0;
    }
    int version = 0;
    bool changed = true;
    if (op == APPLY_OP_CREATE)
        err = db_users_import_create(ctx->conn, caller, l->rl.ref.owner, l->data);
    else if (op == APPLY_OP_UPDATE)
        err = db_users_import_update(ctx->conn, caller, l->rl.ref.owner, l->data, &version,
                                     &changed);
    else
        err = db_users_import_delete(ctx->conn, l->rl.ref.owner);
    return apply_written(ctx, i, op, err, version, changed);
}

static int apply_repository(apply_ctx *ctx, size_t i) {
    apply_line *l = &ctx->lines[i];
    apply_result *r = &ctx->results[i];
    const char *caller = ctx->caller->username;
    db_owner owner;
    int err = db_owners_lookup(ctx->conn, caller, l->rl.ref.owner_type == URLS_ORG,
                               l->rl.ref.owner, &owner);
    if (err < 0)
        return err;
    rights_target visible = {.caller_is_owner = owner.caller_is_owner};
    rights_access_parse(owner.public_access, &visible.public_access);
    if (!owner.found || rights_check(ctx->caller, &visible, RIGHTS_READ) < 0) {
        apply_fail(r, "SKIP", 404, BI_ENOTFOUND, "Owner does not exist at: %s", r->owner_url);
        return 0;
    }
    db_repo repo;
    if ((err = db_repos_lookup(ctx->conn, caller, l->rl.url, DB_LOCK_NONE, &repo)) < 0)
        return err;
    enum apply_op op = apply_decide(ctx, i, repo.found);
    if (op == APPLY_OP_NONE ||
        !apply_allowed(ctx, i, owner.caller_is_owner, "View", RIGHTS_ADMIN, r->owner_url))
        return 0;
    int version = 0;
    bool changed = true;
    if (op == APPLY_OP_CREATE)
        err = db_repos_create(ctx->conn, caller, l->rl.type == RULES_COLLECTION, owner.org_id,
                              l->rl.ref.owner, l->rl.ref.repo, l->rl.url,
                              apply_access(&l->rl, "View"), l->data);
    else if (op == APPLY_OP_UPDATE)
        err = db_repos_update(ctx->conn, caller, repo.id, apply_access(&l->rl, repo.public_access),
                              l->data, &version, &changed);
    else
        err = db_repos_delete(ctx->conn, repo.id);
    return apply_written(ctx, i, op, err, version, changed);
}

/* Looks up line i's repository (its parent) with lock; when it is missing or hidden from the
 * caller ends the line with action and 404 and sets *out_found false. */
static int apply_parent_repo(apply_ctx *ctx, size_t i, const char *action, enum db_lock lock,
                             db_repo *out, bool *out_found) {
    const rules_line *rl = &ctx->lines[i].rl;
    int err = db_repos_lookup(ctx->conn, ctx->caller->username, rl->parent_url, lock, out);
    if (err < 0)
        return err;
    rights_target visible = {.caller_is_owner = out->caller_is_owner};
    rights_access_parse(out->public_access, &visible.public_access);
    *out_found = out->found && rights_check(ctx->caller, &visible, RIGHTS_READ) == 0;
    if (!*out_found)
        apply_fail(&ctx->results[i], action, 404, BI_ENOTFOUND,
                   "Repository does not exist at: %s", rl->parent_url);
    return 0;
}

static int apply_repo_version(apply_ctx *ctx, size_t i) {
    apply_line *l = &ctx->lines[i];
    const char *caller = ctx->caller->username;
    db_repo repo;
    bool found;
    /* FOR UPDATE: the version's seq must follow every committed change of the content. */
    int err = apply_parent_repo(ctx, i, "SKIP", DB_LOCK_UPDATE, &repo, &found);
    if (err < 0 || !found)
        return err;
    bool exists = false;
    int version = 0;
    if ((err = db_repo_versions_lookup(ctx->conn, repo.id, l->rl.ref.repo_version, &exists,
                                       &version)) < 0)
        return err;
    enum apply_op op = apply_decide(ctx, i, exists);
    if (op == APPLY_OP_NONE || !apply_allowed(ctx, i, repo.caller_is_owner, repo.public_access,
                                              RIGHTS_ADMIN, l->rl.parent_url))
        return 0;
    bool changed = true;
    if (op == APPLY_OP_CREATE)
        err = db_repo_versions_create(ctx->conn, caller, repo.id, l->rl.ref.repo_version,
                                      l->rl.url, l->data);
    else if (op == APPLY_OP_UPDATE)
        err = db_repo_versions_update(ctx->conn, caller, repo.id, l->rl.ref.repo_version, l->data,
                                      &version, &changed);
    else
        err = db_repo_versions_delete(ctx->conn, repo.id, l->rl.ref.repo_version);
    return apply_written(ctx, i, op, err, version, changed);
}

/* ---- references ------------------------------------------------------------------------- */

typedef struct apply_ref_text {
    char expression[URLS_MAX];
    char target_url[URLS_MAX];
    const char *reason; /* why it cannot be added, before asking the store */
} apply_ref_text;

/* Reads expression text into t and row: canonical expression, target URL, version. */
static void apply_ref_parse(const char *text, apply_ref_text *t, db_ref_row *row) {
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

static void apply_ref_collect(const char *url, void *ctx) {
    cJSON_AddItemToArray((cJSON *)ctx, cJSON_CreateString(url));
}

/* Adds the line's expressions to the collection; one result for the whole line. */
static int apply_ref_add(apply_ctx *ctx, size_t i, const db_repo *coll) {
    const rules_line *rl = &ctx->lines[i].rl;
    size_t n = (size_t)cJSON_GetArraySize(rl->expressions);
    apply_ref_text *texts = calloc(n, sizeof *texts);
    db_ref_row *rows = calloc(n, sizeof *rows);
    if (texts == NULL || rows == NULL)
        abort();
    size_t k = 0;
    for (const cJSON *e = rl->expressions->child; e != NULL; e = e->next, k++)
        apply_ref_parse(e->valuestring, &texts[k], &rows[k]);
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
                                       n_concepts, apply_ref_collect,
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
static int apply_ref_remove(apply_ctx *ctx, size_t i, const db_repo *coll) {
    const rules_line *rl = &ctx->lines[i].rl;
    size_t n = (size_t)cJSON_GetArraySize(rl->expressions);
    apply_ref_text *texts = calloc(n, sizeof *texts);
    const char **exprs = calloc(n, sizeof *exprs);
    if (texts == NULL || exprs == NULL)
        abort();
    bool all = false;
    size_t k = 0;
    for (const cJSON *e = rl->expressions->child; e != NULL; e = e->next, k++) {
        db_ref_row row;
        all |= strcmp(e->valuestring, "*") == 0;
        apply_ref_parse(e->valuestring, &texts[k], &row);
        exprs[k] = texts[k].expression;
    }
    cJSON *summary = cJSON_CreateObject();
    cJSON_AddStringToObject(summary, "collection", rl->parent_url);
    int err = db_refs_remove(ctx->conn, coll->id, all ? NULL : exprs, n, apply_ref_collect,
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

static int apply_reference(apply_ctx *ctx, size_t i) {
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
    return removing ? apply_ref_remove(ctx, i, &coll) : apply_ref_add(ctx, i, &coll);
}

/* ---- concepts and mappings, a run at a time ---------------------------------------------- */

#define APPLY_REPO_CACHE 16

typedef struct apply_repo_cache {
    size_t n;
    const char *urls[APPLY_REPO_CACHE];
    db_repo repos[APPLY_REPO_CACHE];
    bool visible[APPLY_REPO_CACHE];
} apply_repo_cache;

/* Resolves line i's repository through cache (a run rarely touches more than one). Returns 0
 * and the entry in *out, or NULL when the line ended with 404; or a database error. */
static int apply_cached_repo(apply_ctx *ctx, apply_repo_cache *cache, size_t i,
                             const db_repo **out) {
    const char *url = ctx->lines[i].rl.parent_url;
    *out = NULL;
    size_t k = 0;
    while (k < cache->n && strcmp(cache->urls[k], url) != 0)
        k++;
    if (k == cache->n) {
        db_repo repo;
        bool visible;
        int err = apply_parent_repo(ctx, i, "SKIP", DB_LOCK_SHARE, &repo, &visible);
        if (err < 0)
            return err;
        if (cache->n == APPLY_REPO_CACHE) { /* full: answer without caching */
            *out = NULL;
            return visible ? BI_EBUSY : 0;
        }
        cache->urls[k] = url;
        cache->repos[k] = repo;
        cache->visible[k] = visible;
        cache->n++;
    } else if (!cache->visible[k]) {
        apply_fail(&ctx->results[i], "SKIP", 404, BI_ENOTFOUND,
                   "Repository does not exist at: %s", url);
    }
    *out = cache->visible[k] ? &cache->repos[k] : NULL;
    return 0;
}

static const char *apply_or_null(const char *text) { return text[0] != '\0' ? text : NULL; }

/* Applies lines idx[0..n_idx): pending, all of one type (concept or mapping), with distinct
 * identities, so they go to the database as sets. Lines it could not take this time (more
 * repositories than the cache holds) stay pending. */
static int apply_content_set(apply_ctx *ctx, const size_t *idx, size_t n_idx) {
    enum db_content_kind kind =
        ctx->lines[idx[0]].rl.type == RULES_CONCEPT ? DB_CONCEPTS : DB_MAPPINGS;
    size_t cap = n_idx;
    db_content_row *rows = calloc(cap, sizeof *rows);
    db_content_row *writes[2] = {calloc(cap, sizeof *rows), calloc(cap, sizeof *rows)};
    size_t *line_of = calloc(cap, sizeof *line_of), *write_row[2] = {
        calloc(cap, sizeof(size_t)), calloc(cap, sizeof(size_t))};
    enum apply_op *ops = calloc(cap, sizeof *ops);
    if (!rows || !writes[0] || !writes[1] || !line_of || !write_row[0] || !write_row[1] || !ops)
        abort();
    apply_repo_cache cache = {0};
    const db_repo *repo;
    size_t n = 0, n_writes[2] = {0, 0};
    int err = 0;
    /* Lines whose repository exists and is visible become rows to look up. */
    size_t taken = 0;
    for (; taken < n_idx && err == 0; taken++) {
        size_t i = idx[taken];
        const rules_line *rl = &ctx->lines[i].rl;
        err = apply_cached_repo(ctx, &cache, i, &repo);
        if (err == BI_EBUSY) { /* more repositories than the cache holds: the rest waits */
            err = 0;
            break;
        }
        if (err < 0 || repo == NULL)
            continue;
        db_content_row *row = &rows[n];
        line_of[n++] = i;
        row->repo_id = repo->id;
        row->mnemonic = apply_or_null(rl->ref.id);
        row->url = apply_or_null(rl->url);
        row->repo_url = rl->parent_url;
        if (kind == DB_MAPPINGS) {
            row->map_type = rl->map_type;
            row->from_concept_url = rl->from_concept_url;
            row->to_concept_url = apply_or_null(rl->to_concept_url);
            row->to_source_url = apply_or_null(rl->to_source_url);
            row->to_concept_code = apply_or_null(rl->to_concept_code);
        }
        row->data = ctx->lines[i].data;
        row->data_len = ctx->lines[i].data_len;
        row->retired = rl->has_retired && rl->retired;
    }
    if (err == 0)
        err = db_content_lookup(ctx->conn, kind, rows, n);
    /* Decide each line, check rights, and sort the writes into inserts and updates. */
    for (size_t k = 0; k < n && err == 0; k++) {
        size_t i = line_of[k];
        apply_result *r = &ctx->results[i];
        if (rows[k].found)
            apply_set(&r->obj_url, rows[k].out_url);
        ops[k] = apply_decide(ctx, i, rows[k].found);
        repo = NULL;
        for (size_t c = 0; c < cache.n; c++)
            if (cache.repos[c].id == rows[k].repo_id)
                repo = &cache.repos[c];
        if (ops[k] == APPLY_OP_NONE || !apply_allowed(ctx, i, repo->caller_is_owner,
                                                      repo->public_access, RIGHTS_EDIT,
                                                      ctx->lines[i].rl.parent_url)) {
            ops[k] = APPLY_OP_NONE;
            continue;
        }
        int w = ops[k] == APPLY_OP_CREATE ? 0 : 1;
        db_content_row *row = &writes[w][n_writes[w]];
        *row = rows[k];
        if (ops[k] == APPLY_OP_DELETE) {
            row->data = NULL;
            row->retired = true;
        }
        write_row[w][n_writes[w]++] = k;
    }
    if (err == 0)
        err = db_content_insert(ctx->conn, kind, ctx->caller->username, writes[0], n_writes[0]);
    if (err == 0)
        err = db_content_update(ctx->conn, kind, ctx->caller->username, writes[1], n_writes[1]);
    for (int w = 0; w < 2 && err == 0; w++) {
        for (size_t j = 0; j < n_writes[w]; j++) {
            const db_content_row *row = &writes[w][j];
            size_t k = write_row[w][j];
            apply_result *r = &ctx->results[line_of[k]];
            if (ops[k] == APPLY_OP_CREATE && !row->found) {
                apply_fail(r, "NEW", 409, BI_ECONFLICT,
                           "Object already exists at: %s (created concurrently)", r->obj_url);
            } else if (ops[k] == APPLY_OP_CREATE) {
                apply_set(&r->obj_url, row->out_url);
                apply_succeed(r, 201, apply_summary(r, r->obj_url, 1, false));
            } else if (ops[k] == APPLY_OP_DELETE) {
                cJSON *s = apply_summary(r, r->obj_url, row->version, !row->changed);
                cJSON_AddBoolToObject(s, "retired", true);
                apply_succeed(r, 204, s);
            } else {
                apply_succeed(r, 200, apply_summary(r, r->obj_url, row->version, !row->changed));
            }
        }
    }
    for (size_t k = 0; k < n && err == 0; k++) { /* what a later line of the key builds on */
        apply_line *l = &ctx->lines[line_of[k]];
        l->wrote = ctx->results[line_of[k]].status > 0 && ctx->results[line_of[k]].status < 400;
        l->version = rows[k].version;
        for (int w = 0; w < 2; w++)
            for (size_t j = 0; j < n_writes[w]; j++)
                if (write_row[w][j] == k)
                    l->version = writes[w][j].version;
    }
    for (size_t k = 0; k < taken; k++)
        ctx->lines[idx[k]].pending = false;
    free(ops);
    free(write_row[0]);
    free(write_row[1]);
    free(line_of);
    free(writes[0]);
    free(writes[1]);
    free(rows);
    return err;
}

/* ---- the batch --------------------------------------------------------------------------- */

/* A 64-bit FNV-1a hash of a line's identity: lines with one hash go to different rounds (a
 * collision only costs a round). */
static uint64_t apply_identity_hash(const rules_line *rl) {
    const char *parts[] = {rl->parent_url,    rl->url,           rl->map_type,
                           rl->from_concept_url, rl->to_concept_url, rl->to_source_url,
                           rl->to_concept_code};
    size_t n_parts = rl->url[0] != '\0' ? 2 : sizeof parts / sizeof parts[0];
    uint64_t h = 1469598103934665603u;
    for (size_t p = 0; p < n_parts; p++) {
        for (const char *c = parts[p]; *c != '\0'; c++)
            h = (h ^ (unsigned char)*c) * 1099511628211u;
        h = (h ^ 0x1f) * 1099511628211u;
    }
    return h;
}

/* True when lines a and b name the same concept or mapping. */
static bool apply_same_identity(const rules_line *a, const rules_line *b) {
    if (a->url[0] != '\0' || b->url[0] != '\0')
        return strcmp(a->url, b->url) == 0;
    return strcmp(a->parent_url, b->parent_url) == 0 && strcmp(a->map_type, b->map_type) == 0 &&
           strcmp(a->from_concept_url, b->from_concept_url) == 0 &&
           strcmp(a->to_concept_url, b->to_concept_url) == 0 &&
           strcmp(a->to_source_url, b->to_source_url) == 0 &&
           strcmp(a->to_concept_code, b->to_concept_code) == 0;
}

/* Line i repeats line prev (same identity, applied earlier in this batch): when prev wrote
 * this very content, line i would change nothing, so it ends as an unchanged UPDATE without a
 * round trip. Returns true when it did. */
static bool apply_repeat_unchanged(apply_ctx *ctx, size_t i, size_t prev) {
    const apply_line *l = &ctx->lines[i], *p = &ctx->lines[prev];
    bool writes_content = l->rl.action == RULES_CREATE_OR_UPDATE || l->rl.action == RULES_UPDATE;
    if (!p->wrote || !writes_content || !ctx->opt->update_if_exists ||
        (p->rl.action != RULES_CREATE_OR_UPDATE && p->rl.action != RULES_NEW &&
         p->rl.action != RULES_UPDATE) ||
        !apply_same_identity(&l->rl, &p->rl) || l->data_len != p->data_len ||
        memcmp(l->data, p->data, l->data_len) != 0)
        return false;
    apply_result *r = &ctx->results[i];
    apply_set(&r->obj_url, ctx->results[prev].obj_url);
    r->action = "UPDATE";
    apply_succeed(r, 200, apply_summary(r, r->obj_url, p->version, true));
    ctx->lines[i].wrote = true;
    ctx->lines[i].version = p->version;
    ctx->lines[i].pending = false;
    return true;
}

/* Applies the run of consecutive concept or mapping lines that starts at from (lines of other
 * types end it; ended lines are stepped over) and returns its end. A key repeated in the run
 * keeps file order: round r applies each key's r-th line, as one set; a repeat of content just
 * written costs nothing. */
static int apply_content_run(apply_ctx *ctx, size_t from, size_t n, size_t *out_end) {
    enum rules_type type = ctx->lines[from].rl.type;
    size_t end = from;
    while (end < n && (!ctx->lines[end].pending || ctx->lines[end].rl.type == type))
        end++;
    *out_end = end;
    size_t span = end - from, cap = 1;
    while (cap < 2 * span)
        cap *= 2;
    /* Per key (by hash): its last line so far. Each line learns its previous one and round. */
    uint64_t *hashes = calloc(cap, sizeof *hashes);
    size_t *last = calloc(cap, sizeof *last), *prev = calloc(span, sizeof *prev);
    int *round = calloc(span, sizeof *round), *last_round = calloc(cap, sizeof *last_round);
    size_t *idx = calloc(span, sizeof *idx);
    if (!hashes || !last || !prev || !round || !last_round || !idx)
        abort();
    int rounds = 0;
    for (size_t i = from; i < end; i++) {
        if (!ctx->lines[i].pending)
            continue;
        uint64_t h = apply_identity_hash(&ctx->lines[i].rl) | 1;
        size_t slot = h & (cap - 1);
        while (hashes[slot] != 0 && hashes[slot] != h)
            slot = (slot + 1) & (cap - 1);
        prev[i - from] = hashes[slot] == h ? last[slot] : SIZE_MAX;
        round[i - from] = hashes[slot] == h ? last_round[slot] + 1 : 1;
        hashes[slot] = h;
        last[slot] = i;
        last_round[slot] = round[i - from];
        rounds = round[i - from] > rounds ? round[i - from] : rounds;
    }
    int err = 0;
    for (int r = 1; r <= rounds && err == 0; r++) {
        for (;;) { /* again while lines of this round wait for a repository cache slot */
            size_t n_idx = 0;
            for (size_t i = from; i < end; i++)
                if (ctx->lines[i].pending && round[i - from] == r &&
                    (prev[i - from] == SIZE_MAX || !apply_repeat_unchanged(ctx, i, prev[i - from])))
                    idx[n_idx++] = i;
            if (n_idx == 0 || (err = apply_content_set(ctx, idx, n_idx)) < 0)
                break;
        }
    }
    free(idx);
    free(last_round);
    free(round);
    free(prev);
    free(last);
    free(hashes);
    return err;
}

/* Parses and checks line i; ends it when it cannot be applied, else prepares its data. */
static void apply_read_line(apply_ctx *ctx, size_t i, const char *text, size_t len) {
    apply_line *l = &ctx->lines[i];
    apply_result *r = &ctx->results[i];
    rules_error rerr;
    jsontext_error jerr;
    int rc = 0;
    /* First what jsonb would refuse (cJSON is lenient), so no such line reaches a statement. */
    if (jsontext_scan(text, len, APPLY_JSON_DEPTH, NULL, NULL, &jerr) != 0 ||
        (l->json = cJSON_ParseWithLength(text, len)) == NULL) {
        rc = BI_EJSON;
        l->rl.type = RULES_NO_TYPE;
        strcpy(l->rl.root, "/");
        snprintf(rerr.message, sizeof rerr.message, "%s",
                 l->json == NULL && jerr.why[0] ? jerr.why : "invalid JSON");
    } else if ((rc = drf_canonicalize(l->json, text, len, &l->data_owned, &l->data_len,
                                      &rerr)) == 0) {
        if (l->data_owned != NULL) { /* OCL's values, as its serializers would store them */
            text = l->data_owned;
            len = l->data_len;
        }
        rc = rules_check_line(l->json, &l->rl, &rerr);
    } else {
        rules_error unused;
        rules_check_line(l->json, &l->rl, &unused); /* the type and root its result groups by */
    }
    r->type = l->rl.type;
    apply_set(&r->obj_url, l->rl.url);
    apply_set(&r->root, l->rl.root);
    char owner_url[URLS_MAX] = "", repo_url[URLS_MAX] = "";
    if (l->rl.type != RULES_NO_TYPE && l->rl.type != RULES_ORGANIZATION &&
        l->rl.type != RULES_USER) {
        urls_format_owner(&l->rl.ref, owner_url, sizeof owner_url);
        if (l->rl.type != RULES_SOURCE && l->rl.type != RULES_COLLECTION)
            urls_format_repo(&l->rl.ref, repo_url, sizeof repo_url);
        else
            snprintf(repo_url, sizeof repo_url, "%s", l->rl.url);
    } else if (l->rl.type == RULES_ORGANIZATION) {
        snprintf(owner_url, sizeof owner_url, "%s", l->rl.url);
    }
    apply_set(&r->owner_url, owner_url);
    apply_set(&r->repo_url, repo_url);
    if (rc < 0) {
        apply_fail(r, "SKIP", 400, rc, "%s", rerr.message);
        return;
    }
    if (l->rl.action == RULES_SKIP) {
        apply_decide(ctx, i, false);
        return;
    }
    /* The stored JSON is the line without its directives; most lines have none and are
     * stored as sent, for PostgreSQL's parser. */
    bool has_directive = false;
    for (cJSON *f = l->json->child; f != NULL; f = f->next)
        has_directive |= strncmp(f->string, "__", 2) == 0;
    if (has_directive) {
        for (cJSON *f = l->json->child, *next; f != NULL; f = next) {
            next = f->next;
            if (strncmp(f->string, "__", 2) == 0)
                cJSON_DetachItemViaPointer(l->json, f), cJSON_Delete(f);
        }
        free(l->data_owned);
        l->data_owned = cJSON_PrintUnformatted(l->json);
        l->data = l->data_owned;
        l->data_len = strlen(l->data_owned);
    } else if (l->data_owned != NULL) { /* canonicalized: NUL-terminated already */
        l->data = l->data_owned;
    } else if (l->rl.type == RULES_CONCEPT || l->rl.type == RULES_MAPPING) {
        l->data = text; /* goes to an array literal with its length */
        l->data_len = len;
    } else { /* goes alone as a NUL-terminated parameter */
        l->data_owned = strndup(text, len);
        l->data = l->data_owned;
        l->data_len = len;
    }
    l->pending = true;
}

int apply_lines(db_conn *conn, const db_user *caller, const apply_options *opt,
                const char *const *lines, const size_t *lens, const int64_t *numbers, size_t n,
                apply_result *results) {
    apply_ctx ctx = {conn, caller, opt, calloc(n ? n : 1, sizeof(apply_line)), results};
    if (ctx.lines == NULL)
        abort();
    memset(results, 0, n * sizeof *results);
    for (size_t i = 0; i < n; i++) {
        results[i].line = numbers ? (int)numbers[i] : (int)i + 1;
        apply_read_line(&ctx, i, lines[i], lens[i]);
    }
    int err = 0;
    for (size_t i = 0; i < n && err == 0; i++) {
        if (!ctx.lines[i].pending)
            continue;
        switch (ctx.lines[i].rl.type) {
        case RULES_CONCEPT:
        case RULES_MAPPING: {
            size_t end;
            err = apply_content_run(&ctx, i, n, &end);
            i = end - 1;
            continue;
        }
        case RULES_ORGANIZATION:
            err = apply_organization(&ctx, i);
            break;
        case RULES_USER:
            err = apply_user(&ctx, i);
            break;
        case RULES_SOURCE:
        case RULES_COLLECTION:
            err = apply_repository(&ctx, i);
            break;
        case RULES_SOURCE_VERSION:
        case RULES_COLLECTION_VERSION:
            err = apply_repo_version(&ctx, i);
            break;
        case RULES_REFERENCE:
            err = apply_reference(&ctx, i);
            break;
        default:
            break;
        }
        ctx.lines[i].pending = false;
    }
    for (size_t i = 0; i < n; i++) {
        cJSON_Delete(ctx.lines[i].json);
        free(ctx.lines[i].data_owned);
    }
    free(ctx.lines);
    return err;
}

void apply_results_free(apply_result *results, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char **fields[] = {&results[i].message, &results[i].obj_url, &results[i].repo_url,
                           &results[i].owner_url, &results[i].root};
        for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
            free(*fields[f]);
            *fields[f] = NULL;
        }
    }
}
