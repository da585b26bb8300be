/* stale.h — what a full feed's import did not mention: the live concepts and mappings and the
 * references of the repositories its lines wrote to, that none of its results names.
 *
 * One set-wise pass: db_stale_prepare reads the task's results once into tables of the
 * session (the URLs they name, the repositories they wrote to, the reference expressions),
 * and db_stale_find walks each kind's rows of those repositories in key order from a cursor,
 * an anti-join against them, so every row is looked at once however many batches the prune
 * takes. The session's tables hold one task's prune at a time.
 */
#ifndef BI_DB_STALE_H
#define BI_DB_STALE_H

#include <stddef.h>
#include <stdint.h>

typedef struct db_conn db_conn;

enum db_stale_kind { DB_STALE_CONCEPT, DB_STALE_MAPPING, DB_STALE_REFERENCE, DB_STALE_DONE };

typedef struct db_stale_item {
    enum db_stale_kind kind;
    int64_t id;      /* of the concept, mapping or reference */
    int64_t repo_id;
    char *url;      /* the resource's URL; a reference's expression (malloc'd) */
    char *repo_url; /* malloc'd */
} db_stale_item;

/* Where a walk is: the kind, and the last (repository, key) of it returned. Zeroed: the start. */
typedef struct db_stale_cursor {
    enum db_stale_kind kind;
    int64_t repo_id;
    char key[264]; /* a concept's or mapping's id (at most 255 bytes); a reference's id */
} db_stale_cursor;

/* Reads task's results into the session's prune tables (replacing another task's), on conn's
 * open transaction or its own: in every repository that one of the task's results wrote to
 * (status 1-399), what its results name. A prune result names its item, so a resumed prune
 * does not find again what an earlier batch reported. Returns 0 or the database's error. */
int db_stale_prepare(db_conn *conn, const char *task_id);

/* Up to cap stale items after *cursor into items, in (kind, repository, key) order: live
 * concepts and mappings whose URL none of the prepared results names, references whose
 * expression none of its reference lines named (nor cascaded). Moves *cursor past them; at the
 * end of every kind it is DB_STALE_DONE and *out_n 0. Free the items' strings with
 * db_stale_free. */
int db_stale_find(db_conn *conn, db_stale_cursor *cursor, db_stale_item *items, size_t cap,
                  size_t *out_n);

/* Empties the session's prune tables (a prune's end: a pooled session keeps no URL list). */
void db_stale_clear(db_conn *conn);

/* Frees the strings of items[0..n). */
void db_stale_free(db_stale_item *items, size_t n);

#endif
