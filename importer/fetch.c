#include "fetch.h"

#include "error.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FETCH_URL_MAX 2048
#define FETCH_CONNECT_TIMEOUT_S 15L
#define FETCH_STALL_S 60L /* a transfer that moves no byte this long fails */
#define FETCH_MAX_REDIRECTS 5L

bool fetch_url_is_http(const char *url) {
    size_t len = strlen(url), scheme;
    if (strncasecmp(url, "http://", 7) == 0)
        scheme = 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        scheme = 8;
    else
        return false;
    if (len > FETCH_URL_MAX || len == scheme || url[scheme] == '/')
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
            return false;
    return true;
}

bool fetch_url_host_is_private(const char *url) {
    const char *host = strstr(url, "://") + 3;
    const char *at = strpbrk(host, "@/?#");
    if (at != NULL && *at == '@') /* user info */
        host = at + 1;
    char name[256];
    size_t len;
    if (*host == '[') {
        len = strcspn(host + 1, "]");
        host++;
    } else {
        len = strcspn(host, ":/?#");
    }
    if (len == 0 || len >= sizeof name)
        return false;
    memcpy(name, host, len);
    name[len] = '\0';
    if (strcasecmp(name, "localhost") == 0 || (len > 10 && strcasecmp(name + len - 10, ".localhost") == 0))
        return true;
    struct sockaddr_in v4 = {.sin_family = AF_INET};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
    if (inet_pton(AF_INET, name, &v4.sin_addr) == 1)
        return fetch_address_is_private((const struct sockaddr *)&v4);
    if (inet_pton(AF_INET6, name, &v6.sin6_addr) == 1)
        return fetch_address_is_private((const struct sockaddr *)&v6);
    return false;
}

/* Whether IPv4 address a (host order) is loopback, private, link-local, shared, multicast or
 * otherwise not a public unicast address. */
static bool fetch_ipv4_is_private(uint32_t a) {
    static const struct {
        uint32_t net;
        int bits;
    } blocks[] = {
        {0x00000000, 8},  /* "this" network */
        {0x0A000000, 8},  /* 10/8 */
        {0x64400000, 10}, /* 100.64/10, carrier-grade NAT */
        {0x7F000000, 8},  /* loopback */
        {0xA9FE0000, 16}, /* link-local, cloud metadata */
        {0xAC100000, 12}, /* 172.16/12 */
        {0xC0000000, 24}, /* IETF protocol assignments */
        {0xC0A80000, 16}, /* 192.168/16 */
        {0xC6120000, 15}, /* benchmarking */
        {0xE0000000, 4},  /* multicast */
        {0xF0000000, 4},  /* reserved, broadcast */
    };
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++)
        if ((a & (0xFFFFFFFFu << (32 - blocks[i].bits))) == blocks[i].net)
            return true;
    return false;
}

