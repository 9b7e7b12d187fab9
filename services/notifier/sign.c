/* sign.c -- Standard Webhooks signatures and pay-link tokens.
 *
 * Webhooks: https://www.standardwebhooks.com/ -- the receiver recomputes
 * HMAC-SHA256 over "webhook-id.webhook-timestamp.body" with the base64-
 * decoded part of its whsec_ secret. webhook-id is the command id, the same
 * on every retry, so a receiver can de-duplicate.
 *
 * Links: a JWT (RFC 7519, HS256) because every payment portal stack has a
 * verifier for it, signed by common/token.h (the gateway verifies with the
 * same code); the claims (links.c) name the tenant, customer, invoices and
 * command, iat is the command's creation time and exp iat plus the
 * command's link_valid_days (the policy's links.valid_days), else the
 * tenant's link_valid_days setting, in days (no wall clock, so the
 * rendered message is the same on every attempt). */
#include "sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "crypto.h"
#include "token.h"

int ntf_webhook_sign(const char *secret, const char *id, int64_t timestamp, const char *body,
                     size_t len, char *out, size_t outlen)
{
    unsigned char key[512], mac[32];
    long kl = cm_whsec_key(secret, key, sizeof key);
    if (kl < 0 || outlen < 64)
        return -1;
    cm_buf msg = CM_BUF_INIT;
    cm_buf_printf(&msg, "%s.%lld.", id, (long long)timestamp);
    cm_buf_add(&msg, body, len);
    int rc = msg.oom ? -1 : cm_hmac_sha256(key, (size_t)kl, msg.p, msg.len, mac);
    cm_buf_free(&msg);
    if (rc < 0)
        return -1;
    memcpy(out, "v1,", 3);
    cm_base64_encode(mac, 32, out + 3);
    return 0;
}

char *ntf_link_sign(const char *kid, const char *secret, json_t *claims)
{
    cm_token_key k;
    char err[128];
    if (cm_token_key_set(&k, kid, secret, err, sizeof err) < 0)
        return NULL;
    char *tok = cm_token_sign(&k, claims);
    memset(&k, 0, sizeof k);
    return tok;
}

void ntf_pct_encode(cm_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~')
            cm_buf_addc(b, (char)*p);
        else
            cm_buf_printf(b, "%%%02X", *p);
    }
}

char *ntf_paylink_url(const char *url_template, const char *tenant, const char *customer_id,
                      const char *token)
{
    cm_buf b = CM_BUF_INIT;
    for (const char *p = url_template; *p; p++) {
        if (strncmp(p, "{tenant}", 8) == 0) {
            ntf_pct_encode(&b, tenant);
            p += 7;
        } else if (strncmp(p, "{customer}", 10) == 0) {
            ntf_pct_encode(&b, customer_id);
            p += 9;
        } else if (strncmp(p, "{token}", 7) == 0) {
            cm_buf_adds(&b, token);
            p += 6;
        } else {
            cm_buf_addc(&b, *p);
        }
    }
    if (b.oom) {
        cm_buf_free(&b);
        return NULL;
    }
    return cm_buf_take(&b, NULL);
}
