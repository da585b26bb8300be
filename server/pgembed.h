/* pgembed.h — the embedded PostgreSQL: a private cluster owned by one bulkimportd.
 *
 * The cluster lives in <data-dir>/pg, is created with initdb on first use, and listens only on a
 * unix socket inside that directory (no TCP). The postmaster is a child process in its own
 * process group (a terminal's Ctrl+C reaches bulkimportd, which stops it after draining) with a
 * parent-death signal, so it shuts down even when bulkimportd is killed with -9. Run as root,
 * initdb and postgres run as the "postgres" system user, which is given the data dir (chown;
 * the mode stays 0700), since PostgreSQL refuses to run as root.
 *
 * This module does not lock the data dir: the caller does, before starting.
 */
#ifndef BI_SERVER_PGEMBED_H
#define BI_SERVER_PGEMBED_H

#include <stdbool.h>

typedef struct pgembed pgembed;

/* Starts the cluster in <data_dir>/pg (data_dir: an existing absolute path), running initdb
 * first when there is no cluster, and waits until it accepts connections. max_connections is
 * passed to the server. postgres logs to <data_dir>/postgresql.log. Returns 0 and a handle in
 * *out (stop and free it with pgembed_stop), or BI_EINTERNAL after logging why. */
int pgembed_start(const char *data_dir, int max_connections, pgembed **out);

/* Returns the libpq conninfo that reaches the cluster; borrowed, valid until pgembed_stop. */
const char *pgembed_conninfo(const pgembed *pg);

/* The directory of the PostgreSQL binaries in use (initdb, postgres, pg_basebackup, ...);
 * borrowed, valid until pgembed_stop. */
const char *pgembed_bindir(const pgembed *pg);

/* Stops the server now and waits for it: a fast shutdown (open sessions are ended, everything
 * is written), or with immediate an immediate one, as a crash leaves it (the next start
 * recovers). pg stays valid for pgembed_stop. Does nothing when it is not running. */
void pgembed_halt(pgembed *pg, bool immediate);

/* Stops the server (fast shutdown) and frees pg. NULL does nothing. */
void pgembed_stop(pgembed *pg);

#endif
