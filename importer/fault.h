/* fault.h — fault injection for the crash-safety tests (a documented test aid).
 *
 * BULKIMPORT_FAULT=point:count makes the process _exit(137) — as kill -9 would leave it — the
 * count-th time it reaches the named point. Points: after_upload_commit, after_claim,
 * mid_batch (resources written, batch not committed), after_batch_commit, before_success.
 * Unset, a point costs one branch.
 */
#ifndef BI_IMPORTER_FAULT_H
#define BI_IMPORTER_FAULT_H

/* Counts a pass through point and dies there when BULKIMPORT_FAULT says so. Thread-safe. */
void fault_point(const char *point);

#endif
