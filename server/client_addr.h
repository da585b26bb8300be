/* client_addr.h — the address a request came from, as the access log names it: the peer's, or,
 * when the peer is one of --trusted-proxies, the nearest untrusted address of X-Forwarded-For
 * (read from its right end, where each proxy appends what it saw). Pure, for the unit tests.
 */
#ifndef BI_SERVER_CLIENT_ADDR_H
#define BI_SERVER_CLIENT_ADDR_H

#include <stdbool.h>
#include <stddef.h>

/* Whether list (comma-separated addresses or CIDR blocks, IPv4 or IPv6: "10.0.0.0/8,::1")
 * holds addr. A malformed entry holds nothing. */
bool client_addr_trusted(const char *list, const char *addr);

/* Whether list is well formed (each entry an address or a CIDR block). */
bool client_addr_list_valid(const char *list);

/* Writes the client's address into out: peer, unless list trusts peer and forwarded (an
 * X-Forwarded-For value, NULL when absent) names one it does not trust. */
void client_addr_resolve(const char *list, const char *peer, const char *forwarded, char *out,
                         size_t cap);

#endif
