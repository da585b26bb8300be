/* apply.c — the pipeline behind apply_lines: each line of a batch is parsed and checked
 * (rules.h), then the pending lines are handed in file order to their resource family through
 * one table of operations, apply_families below; a family's prefix names its file
 * (apply_owners_* is in apply_owners.c). Also here, because every family ends its lines with
 * them: the directive decision (apply_decide), the rights check (apply_allowed) and the result
 * helpers (apply_internal.h has their contracts). How a line of one type is applied is not
 * here: it is in its family's file. */
#include "apply.h"

#include "apply_internal.h"
#include "directives.h"
#include "drf.h"
#include "error.h"
#include "jsontext.h"
#include "repos.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define APPLY_JSON_DEPTH 1000 /* the scan's recursion bound; rules.h refuses beyond its own depth */

/* ---- results, rights and the directive decision (contracts in apply_internal.h) ----------- */

void apply_set(char **field, const char *value) {
    char *copy = strdup(value != NULL ? value : "");
    if (copy == NULL)
        abort();
    free(*field);
    *field = copy;
}

__attribute__((format(printf, 1, 0))) static char *apply_vformat(const char *fmt, va_list ap) {
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

void apply_fail(apply_result *r, const char *action, int status, int error, const char *fmt,
                ...) {
    va_list ap;
    va_start(ap, fmt);
    free(r->message);
    r->message = apply_vformat(fmt, ap);
    va_end(ap);
    r->action = action;
    r->status = status;
    r->error = error;
}

void apply_succeed(apply_result *r, int status, cJSON *summary) {
    free(r->message);
    r->message = cJSON_PrintUnformatted(summary);
    cJSON_Delete(summary);
    r->status = status;
    r->error = 0;
}

cJSON *apply_summary(const apply_result *r, const char *url, int version, bool unchanged) {
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "type", rules_type_name(r->type));
    cJSON_AddStringToObject(s, "url", url);
    if (version > 0)
        cJSON_AddNumberToObject(s, "version", version);
    if (unchanged)
        cJSON_AddBoolToObject(s, "unchanged", true);
    return s;
}

enum apply_op apply_decide(apply_ctx *ctx, size_t i, bool exists) {
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

bool apply_allowed(apply_ctx *ctx, size_t i, bool caller_is_owner, const char *access,
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

int apply_written(apply_ctx *ctx, size_t i, enum apply_op op, int err, int version,
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

/* ---- what the families share when they look up and write ------------------------------- */

const char *apply_access(const rules_line *rl, const char *stored) {
    return rl->has_public_access ? rights_access_name(rl->public_access) : stored;
}

int apply_parent_repo(apply_ctx *ctx, size_t i, const char *action, enum db_lock lock,
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

/* ---- the operations table --------------------------------------------------------------- */

/* How a resource family applies its lines: one line at a time (line), or a run of consecutive
 * lines of its type at once (run). At most one of the two is set; apply_internal.h gives the
 * contract of each. */
typedef struct apply_family {
    int (*line)(apply_ctx *ctx, size_t i);
    int (*run)(apply_ctx *ctx, size_t from, size_t n, size_t *out_end);
} apply_family;

static const apply_family apply_families[RULES_N_TYPES] = {
    [RULES_ORGANIZATION] = {.line = apply_owners_organization},
    [RULES_USER] = {.line = apply_owners_user},
    [RULES_SOURCE] = {.line = apply_repos_repository},
    [RULES_COLLECTION] = {.line = apply_repos_repository},
    [RULES_SOURCE_VERSION] = {.line = apply_repos_version},
    [RULES_COLLECTION_VERSION] = {.line = apply_repos_version},
    [RULES_CONCEPT] = {.run = apply_content_run},
    [RULES_MAPPING] = {.run = apply_content_run},
    [RULES_REFERENCE] = {.line = apply_refs_reference},
    [RULES_IMPORT] = {.line = apply_imports_line},
};

/* The family of type; for a type outside the table (no pending line has one), an entry with
 * neither operation, which leaves the line as it is. */
static const apply_family *apply_family_of(enum rules_type type) {
    static const apply_family none = {0};
    return type >= 0 && type < RULES_N_TYPES ? &apply_families[type] : &none;
}

/* ---- the batch --------------------------------------------------------------------------- */

/* Parses and checks line i; ends it when it cannot be applied, else prepares its data. */
static void apply_read_line(apply_ctx *ctx, size_t i, const char *text, size_t len) {
    apply_line *l = &ctx->lines[i];
    apply_result *r = &ctx->results[i];
    rules_error rerr;
    jsontext_error jerr = {0};
    int rc = 0;
    /* Field by field: the batch's lines are not zeroed whole (see rules_line_clear). */
    l->json = NULL;
    l->pending = l->wrote = false;
    l->data = l->data_owned = NULL;
    l->data_len = 0;
    l->version = 0;
    rules_line_clear(&l->rl);
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
        if (ctx->opt->action_field != NULL &&
            directives_deletes(ctx->opt->action_field, ctx->opt->delete_values, l->json))
            cJSON_AddStringToObject(l->json, "__action", "DELETE_IF_EXISTS");
        rc = rules_check_line(l->json, &l->rl, &rerr);
    } else {
        rules_error unused;
        rules_check_line(l->json, &l->rl, &unused); /* the type and root its result groups by */
    }
    const cJSON *row = l->json ? cJSON_GetObjectItemCaseSensitive(l->json, "__csv_row") : NULL;
    r->csv_row = cJSON_IsNumber(row) && row->valuedouble >= 1 ? (int64_t)row->valuedouble : 0;
    r->type = l->rl.type;
    apply_set(&r->obj_url, l->rl.url);
    apply_set(&r->root, l->rl.root);
    char owner_url[URLS_MAX], repo_url[URLS_MAX]; /* not "" initializers: they zero it all */
    owner_url[0] = repo_url[0] = '\0';
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
    apply_ctx ctx = {conn, caller, opt, malloc((n ? n : 1) * sizeof(apply_line)), results};
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
        const apply_family *family = apply_family_of(ctx.lines[i].rl.type);
        if (family->run != NULL) {
            size_t end;
            err = family->run(&ctx, i, n, &end);
            i = end - 1;
            continue;
        }
        if (family->line != NULL)
            err = family->line(&ctx, i);
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
