/* apply_repos.c — how a source, a collection or one of their versions is applied: the owner (or
 * for a version the repository, locked) is looked up and must be visible, the directive
 * decided, admin rights checked, and the one row written. One line at a time; parsing and
 * dispatch are apply.c's. */
#include "apply_internal.h"

#include "error.h"
#include "repos.h"

int apply_repos_repository(apply_ctx *ctx, size_t i) {
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

int apply_repos_version(apply_ctx *ctx, size_t i) {
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
