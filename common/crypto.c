/* crypto.c -- SHA-256, HMAC, constant-time comparison, hex and whsec_
 * keys over OpenSSL libcrypto (base64 is base64.c). */
#include "crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <string.h>

#include "base64.h"

void cm_sha256(const void *msg, size_t len, unsigned char out[32])
{
    SHA256(msg, len, out);
}

static int hmac(const EVP_MD *md, size_t want, const void *key, size_t keylen, const void *msg,
                size_t msglen, unsigned char *mac)
{
    unsigned int maclen = 0;
    static const unsigned char none = 0;
    if (!HMAC(md, keylen ? key : &none, (int)keylen, msglen ? msg : &none, msglen, mac, &maclen) ||
        maclen != want)
        return -1;
    return 0;
}

int cm_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                   unsigned char mac[32])
{
    return hmac(EVP_sha256(), 32, key, keylen, msg, msglen, mac);
}

int cm_hmac_sha1(const void *key, size_t keylen, const void *msg, size_t msglen,
                 unsigned char mac[20])
{
    return hmac(EVP_sha1(), 20, key, keylen, msg, msglen, mac);
}

int cm_equal_ct(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

void cm_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = 0;
}

int cm_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long cm_whsec_key(const char *secret, unsigned char *key, size_t keymax)
{
    if (!secret || strncmp(secret, "whsec_", 6) != 0)
        return -1;
    const char *b = secret + 6;
    size_t n = strlen(b);
    unsigned char tmp[384];
    if (n == 0 || 3 * (n / 4) + 3 > sizeof tmp)
        return -1;
    long kl = cm_base64_decode(b, n, tmp);
    if (kl <= 0 || (size_t)kl > keymax)
        return -1;
    memcpy(key, tmp, (size_t)kl);
    return kl;
}
