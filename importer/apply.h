/* apply.h — applies import lines to the resource store as one caller, in file order, and gives
 * each line its OCL result (OCL.md "Directives", "Rights", "Results").
 *
 * Lines are parsed and checked (rules.h), then applied in runs: consecutive concept or mapping
 * lines with distinct identities go to the database together (a lookup, an insert and an update
 * statement per run, db/content.h), so a batch costs a handful of round trips; the rarer types
 * (organizations, users, repositories, versions, references) go one line at a time. A line
 * sees every earlier line's effect. Parents and rights are resolved once per run.
 */
#ifndef BI_IMPORTER_APPLY_H
#define BI_IMPORTER_APPLY_H

#include "rules.h"
#include "tasks.h"
#include "users.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct db_conn db_conn;

#define APPLY_STATUS_SKIP 0 /* OCL's status "skip" */

typedef struct apply_options {
    bool update_if_exists; /* false: CREATE_OR_UPDATE of an existing object is SKIP */
    /* Directives from the data (directives.h): NULL when none */
    const char *action_field;
    const cJSON *delete_values;
    const db_task *task; /* the task whose lines these are (Import lines need it); or NULL */
    /* Content inserts skip an identity that exists instead of failing with BI_ECONFLICT
     * (db_content_insert): set to apply again after that failure. */
    bool careful_inserts;
} apply_options;

typedef struct apply_result {
    int line; /* 1-based line number in the file */
    enum rules_type type;
    const char *action; /* "NEW", "UPDATE", "DELETE" or "SKIP" (static) */
    int status;         /* HTTP status, or APPLY_STATUS_SKIP */
    int error;          /* BI_E* of a failed line (status >= 400), else 0 */
    int64_t csv_row;    /* the CSV row the line was converted from ("__csv_row"), 0 if none */
    /* Each malloc'd to its length ("" when none), not a URLS_MAX buffer: a batch holds a result
     * per line, and four fixed buffers per line were most of a node's memory. */
    char *obj_url;
    char *repo_url;
    char *owner_url;
    char *root;
    char *message; /* the object's summary JSON on success, else the reason; malloc'd */
} apply_result;

/* Applies lines[0..n) (raw JSON texts of lens[i] bytes; their numbers in the file, ascending,
 * in numbers[0..n), or 1, 2, ... when numbers is NULL) as caller inside conn's open
 * transaction, filling results[0..n). Returns 0 — every line then has its result, failed lines
 * included — or, with the transaction to be rolled back (to a savepoint will do) and the
 * results meaningless: BI_EREFUSED / BI_EINVAL when the database refused a value of some line
 * (which one is unknown: apply each alone to find it), BI_EUNAVAIL / BI_EINTERNAL when the
 * database failed. Free the results with apply_results_free either way. */
int apply_lines(db_conn *conn, const db_user *caller, const apply_options *opt,
                const char *const *lines, const size_t *lens, const int64_t *numbers, size_t n,
                apply_result *results);

/* Frees the URLs and messages of results[0..n). */
void apply_results_free(apply_result *results, size_t n);

#endif
