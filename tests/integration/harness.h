/* harness.h — integration tests against real parts: a private PostgreSQL cluster started once
 * per test executable (a Criterion PRE_ALL hook, in a temp dir, on a unix socket: no port to
 * collide on) and a real bulkimportd process per test, talked to over HTTP with libcurl.
 *
 * Everything is torn down when the tests end, also when one fails: the cluster and each server
 * get a parent-death signal, and POST_ALL removes the temp dir. Nothing here skips: a missing
 * PostgreSQL fails the tests with the reason. BI_TEST_SERVER=<path> tests another bulkimportd
 * binary, such as the tsan preset's.
 */
#ifndef BI_TEST_HARNESS_H
#define BI_TEST_HARNESS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define HARNESS_ROOT_TOKEN "harness-root-token-0123456789"

typedef struct harness_server {
    pid_t pid;
    int port;
    char url[64]; /* "http://127.0.0.1:PORT" */
    char data_dir[256];
    char log_path[300];
    char conninfo[1024]; /* its database, when started by harness_server_start_default */
} harness_server;

typedef struct harness_response {
    long status;
    char *body; /* NUL-terminated */
    size_t body_len;
    char *headers; /* the raw header block */
    cJSON *json;   /* body parsed, or NULL */
} harness_response;

/* Runs PostgreSQL's program (pg_dump, pg_restore, ...) of the test cluster with argv (argv[0]
 * is replaced; NULL-terminated), as the postgres user when running as root; fails the test
 * unless it exits 0. */
void harness_pg_tool(const char *program, char *argv[]);

/* Returns a new directory under the run's temp dir (removed at the end); static storage
 * overwritten by the next call. */
const char *harness_temp_dir(void);

/* Creates a fresh database in the private cluster and writes its conninfo to out. Fails the test
 * when the cluster is not running. */
void harness_database_create(char *out, size_t out_len);

/* A primary and its streaming replica (asynchronous), each a private cluster of its own,
 * holding the database "bi". */
typedef struct harness_pg_pair {
    struct pgembed *primary, *replica;
    char conninfo[1024];         /* both hosts, primary first, target_session_attrs=read-write */
    char primary_conninfo[512];  /* database bi on the primary only */
    char replica_conninfo[512];  /* and on the replica */
} harness_pg_pair;

/* Starts a primary, creates database bi, and starts a replica from pg_basebackup -R of it,
 * streaming. Fails the test when any step fails. Stop both with harness_pg_pair_stop. */
void harness_pg_pair_start(harness_pg_pair *p);

/* Stops the replica's streaming (its primary_conninfo emptied and reloaded): what the primary
 * commits from now on is missing on the replica, as the last commits of a crashed primary are
 * under asynchronous replication. */
void harness_pg_pair_cut_replication(harness_pg_pair *p);

/* The failover: stops the primary (fast, or immediate as a crash would) and promotes the
 * replica, waiting until it accepts writes. */
void harness_pg_pair_fail_over(harness_pg_pair *p, bool immediate);

/* Stops whatever of the pair still runs. */
void harness_pg_pair_stop(harness_pg_pair *p);

/* Runs sql (no parameters, our own text only) on the database of conninfo and returns the first
 * column of the first row as a number (0 when there is none). Fails the test on an error. */
long harness_sql(const char *conninfo, const char *sql);

/* Starts bulkimportd with args (NULL-terminated; --listen 127.0.0.1:0 and a fresh --data-dir
 * are added unless given) and waits until /readyz answers 200. Fails the test, showing the
 * server's log, when it exits or is not ready within 60 s. */
void harness_server_start(harness_server *s, const char *const args[]);

/* harness_server_start on a fresh database with --root-token HARNESS_ROOT_TOKEN, --workers
 * workers and the flags extra (NULL-terminated, at most 16). */
void harness_server_start_with(harness_server *s, int workers, const char *const extra[]);

/* harness_server_start_with 2 workers and no extra flags. */
void harness_server_start_default(harness_server *s);

/* Sends SIGTERM and waits. Returns the exit code, or 128 + signal when killed by a signal;
 * prints the server's log when it is not 0. Does nothing and returns 0 when not running. */
