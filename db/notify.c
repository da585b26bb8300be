#include "notify.h"

#include "error.h"
#include "log.h"
#include "pool.h"
#include "pgconn.h"

#include <libpq-fe.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct db_listener {
    char *conninfo;
    PGconn *pg;
};

db_listener *db_listener_open(const char *conninfo) {
    db_listener *l = calloc(1, sizeof *l);
    if (l == NULL || (l->conninfo = strdup(conninfo)) == NULL)
        abort();
    return l;
}

/* Connects and LISTENs unless already done. Returns 0 or BI_EUNAVAIL. */
static int db_listener_connect(db_listener *l) {
    if (l->pg != NULL && PQstatus(l->pg) == CONNECTION_OK)
        return 0;
    PQfinish(l->pg);
    l->pg = db_connect(l->conninfo);
    PGresult *res = PQstatus(l->pg) == CONNECTION_OK ? PQexec(l->pg, "LISTEN " DB_TASKS_CHANNEL "; LISTEN " DB_DONE_CHANNEL)
                                                     : NULL;
    bool ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) {
        log_warn("listener: cannot LISTEN: %.*s", (int)strcspn(PQerrorMessage(l->pg), "\n"),
                 PQerrorMessage(l->pg));
        PQfinish(l->pg);
        l->pg = NULL;
        return BI_EUNAVAIL;
    }
    return 0;
}

/* Takes every pending notification. Returns their DB_NOTIFY_* bits. */
static int db_listener_drain(db_listener *l) {
    int seen = 0;
    PGnotify *note;
    while ((note = PQnotifies(l->pg)) != NULL) {
        seen |= strcmp(note->relname, DB_DONE_CHANNEL) == 0 ? DB_NOTIFY_DONE : DB_NOTIFY_QUEUED;
        PQfreemem(note);
    }
    return seen;
}

int db_listener_wait(db_listener *l, int timeout_ms) {
    if (db_listener_connect(l) < 0)
        return BI_EUNAVAIL;
    if (!PQconsumeInput(l->pg))
        goto broken;
    int seen = db_listener_drain(l);
    if (seen != 0)
        return seen;
    struct pollfd p = {.fd = PQsocket(l->pg), .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0)
        return 0;
    if (!PQconsumeInput(l->pg))
        goto broken;
    return db_listener_drain(l);
broken:
    PQfinish(l->pg);
    l->pg = NULL;
    return BI_EUNAVAIL;
}

void db_listener_close(db_listener *l) {
    if (l == NULL)
        return;
    PQfinish(l->pg);
    free(l->conninfo);
    free(l);
}
