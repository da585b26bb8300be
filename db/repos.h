/* repos.h — repositories (sources and collections) and their versions.
 *
 * Locking, which is what makes versions cheap (migrations/0002_resources.sql): a transaction
 * that changes a repository's content looks it up with DB_LOCK_SHARE first; creating a version
 * looks it up with DB_LOCK_UPDATE, so the version's change seq is drawn after every earlier
 * content change committed and before any later one.
 */
#ifndef BI_DB_REPOS_H
#define BI_DB_REPOS_H

#include "owners.h"

#include <stdbool.h>
#include <stdint.h>

enum db_lock { DB_LOCK_NONE, DB_LOCK_SHARE, DB_LOCK_UPDATE };

/* A repository as seen by one caller. */
typedef struct db_repo {
    bool found;
    int64_t id;
    bool is_collection;
    bool caller_is_owner; /* the caller owns it, or is a member of the owning organization */
    char public_access[DB_ACCESS_MAX];
    int version;
} db_repo;

/* Looks up the repository at canonical url as seen by caller, locking its row as lock says.
 * Returns 0 (out->found false when there is none), or BI_EUNAVAIL / BI_EINTERNAL. */
int db_repos_lookup(db_conn *conn, const char *caller, const char *url, enum db_lock lock,
                    db_repo *out);

/* Creates a repository owned by organization owner_org_id (> 0) or by user owner_user. Returns
 * 0, BI_ECONFLICT when url exists, or BI_EUNAVAIL / BI_EINTERNAL. */
int db_repos_create(db_conn *conn, const char *caller, bool is_collection, int64_t owner_org_id,
                    const char *owner_user, const char *mnemonic, const char *url,
                    const char *public_access, const char *data);

/* Replaces data and public_access when they differ; *out_version and *out_changed as in
 * db_orgs_update. */
int db_repos_update(db_conn *conn, const char *caller, int64_t repo_id, const char *public_access,
                    const char *data, int *out_version, bool *out_changed);

/* Deletes a repository with its content, references and versions. */
int db_repos_delete(db_conn *conn, int64_t repo_id);

/* Looks up version mnemonic of repository repo_id. Returns 0 and *out_found; when found,
 * *out_version is its metadata version. */
int db_repo_versions_lookup(db_conn *conn, int64_t repo_id, const char *mnemonic,
                            bool *out_found, int *out_version);

/* Creates version mnemonic of repo_id, freezing the repository's content as of now. The
 * repository must have been looked up with DB_LOCK_UPDATE in this transaction. Returns 0,
 * BI_ECONFLICT when it exists, or BI_EUNAVAIL / BI_EINTERNAL. */
int db_repo_versions_create(db_conn *conn, const char *caller, int64_t repo_id,
                            const char *mnemonic, const char *url, const char *data);

/* Replaces a version's metadata (data) when it differs; its content stays frozen. */
int db_repo_versions_update(db_conn *conn, const char *caller, int64_t repo_id,
                            const char *mnemonic, const char *data, int *out_version,
                            bool *out_changed);

int db_repo_versions_delete(db_conn *conn, int64_t repo_id, const char *mnemonic);

#endif
