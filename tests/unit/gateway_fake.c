/* gateway_fake.c -- the gateway's publishing double (gateway_fake.h). */
#include "gateway_fake.h"

#include <stdio.h>

int gw_fake_publish(void *opaque, const gw_record *recs, size_t n)
{
    gw_fake *f = opaque;
    f->calls++;
    if (f->fail)
        return -1;
    for (size_t i = 0; i < n && f->n < 8; i++, f->n++) {
        snprintf(f->keys[f->n], sizeof f->keys[f->n], "%s", recs[i].key);
        snprintf(f->values[f->n], sizeof f->values[f->n], "%.*s", (int)recs[i].len, recs[i].value);
    }
    return 0;
}

void gw_fake_cleanup(gw_auth *a)
{
    gw_auth_free(a);
    ct_thread_cleanup();
}
