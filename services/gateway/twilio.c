/* twilio.c -- X-Twilio-Signature: the credential of an SMS webhook.
 *
 * https://www.twilio.com/docs/usage/security#validating-requests: Twilio
 * takes the full URL it requested (scheme, host, path and query string),
 * appends each POST parameter's name and value, sorted by name (byte
 * order; a repeated name's values in sorted order), signs that with
 * HMAC-SHA1 under the account's auth token and sends the base64 of the
 * MAC. The gateway recomputes it with each auth token of the tenant the
 * URL's `tenant` parameter names and compares in constant time. The URL
 * is the public one (ARREARS_GATEWAY_PUBLIC_URL), since a proxy in front
 * of the gateway changes scheme and host. */
#include "webhooks.h"

#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "crypto.h"

static int by_name(const void *a, const void *b)
{
    const gw_form_pair *x = *(const gw_form_pair *const *)a, *y = *(const gw_form_pair *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

int gw_twilio_sign(const char *token, size_t toklen, const char *url, const gw_form *params,
                   char out[29])
{
    const gw_form_pair **sorted = calloc(params->n ? params->n : 1, sizeof *sorted);
    cm_buf msg = CM_BUF_INIT;
    unsigned char mac[20];
    int rc = -1;
    if (!sorted)
        return -1;
    for (size_t i = 0; i < params->n; i++)
        sorted[i] = &params->p[i];
    qsort(sorted, params->n, sizeof *sorted, by_name);
    cm_buf_adds(&msg, url);
    for (size_t i = 0; i < params->n; i++) {
        cm_buf_adds(&msg, sorted[i]->name);
        cm_buf_adds(&msg, sorted[i]->value);
    }
    if (!msg.oom && cm_hmac_sha1(token, toklen, msg.p ? msg.p : "", msg.len, mac) == 0) {
        cm_base64_encode(mac, sizeof mac, out);
        rc = 0;
    }
    cm_buf_free(&msg);
    free(sorted);
    return rc;
}

const gw_cred *gw_twilio_check(const gw_auth *a, const char *tenant, const char *url,
                               const gw_form *params, const char *signature)
{
    const gw_cred *found = NULL;
    if (!a || !tenant || !url || !signature || strlen(signature) != 28)
        return NULL;
    for (size_t i = 0; i < a->n; i++) {
        const gw_cred *c = &a->creds[i];
        char sig[29];
        if (c->webhook != GW_CRED_TWILIO || strcmp(c->tenant, tenant) != 0 ||
            gw_twilio_sign((const char *)c->key, c->keylen, url, params, sig) != 0)
            continue;
        if (cm_equal_ct(sig, signature, 28) && !found)
            found = c;
    }
    return found;
}
