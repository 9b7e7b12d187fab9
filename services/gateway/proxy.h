/* proxy.h -- the client's address behind trusted reverse proxies.
 *
 * The per-address rate limit of /p and /u (pages.c) needs the debtor's
 * address; behind an ingress the TCP peer is the ingress. Only the
 * proxies named in ARREARS_GATEWAY_TRUSTED_PROXIES are believed: see
 * proxy.c for how X-Forwarded-For is read. IPv4 only, as the listener is.
 * A gw_proxies is a value: nothing to free. */
#ifndef ARREARS_GATEWAY_PROXY_H
#define ARREARS_GATEWAY_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "gateway.h"

#define GW_PROXIES_MAX 32

typedef struct gw_proxies {
    size_t n;
    struct {
        uint32_t net, mask; /* host byte order */
    } r[GW_PROXIES_MAX];
} gw_proxies;

/* Parses a comma-separated list of IPv4 addresses and CIDR ranges
 * ("10.0.0.0/8, 127.0.0.1"); "" is none. -1 with errstr naming the entry
 * and the rule (not an IPv4 address, prefix length not 0..32, host bits
 * set, more than GW_PROXIES_MAX); the caller adds the setting's name. */
int gw_proxies_parse(const char *spec, gw_proxies *out, char *errstr, size_t errlen);

/* Whether addr (dotted IPv4) is in one of p's ranges. */
int gw_proxies_trust(const gw_proxies *p, const char *addr);

/* The client's address into out (at least 16 bytes): peer itself unless
 * peer is a trusted proxy; then X-Forwarded-For (every such header of h,
 * in order, as one list) read from the right. */
void gw_client_address(const gw_proxies *p, const char *peer, const gw_header *h, size_t nh,
                       char *out, size_t outlen);

#endif
