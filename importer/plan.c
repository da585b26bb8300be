#include "plan.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct plan {
    plan_cut cut;
    plan_emit_fn emit;
    void *ctx;
    enum rules_type wave; /* the parallel wave's type, or RULES_NO_TYPE: serial */
    int64_t last;         /* the last line added */
    plan_batch *filling[PLAN_SLOTS]; /* the batch being filled in each partition, and serial */
    char *buf[PLAN_SLOTS];           /* the texts of each batch being filled */
    size_t buf_len[PLAN_SLOTS], buf_cap[PLAN_SLOTS];
    size_t *offsets[PLAN_SLOTS];
};

void plan_cut_fix(db_task *task) {
    task->partitions = task->test_mode || task->parallel == 1 ? 0 : PLAN_PARTITIONS;
    task->batch_bytes = PLAN_BATCH_BYTES;
}

plan_cut plan_cut_of(const db_task *task) {
    return (plan_cut){task->batch_size, task->partitions, task->batch_bytes};
}

/* ---- identity: a scan of the top-level members only ---- */

typedef struct scan {
    const char *s, *end;
} scan;

static void scan_space(scan *c) {
    while (c->s < c->end && (*c->s == ' ' || *c->s == '\t' || *c->s == '\r' || *c->s == '\n'))
        c->s++;
}

/* Reads a string at c->s (after its opening quote is checked): its raw span, and whether it
 * has an escape. Returns false when it does not end. */
static bool scan_string(scan *c, const char **out, size_t *out_len, bool *out_escaped) {
    if (c->s >= c->end || *c->s != '"')
        return false;
    const char *start = ++c->s;
    bool escaped = false;
    while (c->s < c->end && *c->s != '"') {
        if (*c->s == '\\') {
            escaped = true;
            c->s++;
        }
        c->s++;
    }
    if (c->s >= c->end)
        return false;
    *out = start;
    *out_len = (size_t)(c->s - start);
    *out_escaped = escaped;
    c->s++;
    return true;
}

/* Skips one value that is not a string: a nested object or array (strings inside it
 * respected), a number or a literal. Returns false at a malformed end. */
static bool scan_skip(scan *c) {
    int depth = 0;
    while (c->s < c->end) {
        char ch = *c->s;
        if (ch == '"') {
            const char *ignored;
            size_t len;
            bool escaped;
            if (!scan_string(c, &ignored, &len, &escaped))
                return false;
            continue;
        }
        if (ch == '{' || ch == '[')
            depth++;
        else if (ch == '}' || ch == ']') {
            if (depth == 0)
                return true; /* the end of the enclosing object */
            depth--;
        } else if (ch == ',' && depth == 0)
            return true;
        c->s++;
    }
    return false;
}

