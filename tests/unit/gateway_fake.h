/* gateway_fake.h -- a publishing double for the gateway's unit tests
 * (test_gateway_handle, test_gateway_webhooks): a gw_backend that keeps a
 * copy of the first 8 records it is given, or fails every call.
 * Everything is in the caller's gw_fake; nothing is allocated. */
#ifndef TEST_GATEWAY_FAKE_H
#define TEST_GATEWAY_FAKE_H

#include <stddef.h>

#include "../../services/gateway/gateway.h"

typedef struct gw_fake {
    int fail;     /* set: every call fails (the broker is unavailable) */
    size_t calls; /* publish calls */
    size_t n;     /* records kept */
    char keys[8][CT_KEY_MAX];
    char values[8][4096];
} gw_fake;

/* gw_backend.publish over a gw_fake (opaque). */
int gw_fake_publish(void *opaque, const gw_record *recs, size_t n);
/* A test's teardown: frees the credentials and the validator's thread state. */
void gw_fake_cleanup(gw_auth *a);

#endif
