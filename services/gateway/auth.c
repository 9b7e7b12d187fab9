/* auth.c -- the credentials: bearer tokens and Standard Webhooks secrets.
 *
 * The tokens file has lines `TENANT SHA256-HEX-OF-TOKEN`: the token itself
 * is never stored. A request's token is hashed and compared with every
 * entry in constant time (CRYPTO_memcmp, no early exit), so neither the
 * match nor its position leaks through timing. The webhook secrets file
 * has lines `TENANT whsec_<base64>`; a signed request is checked against
 * every tenant's key (webhook.c). The Twilio file (GW_CRED_TWILIO) has
 * lines `TENANT AUTH_TOKEN`: Twilio's HMAC needs the token itself, so it
 * is kept as it is, like a webhook secret (twilio.c). Credentials naming one tenant share its
 * rate bucket. */
#include "gateway.h"
#include "webhooks.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "str.h"

/* The credential of one line (value: the hash, or the whsec_ secret). */
static int parse_value(const char *v, size_t n, int webhook, gw_cred *c, char *why, size_t whylen)
{
    if (webhook == GW_CRED_TWILIO) {
        if (n == 0 || n > sizeof c->key || memchr(v, ' ', n) || memchr(v, '\t', n)) {
            snprintf(why, whylen, "expected TENANT AUTH_TOKEN (at most %zu bytes)", sizeof c->key);
            return -1;
        }
        memcpy(c->key, v, n);
        c->keylen = n;
        c->webhook = GW_CRED_TWILIO;
        return 0;
    }
    if (webhook) {
        char secret[256];
        if (n >= sizeof secret) {
            snprintf(why, whylen, "the secret is too long");
            return -1;
        }
        memcpy(secret, v, n);
        secret[n] = 0;
        long kl = cm_whsec_key(secret, c->key, sizeof c->key);
        if (kl < 0) {
            snprintf(why, whylen, "expected TENANT whsec_<base64> (at most %zu bytes of key)",
                     sizeof c->key);
            return -1;
        }
        c->keylen = (size_t)kl;
        c->webhook = 1;
        return 0;
    }
    if (n != 64) {
        snprintf(why, whylen, "expected TENANT and 64 hex digits (printf %%s TOKEN | sha256sum)");
        return -1;
    }
    for (int i = 0; i < 32; i++) {
        int hi = cm_hexval((unsigned char)v[2 * i]), lo = cm_hexval((unsigned char)v[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            snprintf(why, whylen, "the hash is not hexadecimal");
            return -1;
        }
        c->hash[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

/* One line into c; 0, 1 for a blank or comment line, -1 with why. */
static int parse_line(const char *p, size_t n, int webhook, gw_cred *c, char *why, size_t whylen)
{
    while (n && isspace((unsigned char)p[n - 1]))
        n--;
    while (n && isspace((unsigned char)*p))
        p++, n--;
    if (n == 0 || *p == '#')
        return 1;
    size_t t = 0;
    while (t < n && !isspace((unsigned char)p[t]))
        t++;
    size_t h = t;
    while (h < n && isspace((unsigned char)p[h]))
        h++;
    memset(c, 0, sizeof *c);
    if (t > CT_TENANT_MAX) {
        snprintf(why, whylen, "tenant longer than %d bytes", CT_TENANT_MAX);
        return -1;
    }
    memcpy(c->tenant, p, t);
    c->tenant[t] = 0;
    if (!ct_tenant_valid(c->tenant)) {
        snprintf(why, whylen, "tenant is not [A-Za-z0-9._-]{1,64}");
        return -1;
    }
    return parse_value(p + h, n - h, webhook, c, why, whylen);
}

/* Adds the credentials of text; every bad line into errs. */
static int add_lines(gw_auth *a, const char *text, int webhook, cm_buf *errs)
{
    size_t lines = 1;
    for (const char *q = text; *q; q++)
        lines += *q == '\n';
    gw_cred *creds = realloc(a->creds, (a->n + lines) * sizeof *creds);
    gw_bucket *buckets = realloc(a->buckets, (a->n + lines) * sizeof *buckets);
    if (creds)
        a->creds = creds;
    if (buckets)
        a->buckets = buckets;
    if (!creds || !buckets)
        return -1;
    memset(a->buckets + a->nbuckets, 0, (a->n + lines - a->nbuckets) * sizeof *buckets);
    size_t lineno = 0;
    for (const char *p = text;;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char why[128];
        gw_cred *c = &a->creds[a->n];
        lineno++;
        int r = parse_line(p, n, webhook, c, why, sizeof why);
        if (r < 0) {
            cm_buf_printf(errs, "%sline %zu: %s", errs->len ? "\n" : "", lineno, why);
        } else if (r == 0) {
            size_t b = 0;
            while (b < a->n && strcmp(a->creds[b].tenant, c->tenant) != 0)
                b++;
            c->bucket = b < a->n ? a->creds[b].bucket : (int)a->nbuckets++;
            a->n++;
        }
        if (!e || !e[1])
            break;
        p = e + 1;
    }
    return 0;
}

static int parse(gw_auth *a, const char *text, int webhook, char *errstr, size_t errlen)
{
    cm_buf errs = CM_BUF_INIT;
    if (add_lines(a, text, webhook, &errs) != 0 || errs.oom) {
        snprintf(errstr, errlen, "out of memory");
        cm_buf_free(&errs);
        return -1;
    }
    if (errs.len) {
        snprintf(errstr, errlen, "%s", errs.p);
        cm_buf_free(&errs);
        return -1;
    }
    return 0;
}

void gw_auth_init(gw_auth *a)
{
    memset(a, 0, sizeof *a);
    pthread_mutex_init(&a->mu, NULL);
}

int gw_auth_parse(gw_auth *a, const char *text, char *errstr, size_t errlen)
{
    return parse(a, text, 0, errstr, errlen);
}

int gw_auth_parse_secrets(gw_auth *a, const char *text, char *errstr, size_t errlen)
{
    return parse(a, text, 1, errstr, errlen);
}

int gw_auth_load(gw_auth *a, const char *path, int webhook, char *errstr, size_t errlen)
{
    FILE *f = fopen(path, "r");
    cm_buf b = CM_BUF_INIT;
    char chunk[4096], err[1024];
    size_t n;
    if (!f) {
        snprintf(errstr, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        cm_buf_add(&b, chunk, n);
    fclose(f);
    int rc = b.oom ? -1 : parse(a, b.p ? b.p : "", webhook, err, sizeof err);
    cm_buf_free(&b);
    if (rc != 0)
        snprintf(errstr, errlen, "%s: %s", path, b.oom ? "out of memory" : err);
    return rc;
}

void gw_auth_free(gw_auth *a)
{
    if (!a)
        return;
    free(a->creds);
    free(a->buckets);
    a->creds = NULL;
    a->buckets = NULL;
    a->n = a->nbuckets = 0;
}

const gw_cred *gw_auth_check(const gw_auth *a, const char *authorization)
{
    unsigned char md[32];
    const gw_cred *found = NULL;
    if (!a || !authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return NULL;
    const char *tok = authorization + 7;
    while (*tok == ' ')
        tok++;
    size_t n = strlen(tok);
    while (n && tok[n - 1] == ' ')
        n--;
    if (n == 0)
        return NULL;
    cm_sha256(tok, n, md);
    for (size_t i = 0; i < a->n; i++) {
        int same = !a->creds[i].webhook && cm_equal_ct(md, a->creds[i].hash, 32);
        if (same && !found)
            found = &a->creds[i];
    }
    return found;
}
