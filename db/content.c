#include "content.h"

#include "array.h"
#include "error.h"
#include "pgconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Must equal the generated column mappings.natural_key (migrations/0002_resources.sql). */
#define NATURAL_KEY(p)                                                                             \
    "md5(" p "map_type || chr(31) || " p "from_concept_url || chr(31) || coalesce(" p               \
    "to_concept_url, '') || chr(31) || coalesce(" p "to_source_url, '') || chr(31) || coalesce(" p \
    "to_concept_code, ''))"

/* digest: the first 128 bits of the SHA-256 of the data's text, stored beside it (data_digest, migrations/0013), so that a
 * lookup tells an unchanged line without the data itself (lookups send it as NULL). */
#define MAPPING_INPUT                                                                              \
    "unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::boolean[],"         \
    " $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::uuid[]) WITH ORDINALITY"  \
    " AS u(repo_id, mnemonic, url, repo_url, data, retired, map_type, from_concept_url,"          \
    " to_concept_url, to_source_url, to_concept_code, digest, ord)"

/* Whether a stored row holds exactly what line u would write (the same text, the same retired
 * flag): the line is then unchanged without an update statement. */
#define SAME_CONTENT(t) "coalesce(" t ".data_digest = u.digest AND " t ".retired = u.retired, false)"

static const db_stmt stmt_lookup[] = {
    [DB_CONCEPTS] = {"content_concepts_lookup",
                     "WITH u AS (SELECT * FROM " MAPPING_INPUT ")"
                     " SELECT u.ord, c.id, c.version, c.retired, c.url, " SAME_CONTENT("c")
                     " FROM u JOIN concepts c ON c.repo_id = u.repo_id AND c.mnemonic = u.mnemonic",
                     12},
    /* Two index paths: by id when the line has one, else by natural key among the mappings
     * without a given id. */
    [DB_MAPPINGS] = {"content_mappings_lookup",
                     "WITH u AS (SELECT * FROM " MAPPING_INPUT ")"
                     " SELECT u.ord, m.id, m.version, m.retired, m.url, " SAME_CONTENT("m")
                     " FROM u JOIN mappings m ON m.repo_id = u.repo_id AND m.mnemonic = u.mnemonic"
                     " WHERE u.mnemonic IS NOT NULL"
                     " UNION ALL SELECT u.ord, m.id, m.version, m.retired, m.url, " SAME_CONTENT("m")
                     " FROM u JOIN mappings m"
                     " ON m.repo_id = u.repo_id AND NOT m.has_given_id"
                     " AND m.natural_key = " NATURAL_KEY("u.") " WHERE u.mnemonic IS NULL",
                     12},
};

/* Inserts of version 1, in two forms: fast, a plain INSERT that fails whole (23505) when an
 * identity exists — PostgreSQL's speculative insertion for ON CONFLICT cost about half again
 * as much per row (bench/RESULTS.md) — and careful, which skips such rows. */
#define CONCEPTS_INSERT(name, conflict)                                                            \
    {name,                                                                                         \
     "WITH u AS (SELECT * FROM " MAPPING_INPUT "),"                                                \
     " ins AS (INSERT INTO concepts (repo_id, mnemonic, url, data, data_digest, retired,"         \
     " seq, created_by, updated_by) SELECT repo_id, mnemonic, url, data, digest,"                 \
     " retired, nextval('change_seq'), $13, $13 FROM u ORDER BY ord" conflict " RETURNING id, url)" \
     " SELECT u.ord, ins.id, ins.url FROM u JOIN ins ON ins.url = u.url",                          \
     13}
/* Every row draws an id; one without a given id takes it as its mnemonic, as OCL does. */
#define MAPPINGS_INSERT(name, conflict)                                                            \
    {name,                                                                                         \
     "WITH u AS (SELECT *, nextval(pg_get_serial_sequence('mappings', 'id')) AS"                  \
     " new_id FROM " MAPPING_INPUT "),"                                                            \
     " ins AS (INSERT INTO mappings (id, repo_id, mnemonic, has_given_id, url,"                   \
     " map_type, from_concept_url, to_concept_url, to_source_url, to_concept_code,"               \
     " data, data_digest, retired, seq, created_by, updated_by) OVERRIDING SYSTEM VALUE"          \
     " SELECT new_id, repo_id, coalesce(mnemonic, new_id::text), mnemonic IS NOT NULL,"           \
     " coalesce(url, repo_url || 'mappings/' || new_id || '/'), map_type,"                        \
     " from_concept_url, to_concept_url, to_source_url, to_concept_code, data,"                   \
     " digest, retired, nextval('change_seq'), $13, $13 FROM u ORDER BY ord" conflict             \
     " RETURNING id, url) SELECT u.ord, ins.id, ins.url FROM u JOIN ins ON ins.id = u.new_id",      \
     13}

