/* test_notifier_policy.c -- which failures are retried and when (backoff,
 * jitter bounds, Retry-After), and the token bucket. Pure logic: time is
 * passed in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "../../services/notifier/ratelimit.h"
#include "../../services/notifier/retry.h"

static void test_classify_http(void **state)
{
    (void)state;
    assert_int_equal(ntf_retry_classify(0, CURLE_OK, 200), NTF_RES_OK);
    assert_int_equal(ntf_retry_classify(0, CURLE_OK, 201), NTF_RES_OK);
    assert_int_equal(ntf_retry_classify(0, CURLE_OK, 500), NTF_RES_RETRY);
    assert_int_equal(ntf_retry_classify(0, CURLE_OK, 503), NTF_RES_RETRY);
    assert_int_equal(ntf_retry_classify(0, CURLE_OK, 429), NTF_RES_RETRY);
    assert_int_equal(ntf_retry_classify(0, CURLE_OK, 408), NTF_RES_RETRY);
    assert_int_equal(ntf_retry_classify(0, CURLE_OK, 400), NTF_RES_FAIL);
    assert_int_equal(ntf_retry_classify(0, CURLE_OK, 401), NTF_RES_FAIL);
    assert_int_equal(ntf_retry_classify(0, CURLE_OK, 404), NTF_RES_FAIL);
    assert_int_equal(ntf_retry_classify(0, CURLE_OK, 301), NTF_RES_FAIL);
    assert_int_equal(ntf_retry_classify(0, CURLE_COULDNT_CONNECT, 0), NTF_RES_RETRY);
    assert_int_equal(ntf_retry_classify(0, CURLE_OPERATION_TIMEDOUT, 0), NTF_RES_RETRY);
    assert_int_equal(ntf_retry_classify(0, CURLE_GOT_NOTHING, 0), NTF_RES_RETRY);
    assert_int_equal(ntf_retry_classify(0, CURLE_URL_MALFORMAT, 0), NTF_RES_FAIL);
    assert_int_equal(ntf_retry_classify(0, CURLE_UNSUPPORTED_PROTOCOL, 0), NTF_RES_FAIL);
}

static void test_classify_smtp(void **state)
{
    (void)state;
    assert_int_equal(ntf_retry_classify(1, CURLE_OK, 250), NTF_RES_OK);
    assert_int_equal(ntf_retry_classify(1, CURLE_SEND_ERROR, 451), NTF_RES_RETRY);
    assert_int_equal(ntf_retry_classify(1, CURLE_RECV_ERROR, 421), NTF_RES_RETRY);
    assert_int_equal(ntf_retry_classify(1, CURLE_SEND_ERROR, 550), NTF_RES_FAIL);
    assert_int_equal(ntf_retry_classify(1, CURLE_LOGIN_DENIED, 535), NTF_RES_FAIL);
    assert_int_equal(ntf_retry_classify(1, CURLE_COULDNT_CONNECT, 0), NTF_RES_RETRY);
}

static void test_backoff(void **state)
{
    (void)state;
    ntf_retry_policy p = {5, 1000, 60000};
    /* attempt 2: base 1 s with equal jitter in [0.5 s, 1 s] */
    assert_int_equal(ntf_retry_delay(&p, 2, 0.0, -1), 500);
    assert_int_equal(ntf_retry_delay(&p, 2, 0.999999, -1), 999);
    /* doubles */
    assert_int_equal(ntf_retry_delay(&p, 3, 0.0, -1), 1000);
    assert_int_equal(ntf_retry_delay(&p, 4, 0.0, -1), 2000);
    /* capped */
    assert_int_equal(ntf_retry_delay(&p, 30, 0.0, -1), 30000);
    assert_true(ntf_retry_delay(&p, 30, 0.99, -1) <= 60000);
    /* Retry-After wins when longer, and is capped too */
    assert_int_equal(ntf_retry_delay(&p, 2, 0.0, 7000), 7000);
    assert_int_equal(ntf_retry_delay(&p, 2, 0.0, 100), 500);
    assert_int_equal(ntf_retry_delay(&p, 2, 0.0, 3600000), 60000);
}

static void test_retry_after(void **state)
{
    (void)state;
    assert_int_equal(ntf_retry_after_parse("120", 0), 120000);
    assert_int_equal(ntf_retry_after_parse(" 0", 0), 0);
    assert_int_equal(ntf_retry_after_parse("1.5", 0), -1);
    assert_int_equal(ntf_retry_after_parse("soon", 0), -1);
    /* an HTTP date 90 s after "now" */
    int64_t now = (int64_t)1445412480 * 1000; /* Wed, 21 Oct 2015 07:28:00 GMT */
    assert_int_equal(ntf_retry_after_parse("Wed, 21 Oct 2015 07:29:30 GMT", now), 90000);
    assert_int_equal(ntf_retry_after_parse("Wed, 21 Oct 2015 07:00:00 GMT", now), 0);
}

static void test_bucket(void **state)
{
    (void)state;
    ntf_bucket b;
    ntf_bucket_init(&b, 10, 10, 0);
    int n = 0;
    while (ntf_bucket_take(&b, 0))
        n++;
    assert_int_equal(n, 10); /* the burst */
    assert_int_equal(ntf_bucket_wait_ms(&b, 0), 100);
    assert_int_equal(ntf_bucket_take(&b, 50), 0);
    assert_int_equal(ntf_bucket_take(&b, 100), 1);
    /* over 10 s at most 10/s + burst */
    n = 0;
    for (int64_t t = 100; t <= 10100; t += 7)
        n += ntf_bucket_take(&b, t);
    assert_in_range(n, 99, 101);
    /* refill never exceeds the burst */
    assert_int_equal(ntf_bucket_wait_ms(&b, 1000000), 0);
    n = 0;
    while (ntf_bucket_take(&b, 1000000))
        n++;
    assert_int_equal(n, 10);
    /* 0 = unlimited */
    ntf_bucket_init(&b, 0, 0, 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(ntf_bucket_take(&b, 0), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_http), cmocka_unit_test(test_classify_smtp),
        cmocka_unit_test(test_backoff),       cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_bucket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
