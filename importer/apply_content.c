/* apply_content.c — how concept and mapping lines are applied: set-wise, a run at a time. A run
 * of consecutive lines of one type is cut into rounds of distinct identities (a key repeated in
 * the run keeps file order); each round goes to the database as one lookup, one insert and one
 * update statement (db/content.h), its repositories resolved and their rights checked once
 * through a small cache. A repeat of content just written ends without a round trip. Parsing
 * and dispatch are apply.c's. */
#include "apply_internal.h"

#include "content.h"
#include "error.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define APPLY_CONTENT_CACHE 16

typedef struct apply_content_cache {
    size_t n;
    const char *urls[APPLY_CONTENT_CACHE];
    db_repo repos[APPLY_CONTENT_CACHE];
    bool visible[APPLY_CONTENT_CACHE];
} apply_content_cache;

/* Resolves line i's repository through cache (a run rarely touches more than one). Returns 0
 * and the entry in *out, or NULL when the line ended with 404; or a database error. */
static int apply_content_cached_repo(apply_ctx *ctx, apply_content_cache *cache, size_t i,
                             const db_repo **out) {
    const char *url = ctx->lines[i].rl.parent_url;
    *out = NULL;
    size_t k = 0;
    while (k < cache->n && strcmp(cache->urls[k], url) != 0)
        k++;
    if (k == cache->n) {
        db_repo repo;
        bool visible;
        int err = apply_parent_repo(ctx, i, "SKIP", DB_LOCK_SHARE, &repo, &visible);
        if (err < 0)
            return err;
        if (cache->n == APPLY_CONTENT_CACHE) { /* full: answer without caching */
            *out = NULL;
            return visible ? BI_EBUSY : 0;
        }
        cache->urls[k] = url;
        cache->repos[k] = repo;
        cache->visible[k] = visible;
        cache->n++;
    } else if (!cache->visible[k]) {
        apply_fail(&ctx->results[i], "SKIP", 404, BI_ENOTFOUND,
                   "Repository does not exist at: %s", url);
    }
    *out = cache->visible[k] ? &cache->repos[k] : NULL;
    return 0;
}

static const char *apply_content_or_null(const char *text) { return text[0] != '\0' ? text : NULL; }

/* Writes the first 128 bits of the SHA-256 of data (len bytes) as 32 hex digits and a NUL to
 * out: the digest a stored row keeps of the text it was written from, to tell equal texts.
 * (SHA-256, not MD5: MD5 is unavailable where OpenSSL runs in FIPS mode.) */
