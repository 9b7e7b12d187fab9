/* test_common_token.c -- unit tests of common/crypto.c and common/token.c:
 * HMAC vectors from the RFCs, base64url decoding, and signed links --
 * round trip, expiry at its boundary, tampering, key rotation (current and
 * previous key verify, a dropped key does not), malformed tokens.
 *
 * Expected MACs are the published vectors (RFC 2202, RFC 4231, RFC 7515
 * appendix A.1), not this code's output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"
#include "crypto.h"
#include "token.h"

static void hex_of(const unsigned char *mac, size_t n, char *out)
{
    cm_hex(mac, n, out);
}

static void test_hmac_vectors(void **state)
{
    (void)state;
    unsigned char mac[32];
    char hex[65];
    /* RFC 2202 test case 2 (HMAC-SHA1) */
    assert_int_equal(cm_hmac_sha1("Jefe", 4, "what do ya want for nothing?", 28, mac), 0);
    hex_of(mac, 20, hex);
    assert_string_equal(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    /* RFC 4231 test case 2 (HMAC-SHA256) */
    assert_int_equal(cm_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac), 0);
    hex_of(mac, 32, hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* SHA-256("abc"), FIPS 180-2 appendix B.1 */
    cm_sha256("abc", 3, mac);
    hex_of(mac, 32, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* RFC 7515 appendix A.1: the HS256 example's MAC over its signing input,
 * with the key of its JWK, base64url both ways. */
static void test_rfc7515_hs256(void **state)
{
    (void)state;
    static const char jwk_k[] =
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
    static const char input[] =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
        ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0"
        "cnVlfQ";
    unsigned char key[80], mac[32];
    long kl = cm_base64url_decode(jwk_k, strlen(jwk_k), key);
    assert_int_equal(kl, 64);
    assert_int_equal(cm_hmac_sha256(key, (size_t)kl, input, strlen(input), mac), 0);
    char b64[64];
    cm_base64url_encode(mac, 32, b64);
    assert_string_equal(b64, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    /* the url alphabet refuses the standard one's characters */
    assert_int_equal(cm_base64url_decode("ab+/", 4, key), -1);
    assert_int_equal(cm_base64url_decode("ab==", 4, key), -1);
}

static void test_whsec_and_ct(void **state)
{
    (void)state;
    unsigned char key[64];
    /* "whsec_" + base64("0123456789abcdef") */
    assert_int_equal(cm_whsec_key("whsec_MDEyMzQ1Njc4OWFiY2RlZg==", key, sizeof key), 16);
    assert_memory_equal(key, "0123456789abcdef", 16);
    assert_int_equal(cm_whsec_key("MDEyMzQ1Njc4OWFiY2RlZg==", key, sizeof key), -1);
    assert_int_equal(cm_whsec_key("whsec_", key, sizeof key), -1);
    assert_int_equal(cm_whsec_key("whsec_MDEyMzQ1Njc4OWFiY2RlZg==", key, 8), -1);
    assert_true(cm_equal_ct("abc", "abc", 3));
    assert_false(cm_equal_ct("abc", "abd", 3));
    assert_int_equal(cm_hexval('F'), 15);
    assert_int_equal(cm_hexval('g'), -1);
}

static json_t *claims(long long exp)
{
    json_t *c = json_object();
    json_object_set_new(c, "tenant", json_string("acme"));
    json_object_set_new(c, "customer_id", json_string("C-1"));
    json_object_set_new(c, "exp", json_integer(exp));
    return c;
}

static void test_round_trip_and_expiry(void **state)
{
    (void)state;
    char err[128];
    cm_token_keys ks = {.n = 1};
    assert_int_equal(cm_token_key_set(&ks.k[0], "k2", "0123456789abcdef0123", err, sizeof err), 0);
    json_t *c = claims(1000);
    char *tok = cm_token_sign(&ks.k[0], c);
    assert_non_null(tok);
    /* deterministic */
    char *again = cm_token_sign(&ks.k[0], c);
    assert_string_equal(tok, again);
    free(again);
    /* the header names the key */
    const char *dot = strchr(tok, '.');
    unsigned char hb[128];
    long hl = cm_base64url_decode(tok, (size_t)(dot - tok), hb);
    assert_true(hl > 0);
    hb[hl] = 0;
    assert_string_equal((char *)hb, "{\"alg\":\"HS256\",\"kid\":\"k2\",\"typ\":\"JWT\"}");

    json_t *out = NULL;
    assert_int_equal(cm_token_verify(&ks, tok, strlen(tok), 999, &out, err, sizeof err),
                     CM_TOKEN_OK);
    assert_true(json_equal(out, c));
    json_decref(out);
    /* exp is the first instant it no longer holds */
    assert_int_equal(cm_token_verify(&ks, tok, strlen(tok), 1000, &out, err, sizeof err),
                     CM_TOKEN_EXPIRED);
    assert_null(out);
    assert_string_equal(err, "token: expired");
    free(tok);
    /* no exp: not signed */
    json_object_del(c, "exp");
    assert_null(cm_token_sign(&ks.k[0], c));
    json_decref(c);
}

static void test_tamper(void **state)
{
    (void)state;
    char err[128];
    cm_token_keys ks = {.n = 1};
    assert_int_equal(cm_token_key_set(&ks.k[0], "k1", "0123456789abcdef", err, sizeof err), 0);
    json_t *c = claims(5000);
    char *tok = cm_token_sign(&ks.k[0], c);
    json_decref(c);
    json_t *out = NULL;
    /* a claims part signed by nobody: exp pushed out */
    json_t *forged = claims(99999);
    char *f = cm_token_sign(&ks.k[0], forged);
    json_decref(forged);
    char *mixed = malloc(strlen(tok) + strlen(f) + 1);
    const char *d1 = strchr(f, '.'), *d2 = strrchr(f, '.');
    const char *t2 = strrchr(tok, '.');
    size_t o = (size_t)(d2 - f);
    memcpy(mixed, f, o);
    strcpy(mixed + o, t2); /* forged claims, the genuine token's MAC */
    (void)d1;
    assert_int_equal(cm_token_verify(&ks, mixed, strlen(mixed), 0, &out, err, sizeof err),
                     CM_TOKEN_BAD_MAC);
    assert_null(out);
    /* one flipped MAC character */
    size_t n = strlen(tok);
    tok[n - 2] = tok[n - 2] == 'A' ? 'B' : 'A';
    assert_int_equal(cm_token_verify(&ks, tok, n, 0, &out, err, sizeof err), CM_TOKEN_BAD_MAC);
    /* malformed shapes */
    assert_int_equal(cm_token_verify(&ks, "a.b", 3, 0, &out, err, sizeof err), CM_TOKEN_MALFORMED);
    assert_int_equal(cm_token_verify(&ks, "a.b.c.d", 7, 0, &out, err, sizeof err),
                     CM_TOKEN_MALFORMED);
    assert_int_equal(cm_token_verify(&ks, "", 0, 0, &out, err, sizeof err), CM_TOKEN_MALFORMED);
    assert_int_equal(cm_token_verify(&ks, "!!.!!.!!", 8, 0, &out, err, sizeof err),
                     CM_TOKEN_MALFORMED);
    free(mixed);
    free(f);
    free(tok);
}

static void test_rotation(void **state)
{
    (void)state;
    char err[128];
    cm_token_key old, cur;
    assert_int_equal(cm_token_key_set(&old, "2026-01", "old-secret-old-secret", err, sizeof err),
                     0);
    assert_int_equal(cm_token_key_set(&cur, "2026-07", "new-secret-new-secret", err, sizeof err),
                     0);
    json_t *c = claims(5000);
    char *by_old = cm_token_sign(&old, c);
    char *by_cur = cm_token_sign(&cur, c);
    json_decref(c);
    json_t *out = NULL;
    cm_token_keys both = {.k = {cur, old}, .n = 2};
    assert_int_equal(cm_token_verify(&both, by_old, strlen(by_old), 0, &out, err, sizeof err),
                     CM_TOKEN_OK);
    json_decref(out);
    assert_int_equal(cm_token_verify(&both, by_cur, strlen(by_cur), 0, &out, err, sizeof err),
                     CM_TOKEN_OK);
    json_decref(out);
    cm_token_keys only_cur = {.k = {cur}, .n = 1};
    assert_int_equal(cm_token_verify(&only_cur, by_old, strlen(by_old), 0, &out, err, sizeof err),
                     CM_TOKEN_UNKNOWN_KEY);
    /* same kid, other secret: a bad MAC, not a match */
    cm_token_keys swapped = {.n = 1};
    assert_int_equal(
        cm_token_key_set(&swapped.k[0], "2026-07", "other-secret-other", err, sizeof err), 0);
    assert_int_equal(cm_token_verify(&swapped, by_cur, strlen(by_cur), 0, &out, err, sizeof err),
                     CM_TOKEN_BAD_MAC);
    /* key rules */
    assert_int_equal(cm_token_key_set(&old, "k 1", "0123456789abcdef", err, sizeof err), -1);
    assert_int_equal(cm_token_key_set(&old, "k1", "short", err, sizeof err), -1);
    assert_string_equal(err, "secret: must be 16-256 bytes, is 5");
    free(by_old);
    free(by_cur);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_vectors), cmocka_unit_test(test_rfc7515_hs256),
        cmocka_unit_test(test_whsec_and_ct), cmocka_unit_test(test_round_trip_and_expiry),
        cmocka_unit_test(test_tamper),       cmocka_unit_test(test_rotation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
