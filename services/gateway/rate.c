/* rate.c -- the per-tenant token bucket.
 *
 * `rate` events per second, burst `rate`. A request of n events passes
 * when at least one token is left and then takes all n, so a batch larger
 * than the burst is still possible and the debt is paid back before the
 * next request passes. A refused request is told how long until a token is
 * back (Retry-After, whole seconds, at least 1). */
#include "gateway.h"

#include <math.h>

int gw_bucket_take(gw_bucket *b, double rate, int64_t now_ms, size_t n)
{
    if (rate <= 0)
        return 0;
    if (b->last_ms == 0) {
        b->tokens = rate;
        b->last_ms = now_ms;
    } else if (now_ms > b->last_ms) {
        b->tokens += rate * (double)(now_ms - b->last_ms) / 1000.0;
        if (b->tokens > rate)
            b->tokens = rate;
        b->last_ms = now_ms;
    }
    if (b->tokens >= 1.0) {
        b->tokens -= (double)n;
        return 0;
    }
    int wait = (int)ceil((1.0 - b->tokens) / rate);
    return wait < 1 ? 1 : wait;
}

int gw_rate_take(gw_auth *a, const gw_cred *c, double rate, int64_t now_ms, size_t n)
{
    pthread_mutex_lock(&a->mu);
    int r = gw_bucket_take(&a->buckets[c->bucket], rate, now_ms, n);
    pthread_mutex_unlock(&a->mu);
    return r;
}
