/* token.h -- signed links: a JWT (RFC 7519, HS256) with a key id and an
 * expiry. The notifier signs them into its messages (pay link, self-service
 * page, one-click unsubscribe); the gateway verifies them. One
 * implementation for both, so they cannot drift.
 *
 * A token is base64url(header) "." base64url(claims) "." base64url(mac):
 *   header  {"alg":"HS256","kid":"<kid>","typ":"JWT"}
 *   claims  the caller's JSON object, which must hold "exp" (unix seconds)
 *   mac     HMAC-SHA256(key, header "." claims), 32 bytes
 * Signing is deterministic (claims are written compact, in insertion
 * order), so a retried message carries the same link.
 *
 * Rotation: a key set holds the current key, which signs, and at most one
 * previous key, which still verifies; a token names its key by kid. To
 * rotate, give the verifier the new key as current and the old one as
 * previous, then the signer the new key; drop the previous key once every
 * token it signed has expired.
 *
 * Ownership: a cm_token_key is a value (the key bytes are copied in);
 * cm_token_sign returns a malloc'd string the caller frees; a verified
 * token's claims are a new json_t reference the caller releases. */
#ifndef CM_TOKEN_H
#define CM_TOKEN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define CM_TOKEN_KID_MAX 32   /* [A-Za-z0-9._-]{1,32} */
#define CM_TOKEN_KEY_MAX 256  /* bytes of a key */
#define CM_TOKEN_MAX     8192 /* longest token verified, in bytes */

typedef struct cm_token_key {
    char kid[CM_TOKEN_KID_MAX + 1];
    unsigned char key[CM_TOKEN_KEY_MAX];
    size_t keylen;
} cm_token_key;

/* The verifier's keys: k[0] the current one, k[1] the previous one when
 * n == 2. */
typedef struct cm_token_keys {
    cm_token_key k[2];
    size_t n;
} cm_token_keys;

/* Fills k with kid and the bytes of secret (a string of 16 to
 * CM_TOKEN_KEY_MAX bytes, used as is). 0, or -1 naming the rule in
 * errstr. */
int cm_token_key_set(cm_token_key *k, const char *kid, const char *secret, char *errstr,
                     size_t errlen);

/* The token of claims (borrowed; must be an object with an integer "exp")
 * under k, or NULL (claims without exp, out of memory). */
char *cm_token_sign(const cm_token_key *k, json_t *claims);

typedef enum cm_token_status {
    CM_TOKEN_OK = 0,
    CM_TOKEN_MALFORMED = -1,   /* not three base64url parts, bad JSON, not HS256, no exp */
    CM_TOKEN_UNKNOWN_KEY = -2, /* its kid is neither key of the set */
    CM_TOKEN_BAD_MAC = -3,     /* tampered, or signed with another key */
    CM_TOKEN_EXPIRED = -4      /* now_s >= exp */
} cm_token_status;

/* Verifies tok (len bytes, at most CM_TOKEN_MAX) against keys at now_s.
 * CM_TOKEN_OK with *claims a new reference, else the status with *claims
 * NULL and the reason in errstr. The MAC is compared in constant time and
 * checked before the claims are parsed. */
cm_token_status cm_token_verify(const cm_token_keys *keys, const char *tok, size_t len,
                                int64_t now_s, json_t **claims, char *errstr, size_t errlen);

#endif
