/* test_gateway_proxy.c -- the client's address behind trusted proxies
 * (services/gateway/proxy.c): ARREARS_GATEWAY_TRUSTED_PROXIES parsing and
 * the right-to-left X-Forwarded-For walk.
 *
 * Expected values follow MDN's X-Forwarded-For description and nginx's
 * real_ip_recursive: the rightmost address that is not a trusted proxy is
 * the client; a header from an untrusted peer is ignored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../services/gateway/proxy.h"

static void parse_good(void **state)
{
    (void)state;
    gw_proxies p;
    char err[256] = "";
    assert_int_equal(gw_proxies_parse("", &p, err, sizeof err), 0);
    assert_int_equal(p.n, 0);
    assert_int_equal(
        gw_proxies_parse(" 10.0.0.0/8 ,127.0.0.1, 192.168.4.0/22,", &p, err, sizeof err), 0);
    assert_int_equal(p.n, 3);
    assert_int_equal(p.r[0].net, 0x0a000000u);
    assert_int_equal(p.r[0].mask, 0xff000000u);
    assert_int_equal(p.r[1].net, 0x7f000001u);
    assert_int_equal(p.r[1].mask, 0xffffffffu);
    assert_int_equal(p.r[2].net, 0xc0a80400u);  /* 192.168.4.0 */
    assert_int_equal(p.r[2].mask, 0xfffffc00u); /* /22 */
    assert_true(gw_proxies_trust(&p, "10.255.1.2"));
    assert_true(gw_proxies_trust(&p, "192.168.7.255")); /* last of 192.168.4.0/22 */
    assert_false(gw_proxies_trust(&p, "192.168.8.0"));  /* first after it */
    assert_false(gw_proxies_trust(&p, "127.0.0.2"));
    assert_false(gw_proxies_trust(&p, "not-an-address"));
    assert_int_equal(gw_proxies_parse("0.0.0.0/0", &p, err, sizeof err), 0);
    assert_true(gw_proxies_trust(&p, "203.0.113.9"));
}

static void parse_bad(void **state)
{
    (void)state;
    static const struct {
        const char *spec, *says;
    } bad[] = {
        {"10.0.0.0/33", "\"10.0.0.0/33\": the prefix length must be 0..32"},
        {"10.0.0.0/", "the prefix length must be 0..32"},
        {"10.0.0.0/-1", "the prefix length must be 0..32"},
        {"10.0.0.1/8", "\"10.0.0.1/8\": host bits are set"},
        {"2001:db8::/32", "\"2001:db8::/32\" is not an IPv4 address or CIDR range"},
        {"ingress", "\"ingress\" is not an IPv4 address"},
        {"10.0.0.256", "is not an IPv4 address"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gw_proxies p;
        char err[256] = "";
        assert_int_equal(gw_proxies_parse(bad[i].spec, &p, err, sizeof err), -1);
        assert_non_null(strstr(err, bad[i].says));
    }
    char many[40 * 12] = "";
    for (int i = 0; i < GW_PROXIES_MAX + 1; i++) {
        char one[16];
        snprintf(one, sizeof one, "10.0.0.%d,", i);
        strcat(many, one);
    }
    gw_proxies p;
    char err[256] = "";
    assert_int_equal(gw_proxies_parse(many, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "more than 32 entries"));
}

static const char *client(const char *trust, const char *peer, const gw_header *h, size_t nh)
{
    static char out[64];
    gw_proxies p;
    char err[256];
    assert_int_equal(gw_proxies_parse(trust, &p, err, sizeof err), 0);
    gw_client_address(&p, peer, h, nh, out, sizeof out);
    return out;
}

static void walk(void **state)
{
    (void)state;
    /* a client behind one ingress (10.0.0.5), which appended the peer it saw */
    gw_header one[] = {{"Host", "pay.example"}, {"X-Forwarded-For", "203.0.113.7"}};
    assert_string_equal(client("10.0.0.0/8", "10.0.0.5", one, 2), "203.0.113.7");
    /* no proxy trusted: the header is ignored, the peer is the client */
    assert_string_equal(client("", "10.0.0.5", one, 2), "10.0.0.5");
    /* an untrusted peer sending the header: ignored (it could be forged) */
    assert_string_equal(client("10.0.0.0/8", "198.51.100.4", one, 2), "198.51.100.4");
    /* a forged left part: the client wrote 1.2.3.4, the ingress appended
     * the real peer 203.0.113.7; a CDN (10.1.0.0/16) in front appended too */
    gw_header forged[] = {{"x-forwarded-for", "1.2.3.4, 203.0.113.7 ,10.1.2.3"}};
    assert_string_equal(client("10.0.0.0/8", "10.0.0.5", forged, 1), "203.0.113.7");
    /* two headers are one list, in order */
    gw_header split[] = {{"X-Forwarded-For", "1.2.3.4"},
                         {"X-Forwarded-For", "203.0.113.7, 10.1.2.3"}};
    assert_string_equal(client("10.0.0.0/8", "10.0.0.5", split, 2), "203.0.113.7");
    /* every entry trusted: the leftmost */
    gw_header internal[] = {{"X-Forwarded-For", "10.9.9.9, 10.1.2.3"}};
    assert_string_equal(client("10.0.0.0/8", "10.0.0.5", internal, 1), "10.9.9.9");
    /* a malformed entry stops the walk at the last good address */
    gw_header junk[] = {{"X-Forwarded-For", "unknown, 10.1.2.3"}};
    assert_string_equal(client("10.0.0.0/8", "10.0.0.5", junk, 1), "10.1.2.3");
    gw_header empty[] = {{"X-Forwarded-For", ""}};
    assert_string_equal(client("10.0.0.0/8", "10.0.0.5", empty, 1), "10.0.0.5");
    /* trusted peer, no header: the peer */
    assert_string_equal(client("10.0.0.0/8", "10.0.0.5", one, 1), "10.0.0.5");
    /* no peer address (not IPv4) */
    assert_string_equal(client("10.0.0.0/8", NULL, one, 2), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_good),
        cmocka_unit_test(parse_bad),
        cmocka_unit_test(walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
