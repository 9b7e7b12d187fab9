/* config.c -- provider settings, global and per tenant. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "settings.h"
#include "sign.h"
#include "token.h"

#define F(n, s, i)                                                                                 \
    {                                                                                              \
#n, offsetof(ntf_tenant_cfg, n), s, i                                                      \
    }
const ntf_config_field ntf_config_fields[] = {
    F(smtp_url, 0, 0),    F(smtp_user, 0, 0),       F(smtp_password, 1, 0),
    F(smtp_from, 0, 0),   F(reply_to, 0, 0),        F(unsubscribe_url, 0, 0),
    F(sms_url, 0, 0),     F(sms_account, 0, 0),     F(sms_token, 1, 0),
    F(sms_from, 0, 0),    F(webhook_url, 0, 0),     F(webhook_secret, 1, 0),
    F(paylink_url, 0, 0), F(paylink_secret, 1, 0),  F(gateway_url, 0, 0),
    F(link_key_id, 0, 0), F(link_valid_days, 0, 1), {NULL, 0, 0, 0}};
#undef F

static char **slot(ntf_tenant_cfg *t, size_t off)
{
    return (char **)((char *)t + off);
}

int ntf_config_set(ntf_tenant_cfg *t, const char *name, const char *value)
{
    for (const ntf_config_field *f = ntf_config_fields; f->name; f++) {
        if (strcmp(f->name, name) != 0)
            continue;
        char **s = slot(t, f->offset);
        free(*s);
        *s = NULL;
        if (value && *value && !(*s = strdup(value)))
            return -1;
        return 0;
    }
    return -1;
}

static void tenant_free(ntf_tenant_cfg *t)
{
    free(t->name);
    for (const ntf_config_field *f = ntf_config_fields; f->name; f++)
        free(*slot(t, f->offset));
    memset(t, 0, sizeof *t);
}

static int tenant_copy(ntf_tenant_cfg *dst, const ntf_tenant_cfg *src)
{
    memset(dst, 0, sizeof *dst);
    for (const ntf_config_field *f = ntf_config_fields; f->name; f++) {
        char *v = *slot((ntf_tenant_cfg *)src, f->offset);
        if (v && !(*slot(dst, f->offset) = strdup(v)))
            return -1;
    }
    return 0;
}

int ntf_config_load_tenants(ntf_config *c, const char *path, char *errstr, size_t errlen)
{
    if (!path || !*path)
        return 0;
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        snprintf(errstr, errlen, "%s: %s", path,
                 root ? "must be an object of tenant -> settings" : jerr.text);
        json_decref(root);
        return -1;
    }
    size_t n = json_object_size(root);
    c->tenants = calloc(n ? n : 1, sizeof *c->tenants);
    if (!c->tenants) {
        json_decref(root);
        return -1;
    }
    const char *tname;
    json_t *tv;
    int rc = 0;
    json_object_foreach(root, tname, tv)
    {
        ntf_tenant_cfg *t = &c->tenants[c->ntenants++];
        if (tenant_copy(t, &c->global) < 0 || !(t->name = strdup(tname))) {
            rc = -1;
            snprintf(errstr, errlen, "out of memory");
            break;
        }
        if (!json_is_object(tv)) {
            snprintf(errstr, errlen, "%s: tenant '%s' must map to an object", path, tname);
            rc = -1;
            break;
        }
        const char *key;
        json_t *val;
        json_object_foreach(tv, key, val)
        {
            char base[64];
            int is_file = 0;
            size_t kl = strlen(key);
            snprintf(base, sizeof base, "%s", key);
            if (kl > 5 && strcmp(key + kl - 5, "_file") == 0) {
                base[kl - 5] = 0;
                is_file = 1;
            }
            const ntf_config_field *f = ntf_config_fields;
            while (f->name && strcmp(f->name, base) != 0)
                f++;
            char num[32] = "";
            if (f->name && !is_file && f->integer && json_is_integer(val))
                snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(val));
            if (!f->name || (is_file && !f->secret) || (!json_is_string(val) && !num[0])) {
                snprintf(errstr, errlen, "%s: tenant '%s': unknown setting or not a string: %s",
                         path, tname, key);
                rc = -1;
                break;
            }
            if (is_file) {
                char *s = NULL;
                if (cm_settings_file_value(json_string_value(val), &s, errstr, errlen) < 0) {
                    rc = -1;
                    break;
                }
                ntf_config_set(t, base, s);
                free(s);
            } else {
                ntf_config_set(t, base, num[0] ? num : json_string_value(val));
            }
        }
        if (rc < 0)
            break;
        if (ntf_config_check(t, errstr, errlen) < 0) {
            char tmp[512];
            snprintf(tmp, sizeof tmp, "%s: tenant '%s': %s", path, tname, errstr);
            snprintf(errstr, errlen, "%s", tmp);
            rc = -1;
            break;
        }
    }
    json_decref(root);
    return rc;
}

const ntf_tenant_cfg *ntf_config_tenant(const ntf_config *c, const char *tenant)
{
    for (size_t i = 0; i < c->ntenants; i++)
        if (strcmp(c->tenants[i].name, tenant) == 0)
            return &c->tenants[i];
    return &c->global;
}

void ntf_config_free(ntf_config *c)
{
    tenant_free(&c->global);
    for (size_t i = 0; i < c->ntenants; i++)
        tenant_free(&c->tenants[i]);
    free(c->tenants);
    c->tenants = NULL;
    c->ntenants = 0;
}

const char *ntf_config_link_kid(const ntf_tenant_cfg *t)
{
    return t->link_key_id ? t->link_key_id : NTF_LINK_KID_DEFAULT;
}

/* link_valid_days as a number: 1..NTF_LINK_VALID_DAYS_MAX, or -1. */
static int parse_days(const char *s)
{
    int n = 0;
    if (!s || !*s || strlen(s) > 4)
        return -1;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        n = n * 10 + (*p - '0');
    }
    return n >= 1 && n <= NTF_LINK_VALID_DAYS_MAX ? n : -1;
}

