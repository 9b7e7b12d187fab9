/* proxy.c -- the client's address behind trusted reverse proxies.
 *
 * X-Forwarded-For is a list each proxy extends on the right with the peer
 * it saw; whatever is on the left came from the client and may be forged.
 * So it is read from the right (as nginx's real_ip_recursive and the "trust
 * proxy" settings of common web frameworks do): the address at hand starts
 * as the TCP peer; while it is a trusted proxy, the next entry to the left
 * becomes the address at hand. The first address that is not a trusted
 * proxy is the client. When every entry is trusted the leftmost one is
 * taken; a malformed entry stops the walk at the last good address (only a
 * client can have written it). With no proxy trusted, the header is never
 * read, so a debtor cannot dodge the per-address limit by sending one. */
#include "proxy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_HOPS 64

static int ipv4(const char *s, size_t len, uint32_t *out)
{
    char tmp[INET_ADDRSTRLEN];
    struct in_addr a;
    if (len == 0 || len >= sizeof tmp)
        return -1;
    memcpy(tmp, s, len);
    tmp[len] = 0;
    if (inet_pton(AF_INET, tmp, &a) != 1)
        return -1;
    *out = ntohl(a.s_addr);
    return 0;
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && (**s == ' ' || **s == '\t'))
        (*s)++, (*len)--;
    while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

int gw_proxies_parse(const char *spec, gw_proxies *out, char *errstr, size_t errlen)
{
    memset(out, 0, sizeof *out);
    for (const char *p = spec; p && *p;) {
        const char *comma = strchr(p, ',');
        const char *e = p;
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        trim(&e, &len);
        if (len > 0) {
            const char *slash = memchr(e, '/', len);
            size_t alen = slash ? (size_t)(slash - e) : len;
            uint32_t net;
            long bits = 32;
            if (ipv4(e, alen, &net) != 0) {
                snprintf(errstr, errlen, "\"%.*s\" is not an IPv4 address or CIDR range", (int)len,
                         e);
                return -1;
            }
            if (slash) {
                char digits[4];
                size_t dl = len - alen - 1;
                char *end;
                if (dl == 0 || dl >= sizeof digits) {
                    bits = -1;
                } else {
                    memcpy(digits, slash + 1, dl);
                    digits[dl] = 0;
                    bits = strtol(digits, &end, 10);
                    if (*end || digits[0] < '0' || digits[0] > '9')
                        bits = -1;
                }
                if (bits < 0 || bits > 32) {
                    snprintf(errstr, errlen, "\"%.*s\": the prefix length must be 0..32", (int)len,
                             e);
                    return -1;
                }
            }
            uint32_t mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
            if (net & ~mask) {
                snprintf(errstr, errlen,
                         "\"%.*s\": host bits are set (a range names its network address)",
                         (int)len, e);
                return -1;
            }
            if (out->n == GW_PROXIES_MAX) {
                snprintf(errstr, errlen, "more than %d entries", GW_PROXIES_MAX);
                return -1;
            }
            out->r[out->n].net = net;
            out->r[out->n].mask = mask;
            out->n++;
        }
        p = comma ? comma + 1 : NULL;
    }
    return 0;
}

static int trusted(const gw_proxies *p, uint32_t a)
{
    for (size_t i = 0; i < p->n; i++)
        if ((a & p->r[i].mask) == p->r[i].net)
            return 1;
    return 0;
}

int gw_proxies_trust(const gw_proxies *p, const char *addr)
{
    uint32_t a;
    return addr && ipv4(addr, strlen(addr), &a) == 0 && trusted(p, a);
}

void gw_client_address(const gw_proxies *p, const char *peer, const gw_header *h, size_t nh,
                       char *out, size_t outlen)
{
    struct {
        const char *s;
        size_t len;
    } hop[MAX_HOPS];
    size_t n = 0;
    snprintf(out, outlen, "%s", peer ? peer : "");
    if (!p || !p->n || !gw_proxies_trust(p, out))
        return;
    for (size_t i = 0; i < nh; i++) {
        if (strcasecmp(h[i].name, "X-Forwarded-For") != 0)
            continue;
        for (const char *s = h[i].value; s;) {
            const char *comma = strchr(s, ',');
            size_t len = comma ? (size_t)(comma - s) : strlen(s);
            if (n == MAX_HOPS) /* keep the rightmost MAX_HOPS: proxies write there */
                memmove(hop, hop + 1, sizeof hop[0] * --n);
            hop[n].s = s;
            hop[n++].len = len;
            s = comma ? comma + 1 : NULL;
        }
    }
    while (n > 0) {
        const char *s = hop[n - 1].s;
        size_t len = hop[n - 1].len;
        uint32_t a;
        n--;
        trim(&s, &len);
        if (ipv4(s, len, &a) != 0)
            return; /* written by a client: the last good address stands */
        snprintf(out, outlen, "%.*s", (int)len, s);
        if (!trusted(p, a))
            return;
    }
}
