/* retry.c -- which outcomes are retried, and when. */
#include "retry.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

ntf_result ntf_retry_classify(int is_smtp, int curl_code, long status)
{
    if (is_smtp) {
        if (status >= 400 && status < 500)
            return NTF_RES_RETRY;
        if (status >= 500)
            return NTF_RES_FAIL;
        if (curl_code == CURLE_OK)
            return NTF_RES_OK;
    } else if (curl_code == CURLE_OK) {
        if (status >= 200 && status < 300)
            return NTF_RES_OK;
        if (status == 429 || status >= 500 || status == 408)
            return NTF_RES_RETRY;
        return NTF_RES_FAIL;
    }
    switch (curl_code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_AGAIN:
        return NTF_RES_RETRY;
    default:
        return NTF_RES_FAIL;
    }
}

int64_t ntf_retry_delay(const ntf_retry_policy *p, int next, double rnd, int64_t retry_after_ms)
{
    int64_t d = p->base_ms;
    for (int i = 2; i < next && d < p->max_ms; i++)
        d *= 2;
    if (d > p->max_ms)
        d = p->max_ms;
    d = d / 2 + (int64_t)((double)(d - d / 2) * rnd);
    if (retry_after_ms > d)
        d = retry_after_ms;
    if (d > p->max_ms)
        d = p->max_ms;
    return d;
}

int64_t ntf_retry_after_parse(const char *value, int64_t now_ms)
{
    if (!value)
        return -1;
    while (*value == ' ')
        value++;
    if (*value >= '0' && *value <= '9') {
        char *end;
        long long s = strtoll(value, &end, 10);
        while (*end == ' ' || *end == '\r' || *end == '\n')
            end++;
        if (*end || s < 0 || s > 86400LL * 365)
            return -1;
        return s * 1000;
    }
    time_t t = curl_getdate(value, NULL);
    if (t < 0)
        return -1;
    int64_t d = (int64_t)t * 1000 - now_ms;
    return d < 0 ? 0 : d;
}
