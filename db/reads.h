/* reads.h — the read API's queries. Each renders its resources to JSON inside PostgreSQL
 * (migrations/0003_reads.sql), so a page of results is one round trip and one string.
 * Arguments are text (booleans "true"/"false", NULL where a comment says it may be).
 */
#ifndef BI_DB_READS_H
#define BI_DB_READS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct db_conn db_conn;

enum db_list {
    DB_LIST_ORGS,             /* caller, is_root: the organizations caller may see */
    DB_LIST_MEMBERS,          /* org */
    DB_LIST_REPOS,            /* repo_type ("Source"|"Collection"), owner_is_org, owner, caller,
                                 is_root: the repositories caller may see */
    DB_LIST_REPO_VERSIONS,    /* repo_id: newest first */
    DB_LIST_CONCEPTS,         /* repo_id, seq (NULL: live), is_collection, include_retired,
                                 q (NULL: all; else a substring of the id or of a name) */
    DB_LIST_MAPPINGS,         /* repo_id, seq, is_collection, include_retired */
    DB_LIST_REFERENCES,       /* repo_id: the live references */
    DB_LIST_CONCEPT_VERSIONS, /* repo_id, concept id: newest first, the current one included */
};

enum db_one {
    DB_ONE_ORG,          /* org, caller, is_root */
    DB_ONE_USER,         /* username */
    DB_ONE_REPO,         /* repo_id */
    DB_ONE_REPO_VERSION, /* repo_id, version id; *out_extra gets the version's change seq */
    DB_ONE_CONCEPT,      /* repo_id, concept id */
    DB_ONE_MAPPING,      /* repo_id, mapping id */
};

/* Runs list query what with args, returning the page [offset, offset + limit) as a JSON array
 * in *out_json (malloc'd) and the number of all matching resources in *out_total. brief trims
 * each resource to id, url and name. Returns 0, or BI_EUNAVAIL / BI_EINTERNAL. */
int db_reads_list(db_conn *conn, enum db_list what, const char *const *args, long limit,
                  long offset, bool brief, char **out_json, long *out_total);

/* Runs single-resource query what with args: its JSON object in *out_json (malloc'd) and, when
 * out_extra is not NULL, the extra value the query documents. Returns 0, BI_ENOTFOUND, or
 * BI_EUNAVAIL / BI_EINTERNAL. */
int db_reads_one(db_conn *conn, enum db_one what, const char *const *args, char **out_json,
                 char *out_extra, size_t extra_len);

#endif
