/* ids.h — syntax of the names OCL uses as path segments: usernames, organization, source,
 * collection and version ids, queue names; and the hex spelling of random secrets and digests.
 * No I/O but getrandom().
 */
#ifndef BI_IMPORTER_IDS_H
#define BI_IMPORTER_IDS_H

#include <stdbool.h>
#include <stddef.h>

#define IDS_NAME_MAX 64

/* Returns true when name (len bytes, need not be NUL-terminated) matches
 * [A-Za-z0-9._@-]{1,64}. */
bool ids_name_is_valid(const char *name, size_t len);

/* Returns true when name may name a queue (or a feed): ids_name_is_valid and none of the
 * standard queues' names, default and priority, nor '.' or '..'. */
bool ids_queue_name_is_valid(const char *name);

/* Writes bytes[0..n) as 2n lowercase hex digits plus a NUL to out. */
void ids_hex(const unsigned char *bytes, size_t n, char *out);

/* Writes n_bytes random bytes (getrandom) as 2 * n_bytes hex digits plus a NUL to out (n_bytes
 * at most 64). Returns 0, or BI_EINTERNAL when the kernel gives no randomness. */
int ids_random_hex(size_t n_bytes, char *out);

/* A new task id in OCL's form, <uuid4>-<username>~<queue>, into out (cap bytes). Returns 0, or
 * BI_EINTERNAL when the kernel gives no randomness. */
int ids_task_id(const char *username, const char *queue, char *out, size_t cap);

/* A task id of the same form from 16 given bytes instead of random ones: the same bytes give
 * the same id (a child task's, from its parent and line, so a replayed batch names it again). */
void ids_task_id_from(const unsigned char bytes[16], const char *username, const char *queue,
                      char *out, size_t cap);

#endif