static void apply_content_digest(const char *data, size_t len, char out[33]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32)
        abort(); /* SHA-256 is in every OpenSSL provider */
    for (unsigned int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Applies lines idx[0..n_idx): pending, all of one type (concept or mapping), with distinct
 * identities, so they go to the database as sets. Lines it could not take this time (more
 * repositories than the cache holds) stay pending. */
static int apply_content_set(apply_ctx *ctx, const size_t *idx, size_t n_idx) {
    enum db_content_kind kind =
        ctx->lines[idx[0]].rl.type == RULES_CONCEPT ? DB_CONCEPTS : DB_MAPPINGS;
    size_t cap = n_idx;
    db_content_row *rows = calloc(cap, sizeof *rows);
    db_content_row *writes[2] = {calloc(cap, sizeof *rows), calloc(cap, sizeof *rows)};
    size_t *line_of = calloc(cap, sizeof *line_of), *write_row[2] = {
        calloc(cap, sizeof(size_t)), calloc(cap, sizeof(size_t))};
    enum apply_op *ops = calloc(cap, sizeof *ops);
    char(*digests)[33] = calloc(cap, sizeof *digests);
    if (!rows || !writes[0] || !writes[1] || !line_of || !write_row[0] || !write_row[1] || !ops ||
        !digests)
        abort();
    apply_content_cache cache = {0};
    const db_repo *repo;
    size_t n = 0, n_writes[2] = {0, 0};
    int err = 0;
    /* Lines whose repository exists and is visible become rows to look up. */
    size_t taken = 0;
    for (; taken < n_idx && err == 0; taken++) {
        size_t i = idx[taken];
        const rules_line *rl = &ctx->lines[i].rl;
        err = apply_content_cached_repo(ctx, &cache, i, &repo);
        if (err == BI_EBUSY) { /* more repositories than the cache holds: the rest waits */
            err = 0;
            break;
        }
        if (err < 0 || repo == NULL)
            continue;
        db_content_row *row = &rows[n];
        line_of[n++] = i;
        row->repo_id = repo->id;
        row->mnemonic = apply_content_or_null(rl->ref.id);
        row->url = apply_content_or_null(rl->url);
        row->repo_url = rl->parent_url;
        if (kind == DB_MAPPINGS) {
            row->map_type = rl->map_type;
            row->from_concept_url = rl->from_concept_url;
            row->to_concept_url = apply_content_or_null(rl->to_concept_url);
            row->to_source_url = apply_content_or_null(rl->to_source_url);
            row->to_concept_code = apply_content_or_null(rl->to_concept_code);
        }
        row->data = ctx->lines[i].data;
        row->data_len = ctx->lines[i].data_len;
        apply_content_digest(row->data, row->data_len, digests[n - 1]);
        row->digest = digests[n - 1];
        row->retired = rl->has_retired && rl->retired;
    }
    if (err == 0)
        err = db_content_lookup(ctx->conn, kind, rows, n);
    /* Decide each line, check rights, and sort the writes into inserts and updates. */
    for (size_t k = 0; k < n && err == 0; k++) {
        size_t i = line_of[k];
        apply_result *r = &ctx->results[i];
        if (rows[k].found)
            apply_set(&r->obj_url, rows[k].out_url);
        ops[k] = apply_decide(ctx, i, rows[k].found);
        repo = NULL;
        for (size_t c = 0; c < cache.n; c++)
            if (cache.repos[c].id == rows[k].repo_id)
                repo = &cache.repos[c];
        if (ops[k] == APPLY_OP_NONE || !apply_allowed(ctx, i, repo->caller_is_owner,
                                                      repo->public_access, RIGHTS_EDIT,
                                                      ctx->lines[i].rl.parent_url)) {
            ops[k] = APPLY_OP_NONE;
            continue;
        }
        if (ops[k] == APPLY_OP_UPDATE && rows[k].same) { /* unchanged: nothing to send */
            apply_succeed(r, 200, apply_summary(r, r->obj_url, rows[k].version, true));
            ops[k] = APPLY_OP_NONE;
            continue;
        }
        int w = ops[k] == APPLY_OP_CREATE ? 0 : 1;
        db_content_row *row = &writes[w][n_writes[w]];
        *row = rows[k];
        if (ops[k] == APPLY_OP_DELETE) {
            row->data = NULL;
            row->digest = NULL;
            row->retired = true;
        }
        write_row[w][n_writes[w]++] = k;
    }
    if (err == 0)
        err = db_content_insert(ctx->conn, kind, ctx->caller->username, writes[0], n_writes[0],
                                ctx->opt->careful_inserts);
    if (err == 0)
        err = db_content_update(ctx->conn, kind, ctx->caller->username, writes[1], n_writes[1]);
    for (int w = 0; w < 2 && err == 0; w++) {
        for (size_t j = 0; j < n_writes[w]; j++) {
            const db_content_row *row = &writes[w][j];
            size_t k = write_row[w][j];
            apply_result *r = &ctx->results[line_of[k]];
            if (ops[k] == APPLY_OP_CREATE && !row->found) {
                apply_fail(r, "NEW", 409, BI_ECONFLICT,
                           "Object already exists at: %s (created concurrently)", r->obj_url);
            } else if (ops[k] == APPLY_OP_CREATE) {
                apply_set(&r->obj_url, row->out_url);
                apply_succeed(r, 201, apply_summary(r, r->obj_url, 1, false));
            } else if (ops[k] == APPLY_OP_DELETE) {
                cJSON *s = apply_summary(r, r->obj_url, row->version, !row->changed);
                cJSON_AddBoolToObject(s, "retired", true);
                apply_succeed(r, 204, s);
            } else {
                apply_succeed(r, 200, apply_summary(r, r->obj_url, row->version, !row->changed));
            }
        }
    }
    for (size_t k = 0; k < n && err == 0; k++) { /* what a later line of the key builds on */
        apply_line *l = &ctx->lines[line_of[k]];
        l->wrote = ctx->results[line_of[k]].status > 0 && ctx->results[line_of[k]].status < 400;
        l->version = rows[k].version;
        for (int w = 0; w < 2; w++)
            for (size_t j = 0; j < n_writes[w]; j++)
                if (write_row[w][j] == k)
                    l->version = writes[w][j].version;
    }
    for (size_t k = 0; k < taken; k++)
        ctx->lines[idx[k]].pending = false;
    free(digests);
    free(ops);
    free(write_row[0]);
    free(write_row[1]);
    free(line_of);
    free(writes[0]);
    free(writes[1]);
    free(rows);
    return err;
}

/* ---- a run: rounds of distinct identities ---------------------------------------------- */

/* A 64-bit FNV-1a hash of a line's identity: lines with one hash go to different rounds (a
 * collision only costs a round). */
static uint64_t apply_content_identity_hash(const rules_line *rl) {
    const char *parts[] = {rl->parent_url,    rl->url,           rl->map_type,
                           rl->from_concept_url, rl->to_concept_url, rl->to_source_url,
                           rl->to_concept_code};
    size_t n_parts = rl->url[0] != '\0' ? 2 : sizeof parts / sizeof parts[0];
    uint64_t h = 1469598103934665603u;
    for (size_t p = 0; p < n_parts; p++) {
        for (const char *c = parts[p]; *c != '\0'; c++)
            h = (h ^ (unsigned char)*c) * 1099511628211u;
        h = (h ^ 0x1f) * 1099511628211u;
    }
    return h;
}

/* True when lines a and b name the same concept or mapping. */
static bool apply_content_same_identity(const rules_line *a, const rules_line *b) {
    if (a->url[0] != '\0' || b->url[0] != '\0')
        return strcmp(a->url, b->url) == 0;
    return strcmp(a->parent_url, b->parent_url) == 0 && strcmp(a->map_type, b->map_type) == 0 &&
           strcmp(a->from_concept_url, b->from_concept_url) == 0 &&
           strcmp(a->to_concept_url, b->to_concept_url) == 0 &&
           strcmp(a->to_source_url, b->to_source_url) == 0 &&
           strcmp(a->to_concept_code, b->to_concept_code) == 0;
}

/* Line i repeats line prev (same identity, applied earlier in this batch): when prev wrote
 * this very content, line i would change nothing, so it ends as an unchanged UPDATE without a
 * round trip. Returns true when it did. */
static bool apply_content_repeat_unchanged(apply_ctx *ctx, size_t i, size_t prev) {
    const apply_line *l = &ctx->lines[i], *p = &ctx->lines[prev];
    bool writes_content = l->rl.action == RULES_CREATE_OR_UPDATE || l->rl.action == RULES_UPDATE;
    if (!p->wrote || !writes_content || !ctx->opt->update_if_exists ||
        (p->rl.action != RULES_CREATE_OR_UPDATE && p->rl.action != RULES_NEW &&
         p->rl.action != RULES_UPDATE) ||
        !apply_content_same_identity(&l->rl, &p->rl) || l->data_len != p->data_len ||
        memcmp(l->data, p->data, l->data_len) != 0)
        return false;
    apply_result *r = &ctx->results[i];
    apply_set(&r->obj_url, ctx->results[prev].obj_url);
    r->action = "UPDATE";
    apply_succeed(r, 200, apply_summary(r, r->obj_url, p->version, true));
    ctx->lines[i].wrote = true;
    ctx->lines[i].version = p->version;
    ctx->lines[i].pending = false;
    return true;
}

/* Applies the run of consecutive concept or mapping lines that starts at from (lines of other
 * types end it; ended lines are stepped over) and returns its end. A key repeated in the run
 * keeps file order: round r applies each key's r-th line, as one set; a repeat of content just
 * written costs nothing. */
int apply_content_run(apply_ctx *ctx, size_t from, size_t n, size_t *out_end) {
    enum rules_type type = ctx->lines[from].rl.type;
    size_t end = from;
    while (end < n && (!ctx->lines[end].pending || ctx->lines[end].rl.type == type))
        end++;
    *out_end = end;
    size_t span = end - from, cap = 1;
    while (cap < 2 * span)
        cap *= 2;
    /* Per key (by hash): its last line so far. Each line learns its previous one and round. */
    uint64_t *hashes = calloc(cap, sizeof *hashes);
    size_t *last = calloc(cap, sizeof *last), *prev = calloc(span, sizeof *prev);
    int *round = calloc(span, sizeof *round), *last_round = calloc(cap, sizeof *last_round);
    size_t *idx = calloc(span, sizeof *idx);
    if (!hashes || !last || !prev || !round || !last_round || !idx)
        abort();
    int rounds = 0;
    for (size_t i = from; i < end; i++) {
        if (!ctx->lines[i].pending)
            continue;
        uint64_t h = apply_content_identity_hash(&ctx->lines[i].rl) | 1;
        size_t slot = h & (cap - 1);
        while (hashes[slot] != 0 && hashes[slot] != h)
            slot = (slot + 1) & (cap - 1);
        prev[i - from] = hashes[slot] == h ? last[slot] : SIZE_MAX;
        round[i - from] = hashes[slot] == h ? last_round[slot] + 1 : 1;
        hashes[slot] = h;
        last[slot] = i;
        last_round[slot] = round[i - from];
        rounds = round[i - from] > rounds ? round[i - from] : rounds;
    }
    int err = 0;
    for (int r = 1; r <= rounds && err == 0; r++) {
        for (;;) { /* again while lines of this round wait for a repository cache slot */
            size_t n_idx = 0;
            for (size_t i = from; i < end; i++)
                if (ctx->lines[i].pending && round[i - from] == r &&
                    (prev[i - from] == SIZE_MAX ||
                     !apply_content_repeat_unchanged(ctx, i, prev[i - from])))
                    idx[n_idx++] = i;
            if (n_idx == 0 || (err = apply_content_set(ctx, idx, n_idx)) < 0)
                break;
        }
    }
    free(idx);
    free(last_round);
    free(round);
    free(prev);
    free(last);
    free(hashes);
    return err;
}
