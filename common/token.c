/* token.c -- JWT HS256 signed links with kid and exp (see token.h). */
#include "token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "crypto.h"

static int kid_ok(const char *kid)
{
    size_t n = kid ? strlen(kid) : 0;
    if (n == 0 || n > CM_TOKEN_KID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = kid[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int cm_token_key_set(cm_token_key *k, const char *kid, const char *secret, char *errstr,
                     size_t errlen)
{
    memset(k, 0, sizeof *k);
    if (!kid_ok(kid)) {
        snprintf(errstr, errlen, "key id: must be 1-%d of [A-Za-z0-9._-]", CM_TOKEN_KID_MAX);
        return -1;
    }
    size_t n = secret ? strlen(secret) : 0;
    if (n < 16 || n > CM_TOKEN_KEY_MAX) {
        snprintf(errstr, errlen, "secret: must be 16-%d bytes, is %zu", CM_TOKEN_KEY_MAX, n);
        return -1;
    }
    memcpy(k->kid, kid, strlen(kid) + 1);
    memcpy(k->key, secret, n);
    k->keylen = n;
    return 0;
}

char *cm_token_sign(const cm_token_key *k, json_t *claims)
{
    if (!json_is_object(claims) || !json_is_integer(json_object_get(claims, "exp")))
        return NULL;
    char header[96];
    int hl = snprintf(header, sizeof header, "{\"alg\":\"HS256\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
                      k->kid);
    char *payload = json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!payload || hl < 0 || (size_t)hl >= sizeof header) {
        free(payload);
        return NULL;
    }
    size_t pl = strlen(payload);
    char *tok = malloc(cm_base64_len((size_t)hl) + cm_base64_len(pl) + cm_base64_len(32) + 4);
    if (!tok) {
        free(payload);
        return NULL;
    }
    size_t o = cm_base64url_encode(header, (size_t)hl, tok);
    tok[o++] = '.';
    o += cm_base64url_encode(payload, pl, tok + o);
    free(payload);
    unsigned char mac[32];
    if (cm_hmac_sha256(k->key, k->keylen, tok, o, mac) < 0) {
        free(tok);
        return NULL;
    }
    tok[o++] = '.';
    cm_base64url_encode(mac, 32, tok + o);
    return tok;
}

/* Decodes one base64url part into a malloc'd NUL-terminated buffer. */
static unsigned char *part(const char *p, size_t n, size_t *outlen)
{
    unsigned char *b = malloc(3 * (n / 4) + 4);
    if (!b)
        return NULL;
    long l = cm_base64url_decode(p, n, b);
    if (l < 0) {
        free(b);
        return NULL;
    }
    b[l] = 0;
    *outlen = (size_t)l;
    return b;
}

cm_token_status cm_token_verify(const cm_token_keys *keys, const char *tok, size_t len,
                                int64_t now_s, json_t **claims, char *errstr, size_t errlen)
{
    cm_token_status st = CM_TOKEN_MALFORMED;
    unsigned char *hb = NULL, *pb = NULL, *sb = NULL;
    json_t *h = NULL, *c = NULL;
    size_t hn = 0, pn = 0, sn = 0;
    *claims = NULL;
    snprintf(errstr, errlen, "token: malformed");
    if (!tok || len == 0 || len > CM_TOKEN_MAX)
        goto cleanup;
    const char *d1 = memchr(tok, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok)) : NULL;
    if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)))
        goto cleanup;
    hb = part(tok, (size_t)(d1 - tok), &hn);
    pb = part(d1 + 1, (size_t)(d2 - d1 - 1), &pn);
    sb = part(d2 + 1, len - (size_t)(d2 + 1 - tok), &sn);
    if (!hb || !pb || !sb || sn != 32)
        goto cleanup;
    h = json_loadb((const char *)hb, hn, JSON_REJECT_DUPLICATES, NULL);
    const char *alg = json_string_value(json_object_get(h, "alg"));
    const char *kid = json_string_value(json_object_get(h, "kid"));
    if (!alg || strcmp(alg, "HS256") != 0 || !kid)
        goto cleanup;
    const cm_token_key *k = NULL;
    for (size_t i = 0; keys && i < keys->n && i < 2; i++)
        if (strcmp(keys->k[i].kid, kid) == 0)
            k = &keys->k[i];
    if (!k) {
        st = CM_TOKEN_UNKNOWN_KEY;
        snprintf(errstr, errlen, "token: unknown key id");
        goto cleanup;
    }
    unsigned char mac[32];
    if (cm_hmac_sha256(k->key, k->keylen, tok, (size_t)(d2 - tok), mac) < 0 ||
        !cm_equal_ct(mac, sb, 32)) {
        st = CM_TOKEN_BAD_MAC;
        snprintf(errstr, errlen, "token: bad signature");
        goto cleanup;
    }
    c = json_loadb((const char *)pb, pn, JSON_REJECT_DUPLICATES, NULL);
    json_t *exp = json_object_get(c, "exp");
    if (!json_is_object(c) || !json_is_integer(exp))
        goto cleanup;
    if (now_s >= json_integer_value(exp)) {
        st = CM_TOKEN_EXPIRED;
        snprintf(errstr, errlen, "token: expired");
        goto cleanup;
    }
    st = CM_TOKEN_OK;
    errstr[0] = 0;
    *claims = c;
    c = NULL; /* now owned by the caller */
cleanup:
    json_decref(c);
    json_decref(h);
    free(sb);
    free(pb);
    free(hb);
    return st;
}
