/* refs.h — a collection's references to concepts and mappings, set-wise.
 *
 * An expression is the canonical URL of a concept or mapping, possibly of one of its versions.
 * Removing a reference marks it removed at a change seq instead of deleting it, so collection
 * versions keep what they froze.
 */
#ifndef BI_DB_REFS_H
#define BI_DB_REFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct db_conn db_conn;

typedef struct db_ref_row {
    /* In */
    const char *expression; /* canonical, as stored */
    const char *target_url; /* the concept or mapping URL without version */
    bool is_concept;
    int target_version; /* 0: the live resource */
    /* Out of db_refs_resolve: the target exists, the caller may read it, the version exists */
    bool found;
    int64_t target_id;
    /* Out of db_refs_add: a new reference (false: it was already there) */
    bool inserted;
} db_ref_row;

/* Resolves each row's target as seen by caller (is_root sees everything): sets found and
 * target_id. A target in a repository the caller may not read is not found. */
int db_refs_resolve(db_conn *conn, const char *caller, bool is_root, db_ref_row *rows, size_t n);

/* Adds the resolved rows (found) to collection repo_id; sets inserted. */
int db_refs_add(db_conn *conn, const char *caller, int64_t repo_id, db_ref_row *rows, size_t n);

/* Adds references to the live mappings whose from-concept is one of concept_ids (in the
 * concepts' own source). Calls on_added(url, ctx) for each mapping URL it added. */
int db_refs_cascade_mappings(db_conn *conn, const char *caller, int64_t repo_id,
                             const int64_t *concept_ids, size_t n,
                             void (*on_added)(const char *url, void *ctx), void *ctx);

/* Removes the live references of collection repo_id whose expression is one of expressions (all
 * of them when expressions is NULL). Calls on_removed(expression, ctx) for each. */
int db_refs_remove(db_conn *conn, int64_t repo_id, const char *const *expressions, size_t n,
                   void (*on_removed)(const char *expression, void *ctx), void *ctx);

#endif
