/* prune.h — the prune phase of a full feed's run: after its import, what the file did not
 * mention in the repositories it wrote to is retired (concepts, mappings) or removed
 * (references), in batches that each commit their changes and results together.
 */
#ifndef BI_IMPORTER_PRUNE_H
#define BI_IMPORTER_PRUNE_H

#include "tasks.h"
#include "users.h"

#include <stdbool.h>
#include <stdint.h>

/* Prunes for task (held with its lease, its import done) as caller, batch_size items (at least
 * 5000) per transaction, each statement bounded to timeout_ms. A resumed prune goes on where it stopped.
 * Returns 0 with *out_cancel when a cancel was requested; BI_EBUSY when the lease was lost; or a
 * database error; *out_pruned gets how many items this call pruned. */
int prune_run(db_conn *conn, const db_task *task, const db_user *caller, int batch_size,
              int timeout_ms, int64_t *out_pruned, bool *out_cancel);

#endif
