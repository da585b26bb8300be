/* bulkimportd — parses the configuration and runs the server (server/app.c). */
#include "app.h"
#include "config.h"
#include "log.h"

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
    if (rc == CONFIG_VERSION) {
        printf("bulkimportd %s (commit %s)\n", BI_VERSION, BI_COMMIT);
        return 0;
    }
    if (rc < 0) {
        fprintf(stderr, "bulkimportd: %s\n", err);
        return 2;
    }
    log_set_level(cfg.log_level);
    log_set_json(cfg.log_json);
    return app_run(&cfg);
}
