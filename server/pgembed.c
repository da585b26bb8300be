#include "pgembed.h"

#include "error.h"
#include "log.h"
#include "pool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PGEMBED_PORT "5432" /* only names the socket file: there is no TCP listener */
#define PGEMBED_SUPERUSER "bulkimport"
#define PGEMBED_START_TIMEOUT_MS 60000
#define PGEMBED_STOP_TIMEOUT_MS 60000
/* Paths here are short: the socket path inside the cluster dir must fit in sun_path (108). */
#define PGEMBED_PATH_MAX 256
#define PGEMBED_BUF_MAX (2 * PGEMBED_PATH_MAX)

struct pgembed {
    pid_t pid;
    bool switch_user; /* run children as the postgres system user */
    uid_t uid;
    gid_t gid;
    char bindir[PGEMBED_PATH_MAX];
    char cluster_dir[PGEMBED_PATH_MAX];
    char log_path[PGEMBED_PATH_MAX];
    char conninfo[4 * PGEMBED_PATH_MAX];
};

static void pgembed_sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static long pgembed_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Writes dir/name to out; false when it does not fit. */
static bool pgembed_path(char *out, size_t out_len, const char *dir, const char *name) {
    int n = snprintf(out, out_len, "%s/%s", dir, name);
    return n > 0 && (size_t)n < out_len;
}

static bool pgembed_has_server(const char *bindir) {
    char path[PGEMBED_BUF_MAX];
    return pgembed_path(path, sizeof path, bindir, "postgres") && access(path, X_OK) == 0 &&
           pgembed_path(path, sizeof path, bindir, "initdb") && access(path, X_OK) == 0;
}

/* Finds the server binaries: the version the cluster was made with (its PG_VERSION) when it
 * exists, else the newest /usr/lib/postgresql/N/bin, else `pg_config --bindir`. */
static int pgembed_find_bindir(pgembed *pg) {
    char path[PGEMBED_BUF_MAX];
    FILE *f = pgembed_path(path, sizeof path, pg->cluster_dir, "PG_VERSION") ? fopen(path, "r")
                                                                             : NULL;
    if (f != NULL) {
        char version[16] = "";
        bool ok = fgets(version, sizeof version, f) != NULL;
        fclose(f);
        version[strcspn(version, "\n")] = '\0';
        snprintf(pg->bindir, sizeof pg->bindir, "/usr/lib/postgresql/%s/bin", version);
        if (ok && pgembed_has_server(pg->bindir))
            return 0;
        log_error("the cluster in %s was made by PostgreSQL %s, whose server binaries are not "
                  "installed (apt-get install postgresql-%s)",
                  pg->cluster_dir, version, version);
        return BI_EINTERNAL;
    }
    long best = -1;
    DIR *dir = opendir("/usr/lib/postgresql");
    for (struct dirent *e; dir != NULL && (e = readdir(dir)) != NULL;) {
        char *end;
        long version = strtol(e->d_name, &end, 10);
        if (*end != '\0' || version <= best)
            continue;
        snprintf(path, sizeof path, "/usr/lib/postgresql/%ld/bin", version);
        if (pgembed_has_server(path)) {
            best = version;
            snprintf(pg->bindir, sizeof pg->bindir, "/usr/lib/postgresql/%ld/bin", version);
        }
    }
    if (dir != NULL)
        closedir(dir);
    if (best >= 0)
        return 0;
    FILE *p = popen("pg_config --bindir 2>/dev/null", "r");
    if (p != NULL) {
        bool ok = fgets(pg->bindir, sizeof pg->bindir, p) != NULL;
        pclose(p);
        pg->bindir[strcspn(pg->bindir, "\n")] = '\0';
        if (ok && pgembed_has_server(pg->bindir))
            return 0;
    }
    log_error("no PostgreSQL server binaries found (looked in /usr/lib/postgresql/*/bin and "
              "pg_config --bindir): install the postgresql package, or pass --database-url");
    return BI_EINTERNAL;
}

/* Starts argv[0] with output appended to the log, as the postgres user when running as root, in
 * its own process group, with SIGINT (fast shutdown) as parent-death signal. Only
 * async-signal-safe calls between fork and exec. */