bool fetch_address_is_private(const struct sockaddr *sa) {
    if (sa->sa_family == AF_INET)
        return fetch_ipv4_is_private(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
    if (sa->sa_family != AF_INET6)
        return true;
    const unsigned char *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    static const unsigned char nat64[12] = {0, 0x64, 0xFF, 0x9B};
    static const unsigned char compatible[12] = {0}; /* ::a.b.c.d, deprecated; :: and ::1 too */
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0 || memcmp(b, compatible, 12) == 0)
        return fetch_ipv4_is_private((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
                                     (uint32_t)b[14] << 8 | b[15]);
    static const unsigned char local_nat64[6] = {0, 0x64, 0xFF, 0x9B, 0, 0x01};
    return (b[0] & 0xFE) == 0xFC ||                    /* fc00::/7 unique local */
           (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) || /* fe80::/10 link-local */
           (b[0] == 0xFE && (b[1] & 0xC0) == 0xC0) || /* fec0::/10 site-local, deprecated */
           memcmp(b, local_nat64, 6) == 0 ||           /* 64:ff9b:1::/48, local-use NAT64 */
           (b[0] == 0x20 && b[1] == 0x02) ||           /* 2002::/16, 6to4: any IPv4 behind */
           b[0] == 0xFF;                               /* multicast */
}

/* One transfer's state, seen by libcurl's callbacks. */
typedef struct fetch_transfer {
    bool any_address;
    bool refused;
    char refused_address[INET6_ADDRSTRLEN];
    fetch_sink sink;
    void *ctx;
    int sink_error;
    long long received, max_bytes;
    bool too_big;
    const atomic_bool *stopping;
    fetch_response *response;
    bool redirect; /* the response coming is a redirect we follow ourselves: its body is not the file */
    char curl_error[CURL_ERROR_SIZE];
} fetch_transfer;

/* Opens each connection's socket, unless the policy refuses its address. */
static curl_socket_t fetch_open_socket(void *ctx, curlsocktype purpose,
                                       struct curl_sockaddr *address) {
    fetch_transfer *t = ctx;
    if (purpose == CURLSOCKTYPE_IPCXN && !t->any_address &&
        fetch_address_is_private(&address->addr)) {
        const void *raw = address->family == AF_INET6
                              ? (const void *)&((struct sockaddr_in6 *)&address->addr)->sin6_addr
                              : (const void *)&((struct sockaddr_in *)&address->addr)->sin_addr;
        inet_ntop(address->family, raw, t->refused_address, sizeof t->refused_address);
        t->refused = true;
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype, address->protocol);
}

static size_t fetch_write(char *data, size_t size, size_t n, void *ctx) {
    fetch_transfer *t = ctx;
    size_t len = size * n;
    if (t->redirect)
        return len;
    t->received += (long long)len;
    if (t->received > t->max_bytes) {
        t->too_big = true;
        return 0;
    }
    int err = t->sink(data, len, t->ctx);
    if (err < 0) {
        t->sink_error = err;
        return 0;
    }
    return len;
}

/* Copies the value of header line (len bytes) to out when it is the header name. */
static void fetch_take_header(const char *line, size_t len, const char *name, char *out) {
    size_t n = strlen(name);
    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return;
    const char *v = line + n + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t vlen = (size_t)(end - v);
    if (vlen < FETCH_HEADER_MAX) {
        memcpy(out, v, vlen);
        out[vlen] = '\0';
    }
}

/* Notes whether each response is a redirect, and keeps the validators and the cursor of the
 * last one (a redirect's are forgotten). */
static size_t fetch_header(char *line, size_t size, size_t n, void *ctx) {
    fetch_transfer *t = ctx;
    fetch_response *r = t->response;
    size_t len = size * n;
    if (len >= 12 && strncmp(line, "HTTP/", 5) == 0) {
        const char *code = memchr(line, ' ', len);
        t->redirect = code != NULL && code[1] == '3' && strncmp(code + 1, "304", 3) != 0;
        if (r != NULL)
            r->etag[0] = r->last_modified[0] = r->next_cursor[0] = '\0';
    }
    if (r == NULL)
        return len;
    fetch_take_header(line, len, "ETag", r->etag);
    fetch_take_header(line, len, "Last-Modified", r->last_modified);
    fetch_take_header(line, len, "X-Next-Cursor", r->next_cursor);
    return len;
}

static int fetch_progress(void *ctx, curl_off_t dl_total, curl_off_t dl_now, curl_off_t ul_total,
                          curl_off_t ul_now) {
    (void)dl_total, (void)dl_now, (void)ul_total, (void)ul_now;
    const fetch_transfer *t = ctx;
    return t->stopping != NULL && atomic_load(t->stopping);
}

/* A handle for url under the policy, with t's callbacks, or NULL (out of memory). */
static CURL *fetch_handle(const char *url, fetch_transfer *t, long timeout_s) {
    CURL *curl = curl_easy_init();
    if (curl == NULL)
        return NULL;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_PROXY, ""); /* the address check must see the real peer */
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, fetch_open_socket);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, t);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, FETCH_CONNECT_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, t->curl_error);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "bulkimportd");
    return curl;
}

