/* config.h — bulkimportd's settings from command-line flags and environment variables.
 *
 * Each setting has a flag and an environment variable; the flag wins; an empty environment
 * variable counts as unset. Parsing is pure: it reads the argv and envp it is given and touches
 * nothing else, so it is tested without a process. It does not check that paths exist or that
 * the database answers: start-up does that.
 */
#ifndef BI_SERVER_CONFIG_H
#define BI_SERVER_CONFIG_H

#include "log.h"

#include <stdbool.h>
#include <stdio.h>

#define CONFIG_MAX_BATCH_SIZE 100000 /* --batch-size and a task's batch_size (a table CHECK too) */

typedef struct config {
    const char *listen;       /* "IPv4:PORT" or "[IPv6]:PORT"; port 0 picks a free one */
    const char *database_url; /* NULL: embedded PostgreSQL in <data_dir>/pg */
    const char *data_dir;
    int workers;
    const char *root_token; /* NULL: keep the stored one, or generate it on first start */
    long long max_upload_bytes;
    long long max_line_bytes; /* longer import lines are SKIP 400 */
    int batch_size;           /* lines per batch transaction */
    int max_test_mode_lines;  /* a test-mode task runs in one transaction: this caps it */
    int heartbeat_ms;         /* a node's tasks are marked alive this often */
    int rescue_after_ms;      /* a STARTED task silent this long is taken back */
    int retention_days;       /* finished tasks are purged after this */
    enum log_level log_level;
    bool log_json; /* --log-format json */
    int http_threads;
    int db_connections; /* default workers + 8 */
    int max_waiters;    /* long-polls and event streams at once; default http_threads / 2 */
    bool fetch_allow_private; /* non-root users' file_url and webhooks may reach private addresses */
    long fetch_timeout_s;     /* a file_url download's limit */
    long webhook_retry_ms;    /* the first retry's delay; it doubles, for up to an hour */
    const char *cors_origins; /* "*", "none", or a comma-separated list of exact origins */
    const char *metrics_token;  /* GET /metrics takes this token (or root's); NULL: root's only */
    const char *metrics_listen; /* "HOST:PORT" of a listener serving /metrics alone, or NULL */
    const char *trusted_proxies;    /* addresses or CIDR blocks whose X-Forwarded-For is believed */
    long read_timeout_s;      /* a request whose next bytes take longer is dropped */
    long shutdown_grace_s;    /* at SIGTERM, uploads in flight get this long to finish */
    int max_uploads;          /* uploads in flight at once; default: 3/4 of the non-worker pool */
    int max_user_uploads;     /* of one user; default: half of max_uploads */
    long upload_min_rate;     /* bytes/s an upload must average once read_timeout_s passed; 0: any */
    long upload_deadline_s;   /* longest upload */
    int max_streams;          /* result downloads at once; default: 1/4 of the non-worker pool */
    long header_timeout_s;    /* a request's headers must have come in this long */
    int max_test_mode_tasks;  /* test-mode tasks at once; default: 1/4 of the non-worker pool */
    int max_feed_runs;        /* feed downloads at once on this node */
} config;

enum config_result { CONFIG_RUN = 0, CONFIG_HELP = 1, CONFIG_VERSION = 2 };

/* Fills *out from defaults, then envp (NULL-terminated "NAME=value" strings), then argv
 * ("--flag value" or "--flag=value"). Strings in *out borrow from argv, envp or static storage.
 * Returns CONFIG_RUN, CONFIG_HELP when --help (or -h) was given, CONFIG_VERSION for --version, or BI_EINVAL with a one-line
 * message naming the bad flag or variable in err (err_len bytes, always NUL-terminated). */
int config_parse(int argc, char *const argv[], char *const envp[], config *out, char *err,
                 size_t err_len);

/* Writes the --help text, listing every flag, its variable and its default. */
void config_print_usage(FILE *out);

/* One option as --help describes it: for the test that holds README's table to the code. */
typedef struct config_option_info {
    const char *flag, *env, *metavar, *fallback; /* fallback: the default, in words or digits */
    size_t offset;                               /* of its field in struct config */
    bool numeric;                                /* an integer from min to max */
    long long min, max;
} config_option_info;

/* Describes option i into *out. Returns 0, or -1 past the last option. */
int config_describe(size_t i, config_option_info *out);

/* The value of numeric option i in cfg (0 for the others). */
long long config_number_at(const config *cfg, size_t i);

#endif
