#include "config.h"

#include "client_addr.h"
#include "error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum option_kind {
    OPT_LISTEN,
    OPT_TEXT,
    OPT_INT,
    OPT_LONG,
    OPT_BYTES,
    OPT_LOG_LEVEL,
    OPT_LOG_FORMAT,
    OPT_TOKEN,
    OPT_BOOL
};

typedef struct option {
    const char *flag;
    const char *env;
    enum option_kind kind;
    size_t offset; /* of the field in struct config */
    long long min, max;
    const char *metavar;
    const char *help;
    const char *fallback; /* the default, as --help and README's table say it */
} option;

#define GIB (1024LL * 1024 * 1024)

static const option options[] = {
    {"--listen", "BULKIMPORT_LISTEN", OPT_LISTEN, offsetof(config, listen), 0, 0, "HOST:PORT",
     "address to serve HTTP on: a host name, an IPv4 address or [an IPv6 address], and a port "
     "(0 picks a free one)",
     "127.0.0.1:8000"},
    {"--database-url", "DATABASE_URL", OPT_TEXT, offsetof(config, database_url), 0, 0, "URL",
     "libpq conninfo or URI of a shared PostgreSQL (embedded: a private one in DATA-DIR/pg)",
     "embedded"},
    {"--data-dir", "BULKIMPORT_DATA_DIR", OPT_TEXT, offsetof(config, data_dir), 0, 0, "DIR",
     "directory for local state, created mode 0700",
     "./var"},
    {"--workers", "BULKIMPORT_WORKERS", OPT_INT, offsetof(config, workers), 1, 1024, "N",
     "import worker threads",
     "number of CPUs"},
    {"--root-token", "BULKIMPORT_ROOT_TOKEN", OPT_TOKEN, offsetof(config, root_token), 16, 256,
     "TOKEN", "API token of the root user: 16 to 256 printable ASCII characters, no spaces "
              "(generated: made on first start and kept)",
     "generated"},
    {"--max-upload-bytes", "BULKIMPORT_MAX_UPLOAD_BYTES", OPT_BYTES,
     offsetof(config, max_upload_bytes), 1, 1LL << 50, "N",
     "largest accepted request body in bytes (1 GiB by default)",
     "1073741824"},
    {"--max-line-bytes", "BULKIMPORT_MAX_LINE_BYTES", OPT_BYTES, offsetof(config, max_line_bytes),
     64, (1LL << 30) - (1LL << 16), "N", "longest accepted import line in bytes (below 1 GiB, "
     "PostgreSQL's largest value); longer lines get a SKIP 400 "
                         "result",
     "4194304"},
    {"--max-test-mode-lines", "BULKIMPORT_MAX_TEST_MODE_LINES", OPT_INT,
     offsetof(config, max_test_mode_lines), 1, 1000000000, "N",
     "most lines a test_mode=true import may have; more is 413",
     "1000000"},
    {"--heartbeat-ms", "BULKIMPORT_HEARTBEAT_MS", OPT_INT, offsetof(config, heartbeat_ms), 50,
     3600000, "MS", "how often a node tells the database its tasks are alive",
     "2000"},
    {"--rescue-after-ms", "BULKIMPORT_RESCUE_AFTER_MS", OPT_INT, offsetof(config, rescue_after_ms),
     200, 86400000, "MS", "a STARTED task silent this long goes back to PENDING for any node; "
                          "more than twice --heartbeat-ms",
     "15000"},
    {"--retention-days", "BULKIMPORT_RETENTION_DAYS", OPT_INT, offsetof(config, retention_days),
     1, 36500, "DAYS", "finished tasks, their lines and results are purged after this",
     "30"},
    {"--batch-size", "BULKIMPORT_BATCH_SIZE", OPT_INT, offsetof(config, batch_size), 1,
     CONFIG_MAX_BATCH_SIZE, "N",
     "import lines applied and committed together (a task may set its own)",
     "1000"},
    {"--log-level", "BULKIMPORT_LOG_LEVEL", OPT_LOG_LEVEL, offsetof(config, log_level), 0, 0,
     "LEVEL", "debug, info, warn or error",
     "info"},
    {"--log-format", "BULKIMPORT_LOG_FORMAT", OPT_LOG_FORMAT, offsetof(config, log_json), 0, 0,
     "FORMAT", "text (a line of words) or json (an object per line: ts, level, msg, node, "
               "request_id, user, task and the event's fields)", "text"},
    {"--http-threads", "BULKIMPORT_HTTP_THREADS", OPT_INT, offsetof(config, http_threads), 1, 1024,
     "N", "HTTP handler threads",
     "64"},
    {"--db-connections", "BULKIMPORT_DB_CONNECTIONS", OPT_INT, offsetof(config, db_connections),
     2, 10000, "N", "database connections shared by HTTP handlers and workers; more "
                    "than --workers",
     "workers + 8"},
    {"--max-waiters", "BULKIMPORT_MAX_WAITERS", OPT_INT, offsetof(config, max_waiters), 1, 1024,
     "N", "long-polls and event streams held at once; more get 503",
     "http-threads / 2"},
    {"--fetch-allow-private", "BULKIMPORT_FETCH_ALLOW_PRIVATE", OPT_BOOL,
     offsetof(config, fetch_allow_private), 0, 0, "",
     "let every user's file_url and callback_url reach loopback, private and link-local "
     "addresses (a switch; off: only root's may; the variable takes true or false)",
     "off"},
    {"--fetch-timeout", "BULKIMPORT_FETCH_TIMEOUT", OPT_LONG, offsetof(config, fetch_timeout_s),
     1, 86400, "SECONDS", "longest file_url download; the task fails beyond",
     "600"},
    {"--webhook-retry-ms", "BULKIMPORT_WEBHOOK_RETRY_MS", OPT_LONG,
     offsetof(config, webhook_retry_ms), 10, 3600000, "MS",
     "wait before a failed webhook's first retry; doubles after each, retried for up to an hour",
     "5000"},
    {"--read-timeout", "BULKIMPORT_READ_TIMEOUT", OPT_LONG, offsetof(config, read_timeout_s), 1,
     3600, "SECONDS",
     "longest wait for a client's next bytes; a stalled upload is dropped and leaves no task",
     "30"},
    {"--header-timeout", "BULKIMPORT_HEADER_TIMEOUT", OPT_LONG, offsetof(config, header_timeout_s),
     1, 3600, "SECONDS",
     "longest a client may take to send a request's headers, however it trickles them; the "
     "connection is closed beyond",
     "10"},
    {"--shutdown-grace", "BULKIMPORT_SHUTDOWN_GRACE", OPT_LONG,
     offsetof(config, shutdown_grace_s), 0, 3600, "SECONDS",
     "at SIGTERM, how long uploads in flight may still finish; the rest are rolled back",
     "10"},
    {"--max-uploads", "BULKIMPORT_MAX_UPLOADS", OPT_INT, offsetof(config, max_uploads), 1, 10000,
     "N", "uploads in flight at once (each holds a database connection); more get 503 with "
          "Retry-After",
     "3/4 of db-connections − workers"},
    {"--max-user-uploads", "BULKIMPORT_MAX_USER_UPLOADS", OPT_INT,
     offsetof(config, max_user_uploads), 1, 10000, "N",
     "uploads of one user in flight at once; more get 429 with Retry-After",
     "max-uploads / 2"},
    {"--upload-min-rate", "BULKIMPORT_UPLOAD_MIN_RATE", OPT_LONG, offsetof(config, upload_min_rate),
     0, 1L << 40, "BYTES", "bytes per second an upload must average once --read-timeout has "
                           "passed; a slower one is dropped with 408 (0: any rate)",
     "1024"},
    {"--upload-deadline", "BULKIMPORT_UPLOAD_DEADLINE", OPT_LONG,
     offsetof(config, upload_deadline_s), 1, 86400, "SECONDS",
     "longest an upload may take; a longer one is dropped with 408",
     "3600"},
    {"--max-streams", "BULKIMPORT_MAX_STREAMS", OPT_INT, offsetof(config, max_streams), 1, 10000,
     "N", "result downloads (result=json, report, failed) at once, each holding a database "
          "connection while it streams; more get 503 with Retry-After",
     "1/4 of db-connections − workers"},
    {"--max-test-mode-tasks", "BULKIMPORT_MAX_TEST_MODE_TASKS", OPT_INT,
     offsetof(config, max_test_mode_tasks), 1, 1024, "N",
     "test_mode tasks running at once on this node, each holding a second database connection; "
     "more wait in the queue",
     "1/4 of db-connections − workers"},
    {"--max-feed-runs", "BULKIMPORT_MAX_FEED_RUNS", OPT_INT, offsetof(config, max_feed_runs), 1,
     1024, "N", "feed downloads at once on this node (scheduled or run now), each holding a "
                "database connection; more run-now requests get 503 with Retry-After, the "
                "scheduler takes them at its next look",
     "2"},
    {"--metrics-token", "BULKIMPORT_METRICS_TOKEN", OPT_TOKEN, offsetof(config, metrics_token), 16,
     256, "TOKEN", "a token that may read GET /metrics (as root's may): 16 to 256 printable ASCII "
                   "characters, no spaces", "none: root's token only"},
    {"--metrics-listen", "BULKIMPORT_METRICS_LISTEN", OPT_LISTEN, offsetof(config, metrics_listen),
     0, 0, "HOST:PORT", "serve GET /metrics on this address alone (and not on --listen), for a "
                        "scraper on a private network", "none: on --listen"},
    {"--trusted-proxies", "BULKIMPORT_TRUSTED_PROXIES", OPT_TEXT,
     offsetof(config, trusted_proxies), 0, 0, "LIST",
     "reverse proxies (comma-separated addresses or CIDR blocks) whose X-Forwarded-For names the "
     "client in the access log", "none"},
    {"--cors-origins", "BULKIMPORT_CORS_ORIGINS", OPT_TEXT, offsetof(config, cors_origins), 0, 0,
     "ORIGINS", "web pages that may call the API from a browser: * (any origin, as OCL's API: "
                "every call needs a token, no cookie is used), a comma-separated list of exact "
                "origins (https://app.example.org), or none",
     "*"},
};