/* Says in why what went wrong with a transfer that ended with rc and HTTP status. */
static void fetch_explain(const fetch_transfer *t, CURLcode rc, long status, char *why) {
    if (t->refused)
        snprintf(why, FETCH_WHY_MAX,
                 "the address %s is loopback, private, link-local or reserved; only root may "
                 "fetch from it (or the operator's --fetch-allow-private)",
                 t->refused_address);
    else if (t->too_big || rc == CURLE_FILESIZE_EXCEEDED)
        snprintf(why, FETCH_WHY_MAX, "the file is larger than %lld bytes (--max-upload-bytes)",
                 t->max_bytes);
    else if (rc == CURLE_HTTP_RETURNED_ERROR || (rc == CURLE_OK && status >= 300))
        snprintf(why, FETCH_WHY_MAX, "the server answered HTTP %ld", status);
    else if (rc == CURLE_UNSUPPORTED_PROTOCOL)
        snprintf(why, FETCH_WHY_MAX, "only http and https URLs may be fetched (also in redirects)");
    else
        snprintf(why, FETCH_WHY_MAX, "%s", t->curl_error[0] ? t->curl_error : curl_easy_strerror(rc));
}

/* Whether the request headers may follow a redirect from url to next: only to the same host
 * and port, over https. */
static bool fetch_headers_may_follow(const char *url, const char *next) {
    CURLU *a = curl_url(), *b = curl_url();
    char *host_a = NULL, *host_b = NULL, *scheme_b = NULL, *port_a = NULL, *port_b = NULL;
    bool same = a != NULL && b != NULL && curl_url_set(a, CURLUPART_URL, url, 0) == CURLUE_OK &&
                curl_url_set(b, CURLUPART_URL, next, 0) == CURLUE_OK &&
                curl_url_get(a, CURLUPART_HOST, &host_a, 0) == CURLUE_OK &&
                curl_url_get(b, CURLUPART_HOST, &host_b, 0) == CURLUE_OK &&
                curl_url_get(b, CURLUPART_SCHEME, &scheme_b, 0) == CURLUE_OK &&
                curl_url_get(a, CURLUPART_PORT, &port_a, CURLU_DEFAULT_PORT) == CURLUE_OK &&
                curl_url_get(b, CURLUPART_PORT, &port_b, CURLU_DEFAULT_PORT) == CURLUE_OK &&
                strcasecmp(host_a, host_b) == 0 && strcmp(port_a, port_b) == 0 &&
                strcasecmp(scheme_b, "https") == 0;
    curl_free(host_a), curl_free(host_b), curl_free(scheme_b), curl_free(port_a), curl_free(port_b);
    curl_url_cleanup(a), curl_url_cleanup(b);
    return same;
}

/* One GET of url into t: with the request headers list (may be NULL), following redirects
 * itself only when follow. Returns curl's code, the status in *status and, for a redirect
 * not followed, its target in next (NULL-terminated, or "" when none). */
static CURLcode fetch_once(const char *url, const fetch_download_opts *opts, fetch_transfer *t,
                           struct curl_slist *list, bool follow, long *status, char *next,
                           size_t next_len) {
    CURL *curl = fetch_handle(url, t, opts->timeout_s);
    if (curl == NULL)
        return CURLE_OUT_OF_MEMORY;
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, FETCH_MAX_REDIRECTS);
    curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L); /* an error page is not the file */
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)opts->max_bytes);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, FETCH_STALL_S);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, fetch_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, fetch_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, t);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, fetch_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, t);
    t->redirect = false;
    CURLcode rc = curl_easy_perform(curl);
    *status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    char *target = NULL;
    next[0] = '\0';
    if (rc == CURLE_OK && !follow && t->redirect &&
        curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &target) == CURLE_OK && target != NULL) {
        if (strlen(target) < next_len)
            memcpy(next, target, strlen(target) + 1);
        else
            rc = CURLE_URL_MALFORMAT; /* longer than any URL we take */
    }
    curl_easy_cleanup(curl);
    return rc;
}

