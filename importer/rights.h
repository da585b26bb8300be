/* rights.h — who may read or change what (OCL.md "Rights"). Pure: the caller gathers the facts
 * (ownership, membership, public_access) and this decides.
 *
 *   root                          everything
 *   parent rights                 the owning user, or a member of the owning organization
 *   RIGHTS_ADMIN                  parent rights: create/update/delete a repository or its
 *                                 versions, update/delete an organization, manage its members
 *   RIGHTS_EDIT                   parent rights, or the repository's public_access is Edit:
 *                                 create/update/retire concepts, mappings, references
 *   RIGHTS_READ                   parent rights, or public_access is View or Edit
 * A target the caller may not even read answers as if it did not exist (BI_ENOTFOUND, 404); a
 * visible one the caller may not change is BI_EPERM (403).
 */
#ifndef BI_IMPORTER_RIGHTS_H
#define BI_IMPORTER_RIGHTS_H

#include "users.h"

#include <stdbool.h>

enum rights_access { RIGHTS_ACCESS_NONE, RIGHTS_ACCESS_VIEW, RIGHTS_ACCESS_EDIT };
enum rights_op { RIGHTS_READ, RIGHTS_EDIT, RIGHTS_ADMIN };

typedef struct rights_target {
    bool caller_is_owner;             /* the target is owned by the caller (a user owner) or the
                                         caller is a member of the owning organization */
    enum rights_access public_access; /* of the repository, or of the organization itself */
} rights_target;

/* Returns 0 when caller may do op on target, BI_EPERM when the target is visible but op is not
 * allowed, or BI_ENOTFOUND when the caller may not even see it. */
int rights_check(const db_user *caller, const rights_target *target, enum rights_op op);

/* Parses "View", "Edit" or "None" (case-insensitive) into *out. Returns 0 or BI_EBADVALUE. */
int rights_access_parse(const char *text, enum rights_access *out);

/* Returns "View", "Edit" or "None". */
const char *rights_access_name(enum rights_access access);

#endif
