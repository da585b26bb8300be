/* migrate.h — applies the schema migrations compiled into the binary.
 *
 * migrations/NNNN_name.sql files are embedded at build time (cmake/embed_migrations.cmake) and
 * applied in order, in one transaction, under a PostgreSQL advisory lock so that several nodes
 * starting at once apply each exactly once. schema_migrations records each one with the md5 of
 * its text: a shipped migration that was edited afterwards stops the start-up.
 */
#ifndef BI_DB_MIGRATE_H
#define BI_DB_MIGRATE_H

#include <stddef.h>

typedef struct db_conn db_conn;

typedef struct db_migration {
    const char *version; /* file name without ".sql", e.g. "0001_users" */
    const char *sql;
} db_migration;

/* The embedded migrations, sorted by version. */
extern const db_migration db_migrations[];
extern const size_t db_migrations_count;

/* Applies every embedded migration not yet recorded, in one transaction. Returns 0 and the
 * number applied in *out_applied; BI_ECONFLICT when an applied migration's text differs from the
 * embedded one or the database has a migration this binary does not know (a newer schema);
 * BI_EUNAVAIL / BI_EINTERNAL on database failure. Nothing is applied on failure. */
int db_migrate_apply(db_conn *conn, int *out_applied);

/* Returns 0 when every embedded migration is recorded, BI_ENOTFOUND when some are missing,
 * BI_EUNAVAIL when the database does not answer. */
int db_migrate_check(db_conn *conn);

#endif
