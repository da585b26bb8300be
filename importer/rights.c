#include "rights.h"

#include "error.h"

#include <strings.h>

int rights_check(const db_user *caller, const rights_target *target, enum rights_op op) {
    if (caller->is_root || target->caller_is_owner)
        return 0;
    if (target->public_access == RIGHTS_ACCESS_NONE)
        return BI_ENOTFOUND;
    switch (op) {
    case RIGHTS_READ:
        return 0;
    case RIGHTS_EDIT:
        return target->public_access == RIGHTS_ACCESS_EDIT ? 0 : BI_EPERM;
    case RIGHTS_ADMIN:
        return BI_EPERM;
    }
    return BI_EPERM;
}

static const char *const access_names[] = {"None", "View", "Edit"};

int rights_access_parse(const char *text, enum rights_access *out) {
    for (int i = 0; i < 3; i++) {
        if (strcasecmp(text, access_names[i]) == 0) {
            *out = (enum rights_access)i;
            return 0;
        }
    }
    return BI_EBADVALUE;
}

const char *rights_access_name(enum rights_access access) { return access_names[access]; }