static const db_stmt stmt_insert[2][2] = {
    {[DB_CONCEPTS] = CONCEPTS_INSERT("content_concepts_insert", ""),
     [DB_MAPPINGS] = MAPPINGS_INSERT("content_mappings_insert", "")},
    {[DB_CONCEPTS] = CONCEPTS_INSERT("content_concepts_insert_careful", " ON CONFLICT DO NOTHING"),
     [DB_MAPPINGS] = MAPPINGS_INSERT("content_mappings_insert_careful", " ON CONFLICT DO NOTHING")},
};

/* The superseded version goes to history with seq_to = the seq that replaced it. The FOR
 * UPDATE makes "old" the latest committed row even when another transaction changed it
 * after this statement's snapshot; it also decides once per row whether the line changes it
 * (a retire, data NULL, compares only the flag). A row equal to its line but without that
 * line's digest (written before migration 0013, or from other text of the same JSON) is given
 * the digest alone ("touched": no new version), so its next equal line needs no update
 * statement. */
#define CONTENT_UPDATE(table, history, fk, extra_set)                                              \
    "WITH u AS (SELECT * FROM " MAPPING_INPUT "),"                                                 \
    " old AS (SELECT t.id, t.repo_id, t.version, t.seq, t.data, t.retired, t.updated_by,"         \
    " t.updated_at, u.retired <> t.retired OR (u.data IS NOT NULL AND u.data <> t.data)"          \
    " AS changed FROM " table " t JOIN u ON t.id = u.repo_id FOR UPDATE OF t),"                    \
    " upd AS (UPDATE " table " t SET data = coalesce(u.data, t.data),"                             \
    " data_digest = CASE WHEN u.data IS NULL THEN t.data_digest ELSE u.digest END,"               \
    " retired = u.retired,"                                                                        \
    " version = t.version + 1, seq = nextval('change_seq'), updated_by = $13,"                    \
    " updated_at = now()" extra_set " FROM u JOIN old ON old.id = u.repo_id WHERE t.id = old.id" \
    " AND old.changed"                                                                             \
    " RETURNING t.id, t.seq, t.version, old.repo_id, old.version AS old_version,"                 \
    " old.seq AS old_seq, old.data AS old_data, old.retired AS old_retired,"                      \
    " old.updated_by AS old_by, old.updated_at AS old_at),"                                       \
    " hist AS (INSERT INTO " history " (" fk ", repo_id, version, seq, seq_to, data, retired,"    \
    " created_by, created_at) SELECT id, repo_id, old_version, old_seq, seq, old_data,"           \
    " old_retired, old_by, old_at FROM upd),"                                                      \
    " touched AS (UPDATE " table " t SET data_digest = u.digest FROM u JOIN old"                   \
    " ON old.id = u.repo_id WHERE t.id = old.id AND NOT old.changed AND u.data IS NOT NULL"       \
    " AND t.data_digest IS DISTINCT FROM u.digest)"                                                \
    " SELECT u.ord, upd.version FROM u JOIN upd ON upd.id = u.repo_id"

#define MAPPING_SET_TARGET(col) ", " col " = CASE WHEN u.data IS NULL THEN t." col " ELSE u." col " END"

/* Rows are addressed by id, passed in the repo_id column of the common input shape. */
static const db_stmt stmt_update[] = {
    [DB_CONCEPTS] = {"content_concepts_update",
                     CONTENT_UPDATE("concepts", "concept_versions", "concept_id", ""), 13},
    [DB_MAPPINGS] = {"content_mappings_update",
                     CONTENT_UPDATE("mappings", "mapping_versions", "mapping_id",
                                    MAPPING_SET_TARGET("map_type")
                                    MAPPING_SET_TARGET("from_concept_url")
                                    MAPPING_SET_TARGET("to_concept_url")
                                    MAPPING_SET_TARGET("to_source_url")
                                    MAPPING_SET_TARGET("to_concept_code")),
                     13},
};

enum { COL_KEY, COL_MNEMONIC, COL_URL, COL_REPO_URL, COL_DATA, COL_RETIRED, COL_MAP_TYPE,
       COL_FROM, COL_TO, COL_TO_SOURCE, COL_TO_CODE, COL_DIGEST, N_COLS };

/* Runs stmt over rows as the 12 array parameters of MAPPING_INPUT (+ caller as $13 when the
 * statement has it); by_id puts each row's id, not its repo_id, in the first column. A lookup
 * (caller NULL) sends no data: its digest says enough. */
