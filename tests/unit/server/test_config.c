#include "config.h"
#include "error.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>
#include <unistd.h>

static char err[512];

/* Parses a NULL-terminated argument list (after the program name) with envp. */
static int parse(const char *const *args, char *const *envp, config *out) {
    char *argv[32] = {"bulkimportd"};
    int argc = 1;
    for (; args != NULL && args[argc - 1] != NULL; argc++)
        argv[argc] = (char *)args[argc - 1];
    return config_parse(argc, argv, envp, out, err, sizeof err);
}

Test(config, defaults) {
    config c;
    cr_assert_eq(parse(NULL, NULL, &c), CONFIG_RUN);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cr_expect_str_eq(c.listen, "127.0.0.1:8000");
    cr_expect_null(c.database_url);
    cr_expect_str_eq(c.data_dir, "./var");
    cr_expect_eq(c.workers, cpus);
    cr_expect_null(c.root_token);
    cr_expect_eq(c.max_upload_bytes, 1073741824LL);
    cr_expect_eq(c.log_level, BI_LOG_INFO);
    cr_expect_eq(c.http_threads, 64);
    cr_expect_eq(c.db_connections, cpus + 8);
    cr_expect_eq(c.max_waiters, 32, "half the HTTP threads");
}

Test(config, every_flag) {
    const char *args[] = {"--listen", "0.0.0.0:9000", "--database-url", "host=/tmp dbname=x",
                          "--data-dir", "/srv/bi", "--workers", "3",
                          "--root-token", "0123456789abcdef", "--max-upload-bytes", "4096",
                          "--log-level", "debug", "--http-threads", "16",
                          "--db-connections", "20", NULL};
    config c;
    cr_assert_eq(parse(args, NULL, &c), CONFIG_RUN, "%s", err);
    cr_expect_str_eq(c.listen, "0.0.0.0:9000");
    cr_expect_str_eq(c.database_url, "host=/tmp dbname=x");
    cr_expect_str_eq(c.data_dir, "/srv/bi");
    cr_expect_eq(c.workers, 3);
    cr_expect_str_eq(c.root_token, "0123456789abcdef");
    cr_expect_eq(c.max_upload_bytes, 4096);
    cr_expect_eq(c.log_level, BI_LOG_DEBUG);
    cr_expect_eq(c.http_threads, 16);
    cr_expect_eq(c.db_connections, 20);
    cr_expect_eq(c.max_waiters, 8, "default follows --http-threads");
    const char *capped[] = {"--max-waiters", "3", NULL};
    cr_assert_eq(parse(capped, NULL, &c), CONFIG_RUN, "%s", err);
    cr_expect_eq(c.max_waiters, 3);
}

Test(config, equals_form_and_ipv6) {
    const char *args[] = {"--listen=[::1]:0", "--workers=2", NULL};
    config c;
    cr_assert_eq(parse(args, NULL, &c), CONFIG_RUN, "%s", err);
    cr_expect_str_eq(c.listen, "[::1]:0");
    cr_expect_eq(c.workers, 2);
    cr_expect_eq(c.db_connections, 10, "default follows workers");
}

Test(config, every_environment_variable) {
    char *envp[] = {"BULKIMPORT_LISTEN=127.0.0.1:1234", "DATABASE_URL=postgresql://db/bi",
                    "BULKIMPORT_DATA_DIR=/d", "BULKIMPORT_WORKERS=5",
                    "BULKIMPORT_ROOT_TOKEN=tttttttttttttttt", "BULKIMPORT_MAX_UPLOAD_BYTES=77",
                    "BULKIMPORT_LOG_LEVEL=warn", "BULKIMPORT_HTTP_THREADS=9",
                    "BULKIMPORT_DB_CONNECTIONS=30", "UNRELATED=1", NULL};
    config c;
    cr_assert_eq(parse(NULL, envp, &c), CONFIG_RUN, "%s", err);
    cr_expect_str_eq(c.listen, "127.0.0.1:1234");
    cr_expect_str_eq(c.database_url, "postgresql://db/bi");
    cr_expect_str_eq(c.data_dir, "/d");
    cr_expect_eq(c.workers, 5);
    cr_expect_str_eq(c.root_token, "tttttttttttttttt");
    cr_expect_eq(c.max_upload_bytes, 77);
    cr_expect_eq(c.log_level, BI_LOG_WARN);
    cr_expect_eq(c.http_threads, 9);
    cr_expect_eq(c.db_connections, 30);
}

