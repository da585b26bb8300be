/* The plan: which lines may run in parallel, how they are cut into batches and barriers, and
 * that a plan started after any barrier cuts the rest exactly as the whole plan did. */
#include "plan.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void identity(const char *text, enum rules_type *type, uint64_t *key) {
    plan_identity(text, strlen(text), type, key);
}

Test(plan, identity_reads_type_and_key_of_concepts_and_mappings) {
    enum rules_type type;
    uint64_t a, b;
    identity("{\"type\":\"Concept\",\"id\":\"c1\",\"names\":[{\"type\":\"x\"}]}", &type, &a);
    cr_expect_eq(type, RULES_CONCEPT);
    identity(" { \"id\" : \"c1\" , \"extras\":{\"id\":\"z\",\"s\":\"}\\\"\"}, \"type\" : \"concept\" } ",
             &type, &b);
    cr_expect_eq(type, RULES_CONCEPT, "case-insensitive type, nested members skipped");
    cr_expect_eq(a, b, "the same id gives the same key");
    identity("{\"type\":\"Concept\",\"id\":\"c2\"}", &type, &b);
    cr_expect_neq(a, b);
    identity("{\"type\":\"Mapping\",\"from_concept_url\":\"/orgs/O/sources/S/concepts/A/\"}", &type, &a);
    cr_expect_eq(type, RULES_MAPPING);
    identity("{\"map_type\":\"SAME-AS\",\"from_concept_url\":\"/orgs/O/sources/S/concepts/A/\","
             "\"type\":\"Mapping\",\"to_concept_url\":\"/x/\"}",
             &type, &b);
    cr_expect_eq(a, b, "a mapping without id is keyed by its from concept");
}

Test(plan, identity_sends_everything_else_to_serial_batches) {
    static const char *const serial[] = {
        "{\"type\":\"Organization\",\"id\":\"O\"}",
        "{\"type\":\"Source\",\"id\":\"S\"}",
        "{\"type\":\"Con\\u0063ept\",\"id\":\"c\"}",       /* an escape in the type */
        "{\"type\":\"Concept\",\"id\":\"c\\u0031\"}",      /* an escape in the key */
        "{\"typ\\u0065\":\"Concept\",\"id\":\"c\"}",       /* an escape in a member name */
        "{\"type\":\"Concept\",\"id\":7}",                 /* not a string */
        "{\"type\":[\"Concept\"],\"id\":\"c\"}",
        "{\"type\":\"Concept\",\"id\":\"c\"",              /* unterminated */
        "[\"type\",\"Concept\"]",
        "",
        "{\"id\":\"c\"}",                                  /* no type */
    };
    for (size_t i = 0; i < sizeof serial / sizeof serial[0]; i++) {
        enum rules_type type;
        uint64_t key;
        identity(serial[i], &type, &key);
        cr_expect_eq(type, RULES_NO_TYPE, "%s", serial[i]);
    }
    enum rules_type type;
    uint64_t first, second;
    identity("{\"type\":\"Concept\",\"id\":\"a\",\"id\":\"b\"}", &type, &first);
    identity("{\"type\":\"Concept\",\"id\":\"a\"}", &type, &second);
    cr_expect_eq(first, second, "the first of a repeated member counts, as in the parser");
}

/* What a plan emitted: "p:line,line,...|" per batch (s: serial; "!code" after a flagged
 * line), "B<through>|" per barrier. */
typedef struct trace {
    char text[8192];
    size_t len;
    int partition_of_key[32]; /* c<k>: the partition it went to, or -1 */
} trace;

