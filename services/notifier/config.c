/* config.c -- provider settings, global and per tenant. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "sign.h"

#define F(n, s)                                                                                    \
    {                                                                                              \
#n, offsetof(ntf_tenant_cfg, n), s                                                         \
    }
const ntf_config_field ntf_config_fields[] = {
    F(smtp_url, 0),    F(smtp_user, 0),       F(smtp_password, 1), F(smtp_from, 0),
    F(reply_to, 0),    F(unsubscribe_url, 0), F(sms_url, 0),       F(sms_account, 0),
    F(sms_token, 1),   F(sms_from, 0),        F(webhook_url, 0),   F(webhook_secret, 1),
    F(paylink_url, 0), F(paylink_secret, 1),  {NULL, 0, 0}};
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

char *ntf_read_secret_file(const char *path, char *errstr, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(errstr, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = 0;
    char *s = strdup(buf);
    if (!s)
        snprintf(errstr, errlen, "out of memory");
    return s;
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
            if (!f->name || (is_file && !f->secret) || !json_is_string(val)) {
                snprintf(errstr, errlen, "%s: tenant '%s': unknown setting or not a string: %s",
                         path, tname, key);
                rc = -1;
                break;
            }
            if (is_file) {
                char *s = ntf_read_secret_file(json_string_value(val), errstr, errlen);
                if (!s) {
                    rc = -1;
                    break;
                }
                ntf_config_set(t, base, s);
                free(s);
            } else {
                ntf_config_set(t, base, json_string_value(val));
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

int ntf_config_check(const ntf_tenant_cfg *t, char *errstr, size_t errlen)
{
    unsigned char key[512];
    if (t->webhook_secret && cm_whsec_key(t->webhook_secret, key, sizeof key) < 0) {
        snprintf(errstr, errlen, "webhook_secret: must be whsec_<base64 key>");
        return -1;
    }
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
