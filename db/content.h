/* content.h — concepts and mappings, set-wise: each call is one statement over arrays of rows,
 * so a batch of lines costs a handful of round trips whatever its size.
 *
 * Every change keeps history: the superseded version moves to concept_versions /
 * mapping_versions and the row takes a new change seq (see migrations/0002_resources.sql).
 * The rows passed to one call must have distinct identities.
 */
#ifndef BI_DB_CONTENT_H
#define BI_DB_CONTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct db_conn db_conn;

#define DB_CONTENT_URL_MAX 1280

enum db_content_kind { DB_CONCEPTS, DB_MAPPINGS };

typedef struct db_content_row {
    /* Identity */
    int64_t repo_id;
    const char *mnemonic; /* NULL: a mapping without id, known by its natural key */
    const char *url;      /* canonical URL; NULL for a mapping without id */
    const char *repo_url; /* mappings: prefix of a server-assigned URL */
    /* Mappings: the natural key and target columns */
    const char *map_type;
    const char *from_concept_url;
    const char *to_concept_url; /* or NULL with the two below */
    const char *to_source_url;
    const char *to_concept_code;
    /* Content to write: data NULL keeps the stored JSON (retiring) */
    const char *data;
    size_t data_len;
    const char *digest; /* data's text's digest: the first 128 bits of its SHA-256, 32 hex
                           digits; NULL with data NULL */
    bool retired;
    /* Out */
    bool found;       /* lookup: it exists; insert: it was inserted */
    bool changed;     /* update: something differed and a new version was written */
    bool was_retired; /* lookup */
    bool same;        /* lookup: it holds this very data text (digest) and retired flag already */
    int64_t id;
    int version;
    char out_url[DB_CONTENT_URL_MAX]; /* lookup and insert: the stored URL */
} db_content_row;

/* Finds each row by identity: sets found, and when found id, version, was_retired, out_url and
 * same (an update would change nothing). */
int db_content_lookup(db_conn *conn, enum db_content_kind kind, db_content_row *rows, size_t n);

/* Inserts rows as version 1. Sets found, id and out_url (a mapping without id gets its
 * server-assigned URL). Not careful, a row whose identity exists (someone else created it since
 * the lookup, or a mapping's URL repeats) fails the statement with BI_ECONFLICT: roll back to
 * a savepoint and apply again, careful; careful, such a row is skipped with found false. */
int db_content_insert(db_conn *conn, enum db_content_kind kind, const char *caller,
                      db_content_row *rows, size_t n, bool careful);

/* Updates rows by id (as found by lookup) to data (NULL: keep) and retired, only where they
 * differ from what is stored. Sets changed and, when changed, the new version. */
int db_content_update(db_conn *conn, enum db_content_kind kind, const char *caller,
                      db_content_row *rows, size_t n);

#endif
