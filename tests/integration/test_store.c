/* The resource store end to end: OCL's sample files applied through the importer entry point
 * (apply_lines) on a real database, then read back through the real server's API. */
#include "apply.h"
#include "harness.h"
#include "pool.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROOT "Token " HARNESS_ROOT_TOKEN
#define FIXTURES BI_SOURCE_DIR "/tests/fixtures/ocl/"
#define MAX_LINES 1024

static harness_server srv;

static void start(void) { harness_server_start_default(&srv); }

static void stop(void) { cr_expect_eq(harness_server_stop(&srv), 0, "bulkimportd did not exit cleanly"); }

TestSuite(store, .init = start, .fini = stop, .timeout = 180);

/* The results of applying a file, and what they add up to. */
typedef struct applied {
    apply_result results[MAX_LINES];
    size_t n;
    int n_failed;
} applied;

/* Applies text (JSON lines) as username in one transaction on srv's database. */
static applied *apply_text(const char *text, const char *username, bool is_root,
                           bool update_if_exists) {
    applied *a = calloc(1, sizeof *a);
    const char *lines[MAX_LINES];
    size_t lens[MAX_LINES];
    for (const char *p = text; *p != '\0';) {
        size_t len = strcspn(p, "\n");
        if (len > 0) {
            cr_assert_lt(a->n, MAX_LINES);
            lines[a->n] = p;
            lens[a->n++] = len;
        }
        p += len + (p[len] == '\n');
    }
    db_pool *pool;
    db_conn *conn;
    cr_assert_eq(db_pool_create(srv.conninfo, 1, &pool), 0);
    cr_assert_eq(db_pool_acquire(pool, 5000, &conn), 0);
    cr_assert_eq(db_begin(conn), 0);
    db_user caller = {.is_root = is_root};
    snprintf(caller.username, sizeof caller.username, "%s", username);
    apply_options opt = {.update_if_exists = update_if_exists};
    cr_assert_eq(apply_lines(conn, &caller, &opt, lines, lens, 1, a->n, a->results), 0);
    cr_assert_eq(db_commit(conn), 0);
    db_pool_release(pool, conn);
    db_pool_destroy(pool);
    for (size_t i = 0; i < a->n; i++)
        a->n_failed += a->results[i].status >= 400;
    return a;
}

static char *read_fixture(const char *name) {
    static char buf[512 * 1024];
    long len = harness_read_file(name, buf, sizeof buf);
    cr_assert_gt(len, 0, "cannot read %s", name);
    return buf;
}

static void applied_free(applied *a) {
    apply_results_free(a->results, a->n);
    free(a);
}

static void expect_all_succeeded(const applied *a) {
    for (size_t i = 0; i < a->n; i++)
        cr_expect_lt(a->results[i].status, 400, "line %d: %s %d %s", a->results[i].line,
                     a->results[i].action, a->results[i].status, a->results[i].message);
}

Test(store, sample_ocldev_loads) {
    applied *a = apply_text(read_fixture(FIXTURES "sample_ocldev.json"), "root", true, true);
    cr_expect_eq(a->n, 64);
    expect_all_succeeded(a);
    applied_free(a);
}
