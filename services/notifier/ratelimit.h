/* ratelimit.h -- a token bucket per provider.
 * rate tokens per second refill up to burst; rate 0 means unlimited.
 * Time is passed in (monotonic ms) so tests need no clock. */
#ifndef NTF_RATELIMIT_H
#define NTF_RATELIMIT_H

#include <stdint.h>

typedef struct ntf_bucket {
    double rate, burst, tokens;
    int64_t last_ms;
} ntf_bucket;

void ntf_bucket_init(ntf_bucket *b, double rate, double burst, int64_t now_ms);
/* Takes one token: 1 if taken, else 0. */
int ntf_bucket_take(ntf_bucket *b, int64_t now_ms);
/* Milliseconds until a token is available (0 if one is now). */
int64_t ntf_bucket_wait_ms(ntf_bucket *b, int64_t now_ms);

#endif
