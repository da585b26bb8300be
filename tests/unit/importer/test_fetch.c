/* The address policy's judgement of addresses and URLs, and the webhook signature and
 * backoff — the parts of fetch.c and webhook.c that need no network. */
#include "fetch.h"
#include "webhook.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

static bool private4(const char *text) {
    struct sockaddr_in a = {.sin_family = AF_INET};
    cr_assert_eq(inet_pton(AF_INET, text, &a.sin_addr), 1, "%s", text);
    return fetch_address_is_private((const struct sockaddr *)&a);
}

static bool private6(const char *text) {
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    cr_assert_eq(inet_pton(AF_INET6, text, &a.sin6_addr), 1, "%s", text);
    return fetch_address_is_private((const struct sockaddr *)&a);
}

Test(fetch, private_and_public_ipv4) {
    const char *refused[] = {"127.0.0.1",   "127.255.0.9", "10.1.2.3",      "172.16.0.1",
                             "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1",
                             "0.0.0.0",     "224.0.0.1",   "255.255.255.255", "198.18.0.1"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        cr_expect(private4(refused[i]), "%s should be refused", refused[i]);
    const char *allowed[] = {"8.8.8.8", "1.1.1.1", "172.32.0.1", "172.15.255.255",
                             "100.128.0.1", "192.169.0.1", "93.184.216.34"};
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        cr_expect_not(private4(allowed[i]), "%s should be allowed", allowed[i]);
}

Test(fetch, private_and_public_ipv6) {
    const char *refused[] = {"::1", "::", "fe80::1", "fc00::1", "fd00:ec2::254", "ff02::1",
                             "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe",
                             "::127.0.0.1", "::10.0.0.1", "fec0::1", "64:ff9b:1::8.8.8.8",
                             "2002:7f00:1::1", "2002:808:808::1"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        cr_expect(private6(refused[i]), "%s should be refused", refused[i]);
    const char *allowed[] = {"2001:4860:4860::8888", "2606:4700::1111", "::ffff:8.8.8.8"};
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        cr_expect_not(private6(allowed[i]), "%s should be allowed", allowed[i]);
}

Test(fetch, only_http_and_https_urls) {
    const char *good[] = {"http://example.org/a.jsonl", "HTTPS://example.org", "http://10.0.0.1:8080/x?y=1"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        cr_expect(fetch_url_is_http(good[i]), "%s", good[i]);
    const char *bad[] = {"ftp://example.org/", "file:///etc/passwd", "example.org", "http://",
                         "http:///x", "http://exa mple.org/", "gopher://x", "javascript:alert(1)"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_not(fetch_url_is_http(bad[i]), "%s", bad[i]);
    char long_url[2100] = "http://example.org/";
    memset(long_url + 19, 'a', 2040);
    long_url[2059] = '\0';
    cr_expect_not(fetch_url_is_http(long_url), "longer than 2048 bytes");
}

Test(webhook, signature_is_rfc_4231_hmac_sha256) {
    char out[WEBHOOK_SIGNATURE_MAX];
    webhook_sign("Jefe", "what do ya want for nothing?", 28, out); /* RFC 4231, test case 2 */
    cr_expect_str_eq(out, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

Test(webhook, backoff_doubles_and_ends_at_the_hour) {
    bool give_up = true;
    cr_expect_eq(webhook_retry_delay_ms(5000, 1, 0.0, &give_up), 5000);
    cr_expect_not(give_up);
    cr_expect_eq(webhook_retry_delay_ms(5000, 2, 5.0, &give_up), 10000);
    cr_expect_eq(webhook_retry_delay_ms(5000, 4, 75.0, &give_up), 40000);
    /* Late attempts wait only until the hour: the last one comes at 3600 s. */
    cr_expect_eq(webhook_retry_delay_ms(5000, 12, 3000.0, &give_up), 600000);
    cr_expect_not(give_up);
    cr_expect_eq(webhook_retry_delay_ms(5000, 40, 3599.5, &give_up), 500, "no overflow");
    webhook_retry_delay_ms(5000, 13, 3600.0, &give_up);
    cr_expect(give_up, "after an hour it gives up");
}
