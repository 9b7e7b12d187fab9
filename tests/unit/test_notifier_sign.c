/* test_notifier_sign.c -- Standard Webhooks signatures (the spec's published
 * test vector), signed link JWTs with kid (a token computed independently
 * with python's hmac), pay-link URLs, Message-IDs, base64. Pure logic.
 * The links' claims: test_notifier_links.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto.h"
#include "base64.h"
#include "../../services/notifier/message.h"
#include "../../services/notifier/sign.h"

static void test_webhook_vector(void **state)
{
    (void)state;
    /* from the Standard Webhooks reference libraries' tests */
    const char *body = "{\"test\": 2432232314}";
    char sig[128];
    assert_int_equal(ntf_webhook_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                      "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body,
                                      strlen(body), sig, sizeof sig),
                     0);
    assert_string_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    /* another timestamp signs differently */
    char sig2[128];
    ntf_webhook_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                     1614265331, body, strlen(body), sig2, sizeof sig2);
    assert_string_not_equal(sig, sig2);
}

static void test_webhook_bad_secrets(void **state)
{
    (void)state;
    char sig[128];
    unsigned char key[512];
    assert_int_equal(
        ntf_webhook_sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "m", 1, "x", 1, sig, sizeof sig), -1);
    assert_int_equal(ntf_webhook_sign("whsec_", "m", 1, "x", 1, sig, sizeof sig), -1);
    assert_int_equal(ntf_webhook_sign("whsec_not base64!", "m", 1, "x", 1, sig, sizeof sig), -1);
    assert_int_equal(cm_whsec_key("whsec_dGVzdA==", key, sizeof key), 4);
    assert_memory_equal(key, "test", 4);
}

static void test_link_sign(void **state)
{
    (void)state;
    json_t *claims = json_pack("{s:s,s:I}", "tenant", "acme", "exp", (json_int_t)1772960400);
    char *tok = ntf_link_sign("k1", "0123456789abcdef", claims);
    assert_non_null(tok);
    /* computed with python3 hmac/base64, independently of this code:
     * header {"alg":"HS256","kid":"k1","typ":"JWT"}, claims
     * {"tenant":"acme","exp":1772960400}, key "0123456789abcdef" */
    assert_string_equal(tok, "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
                             "eyJ0ZW5hbnQiOiJhY21lIiwiZXhwIjoxNzcyOTYwNDAwfQ."
                             "z75VabzXrKMcVOSjv5yDr0toKq28EO0hwDcHnq9GtS0");
    free(tok);
    /* a key cm_token_key_set refuses signs nothing */
    assert_null(ntf_link_sign("k1", "s3cret", claims));
    assert_null(ntf_link_sign("bad kid", "0123456789abcdef", claims));
    json_decref(claims);
    const char *t = "aaa.bbb.ccc";
    char *url =
        ntf_paylink_url("https://pay.example/{tenant}/{customer}/{token}?x=1", "ac me", "C/1", t);
    assert_non_null(url);
    assert_string_equal(url, "https://pay.example/ac%20me/C%2F1/aaa.bbb.ccc?x=1");
    free(url);
}

static void test_message_id_and_base64(void **state)
{
    (void)state;
    char mid[NTF_MESSAGE_ID_MAX];
    ntf_message_id("acme/inv/INV-1/step/2/attempt/1", "C-1", "overdue_7", "acme.test", mid,
                   sizeof mid);
    assert_string_equal(mid, "<ntf.46ed9ca8f6736f0df79414fb1888a29a.Qy0x.b3ZlcmR1ZV83@acme.test>");
    char out[64];
    unsigned char dec[64];
    assert_int_equal(cm_base64_encode("\xfb\xff", 2, out), 4);
    assert_string_equal(out, "+/8=");
    cm_base64url_encode("\xfb\xff", 2, out);
    assert_string_equal(out, "-_8");
    assert_int_equal(cm_base64_decode("aGVsbG8=", 8, dec), 5);
    assert_memory_equal(dec, "hello", 5);
    assert_int_equal(cm_base64_decode("a", 1, dec), -1);
    assert_int_equal(cm_base64_decode("a$==", 4, dec), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_webhook_vector),
        cmocka_unit_test(test_webhook_bad_secrets),
        cmocka_unit_test(test_link_sign),
        cmocka_unit_test(test_message_id_and_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
