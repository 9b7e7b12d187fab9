/* crypto.h -- the few primitives arrears signs and checks with, over
 * OpenSSL libcrypto: SHA-256, HMAC-SHA256, HMAC-SHA1 (Twilio's request
 * signatures), constant-time comparison, lower-case hex, and the key of a
 * Standard Webhooks `whsec_` secret. One copy for every service (the
 * notifier signs, the gateway verifies). Output buffers are the caller's;
 * nothing is allocated. */
#ifndef CM_CRYPTO_H
#define CM_CRYPTO_H

#include <stddef.h>

void cm_sha256(const void *msg, size_t len, unsigned char out[32]);
/* 32-byte HMAC-SHA256 of msg under key into mac; 0 or -1. */
int cm_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                   unsigned char mac[32]);
/* 20-byte HMAC-SHA1 of msg under key into mac; 0 or -1. */
int cm_hmac_sha1(const void *key, size_t keylen, const void *msg, size_t msglen,
                 unsigned char mac[20]);
/* 1 when the n bytes at a and b are equal; the time taken depends on n
 * only. */
int cm_equal_ct(const void *a, const void *b, size_t n);
/* Lower-case hex of n bytes into out (at least 2n+1 bytes). */
void cm_hex(const unsigned char *in, size_t n, char *out);
/* The value of a hex digit, or -1. */
int cm_hexval(int c);
/* The key of a Standard Webhooks secret "whsec_<base64>" into key: its
 * length (>= 1), or -1 when secret is not one or its key is longer than
 * keymax. */
long cm_whsec_key(const char *secret, unsigned char *key, size_t keymax);

#endif