static int record(plan_batch *b, int64_t through, void *ctx) {
    trace *t = ctx;
    if (b == NULL) {
        t->len += (size_t)snprintf(t->text + t->len, sizeof t->text - t->len, "B%lld|",
                                   (long long)through);
        return 0;
    }
    t->len += (size_t)snprintf(t->text + t->len, sizeof t->text - t->len, "%c:",
                               b->partition < 0 ? 's' : 'p');
    for (size_t i = 0; i < b->n; i++) {
        t->len += (size_t)snprintf(t->text + t->len, sizeof t->text - t->len, "%s%lld%s%s",
                                   i ? "," : "", (long long)b->numbers[i],
                                   b->flagged[i] ? "!" : "", b->flagged[i] ? b->flagged[i] : "");
        int k;
        if (b->partition >= 0 && sscanf(b->texts[i], "{\"type\":\"Concept\",\"id\":\"c%d\"", &k) == 1) {
            cr_expect(t->partition_of_key[k] < 0 || t->partition_of_key[k] == b->partition,
                      "key c%d stays in one partition", k);
            t->partition_of_key[k] = b->partition;
        }
        cr_expect_eq(b->lens[i], strlen(b->texts[i]));
    }
    t->len += (size_t)snprintf(t->text + t->len, sizeof t->text - t->len, "|");
    plan_batch_free(b);
    return 0;
}

/* Plans lines[from..n) (line i has number i + 1) and returns the trace. */
static void run_plan(const char *const *lines, size_t n, size_t from, int batch_size,
                     bool parallel, trace *t) {
    memset(t, 0, sizeof *t);
    memset(t->partition_of_key, -1, sizeof t->partition_of_key);
    plan_cut cut = {batch_size, parallel ? PLAN_PARTITIONS : 0, PLAN_BATCH_BYTES};
    plan *p = plan_create(cut, record, t);
    for (size_t i = from; i < n; i++)
        cr_assert_eq(plan_add(p, (int64_t)i + 1, lines[i], strlen(lines[i]), NULL), 0);
    cr_assert_eq(plan_finish(p), 0);
    plan_free(p);
}

Test(plan, serial_plan_cuts_consecutive_batches_with_a_barrier_after_each) {
    const char *lines[] = {"{\"type\":\"Concept\",\"id\":\"c1\"}", "{}", "x",
                           "{\"type\":\"Concept\",\"id\":\"c1\"}", "{}"};
    trace t;
    run_plan(lines, 5, 0, 2, false, &t);
    cr_expect_str_eq(t.text, "s:1,2|B2|s:3,4|B4|s:5|B5|");
}

static const char *const mixed[] = {
    "{\"type\":\"Organization\",\"id\":\"O\"}",
    "{\"type\":\"Source\",\"id\":\"S\"}",
    "{\"type\":\"Concept\",\"id\":\"c1\"}",
    "{\"type\":\"Concept\",\"id\":\"c2\"}",
    "{\"type\":\"Concept\",\"id\":\"c1\"}",
    "{\"type\":\"Concept\",\"id\":\"c3\"}",
    "{\"type\":\"Concept\",\"id\":\"c4\"}",
    "{\"type\":\"Concept\",\"id\":\"c5\"}",
    "{\"type\":\"Concept\",\"id\":\"c1\"}",
    "{\"type\":\"Concept\",\"id\":\"c6\"}",
    "{\"type\":\"Mapping\",\"id\":\"m1\"}",
    "{\"type\":\"Mapping\",\"id\":\"m2\"}",
    "not json",
    "{\"type\":\"Concept\",\"id\":\"c7\"}",
};

Test(plan, parallel_plan_keeps_keys_together_and_ends_waves_with_barriers) {
    trace t;
    run_plan(mixed, sizeof mixed / sizeof mixed[0], 0, 2, true, &t);
    /* The organization and source form one serial batch; the concept wave 3..10 ends with a
     * barrier at 10; the mapping wave 11..12 at 12; the bad line is serial; then c7. */
    cr_expect(strncmp(t.text, "s:1,2|B2|", 9) == 0, "%s", t.text);
    cr_expect(strstr(t.text, "|B10|") != NULL, "%s", t.text);
    cr_expect(strstr(t.text, "|B12|s:13|B13|p:14|B14|") != NULL, "%s", t.text);
    /* c1's three lines (3, 5, 9) stay in one partition (record checks), in order. */
    const char *c1 = strstr(t.text, ":3,5|");
    cr_expect(c1 != NULL && strstr(c1, "9|") != NULL, "%s", t.text);
    size_t batches = 0;
    for (const char *at = strstr(t.text, "B2|"); at && at < strstr(t.text, "B10|"); at++)
        batches += *at == ':';
    cr_expect_geq(batches, 4, "eight concept lines in batches of at most two: %s", t.text);
}

