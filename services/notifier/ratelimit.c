/* ratelimit.c -- a token bucket per provider. */
#include "ratelimit.h"

void ntf_bucket_init(ntf_bucket *b, double rate, double burst, int64_t now_ms)
{
    b->rate = rate;
    b->burst = burst < 1 ? 1 : burst;
    b->tokens = b->burst;
    b->last_ms = now_ms;
}

static void refill(ntf_bucket *b, int64_t now_ms)
{
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * b->rate / 1000.0;
        if (b->tokens > b->burst)
            b->tokens = b->burst;
        b->last_ms = now_ms;
    }
}

int ntf_bucket_take(ntf_bucket *b, int64_t now_ms)
{
    if (b->rate <= 0)
        return 1;
    refill(b, now_ms);
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 1;
    }
    return 0;
}

int64_t ntf_bucket_wait_ms(ntf_bucket *b, int64_t now_ms)
{
    if (b->rate <= 0)
        return 0;
    refill(b, now_ms);
    if (b->tokens >= 1.0)
        return 0;
    double need = (1.0 - b->tokens) * 1000.0 / b->rate;
    int64_t ms = (int64_t)need;
    return ms < need ? ms + 1 : ms;
}