Test(config, flag_wins_over_environment) {
    char *envp[] = {"BULKIMPORT_WORKERS=5", "BULKIMPORT_LOG_LEVEL=warn",
                    "BULKIMPORT_LISTEN=127.0.0.1:1", NULL};
    const char *args[] = {"--workers", "7", "--listen", "127.0.0.1:2", NULL};
    config c;
    cr_assert_eq(parse(args, envp, &c), CONFIG_RUN, "%s", err);
    cr_expect_eq(c.workers, 7);
    cr_expect_str_eq(c.listen, "127.0.0.1:2");
    cr_expect_eq(c.log_level, BI_LOG_WARN, "variables without a flag still apply");
}

Test(config, empty_environment_variable_is_unset) {
    char *envp[] = {"DATABASE_URL=", "BULKIMPORT_WORKERS=", NULL};
    config c;
    cr_assert_eq(parse(NULL, envp, &c), CONFIG_RUN, "%s", err);
    cr_expect_null(c.database_url);
}

Test(config, help) {
    const char *args[] = {"--workers", "2", "--help", NULL};
    config c;
    cr_expect_eq(parse(args, NULL, &c), CONFIG_HELP);
    const char *short_args[] = {"-h", NULL};
    cr_expect_eq(parse(short_args, NULL, &c), CONFIG_HELP);
}

Test(config, usage_lists_every_flag_and_variable) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    config_print_usage(f);
    fclose(f);
    const char *names[] = {"--listen", "BULKIMPORT_LISTEN", "--database-url", "DATABASE_URL",
                           "--data-dir", "BULKIMPORT_DATA_DIR", "--workers", "BULKIMPORT_WORKERS",
                           "--root-token", "BULKIMPORT_ROOT_TOKEN", "--max-upload-bytes",
                           "BULKIMPORT_MAX_UPLOAD_BYTES", "--log-level", "BULKIMPORT_LOG_LEVEL",
                           "--http-threads", "BULKIMPORT_HTTP_THREADS", "--db-connections",
                           "BULKIMPORT_DB_CONNECTIONS", "--help"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        cr_expect(strstr(text, names[i]) != NULL, "usage lacks %s", names[i]);
    free(text);
}

/* A bad value and the name the error message must carry. Text is inline: Criterion
 * re-executes the binary for each test, so pointers to static data would not survive. */
struct bad_case {
    char args[4][48]; /* "" ends the list */
    char env[64];     /* "" for none */
    char named[48];
};

