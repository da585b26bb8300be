/* plan.h — cuts a task's lines, in file order, into batches and the barriers between them
 * (DESIGN.md "Import pipeline"; issue "Performance").
 *
 * Lines are grouped into waves. A run of consecutive concept lines (or mapping lines) is one
 * parallel wave: its lines are spread over the cut's partitions by resource key, so all lines
 * of one key fall in one partition, and each partition is cut into batches of at most
 * batch_size lines and batch_bytes of text. Batches of different partitions may run at the
 * same time; one partition's batches run in order. Every other line (and every line of a cut
 * without partitions) forms serial batches of consecutive lines. A barrier — everything
 * emitted before it has committed, through line `through` — follows every serial batch and
 * every parallel wave.
 *
 * The cut depends only on the lines and the plan_cut, and a plan started right after a
 * barrier cuts the rest exactly as a plan started at line 1 did: a resumed task recognises its
 * committed batches by their first line. So the plan_cut is fixed when a task is created and
 * stored with it (plan_cut_fix): a node with other --workers, or another build, that resumes
 * the task cuts exactly the same batches.
 */
#ifndef BI_IMPORTER_PLAN_H
#define BI_IMPORTER_PLAN_H

#include "rules.h"
#include "tasks.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLAN_PARTITIONS 4                   /* a new standard-queue task's partitions */
#define PLAN_PARTITIONS_MAX 16              /* what a stored cut may hold (a table CHECK too) */
#define PLAN_BATCH_BYTES (2 * 1024 * 1024)  /* a new task's batches also end at this much text */
#define PLAN_PARALLEL_DEFAULT 5             /* OCL's parallel: a task's default */
#define PLAN_PARALLEL_MAX 100

/* Everything that decides how a task's lines are cut into batches. */
typedef struct plan_cut {
    int batch_size;      /* lines per batch, >= 1 */
    int partitions;      /* 0: serial batches only; else 1..PLAN_PARTITIONS_MAX */
    int64_t batch_bytes; /* a batch ends once it holds this much text, >= 1 */
} plan_cut;

/* Fixes the cut of new task (test_mode, batch_size and parallel set) in its partitions and
 * batch_bytes, which are stored with it: its concept and mapping waves run in parallel
 * partitions (in a named queue too: the queue orders tasks, parallel governs lines within
 * one), except with OCL's parallel=1 ("hierarchy": lines strictly in file order) or in test
 * mode, whose batches are all serial. */
void plan_cut_fix(db_task *task);

/* The cut stored with task. */
plan_cut plan_cut_of(const db_task *task);

/* A batch: lines in file order, owning copies of their texts. */
typedef struct plan_batch {
    int partition; /* 0..partitions-1 in a parallel wave; -1: serial */
    size_t n;
    int64_t *numbers;     /* line numbers; numbers[0] is the lowest and names the batch */
    const char **texts;   /* "" for a line the upload flagged */
    size_t *lens;
    const char **flagged; /* the upload's error code of the line (borrowed), or NULL */
    size_t cap, bytes;
    struct plan_batch *next; /* free for the plan's user */
} plan_batch;

/* A batch's slot: its partition, or PLAN_SERIAL; one queue per slot holds a run in order. */
#define PLAN_SERIAL PLAN_PARTITIONS_MAX
#define PLAN_SLOTS (PLAN_PARTITIONS_MAX + 1)
static inline int plan_batch_slot(const plan_batch *b) {
    return b->partition < 0 ? PLAN_SERIAL : b->partition;
}

/* Receives each complete batch (ownership passes: plan_batch_free it) or, with batch NULL, a
 * barrier after line through. Returns 0, or non-zero to make plan_add/plan_finish return it. */
typedef int (*plan_emit_fn)(plan_batch *batch, int64_t through, void *ctx);

typedef struct plan plan;

/* A new plan that cuts as cut says (out-of-range values are clamped into range). */
plan *plan_create(plan_cut cut, plan_emit_fn emit, void *ctx);

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