static int db_content_run(db_conn *conn, const db_stmt *stmt, const char *caller,
                          const db_content_row *rows, size_t n, bool by_id, PGresult **out_res) {
    static const uint32_t oids[N_COLS] = {
        [COL_KEY] = DB_OID_INT8,      [COL_MNEMONIC] = DB_OID_TEXT, [COL_URL] = DB_OID_TEXT,
        [COL_REPO_URL] = DB_OID_TEXT, [COL_DATA] = DB_OID_JSONB,    [COL_RETIRED] = DB_OID_BOOL,
        [COL_MAP_TYPE] = DB_OID_TEXT, [COL_FROM] = DB_OID_TEXT,     [COL_TO] = DB_OID_TEXT,
        [COL_TO_SOURCE] = DB_OID_TEXT, [COL_TO_CODE] = DB_OID_TEXT, [COL_DIGEST] = DB_OID_UUID};
    db_barray cols[N_COLS];
    for (int c = 0; c < N_COLS; c++)
        db_barray_init(&cols[c], oids[c]);
    for (size_t i = 0; i < n; i++) {
        const db_content_row *r = &rows[i];
        db_barray_add_int64(&cols[COL_KEY], by_id ? r->id : r->repo_id);
        db_barray_add(&cols[COL_MNEMONIC], r->mnemonic);
        db_barray_add(&cols[COL_URL], r->url);
        db_barray_add(&cols[COL_REPO_URL], r->repo_url);
        if (caller != NULL)
            db_barray_add_text(&cols[COL_DATA], r->data, r->data_len);
        db_barray_add_bool(&cols[COL_RETIRED], r->retired);
        db_barray_add(&cols[COL_MAP_TYPE], r->map_type);
        db_barray_add(&cols[COL_FROM], r->from_concept_url);
        db_barray_add(&cols[COL_TO], r->to_concept_url);
        db_barray_add(&cols[COL_TO_SOURCE], r->to_source_url);
        db_barray_add(&cols[COL_TO_CODE], r->to_concept_code);
        db_barray_add_uuid_hex(&cols[COL_DIGEST], r->digest);
    }
    /* The arrays go in binary form (array.h); the caller, $13, as text. */
    const char *values[N_COLS + 1];
    int lengths[N_COLS + 1] = {0}, formats[N_COLS + 1];
    for (int c = 0; c < N_COLS; c++) {
        values[c] = db_barray_bytes(&cols[c], &lengths[c]);
        formats[c] = 1;
    }
    if (caller == NULL) /* unnest pads the missing column with NULLs */
        values[COL_DATA] = NULL;
    values[N_COLS] = caller;
    formats[N_COLS] = 0;
    int err = db_exec(conn, stmt, values, lengths, formats, PGRES_TUPLES_OK, out_res);
    for (int c = 0; c < N_COLS; c++)
        db_barray_fini(&cols[c]);
    return err;
}

/* Runs stmt over rows (see db_content_run) and hands each returned row, matched to its input
 * row by the 1-based ordinal in column 0, to take. */
static int db_content_exec(db_conn *conn, const db_stmt *stmt, const char *caller,
                           db_content_row *rows, size_t n, bool by_id,
                           void (*take)(db_content_row *row, const PGresult *res, int i)) {
    if (n == 0)
        return 0;
    PGresult *res = NULL;
    int err = db_content_run(conn, stmt, caller, rows, n, by_id, &res);
    if (err < 0)
        return err;
    for (int i = 0; i < PQntuples(res); i++) {
        long ord = atol(PQgetvalue(res, i, 0));
        if (ord >= 1 && (size_t)ord <= n)
            take(&rows[ord - 1], res, i);
    }
    PQclear(res);
    return 0;
}

/* Columns after the ordinal: lookup (id, version, retired, url, same), insert (id, url), update
 * (version). */
static void db_content_take_found(db_content_row *r, const PGresult *res, int i) {
    r->found = true;
    r->id = strtoll(PQgetvalue(res, i, 1), NULL, 10);
    r->version = atoi(PQgetvalue(res, i, 2));
    r->was_retired = PQgetvalue(res, i, 3)[0] == 't';
    snprintf(r->out_url, sizeof r->out_url, "%s", PQgetvalue(res, i, 4));
    r->same = PQgetvalue(res, i, 5)[0] == 't';
}

static void db_content_take_inserted(db_content_row *r, const PGresult *res, int i) {
    r->found = true;
    r->id = strtoll(PQgetvalue(res, i, 1), NULL, 10);
    r->version = 1;
    snprintf(r->out_url, sizeof r->out_url, "%s", PQgetvalue(res, i, 2));
}

static void db_content_take_changed(db_content_row *r, const PGresult *res, int i) {
    r->changed = true;
    r->version = atoi(PQgetvalue(res, i, 1));
}

int db_content_lookup(db_conn *conn, enum db_content_kind kind, db_content_row *rows, size_t n) {
    for (size_t i = 0; i < n; i++)
        rows[i].found = rows[i].same = false;
    return db_content_exec(conn, &stmt_lookup[kind], NULL, rows, n, false, db_content_take_found);
}

int db_content_insert(db_conn *conn, enum db_content_kind kind, const char *caller,
                      db_content_row *rows, size_t n, bool careful) {
    for (size_t i = 0; i < n; i++)
        rows[i].found = false;
    return db_content_exec(conn, &stmt_insert[careful][kind], caller, rows, n, false,
                           db_content_take_inserted);
}

int db_content_update(db_conn *conn, enum db_content_kind kind, const char *caller,
                      db_content_row *rows, size_t n) {
    for (size_t i = 0; i < n; i++)
        rows[i].changed = false;
    return db_content_exec(conn, &stmt_update[kind], caller, rows, n, true,
                           db_content_take_changed);
}
