/* plan.h — cuts a task's lines, in file order, into batches and the barriers between them
 * (DESIGN.md "Import pipeline"; issue "Performance").
 *
 * Lines are grouped into waves. A run of consecutive concept lines (or mapping lines) is one
 * parallel wave: its lines are spread over PLAN_PARTITIONS partitions by resource key, so all
 * lines of one key fall in one partition, and each partition is cut into batches of at most
 * batch_size lines. Batches of different partitions may run at the same time; one partition's
 * batches run in order. Every other line (and every line when the plan is not parallel) forms
 * serial batches of consecutive lines. A barrier — everything emitted before it has
 * committed, through line `through` — follows every serial batch and every parallel wave.
 *
 * The cut depends only on the lines, batch_size and parallel, and a plan started right after
 * a barrier cuts the rest exactly as a plan started at line 1 did: a resumed task recognises
 * its committed batches by their first line.
 */
#ifndef BI_IMPORTER_PLAN_H
#define BI_IMPORTER_PLAN_H

#include "rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLAN_PARTITIONS 4                   /* fixed: a resumed task must cut the same batches */
#define PLAN_BATCH_BYTES (16 * 1024 * 1024) /* a batch also ends at this much text */

/* A batch: lines in file order, owning copies of their texts. */
typedef struct plan_batch {
    int partition; /* 0..PLAN_PARTITIONS-1 in a parallel wave; -1: serial */
    size_t n;
    int64_t *numbers;     /* line numbers; numbers[0] is the lowest and names the batch */
    const char **texts;   /* "" for a line the upload flagged */
    size_t *lens;
    const char **flagged; /* the upload's error code of the line (borrowed), or NULL */
    size_t cap, bytes;
    struct plan_batch *next; /* free for the plan's user */
} plan_batch;

/* Receives each complete batch (ownership passes: plan_batch_free it) or, with batch NULL, a
 * barrier after line through. Returns 0, or non-zero to make plan_add/plan_finish return it. */
typedef int (*plan_emit_fn)(plan_batch *batch, int64_t through, void *ctx);

typedef struct plan plan;

/* A new plan of batches of batch_size lines (>= 1); parallel false: serial batches only. */
plan *plan_create(int batch_size, bool parallel, plan_emit_fn emit, void *ctx);

/* Adds line number (text of len bytes, or the upload's error code flagged — borrowed for as
 * long as the batch lives — with text ignored).
 * Lines must come in ascending order. Returns 0 or what emit returned. */
int plan_add(plan *p, int64_t number, const char *text, size_t len, const char *flagged);

/* Emits what is left and a final barrier. Returns 0 or what emit returned. */
int plan_finish(plan *p);

/* Frees p and the batches it still holds. NULL does nothing. */
void plan_free(plan *p);

void plan_batch_free(plan_batch *b);

/* How line text would be partitioned: *out_type is RULES_CONCEPT or RULES_MAPPING with
 * *out_key its key's hash for a line a parallel wave may take, else RULES_NO_TYPE (the line
 * goes to a serial batch: another type, unreadable, or escapes in the fields that decide).
 * Reads only the top-level members "type", "id" and "from_concept_url". */
void plan_identity(const char *text, size_t len, enum rules_type *out_type, uint64_t *out_key);

#endif