Test(plan, a_plan_started_after_any_barrier_cuts_the_rest_the_same_way) {
    size_t n = sizeof mixed / sizeof mixed[0];
    trace whole;
    run_plan(mixed, n, 0, 2, true, &whole);
    for (const char *b = strchr(whole.text, 'B'); b != NULL; b = strchr(b + 1, 'B')) {
        long through = atol(b + 1);
        trace rest;
        run_plan(mixed, n, (size_t)through, 2, true, &rest);
        const char *tail = strchr(b, '|') + 1;
        cr_expect_str_eq(rest.text, tail, "resumed after line %ld", through);
    }
}

Test(plan, flagged_lines_are_serial_and_keep_their_code) {
    trace t = {0};
    memset(t.partition_of_key, -1, sizeof t.partition_of_key);
    plan *p = plan_create((plan_cut){10, PLAN_PARTITIONS, PLAN_BATCH_BYTES}, record, &t);
    const char *c1 = "{\"type\":\"Concept\",\"id\":\"c1\"}";
    cr_assert_eq(plan_add(p, 1, c1, strlen(c1), NULL), 0);
    cr_assert_eq(plan_add(p, 2, "ignored", 7, "nul_byte"), 0);
    cr_assert_eq(plan_finish(p), 0);
    plan_free(p);
    cr_expect_str_eq(t.text, "p:1|B1|s:2!nul_byte|B2|");
}

Test(plan, the_cut_decides_partitions_and_the_byte_cap) {
    static const char *const lines[] = {"{\"type\":\"Organization\",\"id\":\"O\"}", "abcde",
                                        "abcde", "abcde", "abcde"};
    trace t = {0};
    memset(t.partition_of_key, -1, sizeof t.partition_of_key);
    plan *p = plan_create((plan_cut){100000, 0, 10}, record, &t);
    for (size_t i = 0; i < 5; i++)
        cr_assert_eq(plan_add(p, (int64_t)i + 1, lines[i], strlen(lines[i]), NULL), 0);
    cr_assert_eq(plan_finish(p), 0);
    plan_free(p);
    cr_expect_str_eq(t.text, "s:1|B1|s:2,3|B3|s:4,5|B5|", "a batch ends at 10 bytes of text");

    /* One partition: a wave's lines all go to partition 0, in order. */
    memset(&t, 0, sizeof t);
    memset(t.partition_of_key, -1, sizeof t.partition_of_key);
    p = plan_create((plan_cut){100, 1, PLAN_BATCH_BYTES}, record, &t);
    for (int64_t i = 1; i <= 4; i++) {
        char line[64];
        snprintf(line, sizeof line, "{\"type\":\"Concept\",\"id\":\"c%lld\"}", (long long)i);
        cr_assert_eq(plan_add(p, i, line, strlen(line), NULL), 0);
    }
    cr_assert_eq(plan_finish(p), 0);
    plan_free(p);
    cr_expect_str_eq(t.text, "p:1,2,3,4|B4|");
}

Test(plan, a_new_task_gets_its_cut_from_its_queue) {
    db_task standard = {.batch_size = 50, .parallel = 5},
            named = {.batch_size = 50, .named = true, .parallel = 5},
            hierarchy = {.batch_size = 50, .parallel = 1},
            test_mode = {.batch_size = 50, .test_mode = true, .parallel = 5};
    plan_cut_fix(&standard);
    plan_cut_fix(&named);
    plan_cut_fix(&hierarchy);
    plan_cut_fix(&test_mode);
    cr_expect_eq(standard.partitions, PLAN_PARTITIONS);
    cr_expect_eq(named.partitions, PLAN_PARTITIONS, "parallel governs lines in a named queue too");
    cr_expect_eq(hierarchy.partitions, 0, "parallel=1: strictly in file order");
    cr_expect_eq(test_mode.partitions, 0, "a test-mode task's batches are serial");
    plan_cut cut = plan_cut_of(&standard);
    cr_expect(cut.batch_size == 50 && cut.partitions == PLAN_PARTITIONS &&
              cut.batch_bytes == PLAN_BATCH_BYTES);
}
