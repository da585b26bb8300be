/* apply_owners.c — how an organization or a user line is applied: the owner is looked up, the
 * directive decided, the caller's rights checked (anyone may create an organization, changing
 * one takes membership; only root creates or changes users, and no import deletes a root
 * user), and the one row written. One line at a time; parsing and dispatch are apply.c's. */
#include "apply_internal.h"

#include "error.h"
#include "owners.h"

int apply_owners_organization(apply_ctx *ctx, size_t i) {
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

int apply_owners_user(apply_ctx *ctx, size_t i) {
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