static pid_t pgembed_spawn(const pgembed *pg, char *const argv[]) {
    int log_fd = open(pg->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0) {
        log_error("cannot open %s: %s", pg->log_path, strerror(errno));
        return -1;
    }
    if (pg->switch_user && fchown(log_fd, pg->uid, pg->gid) != 0)
        log_warn("cannot give %s to the postgres user: %s", pg->log_path, strerror(errno));
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        int null_fd = open("/dev/null", O_RDONLY);
        if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
            _exit(126);
        setpgid(0, 0);
        if (pg->switch_user &&
            (setgroups(0, NULL) != 0 || setgid(pg->gid) != 0 || setuid(pg->uid) != 0))
            _exit(126);
        /* After setuid, which clears it. */
        if (prctl(PR_SET_PDEATHSIG, SIGINT) != 0 || getppid() != parent)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    close(log_fd);
    if (pid < 0)
        log_error("fork: %s", strerror(errno));
    return pid;
}

static int pgembed_initdb(pgembed *pg) {
    char initdb[PGEMBED_BUF_MAX];
    pgembed_path(initdb, sizeof initdb, pg->bindir, "initdb"); /* checked by has_server */
    char *argv[] = {initdb,      "-D",          pg->cluster_dir, "-U", PGEMBED_SUPERUSER,
                    "--auth=trust", "-E",       "UTF8",          "--no-locale", NULL};
    log_info("creating the embedded PostgreSQL cluster in %s", pg->cluster_dir);
    pid_t pid = pgembed_spawn(pg, argv);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        log_error("initdb failed; see %s", pg->log_path);
        return BI_EINTERNAL;
    }
    return 0;
}

/* Starts the postmaster and waits until it accepts connections. A postmaster of an earlier
 * bulkimportd killed with -9 may still be shutting down, holding postmaster.pid: retry then. */
static int pgembed_run(pgembed *pg, int max_connections) {
    char postgres[PGEMBED_BUF_MAX], socket_dir[PGEMBED_BUF_MAX], max_conn[48];
    pgembed_path(postgres, sizeof postgres, pg->bindir, "postgres"); /* checked by has_server */
    snprintf(socket_dir, sizeof socket_dir, "unix_socket_directories=%s", pg->cluster_dir);
    snprintf(max_conn, sizeof max_conn, "max_connections=%d", max_connections);
    char *argv[] = {postgres, "-D", pg->cluster_dir, "-p", PGEMBED_PORT,
                    "-c", "listen_addresses=", "-c", socket_dir,
                    "-c", "unix_socket_permissions=0700", "-c", max_conn, NULL};
    long deadline = pgembed_now_ms() + PGEMBED_START_TIMEOUT_MS;
    while (pgembed_now_ms() < deadline) {
        pg->pid = pgembed_spawn(pg, argv);
        if (pg->pid < 0)
            return BI_EINTERNAL;
        int status;
        while (waitpid(pg->pid, &status, WNOHANG) == 0) {
            if (db_server_accepts(pg->conninfo))
                return 0;
            if (pgembed_now_ms() >= deadline) {
                log_error("PostgreSQL did not accept connections within %d s; see %s",
                          PGEMBED_START_TIMEOUT_MS / 1000, pg->log_path);
                kill(pg->pid, SIGQUIT);
                waitpid(pg->pid, &status, 0);
                pg->pid = -1;
                return BI_EINTERNAL;
            }
            pgembed_sleep_ms(50);
        }
        pg->pid = -1;
        char pid_file[PGEMBED_BUF_MAX];
        if (!pgembed_path(pid_file, sizeof pid_file, pg->cluster_dir, "postmaster.pid") ||
            access(pid_file, F_OK) != 0)
            break;
        log_info("an earlier postmaster still holds %s; retrying", pid_file);
        pgembed_sleep_ms(500);
    }
    log_error("PostgreSQL failed to start; see %s", pg->log_path);
    return BI_EINTERNAL;
}

