/* The client's address behind trusted proxies: X-Forwarded-For read from its right end. */
#include "client_addr.h"

#include <criterion/criterion.h>

Test(client_addr, lists_of_addresses_and_blocks) {
    cr_expect(client_addr_trusted("10.0.0.0/8, ::1", "10.1.2.3"));
    cr_expect(client_addr_trusted("10.0.0.0/8, ::1", "::1"));
    cr_expect(!client_addr_trusted("10.0.0.0/8, ::1", "11.0.0.1"));
    cr_expect(client_addr_trusted("192.168.1.7", "192.168.1.7"));
    cr_expect(!client_addr_trusted("192.168.1.7", "192.168.1.8"));
    cr_expect(client_addr_trusted("fd00::/8", "fd12:3456::1"));
    cr_expect(!client_addr_trusted("fd00::/8", "10.0.0.1"), "families do not mix");
    cr_expect(client_addr_trusted("0.0.0.0/0", "203.0.113.9"));
    cr_expect(!client_addr_trusted(NULL, "127.0.0.1"));
    cr_expect(client_addr_list_valid("10.0.0.0/8,::1, 127.0.0.1"));
    cr_expect(!client_addr_list_valid("10.0.0.0/33"));
    cr_expect(!client_addr_list_valid("proxy.example.org"));
    cr_expect(!client_addr_list_valid("10.0.0.1,"));
    cr_expect(!client_addr_list_valid(""));
}

Test(client_addr, the_nearest_untrusted_hop_is_the_client) {
    char out[64];
    const char *list = "127.0.0.1,10.0.0.0/8";
    client_addr_resolve(list, "127.0.0.1", "203.0.113.9", out, sizeof out);
    cr_expect_str_eq(out, "203.0.113.9");
    client_addr_resolve(list, "127.0.0.1", "198.51.100.1, 203.0.113.9, 10.0.0.5", out, sizeof out);
    cr_expect_str_eq(out, "203.0.113.9", "a spoofed left end is not believed");
    client_addr_resolve(list, "192.0.2.1", "203.0.113.9", out, sizeof out);
    cr_expect_str_eq(out, "192.0.2.1", "an untrusted peer's header is ignored");
    client_addr_resolve(list, "127.0.0.1", NULL, out, sizeof out);
    cr_expect_str_eq(out, "127.0.0.1");
    client_addr_resolve(list, "127.0.0.1", "not-an-address", out, sizeof out);
    cr_expect_str_eq(out, "127.0.0.1", "a malformed hop stops the walk");
    client_addr_resolve(list, "127.0.0.1", "10.0.0.9, 10.0.0.8", out, sizeof out);
    cr_expect_str_eq(out, "10.0.0.9", "all trusted: the farthest");
}
