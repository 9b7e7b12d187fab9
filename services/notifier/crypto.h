/* crypto.h -- the notifier's small crypto helpers over OpenSSL libcrypto:
 * SHA-256 and HMAC-SHA256 (base64 is common/base64.h). Output buffers are
 * the caller's; nothing is allocated. */
#ifndef NTF_CRYPTO_H
#define NTF_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/* 32-byte HMAC-SHA256 of msg under key into mac. */
int ntf_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                    unsigned char mac[32]);
void ntf_sha256(const void *msg, size_t len, unsigned char out[32]);
/* Lower-case hex of n bytes into out (at least 2n+1 bytes). */
void ntf_hex(const unsigned char *in, size_t n, char *out);

#endif
