/* sign.c -- Standard Webhooks signatures and pay-link tokens.
 *
 * Webhooks: https://www.standardwebhooks.com/ -- the receiver recomputes
 * HMAC-SHA256 over "webhook-id.webhook-timestamp.body" with the base64-
 * decoded part of its whsec_ secret. webhook-id is the command id, the same
 * on every retry, so a receiver can de-duplicate.
 *
 * Pay links: a JWT (RFC 7519, HS256) because every payment portal stack has
 * a verifier for it; the claims name the tenant, customer and invoices the
 * link may pay, iat is the command's creation time (no wall clock, so
 * the rendered message is the same on every attempt). */
#include "sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "crypto.h"

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

char *ntf_paylink_token(const char *secret, const char *tenant, const char *customer_id,
                        json_t *invoice_ids, int64_t iat_s)
{
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    json_t *claims = json_object();
    json_object_set_new(claims, "tenant", json_string(tenant));
    json_object_set_new(claims, "customer_id", json_string(customer_id));
    json_object_set(claims, "invoice_ids", invoice_ids);
    json_object_set_new(claims, "iat", json_integer(iat_s));
    char *payload = json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(claims);
    if (!payload)
        return NULL;
    size_t pl = strlen(payload);
    char *tok = malloc(cm_base64_len(sizeof header) + cm_base64_len(pl) + cm_base64_len(32) + 8);
    if (!tok) {
        free(payload);
        return NULL;
    }
    size_t o = cm_base64url_encode(header, sizeof header - 1, tok);
    tok[o++] = '.';
    o += cm_base64url_encode(payload, pl, tok + o);
    free(payload);
    unsigned char mac[32];
    if (cm_hmac_sha256(secret, strlen(secret), tok, o, mac) < 0) {
        free(tok);
        return NULL;
    }
    tok[o++] = '.';
    cm_base64url_encode(mac, 32, tok + o);
    return tok;
}

static void pct_encode(cm_buf *b, const char *s)
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
            pct_encode(&b, tenant);
            p += 7;
        } else if (strncmp(p, "{customer}", 10) == 0) {
            pct_encode(&b, customer_id);
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
