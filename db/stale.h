/* stale.h — what a full feed's import did not mention: the live concepts and mappings and the
 * references of the repositories its lines wrote to, that none of its results names.
 */
#ifndef BI_DB_STALE_H
#define BI_DB_STALE_H

#include <stddef.h>
#include <stdint.h>

typedef struct db_conn db_conn;

enum db_stale_kind { DB_STALE_CONCEPT, DB_STALE_MAPPING, DB_STALE_REFERENCE };

typedef struct db_stale_item {
    enum db_stale_kind kind;
    int64_t id;      /* of the concept, mapping or reference */
    int64_t repo_id;
    char *url;      /* the resource's URL; a reference's expression (malloc'd) */
    char *repo_url; /* malloc'd */
} db_stale_item;

/* Up to cap stale items of task into items, by repository: in every repository that one of the
 * task's results wrote to (status 1-399), the live concepts and mappings whose URL no result of
 * the task names, and the references whose expression none of its reference lines named (nor
 * cascaded). A prune result names its item, so what a prune batch reported is not found again.
 * *out_n gets how many; free their strings with db_stale_free. */
int db_stale_find(db_conn *conn, const char *task_id, db_stale_item *items, size_t cap,
                  size_t *out_n);

/* Frees the strings of items[0..n). */
void db_stale_free(db_stale_item *items, size_t n);

#endif
