/* owners.h — the owners of repositories: organizations (with their members) and users as
 * resources (OCL's "User" lines, created by root). Each function runs on a borrowed connection
 * inside the caller's transaction, if any.
 */
#ifndef BI_DB_OWNERS_H
#define BI_DB_OWNERS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct db_conn db_conn;

#define DB_ACCESS_MAX 8 /* "View", "Edit", "None" */

/* An organization or user as seen by one caller. */
typedef struct db_owner {
    bool found;
    int64_t org_id;       /* organizations only */
    bool caller_is_owner; /* the caller is this user, or a member of this organization */
    bool is_root;         /* users only */
    char public_access[DB_ACCESS_MAX];
    int version;
} db_owner;

/* Looks up the organization (is_org) or user called name as seen by caller. Returns 0 with
 * out->found false when there is none, or BI_EUNAVAIL / BI_EINTERNAL. */
int db_owners_lookup(db_conn *conn, const char *caller, bool is_org, const char *name,
                     db_owner *out);

/* Creates organization mnemonic at url with caller as its first member; data is the OCL JSON.
 * Returns 0, BI_ECONFLICT when it exists, or BI_EUNAVAIL / BI_EINTERNAL. */
int db_orgs_create(db_conn *conn, const char *caller, const char *mnemonic, const char *url,
                   const char *public_access, const char *data);

/* Replaces an organization's data and public_access when they differ from what is stored.
 * Returns 0 with *out_version the version after the call and *out_changed whether it wrote. */
int db_orgs_update(db_conn *conn, const char *caller, int64_t org_id, const char *public_access,
                   const char *data, int *out_version, bool *out_changed);

/* Deletes an organization with its repositories and everything in them. */
int db_orgs_delete(db_conn *conn, int64_t org_id);

/* Makes username a member of organization org. Returns 0 (also when already a member),
 * BI_ENOTFOUND when the organization or the user does not exist. */
int db_members_add(db_conn *conn, const char *org, const char *username);

/* Removes username from organization org. Unless allow_last, the last member cannot be removed
 * (BI_ECONFLICT). Returns 0, or BI_ENOTFOUND when org does not exist or username is not a
 * member. */
int db_members_remove(db_conn *conn, const char *org, const char *username, bool allow_last);

/* Creates, updates (when data differs) or deletes the user username as a resource. A user made
 * here has no API token until root issues one. Same returns as the organization functions;
 * delete deactivates the user as DELETE /users/:u/ does (db_users_disable: tokens revoked, its
 * tasks cancelled, its feeds paused; what it owns stays). */
int db_users_import_create(db_conn *conn, const char *caller, const char *username,
                           const char *data);
int db_users_import_update(db_conn *conn, const char *caller, const char *username,
                           const char *data, int *out_version, bool *out_changed);
int db_users_import_delete(db_conn *conn, const char *username);

#endif