static uint64_t plan_hash(const char *s, size_t len) {
    uint64_t h = 14695981039346656037ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

enum { F_TYPE, F_ID, F_FROM, F_N };

void plan_identity(const char *text, size_t len, enum rules_type *out_type, uint64_t *out_key) {
    static const char *const names[F_N] = {"type", "id", "from_concept_url"};
    const char *value[F_N] = {NULL};
    size_t value_len[F_N] = {0};
    *out_type = RULES_NO_TYPE;
    *out_key = 0;
    scan c = {text, text + len};
    scan_space(&c);
    if (c.s >= c.end || *c.s++ != '{')
        return;
    for (;;) {
        scan_space(&c);
        const char *key, *v;
        size_t key_len, v_len;
        bool key_escaped, v_escaped = false;
        if (!scan_string(&c, &key, &key_len, &key_escaped))
            return;
        scan_space(&c);
        if (c.s >= c.end || *c.s++ != ':')
            return;
        scan_space(&c);
        bool is_string = c.s < c.end && *c.s == '"';
        if (is_string ? !scan_string(&c, &v, &v_len, &v_escaped) : !scan_skip(&c))
            return;
        if (key_escaped) /* it might spell a field that decides: let the line go serial */
            return;
        for (int f = 0; f < F_N; f++)
            if (key_len == strlen(names[f]) && memcmp(key, names[f], key_len) == 0 &&
                value[f] == NULL) {
                if (!is_string || v_escaped)
                    return;
                value[f] = v;
                value_len[f] = v_len;
            }
        scan_space(&c);
        if (c.s < c.end && *c.s == ',') {
            c.s++;
            continue;
        }
        if (c.s >= c.end || *c.s != '}')
            return;
        break;
    }
    if (value[F_TYPE] == NULL)
        return;
    static const enum rules_type parallel_types[] = {RULES_CONCEPT, RULES_MAPPING};
    for (size_t i = 0; i < sizeof parallel_types / sizeof parallel_types[0]; i++) {
        const char *name = rules_type_name(parallel_types[i]);
        if (value_len[F_TYPE] == strlen(name) && strncasecmp(value[F_TYPE], name, strlen(name)) == 0)
            *out_type = parallel_types[i];
    }
    /* A mapping without an id is known by (map_type, from, to): its from concept keys it. */
    int f = *out_type == RULES_MAPPING && value[F_ID] == NULL ? F_FROM : F_ID;
    *out_key = value[f] ? plan_hash(value[f], value_len[f]) : 0;
}

/* ---- batches ---- */

void plan_batch_free(plan_batch *b) {
    if (b == NULL)
        return;
    if (b->texts != NULL)
        free((void *)b->texts[b->n]); /* the text buffer, kept after the last text */
    free(b->numbers);
    free(b->texts);
    free(b->lens);
    free(b->flagged);
    free(b);
}

plan *plan_create(plan_cut cut, plan_emit_fn emit, void *ctx) {
    plan *p = calloc(1, sizeof *p);
    if (p == NULL)
        abort();
    p->cut.batch_size = cut.batch_size < 1 ? 1 : cut.batch_size;
    p->cut.partitions = cut.partitions < 0                     ? 0
                        : cut.partitions > PLAN_PARTITIONS_MAX ? PLAN_PARTITIONS_MAX
                                                               : cut.partitions;
    p->cut.batch_bytes = cut.batch_bytes < 1 ? 1 : cut.batch_bytes;
    p->emit = emit;
    p->ctx = ctx;
    p->wave = RULES_NO_TYPE;
    return p;
}

/* Makes room for one more line in b (filled in slot): its arrays grow with the lines it holds,
 * so a large batch_size costs nothing until lines come. */
static void plan_grow(plan *p, int slot, plan_batch *b) {
    if (b->n < b->cap)
        return;
    size_t cap = b->cap ? b->cap * 2 : 64;
    if (cap > (size_t)p->cut.batch_size)
        cap = (size_t)p->cut.batch_size;
    if (!(b->numbers = realloc(b->numbers, cap * sizeof *b->numbers)) ||
        !(b->texts = realloc(b->texts, (cap + 1) * sizeof *b->texts)) ||
        !(b->lens = realloc(b->lens, cap * sizeof *b->lens)) ||
        !(b->flagged = realloc(b->flagged, cap * sizeof *b->flagged)) ||
        !(p->offsets[slot] = realloc(p->offsets[slot], cap * sizeof *p->offsets[slot])))
        abort();
    b->cap = cap;
}

static void plan_append(plan *p, int slot, int64_t number, const char *text, size_t len,
                        const char *flagged) {
    plan_batch **at = &p->filling[slot];
    if (*at == NULL) {
        if ((*at = calloc(1, sizeof **at)) == NULL)
            abort();
        (*at)->partition = slot == PLAN_SERIAL ? -1 : slot;
        p->buf_len[slot] = 0;
    }
    plan_batch *b = *at;
    plan_grow(p, slot, b);
    if (flagged != NULL)
        len = 0;
    if (p->buf_len[slot] + len + 1 > p->buf_cap[slot]) {
        size_t cap = p->buf_cap[slot] ? p->buf_cap[slot] : 64 * 1024;
        while (cap < p->buf_len[slot] + len + 1)
            cap *= 2;
        if ((p->buf[slot] = realloc(p->buf[slot], cap)) == NULL)
            abort();
        p->buf_cap[slot] = cap;
    }
    memcpy(p->buf[slot] + p->buf_len[slot], flagged ? "" : text, len);
    p->buf[slot][p->buf_len[slot] + len] = '\0';
    p->offsets[slot][b->n] = p->buf_len[slot];
    p->buf_len[slot] += len + 1;
    b->numbers[b->n] = number;
    b->lens[b->n] = len;
    b->flagged[b->n] = flagged;
    b->n++;
    b->bytes += len;
}

/* Hands slot's batch, if any, to emit: its text buffer moves into the batch. */
static int plan_emit_slot(plan *p, int slot) {
    plan_batch **at = &p->filling[slot];
    plan_batch *b = *at;
    if (b == NULL)
        return 0;
    *at = NULL;
    for (size_t i = 0; i < b->n; i++)
        b->texts[i] = p->buf[slot] + p->offsets[slot][i];
    b->texts[b->n] = p->buf[slot]; /* owned; freed by plan_batch_free */
    p->buf[slot] = NULL;
    p->buf_cap[slot] = p->buf_len[slot] = 0;
    return p->emit(b, 0, p->ctx);
}

/* Emits every batch being filled, then a barrier after the last line added. */
static int plan_barrier(plan *p) {
    bool any = false;
    for (int slot = 0; slot < PLAN_SLOTS; slot++) {
        any |= p->filling[slot] != NULL;
        int rc = plan_emit_slot(p, slot);
        if (rc != 0)
            return rc;
    }
    p->wave = RULES_NO_TYPE;
    return any ? p->emit(NULL, p->last, p->ctx) : 0;
}

static bool plan_full(const plan *p, int slot) {
    const plan_batch *b = p->filling[slot];
    return b != NULL &&
           (b->n >= (size_t)p->cut.batch_size || b->bytes >= (size_t)p->cut.batch_bytes);
}

int plan_add(plan *p, int64_t number, const char *text, size_t len, const char *flagged) {
    enum rules_type type = RULES_NO_TYPE;
    uint64_t key = 0;
    if (p->cut.partitions > 0 && flagged == NULL)
        plan_identity(text, len, &type, &key);
    int rc = 0;
    if (type != p->wave) /* a wave ends, or a serial run ends for a wave */
        rc = plan_barrier(p);
    if (rc != 0)
        return rc;
    p->wave = type;
    int slot = type == RULES_NO_TYPE ? PLAN_SERIAL : (int)(key % (uint64_t)p->cut.partitions);
    plan_append(p, slot, number, text, len, flagged);
    p->last = number;
    if (plan_full(p, slot)) {
        if ((rc = plan_emit_slot(p, slot)) != 0)
            return rc;
        if (slot == PLAN_SERIAL)
            rc = p->emit(NULL, number, p->ctx); /* serial batches run one at a time */
    }
    return rc;
}

int plan_finish(plan *p) { return plan_barrier(p); }

void plan_free(plan *p) {
    if (p == NULL)
        return;
    for (int slot = 0; slot < PLAN_SLOTS; slot++) {
        plan_batch *b = p->filling[slot];
        if (b != NULL) {
            b->texts[b->n] = NULL;
            plan_batch_free(b);
        }
        free(p->buf[slot]);
        free(p->offsets[slot]);
    }
    free(p);
}
