/* fields.c -- small checks shared by validation and the DLQ record:
 * reasons, E.164, e-mail, locale, tenant names and trace ids. */
#include "validate.h"
#include "internal.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ct_reason_add(ct_reasons *rs, const char *field, const char *rule, const char *fmt, ...)
{
    if (rs->n >= CT_MAX_REASONS) {
        rs->dropped++;
        return;
    }
    ct_reason *r = &rs->r[rs->n++];
    snprintf(r->field, sizeof r->field, "%s", field);
    snprintf(r->rule, sizeof r->rule, "%s", rule);
    ct_utf8_sanitize(r->field);
    int k = snprintf(r->message, sizeof r->message, "%s: ", field);
    if (k < 0 || (size_t)k >= sizeof r->message) {
        ct_utf8_sanitize(r->message);
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message + k, sizeof r->message - (size_t)k, fmt, ap);
    va_end(ap);
    /* Reasons quote input and are cut at a byte limit: keep them UTF-8. */
    ct_utf8_sanitize(r->message);
}

/* E.164: '+', a non-zero country digit, 8 to 15 digits in all. */
int ct_e164_valid(const char *s)
{
    if (s[0] != '+' || s[1] < '1' || s[1] > '9')
        return 0;
    size_t n = 0;
    for (const char *p = s + 1; *p; p++, n++)
        if (!isdigit((unsigned char)*p))
            return 0;
    return n >= 8 && n <= 15;
}

/* A pragmatic addr-spec: local@domain, no spaces or controls, one '@', a
 * dot in the domain, labels of [A-Za-z0-9-] (or non-ASCII: IDN), at most
 * 254 bytes. Deliverability is the notifier's concern. */
int ct_email_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 3 || n > 254)
        return 0;
    const char *at = strchr(s, '@');
    if (!at || at == s || strchr(at + 1, '@'))
        return 0;
    for (const char *p = s; p < at; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c == 0x7f || strchr("\"(),:;<>[\\]", c))
            return 0;
    }
    const char *d = at + 1;
    if (!*d || *d == '.' || *d == '-' || !strchr(d, '.'))
        return 0;
    char prev = 0;
    for (const char *p = d; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '.') {
            if (prev == '.' || prev == '-')
                return 0;
        } else if (!(isalnum(c) || c == '-' || c >= 0x80)) {
            return 0;
        }
        prev = (char)c;
    }
    return prev != '.' && prev != '-';
}

/* BCP 47 shape: a 2-3 letter language, then subtags of 1-8 alphanumerics
 * separated by '-' ("en", "en-GB", "zh-Hant-TW"); at most 35 bytes. */
int ct_locale_valid(const char *s)
{
    size_t n = strlen(s), i = 0;
    if (n < 2 || n > 35)
        return 0;
    while (i < n && isalpha((unsigned char)s[i]))
        i++;
    if (i < 2 || i > 3)
        return 0;
    while (i < n) {
        if (s[i] != '-')
            return 0;
        size_t j = ++i;
        while (i < n && isalnum((unsigned char)s[i]))
            i++;
        if (i - j < 1 || i - j > 8)
            return 0;
    }
    return 1;
}

/* [A-Za-z0-9._-]{1,64}: safe in keys ("tenant/customer_id"), Redis keys
 * and file names. */
int ct_tenant_valid(const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p; p++, n++) {
        unsigned char c = (unsigned char)*p;
        if (!(isalnum(c) || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return n >= 1 && n <= CT_TENANT_MAX;
}

static int hex32_lower(const char *s, size_t n)
{
    int nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
        if (c != '0')
            nonzero = 1;
    }
    return nonzero;
}

/* One digest context per thread, reused (freed by ct_thread_cleanup),
 * and the SHA-256 implementation fetched once for the process: passing
 * EVP_sha256() to EVP_DigestInit_ex makes OpenSSL 3 fetch it from its
 * provider store on every call (locks and a hash lookup: ~60% of the cost
 * of a trace id). */
static _Thread_local EVP_MD_CTX *trace_ctx;
static EVP_MD *trace_md;
static pthread_once_t trace_md_once = PTHREAD_ONCE_INIT;

static void trace_md_fetch(void)
{
    trace_md = EVP_MD_fetch(NULL, "SHA256", NULL); /* kept for the process */
}

void ct_fields_thread_cleanup(void)
{
    EVP_MD_CTX_free(trace_ctx);
    trace_ctx = NULL;
}

void ct_trace_id(const char *given, const char *tenant, const char *source, const char *id,
                 char out[33])
{
    if (given) {
        size_t n = strlen(given);
        /* traceparent: version "00", trace id, parent id, flags */
        if (n == 55 && given[0] == '0' && given[1] == '0' && given[2] == '-' && given[35] == '-' &&
            given[52] == '-' && hex32_lower(given + 3, 32)) {
            memcpy(out, given + 3, 32);
            out[32] = 0;
            return;
        }
        if (n == 32 && hex32_lower(given, 32)) {
            memcpy(out, given, 33);
            return;
        }
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t lt = strlen(tenant), ls = strlen(source), li = strlen(id);
    char buf[CT_TENANT_MAX + 2 * CT_ID_MAX + 3];
    if (lt > CT_TENANT_MAX)
        lt = CT_TENANT_MAX;
    if (ls > CT_ID_MAX)
        ls = CT_ID_MAX;
    if (li > CT_ID_MAX)
        li = CT_ID_MAX;
    memcpy(buf, tenant, lt);
    buf[lt] = 0;
    memcpy(buf + lt + 1, source, ls);
    buf[lt + 1 + ls] = 0;
    memcpy(buf + lt + ls + 2, id, li);
    pthread_once(&trace_md_once, trace_md_fetch);
    EVP_MD_CTX *ctx = trace_ctx;
    if (!ctx)
        ctx = trace_ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, trace_md ? trace_md : EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, buf, lt + ls + 2 + li) != 1 ||
        EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen < 16)
        memset(md, 0x11, 16);
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hx[md[i] >> 4];
        out[2 * i + 1] = hx[md[i] & 15];
    }
    out[32] = 0;
}
