/* bulkimportd — parses the configuration and runs the server (server/app.c). */
#include "app.h"
#include "config.h"
#include "log.h"

#include <malloc.h>
#include <stdio.h>

extern char **environ;

int main(int argc, char **argv) {
    config cfg;
    char err[512];
    int rc = config_parse(argc, argv, environ, &cfg, err, sizeof err);
    if (rc == CONFIG_HELP) {
        config_print_usage(stdout);
        return 0;
    }
    if (rc < 0) {
        fprintf(stderr, "bulkimportd: %s\n", err);
        return 2;
    }
    log_set_level(cfg.log_level);
    /* Flat memory: a batch's per-line arrays (megabytes) are mapped for the batch and returned
     * when it ends, instead of glibc raising its mmap threshold and keeping them in one of
     * many per-thread arenas. */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    mallopt(M_ARENA_MAX, 2);
    return app_run(&cfg);
}
