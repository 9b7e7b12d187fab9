/* base64.h -- RFC 4648 base64: standard (padded) and URL-safe (unpadded,
 * as in JWT and signed links), encode and decode. Pure C, no allocation
 * except cm_base64_dup; output buffers are the caller's. */
#ifndef CM_BASE64_H
#define CM_BASE64_H

#include <stddef.h>

/* Encoded length (without NUL) of n bytes, padded. */
size_t cm_base64_len(size_t n);
/* Standard alphabet with padding into out (cm_base64_len(n) + 1 bytes);
 * returns the length written, NUL-terminated. */
size_t cm_base64_encode(const void *in, size_t n, char *out);
/* URL-safe alphabet (- _), no padding (RFC 4648 section 5); out as above. */
size_t cm_base64url_encode(const void *in, size_t n, char *out);
/* Standard encoding in a malloc'd string (caller frees); NULL on OOM. */
char *cm_base64_dup(const void *in, size_t n);
/* Decodes the standard alphabet (padding optional, no whitespace) into
 * out (at least 3 * (len / 4) + 3 bytes). Returns the decoded length, or
 * -1 on a byte outside the alphabet or an impossible length. */
long cm_base64_decode(const char *in, size_t len, unsigned char *out);
/* The URL-safe alphabet, unpadded ('=', '+' and '/' refused); out as above. */
long cm_base64url_decode(const char *in, size_t len, unsigned char *out);

#endif
