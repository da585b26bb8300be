#include "notify.h"

#include "error.h"
#include "log.h"

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
    l->pg = PQconnectdb(l->conninfo);
    PGresult *res = PQstatus(l->pg) == CONNECTION_OK ? PQexec(l->pg, "LISTEN " DB_TASKS_CHANNEL)
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

/* Takes every pending notification. Returns how many there were. */
static int db_listener_drain(db_listener *l) {
    int n = 0;
    PGnotify *note;
    while ((note = PQnotifies(l->pg)) != NULL) {
        PQfreemem(note);
        n++;
    }
    return n;
}

int db_listener_wait(db_listener *l, int timeout_ms) {
    if (db_listener_connect(l) < 0)
        return BI_EUNAVAIL;
    if (!PQconsumeInput(l->pg))
        goto broken;
    if (db_listener_drain(l) > 0)
        return 1;
    struct pollfd p = {.fd = PQsocket(l->pg), .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0)
        return 0;
    if (!PQconsumeInput(l->pg))
        goto broken;
    return db_listener_drain(l) > 0;
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
