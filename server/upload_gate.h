/* upload_gate.h — admission and pace of uploads. Each upload holds a database connection (its
 * COPY) for as long as its body streams, so their number is capped, in all and per user, to
 * keep the pool for everything else (workers, reads, polls) and one user's uploads from
 * shutting out the others'. A watcher thread cuts an upload that outlives its deadline or,
 * once its grace has passed, averages less than the minimum rate: a client trickling a byte
 * now and then would otherwise hold its connection forever (CivetWeb's read of a chunked body
 * waits for a whole buffer, so the handler itself cannot notice). Thread-safe.
 */
#ifndef BI_SERVER_UPLOAD_GATE_H
#define BI_SERVER_UPLOAD_GATE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct upload_gate upload_gate;
typedef struct upload_ticket upload_ticket;

typedef struct upload_limits {
    int max_total, max_per_user;
    long min_rate;   /* bytes/s averaged once grace_s passed; 0: any */
    long grace_s;
    long deadline_s; /* the longest upload */
} upload_limits;

/* Stops the upload whose context is conn_ctx from receiving more (called by the watcher). */
typedef void (*upload_cut_fn)(void *conn_ctx);

/* A gate under limits that cuts slow uploads with cut, and its watcher thread. */
upload_gate *upload_gate_new(const upload_limits *limits, upload_cut_fn cut);

/* Lets an upload of user (cut through conn_ctx when too slow) in. Returns 0 with *out (give it
 * back with upload_gate_leave), BI_ETOOMANY when the user has max_per_user in flight, or
 * BI_EUNAVAIL when max_total are. */
int upload_gate_enter(upload_gate *g, const char *user, void *conn_ctx, upload_ticket **out);

/* The upload has received bytes in all so far. */
void upload_ticket_progress(upload_ticket *t, long long bytes);

/* Whether the watcher cut the upload of t, with why (why_len bytes) a sentence for its 408. */
bool upload_gate_was_cut(upload_gate *g, upload_ticket *t, char *why, size_t why_len);

/* The upload of t has ended; t is freed. */
void upload_gate_leave(upload_gate *g, upload_ticket *t);

/* Stops the watcher and frees g (NULL does nothing). No upload may be in flight. */
void upload_gate_free(upload_gate *g);

#endif
