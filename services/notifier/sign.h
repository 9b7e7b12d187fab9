/* sign.h -- signatures the notifier hands out: Standard Webhooks request
 * signatures and pay-link tokens (JWT HS256). */
#ifndef NTF_SIGN_H
#define NTF_SIGN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* "v1,<base64 HMAC-SHA256(key, id "." timestamp "." body)>" into out (at
 * least 64 bytes). secret is "whsec_<base64>". -1 on a bad secret. */
int ntf_webhook_sign(const char *secret, const char *id, int64_t timestamp, const char *body,
                     size_t len, char *out, size_t outlen);

/* A pay-link token: a JWT (HS256) with claims {"tenant","customer_id",
 * "invoice_ids","iat"} signed with secret; deterministic for the same
 * inputs so a retried message is identical. The caller frees the result. */
char *ntf_paylink_token(const char *secret, const char *tenant, const char *customer_id,
                        json_t *invoice_ids, int64_t iat_s);

/* Expands url_template ({tenant}, {customer}, {token}; the first two
 * percent-encoded) into a new string the caller frees; NULL on overflow. */
char *ntf_paylink_url(const char *url_template, const char *tenant, const char *customer_id,
                      const char *token);

#endif
