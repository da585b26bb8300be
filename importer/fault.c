#include "fault.h"

#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_once_t fault_once = PTHREAD_ONCE_INIT;
static char fault_name[64];
static long fault_at;
static atomic_long fault_hits;

static void fault_read_env(void) {
    const char *spec = getenv("BULKIMPORT_FAULT");
    const char *colon = spec ? strchr(spec, ':') : NULL;
    if (colon == NULL || (size_t)(colon - spec) >= sizeof fault_name)
        return;
    memcpy(fault_name, spec, (size_t)(colon - spec));
    fault_at = atol(colon + 1);
    log_warn("fault injection armed: exit at the %ld-th %s", fault_at, fault_name);
}

void fault_point(const char *point) {
    pthread_once(&fault_once, fault_read_env);
    if (fault_at <= 0 || strcmp(point, fault_name) != 0)
        return;
    if (atomic_fetch_add(&fault_hits, 1) + 1 == fault_at) {
        log_warn("fault injection: exiting at %s", point);
        _exit(137);
    }
}
