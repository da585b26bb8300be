#include "client_addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses "addr" or "addr/bits" into its 16 bytes (IPv4 mapped to the first 4), family and
 * prefix length. Returns false when it is neither. */
static bool client_addr_parse(const char *text, size_t len, unsigned char out[16], int *family,
                              int *bits) {
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, text, len);
    buf[len] = '\0';
    char *slash = strchr(buf, '/');
    if (slash != NULL)
        *slash = '\0';
    memset(out, 0, 16);
    if (inet_pton(AF_INET, buf, out) == 1)
        *family = AF_INET, *bits = 32;
    else if (inet_pton(AF_INET6, buf, out) == 1)
        *family = AF_INET6, *bits = 128;
    else
        return false;
    if (slash != NULL) {
        char *end;
        long n = strtol(slash + 1, &end, 10);
        if (slash[1] == '\0' || *end != '\0' || n < 0 || n > *bits)
            return false;
        *bits = (int)n;
    }
    return true;
}

/* Calls each(entry, len) for each comma-separated entry of list (spaces trimmed) until it
 * returns true; returns whether one did. */
static bool client_addr_each(const char *list, bool (*each)(const char *, size_t, void *), void *ctx) {
    for (const char *p = list; p != NULL && *p != '\0';) {
        p += strspn(p, " ");
        size_t len = strcspn(p, ",");
        size_t trimmed = len;
        while (trimmed > 0 && p[trimmed - 1] == ' ')
            trimmed--;
        if (each(p, trimmed, ctx))
            return true;
        p += len + (p[len] == ',');
    }
    return false;
}

typedef struct match {
    unsigned char addr[16];
    int family;
} match;

static bool client_addr_holds(const char *entry, size_t len, void *ctx) {
    const match *m = ctx;
    unsigned char net[16];
    int family, bits;
    if (!client_addr_parse(entry, len, net, &family, &bits) || family != m->family)
        return false;
    for (int i = 0; i < bits; i++) {
        int mask = 0x80 >> (i % 8);
        if ((net[i / 8] & mask) != (m->addr[i / 8] & mask))
            return false;
    }
    return true;
}

bool client_addr_trusted(const char *list, const char *addr) {
    match m;
    int bits;
    if (list == NULL || !client_addr_parse(addr, strlen(addr), m.addr, &m.family, &bits) ||
        strchr(addr, '/') != NULL)
        return false;
    return client_addr_each(list, client_addr_holds, &m);
}

static bool client_addr_bad(const char *entry, size_t len, void *ctx) {
    (void)ctx;
    unsigned char net[16];
    int family, bits;
    return !client_addr_parse(entry, len, net, &family, &bits);
}

bool client_addr_list_valid(const char *list) {
    size_t len = strlen(list);
    if (len == 0 || list[len - 1] == ',' || list[0] == ',' || strstr(list, ",,") != NULL)
        return false; /* an empty entry */
    return !client_addr_each(list, client_addr_bad, NULL);
}

void client_addr_resolve(const char *list, const char *peer, const char *forwarded, char *out,
                         size_t cap) {
    snprintf(out, cap, "%s", peer);
    if (forwarded == NULL || !client_addr_trusted(list, peer))
        return;
    /* From the right: each hop a trusted proxy appended; the first one it does not trust is the
     * client as far as anyone can tell. */
    size_t end = strlen(forwarded);
    while (end > 0) {
        size_t start = end;
        while (start > 0 && forwarded[start - 1] != ',')
            start--;
        char hop[64];
        size_t a = start, b = end;
        while (a < b && forwarded[a] == ' ')
            a++;
        while (b > a && forwarded[b - 1] == ' ')
            b--;
        if (b - a == 0 || b - a >= sizeof hop)
            return; /* a malformed hop: keep what was known */
        memcpy(hop, forwarded + a, b - a);
        hop[b - a] = '\0';
        unsigned char bytes[16];
        int family, bits;
        if (strchr(hop, '/') != NULL || !client_addr_parse(hop, strlen(hop), bytes, &family, &bits))
            return;
        snprintf(out, cap, "%s", hop);
        if (!client_addr_trusted(list, hop))
            return;
        end = start > 0 ? start - 1 : 0;
    }
}
