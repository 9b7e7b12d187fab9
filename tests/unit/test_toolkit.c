/* test_toolkit.c -- unit tests of common/'s primitives: the byte buffer
 * and its JSON string writer, base64 (RFC 4648 section 10 vectors), the
 * string map and its filter, FNV-1a (published test vectors) and bounded copy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base64.h"
#include "buf.h"
#include "clock.h"
#include "map.h"
#include "str.h"
#include "vec.h"

static void test_buf(void **state)
{
    (void)state;
    cm_buf b = CM_BUF_INIT;
    assert_int_equal(cm_buf_adds(&b, "a"), 0);
    assert_int_equal(cm_buf_addc(&b, 'b'), 0);
    assert_int_equal(cm_buf_int(&b, -9223372036854775807LL - 1), 0);
    assert_int_equal(cm_buf_int(&b, 0), 0);
    assert_int_equal(cm_buf_printf(&b, "|%s|", "x"), 0);
    assert_string_equal(b.p, "ab-92233720368547758080|x|");
    cm_buf_reset(&b);
    assert_int_equal(b.len, 0);
    /* a printf longer than the stack buffer */
    char big[2000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(cm_buf_printf(&b, "%s!", big), 0);
    assert_int_equal(b.len, sizeof big);
    cm_buf_reset(&b);
    assert_int_equal(cm_buf_html(&b, "<a href=\"x\">&'", 14), 0);
    assert_string_equal(b.p, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    size_t len = 0;
    char *s = cm_buf_take(&b, &len);
    assert_non_null(s);
    assert_int_equal(len, strlen(s));
    assert_null(b.p);
    free(s);
    cm_buf_free(&b);
}

/* Every byte string (including each control byte, quote and backslash,
 * at every position relative to a 16-byte block) written by
 * cm_buf_json_str must read back identical through jansson. */
static void test_json_str(void **state)
{
    (void)state;
    cm_buf b = CM_BUF_INIT;
    char in[64];
    for (int c = 0; c < 128; c++) {
        for (size_t pos = 0; pos < 40; pos += 13) {
            memset(in, 'a', sizeof in);
            in[pos] = (char)c;
            cm_buf_reset(&b);
            assert_int_equal(cm_buf_json_str(&b, in, 40), 0);
            json_error_t e;
            json_t *j = json_loadb(b.p, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
            assert_non_null(j);
            assert_int_equal(json_string_length(j), 40);
            assert_memory_equal(json_string_value(j), in, 40);
            json_decref(j);
        }
    }
    cm_buf_reset(&b);
    cm_buf_json_str(&b, "\"\\\n\x01", 4);
    assert_string_equal(b.p, "\"\\\"\\\\\\n\\u0001\"");
    cm_buf_free(&b);
}

static void test_base64(void **state)
{
    (void)state;
    /* RFC 4648 section 10 */
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                        "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    char out[32];
    unsigned char back[32];
    for (size_t i = 0; i < 7; i++) {
        size_t n = strlen(plain[i]);
        assert_int_equal(cm_base64_encode(plain[i], n, out), strlen(coded[i]));
        assert_string_equal(out, coded[i]);
        assert_int_equal(cm_base64_len(n), strlen(coded[i]));
        assert_int_equal(cm_base64_decode(coded[i], strlen(coded[i]), back), (long)n);
        assert_memory_equal(back, plain[i], n);
    }
    char *d = cm_base64_dup("foobar", 6);
    assert_string_equal(d, "Zm9vYmFy");
    free(d);
    /* URL-safe: 0xfb 0xff -> standard "+/8=" -> "-_8" */
    const unsigned char bin[] = {0xfb, 0xff};
    assert_int_equal(cm_base64url_encode(bin, 2, out), 3);
    assert_string_equal(out, "-_8");
    assert_int_equal(cm_base64_decode("Zm9v!", 5, back), -1);
    assert_int_equal(cm_base64_decode("Z", 1, back), -1);
}

static void test_map(void **state)
{
    (void)state;
    cm_map m = {0};
    char k[32];
    uint32_t v = 0;
    for (uint32_t i = 0; i < 5000; i++) {
        int n = snprintf(k, sizeof k, "key-%u", i);
        assert_int_equal(cm_map_put(&m, k, (size_t)n, i * 3), 0);
    }
    assert_int_equal(m.len, 5000);
    for (uint32_t i = 0; i < 5000; i++) {
        int n = snprintf(k, sizeof k, "key-%u", i);
        assert_int_equal(cm_map_get(&m, k, (size_t)n, &v), 1);
        assert_int_equal(v, i * 3);
    }
    /* overwrite, prefix and absent keys */
    assert_int_equal(cm_map_put(&m, "key-7", 5, 1), 0);
    assert_int_equal(m.len, 5000);
    assert_int_equal(cm_map_get(&m, "key-7", 5, &v), 1);
    assert_int_equal(v, 1);
    assert_int_equal(cm_map_get(&m, "key-70000", 5, &v), 1); /* klen bounds the key */
    assert_int_equal(cm_map_get(&m, "key-", 4, NULL), 0);
    assert_int_equal(cm_map_get(&m, "nope", 4, NULL), 0);
    /* iteration visits every entry once, with its value */
    size_t seen = 0;
    uint64_t sum = 0;
    const char *key;
    for (size_t i = 0; i < m.cap; i++) {
        if (!cm_map_at(&m, i, &key, &v))
            continue;
        seen++;
        sum += v;
        uint32_t again;
        assert_int_equal(cm_map_get(&m, key, strlen(key), &again), 1);
        assert_int_equal(again, v);
    }
    assert_int_equal(seen, 5000);
    assert_int_equal(sum, 3ull * 4999 * 5000 / 2 - 21 + 1); /* key-7 now holds 1, not 21 */
    cm_map_free(&m);
    assert_int_equal(cm_map_get(&m, "key-1", 5, NULL), 0);
}

/* keeps values >= *arg, and halves those it keeps */
static int keep_from(const char *key, uint32_t val, uint32_t *newval, void *arg)
{
    (void)key;
    *newval = val / 2;
    return val >= *(uint32_t *)arg;
}

static void test_map_filter(void **state)
{
    (void)state;
    cm_map m = {0};
    uint32_t min = 5;
    assert_int_equal(cm_map_filter(&m, keep_from, &min), 0); /* an empty map stays empty */
    char k[16];
    for (uint32_t i = 0; i < 1000; i++) {
        int n = snprintf(k, sizeof k, "k%u", i);
        assert_int_equal(cm_map_put(&m, k, (size_t)n, i), 0);
    }
    assert_int_equal(m.cap, 2048); /* 1000 entries at most half full */
    min = 990;                     /* keeps 990..999: ten entries */
    assert_int_equal(cm_map_filter(&m, keep_from, &min), 990);
    assert_int_equal(m.len, 10);
    assert_int_equal(m.cap, 64); /* shrunk to the smallest table */
    uint32_t v = 0;
    assert_int_equal(cm_map_get(&m, "k989", 4, NULL), 0);
    assert_int_equal(cm_map_get(&m, "k990", 4, &v), 1);
    assert_int_equal(v, 495);
    assert_int_equal(cm_map_get(&m, "k999", 4, &v), 1);
    assert_int_equal(v, 499);
    assert_int_equal(cm_map_get(&m, "k0", 2, NULL), 0);
    /* the map still takes new keys and finds the old ones */
    assert_int_equal(cm_map_put(&m, "k0", 2, 7), 0);
    assert_int_equal(cm_map_get(&m, "k0", 2, &v), 1);
    assert_int_equal(v, 7);
    assert_int_equal(m.len, 11);
    min = UINT32_MAX; /* drops everything */
    assert_int_equal(cm_map_filter(&m, keep_from, &min), 11);
    assert_int_equal(m.len, 0);
    assert_int_equal(cm_map_get(&m, "k999", 4, NULL), 0);
    cm_map_free(&m);
}

/* cm_hash64 spreads keys that differ in a digit or two over a masked
 * table's low bits (average probes of a linear-probing table at 40% load
 * stay near the ideal 1.3; a hash of the bytes' sum would pile them up),
 * and the length counts: "a" and "a\0" differ. */
static void test_hash64(void **state)
{
    (void)state;
    enum { N = 100000, CAP = 1 << 18 };
    unsigned char *used = calloc(CAP, 1);
    assert_non_null(used);
    long probes = 0;
    char k[64];
    for (int i = 0; i < N; i++) {
        int n = snprintf(k, sizeof k, "arrears:i:bench/INV-%07d", i);
        size_t j = (size_t)cm_hash64(k, (size_t)n) & (CAP - 1);
        for (probes++; used[j]; probes++)
            j = (j + 1) & (CAP - 1);
        used[j] = 1;
    }
    free(used);
    assert_true(probes < (long)N * 3 / 2);
    assert_true(cm_hash64("a", 1) != cm_hash64("a\0", 2));
    assert_true(cm_hash64("abcdefgh1", 9) != cm_hash64("abcdefgh2", 9));
    assert_true(cm_hash64("", 0) == cm_hash64("x", 0));
}

static void test_fnv_strlcpy_mono(void **state)
{
    (void)state;
    /* FNV-1a 32: the reference test vector for "a" (Fowler/Noll/Vo). The
     * 64-bit variant keeps the tree's historic offset basis (map.h):
     * 1469598103934665603, then one round for "a" by the FNV definition. */
    assert_true(cm_fnv1a32("a", 1) == 0xe40c292cu);
    assert_true(cm_fnv1a64("", 0) == 1469598103934665603ull);
    assert_true(cm_fnv1a64("a", 1) == 0x44bd8ad473cd9906ull);
    char dst[4];
    assert_int_equal(cm_strlcpy(dst, "abcdef", sizeof dst), 6);
    assert_string_equal(dst, "abc");
    assert_int_equal(cm_strlcpy(dst, "ab", sizeof dst), 2);
    assert_string_equal(dst, "ab");
    int64_t a = cm_mono_ms(), b = cm_mono_ms();
    assert_true(b >= a);
}

static void test_grow(void **state)
{
    (void)state;
    int *v = NULL;
    size_t cap = 0;
    for (size_t n = 0; n < 1000; n++) {
        assert_int_equal(CM_GROW(v, cap, n + 1), 0);
        assert_true(cap >= n + 1);
        assert_int_equal(v[n], 0); /* new elements are zeroed */
        v[n] = (int)n;
    }
    assert_int_equal(cap, 1024); /* 16 doubled six times */
    for (size_t n = 0; n < 1000; n++)
        assert_int_equal(v[n], (int)n);
    /* an impossible size fails and leaves the array as it was */
    void *before = v;
    assert_int_equal(cm_grow((void **)&v, &cap, sizeof *v, SIZE_MAX / 2), -1);
    assert_ptr_equal(v, before);
    assert_int_equal(cap, 1024);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf),        cmocka_unit_test(test_json_str),
        cmocka_unit_test(test_base64),     cmocka_unit_test(test_map),
        cmocka_unit_test(test_map_filter), cmocka_unit_test(test_fnv_strlcpy_mono),
        cmocka_unit_test(test_hash64),     cmocka_unit_test(test_grow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
