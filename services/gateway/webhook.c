/* webhook.c -- Standard Webhooks signatures as a credential.
 *
 * https://www.standardwebhooks.com/: the sender signs
 * "webhook-id.webhook-timestamp.body" with HMAC-SHA256 under the base64-
 * decoded part of a `whsec_` secret and sends `webhook-signature: v1,<base64>`
 * (several space-separated signatures while a secret rotates). The
 * gateway recomputes it with every tenant's key and compares in constant
 * time; a timestamp more than five minutes from now is refused, so a
 * captured request cannot be replayed later. */
#include "gateway.h"

#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "crypto.h"

#define TOLERANCE_S 300

/* 1 when one of the header's v1 signatures is mac's base64. */
static int listed(const char *header, const char *b64, size_t b64len)
{
    int found = 0;
    for (const char *p = header; *p;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (n == 3 + b64len && !strncmp(p, "v1,", 3))
            found |= cm_equal_ct(p + 3, b64, b64len);
        p += n;
    }
    return found;
}

const gw_cred *gw_auth_webhook(const gw_auth *a, const char *id, const char *timestamp,
                               const char *signature, const char *body, size_t len, int64_t now_s)
{
    char *end;
    if (!a || !id || !*id || !timestamp || !signature)
        return NULL;
    long long ts = strtoll(timestamp, &end, 10);
    if (end == timestamp || *end || ts < now_s - TOLERANCE_S || ts > now_s + TOLERANCE_S)
        return NULL;
    cm_buf msg = CM_BUF_INIT;
    cm_buf_printf(&msg, "%s.%lld.", id, ts);
    cm_buf_add(&msg, body ? body : "", len);
    const gw_cred *found = NULL;
    for (size_t i = 0; !msg.oom && i < a->n; i++) {
        const gw_cred *c = &a->creds[i];
        unsigned char mac[32];
        char b64[64];
        if (c->webhook != 1 || cm_hmac_sha256(c->key, c->keylen, msg.p, msg.len, mac) < 0)
            continue;
        size_t bl = cm_base64_encode(mac, 32, b64);
        if (listed(signature, b64, bl) && !found)
            found = c;
    }
    cm_buf_free(&msg);
    return found;
}
