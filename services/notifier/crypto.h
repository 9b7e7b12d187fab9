/* crypto.h -- the notifier's small crypto helpers over OpenSSL libcrypto:
 * SHA-256, HMAC-SHA256 and base64 (standard and URL-safe). Output buffers
 * are the caller's; nothing is allocated. */
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

/* Encoded length (without NUL) of n bytes: standard padded / URL unpadded. */
size_t ntf_b64_len(size_t n);
/* Standard base64 with padding; out needs ntf_b64_len(n)+1 bytes. Returns
 * the length written (NUL-terminated). */
size_t ntf_b64(const void *in, size_t n, char *out);
/* base64url without padding (RFC 4648 section 5, as in JWT). */
size_t ntf_b64url(const void *in, size_t n, char *out);
/* Decodes standard base64 (padding optional, no whitespace). Returns the
 * decoded length or -1; out needs 3*(len/4)+3 bytes. */
long ntf_b64_decode(const char *in, size_t len, unsigned char *out);

#endif