ParameterizedTestParameters(config, bad_values) {
    static struct bad_case cases[] = {
        {{"--listen", "local host:8000"}, "", "--listen"},
        {{"--listen", "127.0.0.1"}, "", "--listen"},
        {{"--listen", "127.0.0.1:"}, "", "--listen"},
        {{"--listen", "127.0.0.1:65536"}, "", "--listen"},
        {{"--listen", "127.0.0.1:-1"}, "", "--listen"},
        {{"--listen", "::1:80"}, "", "--listen"},
        {{"--listen", "[::1:80"}, "", "--listen"},
        {{"--listen", "300.0.0.1:80"}, "", "--listen"},
        {{"--database-url", ""}, "", "--database-url"},
        {{"--data-dir", ""}, "", "--data-dir"},
        {{"--workers", "0"}, "", "--workers"},
        {{"--workers", "-3"}, "", "--workers"},
        {{"--workers", "abc"}, "", "--workers"},
        {{"--workers", "2x"}, "", "--workers"},
        {{"--workers", " 2"}, "", "--workers"},
        {{"--workers", "1025"}, "", "--workers"},
        {{"--workers", "99999999999999999999"}, "", "--workers"},
        {{"--root-token", "short"}, "", "--root-token"},
        {{"--root-token", "has space in it 0123"}, "", "--root-token"},
        {{"--root-token", "tab\tinside0123456789"}, "", "--root-token"},
        {{"--max-upload-bytes", "0"}, "", "--max-upload-bytes"},
        {{"--max-upload-bytes", "1GB"}, "", "--max-upload-bytes"},
        {{"--log-level", "verbose"}, "", "--log-level"},
        {{"--log-level", "INFO"}, "", "--log-level"},
        {{"--http-threads", "0"}, "", "--http-threads"},
        {{"--http-threads", "many"}, "", "--http-threads"},
        {{"--db-connections", "1"}, "", "--db-connections"},
        {{"--db-connections", "x"}, "", "--db-connections"},
        {{"--workers", "8", "--db-connections", "8"}, "", "--db-connections"},
        {{"--workers"}, "", "--workers"},
        {{"--no-such-flag"}, "", "--no-such-flag"},
        {{"--listen-x", "1"}, "", "--listen-x"},
        {{""}, "BULKIMPORT_WORKERS=zero", "BULKIMPORT_WORKERS"},
        {{""}, "BULKIMPORT_LISTEN=nowhere", "BULKIMPORT_LISTEN"},
        {{""}, "BULKIMPORT_ROOT_TOKEN=tiny", "BULKIMPORT_ROOT_TOKEN"},
        {{""}, "BULKIMPORT_MAX_UPLOAD_BYTES=-5", "BULKIMPORT_MAX_UPLOAD_BYTES"},
        {{""}, "BULKIMPORT_LOG_LEVEL=loud", "BULKIMPORT_LOG_LEVEL"},
        {{""}, "BULKIMPORT_HTTP_THREADS=0", "BULKIMPORT_HTTP_THREADS"},
        {{""}, "BULKIMPORT_DB_CONNECTIONS=0", "BULKIMPORT_DB_CONNECTIONS"},
    };
    return cr_make_param_array(struct bad_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_case *bad, config, bad_values) {
    const char *args[5] = {NULL};
    for (int i = 0; i < 4 && bad->args[i][0] != '\0'; i++)
        args[i] = bad->args[i];
    char *envp[] = {bad->env[0] ? bad->env : NULL, NULL};
    config c;
    cr_assert_eq(parse(args, envp, &c), BI_EINVAL, "accepted %s", bad->named);
    cr_expect(strstr(err, bad->named) != NULL, "message '%s' does not name %s", err, bad->named);
    cr_expect(strchr(err, '\n') == NULL, "one line");
}

Test(config, fetch_and_webhook_settings) {
    config c;
    cr_assert_eq(parse(NULL, NULL, &c), CONFIG_RUN);
    cr_expect_not(c.fetch_allow_private, "private addresses are for root by default");
    cr_expect_eq(c.fetch_timeout_s, 600);
    cr_expect_eq(c.webhook_retry_ms, 5000);

    const char *args[] = {"--fetch-allow-private", "--fetch-timeout", "30", "--webhook-retry-ms",
                          "250", NULL};
    cr_assert_eq(parse(args, NULL, &c), CONFIG_RUN, "%s", err);
    cr_expect(c.fetch_allow_private, "a bare switch turns it on");
    cr_expect_eq(c.fetch_timeout_s, 30);
    cr_expect_eq(c.webhook_retry_ms, 250);

    char *env_on[] = {"BULKIMPORT_FETCH_ALLOW_PRIVATE=true", NULL};
    const char *off[] = {"--fetch-allow-private=false", NULL};
    cr_assert_eq(parse(off, env_on, &c), CONFIG_RUN, "%s", err);
    cr_expect_not(c.fetch_allow_private, "the flag wins over the variable");
    cr_assert_eq(parse(NULL, env_on, &c), CONFIG_RUN, "%s", err);
    cr_expect(c.fetch_allow_private);

    char *env_bad[] = {"BULKIMPORT_FETCH_ALLOW_PRIVATE=yes", NULL};
    cr_expect_eq(parse(NULL, env_bad, &c), BI_EINVAL);
    cr_expect(strstr(err, "BULKIMPORT_FETCH_ALLOW_PRIVATE") != NULL, "%s", err);
    const char *zero[] = {"--fetch-timeout", "0", NULL};
    cr_expect_eq(parse(zero, NULL, &c), BI_EINVAL);
    cr_expect(strstr(err, "--fetch-timeout") != NULL, "%s", err);
}

Test(config, budgets_of_each_class_of_work) {
    config c;
    const char *pool[] = {"--workers", "4", "--db-connections", "24", NULL};
    cr_assert_eq(parse(pool, NULL, &c), CONFIG_RUN, "%s", err);
    cr_expect_eq(c.max_uploads, 15, "3/4 of the 20 connections not kept for workers");
    cr_expect_eq(c.max_streams, 5, "1/4 of them");
    cr_expect_eq(c.max_test_mode_tasks, 5, "1/4 of them");
    cr_expect_eq(c.max_feed_runs, 2);
    cr_expect_eq(c.header_timeout_s, 10);
    cr_expect_eq(c.read_timeout_s, 30);
    const char *set[] = {"--max-test-mode-tasks", "1", "--max-feed-runs", "7", "--header-timeout",
                         "3", NULL};
    cr_assert_eq(parse(set, NULL, &c), CONFIG_RUN, "%s", err);
    cr_expect_eq(c.max_test_mode_tasks, 1);
    cr_expect_eq(c.max_feed_runs, 7);
    cr_expect_eq(c.header_timeout_s, 3);
    const char *zero[] = {"--max-feed-runs", "0", NULL};
    cr_expect_eq(parse(zero, NULL, &c), BI_EINVAL);
    cr_expect(strstr(err, "--max-feed-runs") != NULL, "%s", err);
}

/* README's configuration table says what --help says: every option with its variable, its
 * value's name, its default and its range, and no option the server does not have. */
Test(config, the_readme_table_is_the_help) {
    FILE *f = fopen(BI_SOURCE_DIR "/README.md", "r");
    cr_assert_not_null(f);
    static char rows[64][2048];
    int n_rows = 0;
    char line[2048];
    while (fgets(line, sizeof line, f) != NULL && n_rows < 64)
        if (strncmp(line, "| `--", 5) == 0)
            snprintf(rows[n_rows++], sizeof rows[0], "%s", line);
    fclose(f);
    config defaults;
    cr_assert_eq(parse(NULL, NULL, &defaults), CONFIG_RUN);
    bool matched[64] = {false};
    config_option_info o;
    for (size_t i = 0; config_describe(i, &o) == 0; i++) {
        char head[160], env[96], fallback[160];
        snprintf(head, sizeof head, "| `%s%s%s` | ", o.flag, o.metavar[0] ? " " : "", o.metavar);
        int row = -1;
        for (int r = 0; r < n_rows && row < 0; r++)
            if (strncmp(rows[r], head, strlen(head)) == 0)
                row = r;
        cr_assert_geq(row, 0, "README has no row starting %s", head);
        matched[row] = true;
        /* The cells: flag, variable, default, description. */
        char *cells[4] = {NULL}, *save = NULL, copy[2048];
        snprintf(copy, sizeof copy, "%s", rows[row] + 1);
        char *cell = strtok_r(copy, "|", &save);
        for (int c = 0; c < 4 && cell != NULL; c++, cell = strtok_r(NULL, "|", &save))
            cells[c] = cell;
        cr_assert_not_null(cells[3], "%s", rows[row]);
        snprintf(env, sizeof env, " `%s` ", o.env);
        cr_expect_str_eq(cells[1], env, "%s: the variable", o.flag);
        size_t at = 0;
        for (const char *p = cells[2]; *p; p++) /* the default without its code quotes */
            if (*p != '`' && at + 1 < sizeof fallback)
                fallback[at++] = *p;
        fallback[at] = '\0';
        char want[200];
        snprintf(want, sizeof want, " %s ", o.fallback);
        cr_expect_str_eq(fallback, want, "%s: the default", o.flag);
        if (o.numeric) {
            char range[96];
            snprintf(range, sizeof range, "%lld\xe2\x80\x93%lld", o.min, o.max); /* an en dash */
            cr_expect(strstr(cells[3], range) != NULL, "%s: README says its range %s: %s", o.flag,
                      range, cells[3]);
            if (strspn(o.fallback, "0123456789") == strlen(o.fallback))
                cr_expect_eq(config_number_at(&defaults, i), atoll(o.fallback),
                             "%s: the default the code uses", o.flag);
        }
    }
    for (int r = 0; r < n_rows; r++)
        cr_expect(matched[r], "README lists an option the server does not have: %s", rows[r]);
}

Test(config, listen_takes_host_names) {
    config c;
    const char *args[] = {"--listen", "localhost:8000", NULL};
    cr_expect_eq(parse(args, NULL, &c), CONFIG_RUN, "%s", err);
    cr_expect_str_eq(c.listen, "localhost:8000");
    const char *named[] = {"--listen", "bulk-import.example.org:0", NULL};
    cr_expect_eq(parse(named, NULL, &c), CONFIG_RUN, "%s", err);
    const char *bad[][3] = {{"--listen", "-bad:80", NULL}, {"--listen", "a..b:80", NULL},
                            {"--listen", "999.1.1.1:80", NULL}, {"--listen", "host_name:80", NULL},
                            {"--listen", "localhost:99999", NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(parse(bad[i], NULL, &c), BI_EINVAL, "%s", bad[i][1]);
    const char *version[] = {"--version", NULL};
    cr_expect_eq(parse(version, NULL, &c), CONFIG_VERSION);
}