#define N_OPTIONS (sizeof options / sizeof options[0])

void config_print_usage(FILE *out) {
    fprintf(out, "Usage: bulkimportd [OPTION]...\n"
                 "Asynchronous bulk-import server speaking OCL's bulk-import API.\n\n"
                 "Each option can also be set by its environment variable; the flag wins.\n\n");
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const option *o = &options[i];
        fprintf(out, "  %s%s%s\n      %s\n      default: %s", o->flag, o->metavar[0] ? " " : "",
                o->metavar, o->help, o->fallback);
        if (o->kind == OPT_INT || o->kind == OPT_LONG || o->kind == OPT_BYTES)
            fprintf(out, "; %s from %lld to %lld", o->metavar, o->min, o->max);
        if (o->kind == OPT_TOKEN)
            fprintf(out, "; %lld to %lld characters", o->min, o->max);
        fprintf(out, "\n      env: %s\n", o->env);
    }
    fprintf(out, "  -h, --help\n      show this help and exit\n"
                 "  --version\n      show the version and exit\n");
}

int config_describe(size_t i, config_option_info *out) {
    if (i >= N_OPTIONS)
        return -1;
    const option *o = &options[i];
    *out = (config_option_info){.flag = o->flag, .env = o->env, .metavar = o->metavar,
                                .fallback = o->fallback, .offset = o->offset,
                                .numeric = o->kind == OPT_INT || o->kind == OPT_LONG ||
                                           o->kind == OPT_BYTES,
                                .min = o->min, .max = o->max};
    return 0;
}