int ntf_config_link_days(const ntf_tenant_cfg *t)
{
    int n = parse_days(t->link_valid_days);
    return n > 0 ? n : NTF_LINK_VALID_DAYS_DEFAULT;
}

/* The rules of signed links (issue 17): the key and its kid as
 * cm_token_key_set takes them, the lifetime, the gateway's base URL. */
static int check_links(const ntf_tenant_cfg *t, char *errstr, size_t errlen)
{
    char err[160];
    cm_token_key k;
    /* the kid is checked even without a key (with a stand-in one), so a
     * typo shows before the secret is added */
    const char *secret = t->paylink_secret ? t->paylink_secret : "0123456789abcdef";
    if (cm_token_key_set(&k, ntf_config_link_kid(t), secret, err, sizeof err) < 0) {
        if (strncmp(err, "key id", 6) == 0)
            snprintf(errstr, errlen, "link_key_id: must be 1-%d of [A-Za-z0-9._-]",
                     CM_TOKEN_KID_MAX);
        else
            snprintf(errstr, errlen, "paylink_secret: must be 16-%d bytes, is %zu",
                     CM_TOKEN_KEY_MAX, strlen(secret));
        return -1;
    }
    if (t->link_valid_days && parse_days(t->link_valid_days) < 0) {
        snprintf(errstr, errlen, "link_valid_days: must be a whole number of days, 1-%d",
                 NTF_LINK_VALID_DAYS_MAX);
        return -1;
    }
    if (t->gateway_url) {
        const char *u = t->gateway_url;
        size_t skip = strncmp(u, "https://", 8) == 0 ? 8 : strncmp(u, "http://", 7) == 0 ? 7 : 0;
        int bad = skip == 0 || !u[skip] || u[skip] == '/';
        for (const unsigned char *p = (const unsigned char *)u; !bad && *p; p++)
            bad = *p <= 0x20 || *p >= 0x7f || strchr("?#<>\"\\{}|^`", *p) != NULL;
        if (bad) {
            snprintf(errstr, errlen,
                     "gateway_url: must be http(s)://host[:port][/path], without a query, "
                     "fragment, spaces or <>\"");
            return -1;
        }
        if (!t->paylink_secret) {
            snprintf(errstr, errlen, "paylink_secret: required when gateway_url is set");
            return -1;
        }
    }
    return 0;
}

int ntf_config_check(const ntf_tenant_cfg *t, char *errstr, size_t errlen)
{
    unsigned char key[512];
    if (t->webhook_secret && cm_whsec_key(t->webhook_secret, key, sizeof key) < 0) {
        snprintf(errstr, errlen, "webhook_secret: must be whsec_<base64 key>");
        return -1;
    }
    if (check_links(t, errstr, errlen) < 0)
        return -1;
    if (t->paylink_url && !t->paylink_secret) {
        snprintf(errstr, errlen, "paylink_secret: required when paylink_url is set");
        return -1;
    }
    if (t->paylink_url && !strstr(t->paylink_url, "{token}")) {
        snprintf(errstr, errlen, "paylink_url: must contain {token}");
        return -1;
    }
    if (t->smtp_url && !t->smtp_from) {
        snprintf(errstr, errlen, "smtp_from: required when smtp_url is set");
        return -1;
    }
    if (t->sms_url && !t->sms_account) {
        snprintf(errstr, errlen, "sms_account: required when sms_url is set");
        return -1;
    }
    if (t->sms_url && !t->sms_from) {
        snprintf(errstr, errlen, "sms_from: required when sms_url is set");
        return -1;
    }
    return 0;
}
