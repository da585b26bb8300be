#include "error.h"
#include "rights.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

/* Every combination of caller (root, owner or member, stranger), public_access and operation. */
struct rights_case {
    bool root;
    bool owner;
    enum rights_access access;
    enum rights_op op;
    int expected;
};

ParameterizedTestParameters(rights, table) {
    static struct rights_case cases[] = {
        /* root: everything, even private */
        {true, false, RIGHTS_ACCESS_NONE, RIGHTS_READ, 0},
        {true, false, RIGHTS_ACCESS_NONE, RIGHTS_EDIT, 0},
        {true, false, RIGHTS_ACCESS_NONE, RIGHTS_ADMIN, 0},
        {true, false, RIGHTS_ACCESS_VIEW, RIGHTS_ADMIN, 0},
        /* owner or member: everything */
        {false, true, RIGHTS_ACCESS_NONE, RIGHTS_READ, 0},
        {false, true, RIGHTS_ACCESS_NONE, RIGHTS_EDIT, 0},
        {false, true, RIGHTS_ACCESS_NONE, RIGHTS_ADMIN, 0},
        {false, true, RIGHTS_ACCESS_VIEW, RIGHTS_EDIT, 0},
        {false, true, RIGHTS_ACCESS_EDIT, RIGHTS_ADMIN, 0},
        /* stranger, View: read only */
        {false, false, RIGHTS_ACCESS_VIEW, RIGHTS_READ, 0},
        {false, false, RIGHTS_ACCESS_VIEW, RIGHTS_EDIT, BI_EPERM},
        {false, false, RIGHTS_ACCESS_VIEW, RIGHTS_ADMIN, BI_EPERM},
        /* stranger, Edit: content yes, the repository itself no */
        {false, false, RIGHTS_ACCESS_EDIT, RIGHTS_READ, 0},
        {false, false, RIGHTS_ACCESS_EDIT, RIGHTS_EDIT, 0},
        {false, false, RIGHTS_ACCESS_EDIT, RIGHTS_ADMIN, BI_EPERM},
        /* stranger, None: as if it did not exist */
        {false, false, RIGHTS_ACCESS_NONE, RIGHTS_READ, BI_ENOTFOUND},
        {false, false, RIGHTS_ACCESS_NONE, RIGHTS_EDIT, BI_ENOTFOUND},
        {false, false, RIGHTS_ACCESS_NONE, RIGHTS_ADMIN, BI_ENOTFOUND},
    };
    return cr_make_param_array(struct rights_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct rights_case *c, rights, table) {
    db_user caller = {.username = "someone", .is_root = c->root};
    rights_target target = {.caller_is_owner = c->owner, .public_access = c->access};
    cr_expect_eq(rights_check(&caller, &target, c->op), c->expected,
                 "root=%d owner=%d access=%s op=%d", c->root, c->owner,
                 rights_access_name(c->access), c->op);
}

Test(rights, access_names) {
    enum rights_access a;
    cr_expect_eq(rights_access_parse("View", &a), 0);
    cr_expect_eq(a, RIGHTS_ACCESS_VIEW);
    cr_expect_eq(rights_access_parse("edit", &a), 0);
    cr_expect_eq(a, RIGHTS_ACCESS_EDIT);
    cr_expect_eq(rights_access_parse("NONE", &a), 0);
    cr_expect_eq(a, RIGHTS_ACCESS_NONE);
    cr_expect_eq(rights_access_parse("Public", &a), BI_EBADVALUE);
    cr_expect_str_eq(rights_access_name(RIGHTS_ACCESS_EDIT), "Edit");
}
