/* nodes.h — the cluster's nodes as their keepers report them (migrations/0018_nodes.sql). */
#ifndef BI_DB_NODES_H
#define BI_DB_NODES_H

#include "pool.h"

#include <stdbool.h>

/* Records node's heartbeat (its workers, how many are busy, its version, commit and schema), creating
 * its row on the first one. Forgets nodes silent for a day. Returns 0 or a BI_E*. */
int db_nodes_beat(db_conn *conn, const char *node, int workers, int busy, const char *version,
                  const char *commit, const char *schema);

/* Marks node stopped (a clean shutdown). Returns 0 or a BI_E*. */
int db_nodes_leave(db_conn *conn, const char *node);

/* A node as db_nodes_list gives it (strings valid during the call). */
typedef struct db_node {
    const char *name, *started_at, *heartbeat_at, *stopped_at; /* stopped_at: NULL if running */
    double heartbeat_age_s;
    int workers, busy;
    long running; /* STARTED tasks it holds */
    const char *version, *schema, *commit;
} db_node;
typedef void (*db_node_fn)(const db_node *node, void *ctx);

/* Each node, the most recent heartbeat first. Returns 0 or a BI_E*. */
int db_nodes_list(db_conn *conn, db_node_fn each, void *ctx);

#endif