int harness_server_stop(harness_server *s);

/* Runs bulkimportd with args to its end (at most timeout_s seconds) with stdout and stderr
 * captured into out (NUL-terminated). Returns its exit code, or -1 on timeout. */
int harness_run_to_exit(const char *const args[], int timeout_s, char *out, size_t out_len);

/* Sends one request. auth is the Authorization header value or NULL; body NULL sends none.
 * Returns a new response (free with harness_response_free); fails the test on a transport
 * error. */
harness_response *harness_request(const harness_server *s, const char *method, const char *path,
                                  const char *auth, const char *body);

/* harness_request with a body of body_len bytes (may hold NUL bytes). */
harness_response *harness_request_bytes(const harness_server *s, const char *method,
                                        const char *path, const char *auth, const char *body,
                                        size_t body_len);

/* harness_request_bytes with the given Content-Type. */
harness_response *harness_request_typed(const harness_server *s, const char *method,
                                        const char *path, const char *auth,
                                        const char *content_type, const char *body,
                                        size_t body_len);

/* harness_request_typed with more header lines ("Name: value", several split by CRLF; NULL:
 * none). */
harness_response *harness_request_with_header(const harness_server *s, const char *method,
                                              const char *path, const char *auth,
                                              const char *header, const char *content_type,
                                              const char *body, size_t body_len);

/* POSTs the file at file (streamed from disk, never read whole) to path as auth. */
harness_response *harness_upload_file(const harness_server *s, const char *path,
                                      const char *auth, const char *file);

/* harness_request_bytes, but a transport failure (the server died) returns NULL. */
harness_response *harness_try_request_bytes(const harness_server *s, const char *method,
                                            const char *path, const char *auth, const char *body,
                                            size_t body_len);

/* POSTs body (len bytes, content_type; NULL: application/json) to path as auth; asserts 202
 * and returns the task id in out. */
void harness_submit(const harness_server *s, const char *path, const char *auth,
                    const char *content_type, const char *body, size_t len, char *out,
                    size_t out_len);

/* Polls task until it is neither PENDING nor STARTED (a minute at most, else the test fails);
 * returns the answer of ?task=…&result=format (and more query text in extra, or NULL). */
harness_response *harness_wait_result(const harness_server *s, const char *task,
                                      const char *auth, const char *format, const char *extra);

/* Creates user name as root on s and writes "Token <its token>" to out. */
void harness_create_user(const harness_server *s, const char *name, char *out, size_t out_len);

struct mg_connection;
struct mg_context;

/* Starts a CivetWeb server on 127.0.0.1 (a free port, threads threads) that hands every request
 * to handle(conn, data): the other end of outgoing HTTP (files, webhooks). Fails the test when
 * it cannot start. Returns it, with its port in *out_port; stop it with harness_peer_stop. */
struct mg_context *harness_peer_start(int (*handle)(struct mg_connection *conn, void *data),
                                      void *data, int threads, int *out_port);
void harness_peer_stop(struct mg_context *ctx);

/* Frees r; NULL does nothing. */
void harness_response_free(harness_response *r);

/* Returns the value of header name (case-insensitive) in out, or NULL when absent. */
const char *harness_response_header(const harness_response *r, const char *name, char *out,
                                    size_t out_len);

/* Returns the string member key of r's JSON body, or NULL. Borrowed from r. */
const char *harness_json_string(const harness_response *r, const char *key);

/* Writes the gzip of text (len bytes) to out (cap bytes, enough for it); returns its length. */
size_t harness_gzip(const char *text, size_t len, unsigned char *out, size_t cap);

/* Writes a ZIP archive of n files (names[i] holding texts[i], lens[i] bytes) to out (cap bytes,
 * enough for it); returns its length. */
size_t harness_zip(const char *const names[], const char *const texts[], const size_t lens[],
                   size_t n, unsigned char *out, size_t cap);

/* Returns the text of the fixture file at path (up to 512 KiB), in static storage overwritten by
 * the next call; fails the test when it cannot be read. */
char *harness_fixture(const char *path);

/* Reads a whole small file into out (NUL-terminated); returns its length or -1. */
long harness_read_file(const char *path, char *out, size_t out_len);

#endif