long long config_number_at(const config *cfg, size_t i) {
    const void *field = (const char *)cfg + options[i].offset;
    switch (options[i].kind) {
    case OPT_INT:
        return *(const int *)field;
    case OPT_LONG:
        return *(const long *)field;
    case OPT_BYTES:
        return *(const long long *)field;
    default:
        return 0;
    }
}

/* Whether host is a DNS name as RFC 1123 allows it (labels of letters, digits and hyphens). */
static bool config_is_host_name(const char *host) {
    size_t len = strlen(host);
    if (len == 0 || len > 253 || host[0] == '-' || host[0] == '.' || host[len - 1] == '-')
        return false;
    return strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == len &&
           strstr(host, "..") == NULL;
}

/* Validates "IPv4:PORT", "[IPv6]:PORT" or "NAME:PORT" (resolved when the server starts). */
static bool config_listen_is_valid(const char *text) {
    const char *colon = strrchr(text, ':');
    if (colon == NULL || colon == text || colon[1] == '\0' || strlen(colon + 1) > 5 ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1) || atoi(colon + 1) > 65535)
        return false;
    char host[256];
    size_t host_len = (size_t)(colon - text);
    if (host_len >= sizeof host)
        return false;
    memcpy(host, text, host_len);
    host[host_len] = '\0';
    unsigned char addr[16];
    if (host[0] == '[' && host[host_len - 1] == ']') {
        host[host_len - 1] = '\0';
        return inet_pton(AF_INET6, host + 1, addr) == 1;
    }
    return inet_pton(AF_INET, host, addr) == 1 ||
           (strspn(host, "0123456789.") != host_len && config_is_host_name(host));
}