/* Appends key='value' to a conninfo string, quoting as libpq requires. */
static void pgembed_conninfo_add(char *out, size_t out_len, const char *key, const char *value) {
    size_t len = strlen(out);
    len += (size_t)snprintf(out + len, out_len - len, "%s%s='", len ? " " : "", key);
    for (const char *c = value; *c != '\0' && len + 3 < out_len; c++) {
        if (*c == '\'' || *c == '\\')
            out[len++] = '\\';
        out[len++] = *c;
    }
    snprintf(out + len, out_len - len, "'");
}

int pgembed_start(const char *data_dir, int max_connections, pgembed **out) {
    pgembed *pg = calloc(1, sizeof *pg);
    if (pg == NULL)
        abort();
    pg->pid = -1;
    if (strlen(data_dir) + sizeof "/pg/.s.PGSQL." PGEMBED_PORT >
        sizeof((struct sockaddr_un *)0)->sun_path) {
        log_error("the data dir path %s is too long to hold PostgreSQL's unix socket: choose a "
                  "shorter --data-dir",
                  data_dir);
        goto fail;
    }
    snprintf(pg->cluster_dir, sizeof pg->cluster_dir, "%s/pg", data_dir);
    snprintf(pg->log_path, sizeof pg->log_path, "%s/postgresql.log", data_dir);
    pgembed_conninfo_add(pg->conninfo, sizeof pg->conninfo, "host", pg->cluster_dir);
    pgembed_conninfo_add(pg->conninfo, sizeof pg->conninfo, "port", PGEMBED_PORT);
    pgembed_conninfo_add(pg->conninfo, sizeof pg->conninfo, "user", PGEMBED_SUPERUSER);
    pgembed_conninfo_add(pg->conninfo, sizeof pg->conninfo, "dbname", "postgres");

    if (geteuid() == 0) {
        struct passwd *pw = getpwnam("postgres");
        if (pw == NULL) {
            log_error("running as root, the embedded PostgreSQL needs the 'postgres' system user "
                      "(apt-get install postgresql creates it)");
            goto fail;
        }
        pg->switch_user = true;
        pg->uid = pw->pw_uid;
        pg->gid = pw->pw_gid;
        if (chown(data_dir, pg->uid, pg->gid) != 0) {
            log_error("cannot give %s to the postgres user: %s", data_dir, strerror(errno));
            goto fail;
        }
    }
    if (pgembed_find_bindir(pg) < 0)
        goto fail;

    char version_file[PGEMBED_BUF_MAX];
    pgembed_path(version_file, sizeof version_file, pg->cluster_dir, "PG_VERSION");
    if (access(version_file, F_OK) != 0 && pgembed_initdb(pg) < 0)
        goto fail;
    if (pgembed_run(pg, max_connections) < 0)
        goto fail;
    log_info("embedded PostgreSQL (%s) is up on %s", pg->bindir, pg->cluster_dir);
    *out = pg;
    return 0;
fail:
    free(pg);
    return BI_EINTERNAL;
}

const char *pgembed_conninfo(const pgembed *pg) { return pg->conninfo; }

const char *pgembed_bindir(const pgembed *pg) { return pg->bindir; }

void pgembed_halt(pgembed *pg, bool immediate) {
    if (pg->pid <= 0)
        return;
    /* SIGINT: fast shutdown; SIGQUIT: immediate. Escalate to SIGQUIT if a fast one hangs. */
    kill(pg->pid, immediate ? SIGQUIT : SIGINT);
    long deadline = pgembed_now_ms() + PGEMBED_STOP_TIMEOUT_MS;
    int status;
    while (waitpid(pg->pid, &status, WNOHANG) == 0) {
        if (pgembed_now_ms() >= deadline) {
            log_warn("PostgreSQL did not stop in time; forcing it");
            kill(pg->pid, SIGQUIT);
            waitpid(pg->pid, &status, 0);
            break;
        }
        pgembed_sleep_ms(20);
    }
    pg->pid = -1;
    log_info("embedded PostgreSQL stopped%s", immediate ? " (immediate)" : "");
}

void pgembed_stop(pgembed *pg) {
    if (pg == NULL)
        return;
    pgembed_halt(pg, false);
    free(pg);
}
