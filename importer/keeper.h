/* keeper.h — the node's keeper: a thread that heart-beats the node and the tasks its workers hold,
 * rescues other nodes' tasks gone silent (back to PENDING, lease incremented) and purges
 * finished tasks past the retention, on a connection of its own so a busy pool never delays a
 * heartbeat. Workers tell it what they hold by slot; it never touches a task's lines.
 */
#ifndef BI_IMPORTER_KEEPER_H
#define BI_IMPORTER_KEEPER_H

#include <stdint.h>

typedef struct keeper keeper;

typedef struct keeper_config {
    const char *conninfo; /* copied */
    int slots;            /* one per worker thread */
    int heartbeat_ms;     /* the held tasks are marked alive this often */
    int rescue_after_ms;  /* a STARTED task silent this long goes back to PENDING */
    int retention_days;   /* finished tasks are purged after this */
    const char *node;     /* this node's name in nodes, beat each round (copied) */
    const char *version;  /* the server's version, reported with it (copied) */
    const char *commit;   /* ... and the commit it was built from (copied) */
} keeper_config;

/* Starts the keeper thread. Returns 0 and *out (stop with keeper_stop), or BI_EINTERNAL when
 * the thread cannot start. */
int keeper_start(const keeper_config *cfg, keeper **out);

/* Stops the thread after its current round and frees k. NULL does nothing. */
void keeper_stop(keeper *k);

/* Slot slot's worker now runs task_id (copied) under lease: heart-beat it. */
void keeper_hold(keeper *k, int slot, const char *task_id, int64_t lease);

/* Slot slot's worker holds nothing any more. */
void keeper_let_go(keeper *k, int slot);

#endif
