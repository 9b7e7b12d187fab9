/* retry.h -- which outcomes are retried, and when.
 *
 * Retried: connection errors and timeouts, HTTP 5xx and 429, SMTP 4xx.
 * Not retried: other HTTP 4xx, SMTP 5xx, errors in our own request.
 * Backoff: base * 2^(attempt-1) capped at max, with "equal jitter" (a
 * random point in the upper half), so replicas retrying together spread
 * out; a Retry-After from the provider wins when it is longer (still
 * capped at max). */
#ifndef NTF_RETRY_H
#define NTF_RETRY_H

#include <stdint.h>

typedef enum {
    NTF_RES_OK = 0,    /* delivered */
    NTF_RES_RETRY = 1, /* transient: try again */
    NTF_RES_FAIL = 2,  /* permanent */
} ntf_result;

typedef struct ntf_retry_policy {
    int max_attempts; /* >= 1 */
    int64_t base_ms, max_ms;
} ntf_retry_policy;

/* Classifies one attempt. is_smtp selects SMTP reply codes; curl_code is
 * the CURLcode (0 = transfer completed); status is the HTTP status or the
 * last SMTP reply code (0 when none). */
ntf_result ntf_retry_classify(int is_smtp, int curl_code, long status);

/* Delay before attempt number `next` (2 for the first retry). rnd in
 * [0,1); retry_after_ms < 0 when the provider gave none. */
int64_t ntf_retry_delay(const ntf_retry_policy *p, int next, double rnd, int64_t retry_after_ms);

/* Parses a Retry-After value (delta-seconds or an HTTP-date) relative to
 * now_ms (wall clock); -1 when unparsable. */
int64_t ntf_retry_after_parse(const char *value, int64_t now_ms);

#endif