static bool config_parse_integer(const char *text, long long min, long long max, long long *out) {
    if (text[0] < '0' || text[0] > '9')
        return false; /* no sign, no space: strtoll accepts both */
    char *end;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < min || value > max)
        return false;
    *out = value;
    return true;
}

/* Applies one setting; source names the flag or variable for the error message. */
static int config_apply(config *cfg, const option *o, const char *source, const char *value,
                        char *err, size_t err_len) {
    void *field = (char *)cfg + o->offset;
    long long number = 0;
    switch (o->kind) {
    case OPT_LISTEN:
        if (!config_listen_is_valid(value)) {
            snprintf(err, err_len, "%s: '%s' is not HOST:PORT (a host name, an IPv4 address or "
                                   "[an IPv6 address]) with a port 0-65535",
                     source, value);
            return BI_EINVAL;
        }
        *(const char **)field = value;
        return 0;
    case OPT_TEXT:
        if (value[0] == '\0') {
            snprintf(err, err_len, "%s: must not be empty", source);
            return BI_EINVAL;
        }
        *(const char **)field = value;
        return 0;
    case OPT_TOKEN: {
        size_t len = strlen(value);
        bool printable = true;
        for (size_t i = 0; i < len; i++)
            printable = printable && value[i] > ' ' && value[i] < 0x7f;
        if (len < (size_t)o->min || len > (size_t)o->max || !printable) {
            snprintf(err, err_len,
                     "%s: a token must be %lld to %lld printable ASCII characters without spaces",
                     source, o->min, o->max);
            return BI_EINVAL;
        }
        *(const char **)field = value;
        return 0;
    }
    case OPT_BOOL:
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0 && strcmp(value, "1") != 0 &&
            strcmp(value, "0") != 0) {
            snprintf(err, err_len, "%s: '%s' is not true, false, 1 or 0", source, value);
            return BI_EINVAL;
        }
        *(bool *)field = value[0] == 't' || value[0] == '1';
        return 0;
    case OPT_INT:
    case OPT_LONG:
    case OPT_BYTES:
        if (!config_parse_integer(value, o->min, o->max, &number)) {
            snprintf(err, err_len, "%s: '%s' is not an integer from %lld to %lld", source, value,
                     o->min, o->max);
            return BI_EINVAL;
        }
        if (o->kind == OPT_INT)
            *(int *)field = (int)number;
        else if (o->kind == OPT_LONG)
            *(long *)field = (long)number;
        else
            *(long long *)field = number;
        return 0;
    case OPT_LOG_FORMAT:
        if (strcmp(value, "text") != 0 && strcmp(value, "json") != 0) {
            snprintf(err, err_len, "%s: '%s' is not text or json", source, value);
            return BI_EINVAL;
        }
        *(bool *)field = value[0] == 'j';
        return 0;
    case OPT_LOG_LEVEL:
        if (log_level_parse(value, (enum log_level *)field) < 0) {
            snprintf(err, err_len, "%s: '%s' is not one of debug, info, warn, error", source, value);
            return BI_EINVAL;
        }
        return 0;
    }
    return BI_EINVAL;
}

static const char *config_env_lookup(char *const envp[], const char *name) {
    size_t name_len = strlen(name);
    const char *found = NULL;
    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++)
        if (strncmp(envp[i], name, name_len) == 0 && envp[i][name_len] == '=')
            found = envp[i] + name_len + 1;
    return found;
}