int fetch_download(const char *url, const fetch_download_opts *opts, fetch_sink sink, void *ctx,
                   char *why) {
    fetch_transfer t = {.any_address = opts->any_address, .sink = sink, .ctx = ctx,
                        .max_bytes = opts->max_bytes, .stopping = opts->stopping,
                        .response = opts->response};
    struct curl_slist *list = NULL;
    for (size_t i = 0; opts->headers != NULL && opts->headers[i] != NULL; i++)
        if ((list = curl_slist_append(list, opts->headers[i])) == NULL)
            abort();
    if (t.response != NULL)
        memset(t.response, 0, sizeof *t.response);
    /* With request headers (a feed's may hold secrets) redirects are followed here, hop by hop,
     * and the headers go along only to the same host over https; curl itself would send them
     * to any host. Without, curl follows them. */
    char at[FETCH_URL_MAX + 1], next[FETCH_URL_MAX + 1];
    snprintf(at, sizeof at, "%s", url);
    long status = 0;
    CURLcode rc = CURLE_OK;
    for (long hop = 0;; hop++) {
        rc = fetch_once(at, opts, &t, list, list == NULL, &status, next, sizeof next);
        if (next[0] == '\0')
            break;
        if (hop == FETCH_MAX_REDIRECTS) {
            rc = CURLE_TOO_MANY_REDIRECTS;
            break;
        }
        if (strncasecmp(next, "http://", 7) != 0 && strncasecmp(next, "https://", 8) != 0) {
            rc = CURLE_UNSUPPORTED_PROTOCOL;
            break;
        }
        if (!fetch_headers_may_follow(at, next)) {
            curl_slist_free_all(list);
            list = NULL;
        }
        snprintf(at, sizeof at, "%s", next);
    }
    curl_slist_free_all(list);
    if (t.response != NULL) {
        t.response->status = status;
        t.response->bytes = t.received;
    }
    if (rc == CURLE_OK && ((status >= 200 && status < 300) || (status == 304 && t.response)))
        return 0;
    if (t.sink_error < 0)
        return t.sink_error;
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        snprintf(why, FETCH_WHY_MAX, "the server is stopping");
        return BI_EINTERNAL;
    }
    if (rc == CURLE_OUT_OF_MEMORY) {
        snprintf(why, FETCH_WHY_MAX, "out of memory");
        return BI_EINTERNAL;
    }
    fetch_explain(&t, rc, status, why);
    return t.too_big || rc == CURLE_FILESIZE_EXCEEDED ? BI_ETOOBIG : BI_EIO;
}

static size_t fetch_discard(char *data, size_t size, size_t n, void *ctx) {
    (void)data, (void)ctx;
    return size * n;
}

int fetch_post(const char *url, bool any_address, const char *const *headers, const char *body,
               size_t len, long timeout_s, long *out_status, char *why) {
    if (!fetch_url_is_http(url)) {
        snprintf(why, FETCH_WHY_MAX, "only http and https URLs may be called");
        return BI_EPERM;
    }
    fetch_transfer t = {.any_address = any_address};
    CURL *curl = fetch_handle(url, &t, timeout_s);
    struct curl_slist *list = NULL;
    for (size_t i = 0; curl != NULL && headers[i] != NULL; i++)
        list = curl_slist_append(list, headers[i]);
    if (curl == NULL || list == NULL) {
        curl_slist_free_all(list);
        curl_easy_cleanup(curl);
        snprintf(why, FETCH_WHY_MAX, "out of memory");
        return BI_EIO;
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, fetch_discard);
    CURLcode rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, out_status);
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
    if (rc == CURLE_OK)
        return 0;
    fetch_explain(&t, rc, 0, why);
    return t.refused ? BI_EPERM : BI_EIO;
}
