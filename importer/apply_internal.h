/* apply_internal.h — what apply_lines (apply.c) shares with the resource families it hands
 * lines to; not part of importer/'s public face (that is apply.h), included only by apply*.c.
 *
 * apply.c parses and checks every line of a batch, then walks the pending lines in file order
 * and hands each to its family through one table of operations (apply_families in apply.c):
 *   organizations, users                   apply_owners.c   one line at a time
 *   sources, collections, their versions   apply_repos.c    one line at a time
 *   concepts, mappings                     apply_content.c  a run of lines, set-wise
 *   collection references                  apply_refs.c     one line at a time
 *   Import lines (child tasks)             apply_imports.c  one line at a time
 * A family looks its object up, lets apply_decide turn the directive into an operation, checks
 * the caller's rights with apply_allowed, writes through db/ and ends the line's result with
 * apply_written, apply_succeed or apply_fail. It does no parsing and no dispatch.
 *
 * Every function here returns 0 or, when the database failed, BI_EUNAVAIL / BI_EINTERNAL (the
 * batch is then abandoned); a line that cannot be applied is not an error, it ends with its
 * result. Allocation failure aborts.
 */
#ifndef BI_IMPORTER_APPLY_INTERNAL_H
#define BI_IMPORTER_APPLY_INTERNAL_H

#include "apply.h"
#include "repos.h"
#include "rules.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* What a line does to its object once the directive met the store. */
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

/* One apply_lines call: lines[i] and results[i] belong to the batch's line i. */
typedef struct apply_ctx {
    db_conn *conn;
    const db_user *caller;
    const apply_options *opt;
    apply_line *lines;
    apply_result *results;
} apply_ctx;

/* ---- results, rights and the directive decision (apply.c) --------------------------------- */

/* Replaces the string *field (a result's URL) with a malloc'd copy of value (NULL: ""), freeing
 * the old one. Borrows value. */
void apply_set(char **field, const char *value);

/* Ends result r as failed or skipped: action (static), status (HTTP, or APPLY_STATUS_SKIP),
 * error (BI_E*, or 0 for a skip) and a message formatted printf-style, replacing any earlier
 * one. */
void apply_fail(apply_result *r, const char *action, int status, int error, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Ends result r as a success with status; takes ownership of summary, which becomes the
 * message as compact JSON and is cJSON_Delete'd here. Leaves r->action as set. */
void apply_succeed(apply_result *r, int status, cJSON *summary);

/* Returns new memory (cJSON_Delete it, or hand it to apply_succeed): the summary of an object a
 * line wrote, {"type", "url"[, "version" when version > 0][, "unchanged" when unchanged]}.
 * Borrows r and url. */
cJSON *apply_summary(const apply_result *r, const char *url, int version, bool unchanged);

/* The directive decision: what line i does now that its family knows whether its object
 * exists. Always sets the result's action; when the answer is APPLY_OP_NONE the line has also
 * ended (SKIP, 409 or 404 as OCL.md "Directives" says). */
enum apply_op apply_decide(apply_ctx *ctx, size_t i, bool exists);

/* Checks op on a target (caller_is_owner and its public_access text, as db/ returned them) for
 * the caller. Returns true when allowed; else ends line i with 403, or 404 when the caller may
 * not even see target_url, and returns false. Borrows the strings. */
bool apply_allowed(apply_ctx *ctx, size_t i, bool caller_is_owner, const char *access,
                   enum rights_op op, const char *target_url);

/* Ends line i after a single-row write with op: err from the db call, version and changed as
 * returned by an update. BI_ECONFLICT ends the line with 409; success with 201, 200 or 204.
 * Returns err when it is a database failure, else 0 (the line then has its result). */
int apply_written(apply_ctx *ctx, size_t i, enum apply_op op, int err, int version,
                  bool changed);

/* The public_access a write stores: the line's own when it has one, else stored (borrowed; the
 * object's current value or the default). Returns a static or borrowed string. */
const char *apply_access(const rules_line *rl, const char *stored);

/* Looks up line i's parent repository (rl.parent_url) with lock into *out. When it is missing
 * or hidden from the caller, ends the line with action and 404 and sets *out_found false. Returns
 * 0, or a database error (nothing written to the result). */
int apply_parent_repo(apply_ctx *ctx, size_t i, const char *action, enum db_lock lock,
                      db_repo *out, bool *out_found);

/* ---- the families: the entries of apply.c's operations table ------------------------------ */

/* One-line operations: apply pending line i of their type alone, ending its result; apply_lines
 * then marks the line done. Return 0 or a database error. */
int apply_owners_organization(apply_ctx *ctx, size_t i);
int apply_owners_user(apply_ctx *ctx, size_t i);
int apply_repos_repository(apply_ctx *ctx, size_t i);   /* a source or a collection */
int apply_repos_version(apply_ctx *ctx, size_t i);      /* a source or collection version */
int apply_refs_reference(apply_ctx *ctx, size_t i);     /* adds or removes its expressions */
int apply_imports_line(apply_ctx *ctx, size_t i);       /* queues a child task */

/* The run operation: applies the run of consecutive concept or mapping lines (of line from's
 * type) that starts at pending line from of lines[0..n) — lines of other types end it, lines
 * already ended are stepped over — marks its lines done and sets *out_end past the run. A line
 * sees every earlier line's effect. Returns 0 or a database error (*out_end is set either way). */
int apply_content_run(apply_ctx *ctx, size_t from, size_t n, size_t *out_end);

#endif
