/* crypto.c -- SHA-256 and HMAC-SHA256 over OpenSSL libcrypto (base64 is
 * common/base64.c). */
#include "crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <string.h>

int ntf_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                    unsigned char mac[32])
{
    unsigned int maclen = 0;
    if (!HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, mac, &maclen) || maclen != 32)
        return -1;
    return 0;
}

void ntf_sha256(const void *msg, size_t len, unsigned char out[32])
{
    SHA256(msg, len, out);
}

void ntf_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = 0;
}
