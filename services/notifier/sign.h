/* sign.h -- signatures the notifier hands out: Standard Webhooks request
 * signatures and signed link tokens (JWT HS256 with kid and exp, through
 * common/token.h). */
#ifndef NTF_SIGN_H
#define NTF_SIGN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* "v1,<base64 HMAC-SHA256(key, id "." timestamp "." body)>" into out (at
 * least 64 bytes). secret is "whsec_<base64>". -1 on a bad secret. */
int ntf_webhook_sign(const char *secret, const char *id, int64_t timestamp, const char *body,
                     size_t len, char *out, size_t outlen);

/* A signed link token (common/token.h: JWT HS256, header {"alg","kid",
 * "typ"}) of claims (borrowed; an object with an integer "exp", its
 * members written in their order) under secret with key id kid. NULL on a
 * key cm_token_key_set refuses (ntf_config_check refuses it first), claims
 * without exp, or out of memory. Deterministic, so a retried message is
 * identical. The caller frees the result. */
char *ntf_link_sign(const char *kid, const char *secret, json_t *claims);

/* Appends s percent-encoded (RFC 3986: every byte but the unreserved
 * A-Z a-z 0-9 - _ . ~ as %XX) to b. */
void ntf_pct_encode(cm_buf *b, const char *s);

/* Expands url_template ({tenant}, {customer}, {token}; the first two
 * percent-encoded) into a new string the caller frees; NULL on overflow. */
char *ntf_paylink_url(const char *url_template, const char *tenant, const char *customer_id,
                      const char *token);

#endif
