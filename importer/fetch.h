/* fetch.h — the server's outgoing HTTP (libcurl): downloading a file_url into a task and
 * posting webhooks, under one address policy.
 *
 * Policy: only http and https, also after redirects; no proxy; and unless the caller may reach
 * any address (root, or the operator's --fetch-allow-private), every connection's resolved
 * address must be public — loopback, private, link-local (cloud metadata), carrier-grade NAT,
 * multicast and reserved addresses are refused. The check runs on the address libcurl is about
 * to connect to, so a name that resolves to a private address, or a redirect to one, is caught.
 */
#ifndef BI_IMPORTER_FETCH_H
#define BI_IMPORTER_FETCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define FETCH_WHY_MAX 512

/* Whether url is an absolute http:// or https:// URL with a host (case-insensitive scheme),
 * at most 2048 bytes, without spaces or control characters. */
bool fetch_url_is_http(const char *url);

/* Whether the socket address sa is one only a privileged caller may reach (see above);
 * IPv4-mapped and NAT64 IPv6 addresses are judged by their IPv4 part. */
bool fetch_address_is_private(const struct sockaddr *sa);

/* Whether url (fetch_url_is_http) names its host by an address the policy refuses — a
 * literal private IP address, or "localhost" — which is known without resolving the name: so
 * such a file_url is refused when it is posted. Names are judged when the download connects. */
bool fetch_url_host_is_private(const char *url);

/* Receives downloaded bytes; a negative return stops the download and is returned. */
typedef int (*fetch_sink)(const char *data, size_t len, void *ctx);

#define FETCH_HEADER_MAX 512

/* What a download's final response said, beyond its body. */
typedef struct fetch_response {
    long status;
    long long bytes;                      /* the body's size */
    char etag[FETCH_HEADER_MAX];          /* "": the header was absent (or longer than this) */
    char last_modified[FETCH_HEADER_MAX];
    char next_cursor[FETCH_HEADER_MAX];   /* X-Next-Cursor */
} fetch_response;

typedef struct fetch_download_opts {
    bool any_address;            /* skip the address check */
    long long max_bytes;         /* a larger body fails the download */
    long timeout_s;              /* the whole transfer */
    const atomic_bool *stopping; /* set: the download stops soon (NULL: never) */
    const char *const *headers;  /* NULL-terminated "Name: value" request headers, or NULL */
    fetch_response *response;    /* filled when not NULL; then 304 Not Modified is a success */
} fetch_download_opts;

/* Downloads url (GET, following up to 5 redirects) into sink. Returns 0 once the whole body
 * arrived with a 2xx status (or 304, see response); sink's error; BI_ETOOBIG past max_bytes; BI_EINTERNAL when
 * stopping was set; or BI_EIO for anything else (status, refused address, network, timeout).
 * On failure why (FETCH_WHY_MAX bytes) says what happened in a sentence for the task's error. */
int fetch_download(const char *url, const fetch_download_opts *opts, fetch_sink sink, void *ctx,
                   char *why);

/* POSTs body (len bytes) to url with the extra headers (NULL-terminated "Name: value" list),
 * not following redirects, within timeout_s. Returns 0 with the receiver's status in
 * *out_status (any status), BI_EPERM when the policy refused the address or URL (retrying
 * cannot help), or BI_EIO with why (no answer). */
int fetch_post(const char *url, bool any_address, const char *const *headers, const char *body,
               size_t len, long timeout_s, long *out_status, char *why);

#endif