int config_parse(int argc, char *const argv[], char *const envp[], config *out, char *err,
                 size_t err_len) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    config cfg = {
        .listen = "127.0.0.1:8000",
        .data_dir = "./var",
        .workers = cpus < 1 ? 1 : cpus > 1024 ? 1024 : (int)cpus,
        .max_upload_bytes = GIB,
        .max_line_bytes = 4 * 1024 * 1024,
        .batch_size = 1000,
        .max_test_mode_lines = 1000000,
        .heartbeat_ms = 2000,
        .rescue_after_ms = 15000,
        .retention_days = 30,
        .log_level = BI_LOG_INFO,
        .http_threads = 64,
        .fetch_timeout_s = 600,
        .webhook_retry_ms = 5000,
        .cors_origins = "*",
        .read_timeout_s = 30,
        .header_timeout_s = 10,
        .max_feed_runs = 2,
        .shutdown_grace_s = 10,
        .upload_min_rate = 1024,
        .upload_deadline_s = 3600,
    };
    bool max_waiters_set = false;
    bool db_connections_set = false;
    err[0] = '\0';

    for (size_t i = 0; i < N_OPTIONS; i++) {
        const char *value = config_env_lookup(envp, options[i].env);
        if (value == NULL || value[0] == '\0')
            continue;
        if (config_apply(&cfg, &options[i], options[i].env, value, err, err_len) < 0)
            return BI_EINVAL;
        db_connections_set |= options[i].offset == offsetof(config, db_connections);
        max_waiters_set |= options[i].offset == offsetof(config, max_waiters);
    }

    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return CONFIG_HELP;
        if (strcmp(arg, "--version") == 0)
            return CONFIG_VERSION;
        const option *o = NULL;
        const char *value = NULL;
        for (size_t i = 0; i < N_OPTIONS && o == NULL; i++) {
            size_t flag_len = strlen(options[i].flag);
            if (strncmp(arg, options[i].flag, flag_len) != 0)
                continue;
            if (arg[flag_len] == '=')
                value = arg + flag_len + 1;
            else if (arg[flag_len] != '\0')
                continue;
            o = &options[i];
        }
        if (o == NULL) {
            snprintf(err, err_len, "unknown option '%s' (see --help)", arg);
            return BI_EINVAL;
        }
        if (value == NULL && o->kind == OPT_BOOL)
            value = "true"; /* a bare switch */
        if (value == NULL) {
            if (a + 1 >= argc) {
                snprintf(err, err_len, "%s needs a value", o->flag);
                return BI_EINVAL;
            }
            value = argv[++a];
        }
        if (config_apply(&cfg, o, o->flag, value, err, err_len) < 0)
            return BI_EINVAL;
        db_connections_set |= o->offset == offsetof(config, db_connections);
        max_waiters_set |= o->offset == offsetof(config, max_waiters);
    }
    if (!max_waiters_set)
        cfg.max_waiters = cfg.http_threads / 2 > 0 ? cfg.http_threads / 2 : 1;

    if (!db_connections_set)
        cfg.db_connections = cfg.workers + 8;
    else if (cfg.db_connections <= cfg.workers) {
        snprintf(err, err_len,
                 "--db-connections (%d) must be more than --workers (%d): HTTP handlers share the "
                 "pool",
                 cfg.db_connections, cfg.workers);
        return BI_EINVAL;
    }
    if (cfg.max_uploads == 0) { /* the rest of the pool stays for reads, polls and workers' helpers */
        int spare = (cfg.db_connections - cfg.workers) * 3 / 4;
        cfg.max_uploads = spare > 0 ? spare : 1;
    }
    if (cfg.max_streams == 0) {
        int spare = (cfg.db_connections - cfg.workers) / 4;
        cfg.max_streams = spare > 0 ? spare : 1;
    }
    if (cfg.max_test_mode_tasks == 0) {
        int spare = (cfg.db_connections - cfg.workers) / 4;
        cfg.max_test_mode_tasks = spare > 0 ? spare : 1;
    }
    if (cfg.max_user_uploads == 0) /* so that one user never shuts out the others */
        cfg.max_user_uploads = cfg.max_uploads / 2 > 0 ? cfg.max_uploads / 2 : 1;
    if (cfg.trusted_proxies != NULL && !client_addr_list_valid(cfg.trusted_proxies)) {
        snprintf(err, err_len, "--trusted-proxies: '%s' is not a comma-separated list of addresses "
                               "or CIDR blocks", cfg.trusted_proxies);
        return BI_EINVAL;
    }
    if (cfg.rescue_after_ms <= 2 * cfg.heartbeat_ms) {
        snprintf(err, err_len,
                 "--rescue-after-ms (%d) must be more than twice --heartbeat-ms (%d), or live "
                 "tasks would be taken over",
                 cfg.rescue_after_ms, cfg.heartbeat_ms);
        return BI_EINVAL;
    }
    *out = cfg;
    return CONFIG_RUN;
}
