/* tenants.c -- ARREARS_GATEWAY_TENANTS_FILE: what the pages need per
 * tenant (pages.h).
 *
 * Design: one JSON object keyed by tenant, read once at start (a change
 * takes effect on restart). Every problem is collected with the field and
 * the rule, so --check-config names them all at once. Unknown members are
 * refused: a misspelt "promise_max_day" must not silently fall back to a
 * default. A key may come from "secret" or from "secret_file" (a mounted
 * Secret; one trailing newline dropped). The page's CSP allows the form of
 * Pay now to go to pay_url's origin (browsers apply form-action to the
 * redirect a form submission gets). */
#include "pages.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"

typedef struct errs {
    char *s;
    size_t len, o;
    int n;
} errs;

static void bad(errs *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad(errs *e, const char *fmt, ...)
{
    va_list ap;
    if (e->o + 2 >= e->len)
        return;
    if (e->n++)
        e->o += (size_t)snprintf(e->s + e->o, e->len - e->o, "; ");
    if (e->o >= e->len)
        return;
    va_start(ap, fmt);
    int w = vsnprintf(e->s + e->o, e->len - e->o, fmt, ap);
    va_end(ap);
    if (w > 0)
        e->o += (size_t)w;
    if (e->o >= e->len)
        e->o = e->len - 1;
}

static int tenant_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CT_TENANT_MAX)
        return 0;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static int locale_ok(const char *s)
{
    size_t n = strlen(s), a = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
    if (n == 0 || n > 15 || a < 2 || a > 3)
        return 0;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

/* Reads a secret file into buf (NUL-terminated, one trailing newline
 * dropped); 0 or -1. */
static void keys(const char *tn, json_t *arr, gw_tenant *t, errs *e)
{
    if (!json_is_array(arr) || json_array_size(arr) < 1 || json_array_size(arr) > 2) {
        bad(e, "%s.link_keys: required, an array of 1 or 2 keys (current, previous)", tn);
        return;
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *k = json_array_get(arr, i);
        const char *kid = json_string_value(json_object_get(k, "kid"));
        const char *sec = json_string_value(json_object_get(k, "secret"));
        const char *file = json_string_value(json_object_get(k, "secret_file"));
        char why[160], fwhy[256];
        char *fromfile = NULL;
        const char *m;
        json_t *v;
        if (!json_is_object(k)) {
            bad(e, "%s.link_keys[%zu]: must be an object {kid, secret | secret_file}", tn, i);
            continue;
        }
        json_object_foreach(k, m, v) if (strcmp(m, "kid") && strcmp(m, "secret") &&
                                         strcmp(m, "secret_file"))
            bad(e, "%s.link_keys[%zu].%s: unknown member", tn, i, m);
        if (!!sec == !!file) {
            bad(e, "%s.link_keys[%zu]: exactly one of secret and secret_file (strings)", tn, i);
            continue;
        }
        if (file && cm_settings_file_value(file, &fromfile, fwhy, sizeof fwhy) != 0) {
            bad(e, "%s.link_keys[%zu].secret_file: %s", tn, i, fwhy);
            continue;
        }
        int krc = cm_token_key_set(&t->keys.k[t->keys.n], kid ? kid : "", file ? fromfile : sec,
                                   why, sizeof why);
        if (fromfile) {
            memset(fromfile, 0, strlen(fromfile)); /* the key holds its own copy */
            free(fromfile);
        }
        if (krc != 0) {
            bad(e, "%s.link_keys[%zu].%s", tn, i, why);
            continue;
        }
        if (t->keys.n == 1 && strcmp(t->keys.k[0].kid, t->keys.k[1].kid) == 0) {
            bad(e, "%s.link_keys[%zu].kid: must differ from the current key's", tn, i);
            continue;
        }
        t->keys.n++;
    }
}

/* pay_url: http(s)://host..., and its origin appended to the CSP. */
static void pay_url(const char *tn, json_t *v, gw_tenant *t, errs *e)
{
    const char *u = json_string_value(v);
    if (!v)
        return;
    size_t sl = u && strncmp(u, "https://", 8) == 0  ? 8
                : u && strncmp(u, "http://", 7) == 0 ? 7
                                                     : 0;
    if (!sl || strlen(u) > 2000 || strcspn(u + sl, "/?#") == 0 || strpbrk(u, " \"'<>;\\\t\r\n")) {
        bad(e,
            "%s.pay_url: must be an http(s) URL of at most 2000 bytes without spaces, quotes, "
            "<, > or ;",
            tn);
        return;
    }
    size_t ol = sl + strcspn(u + sl, "/?#");
    t->pay_url = strdup(u);
    size_t cl = strlen(GW_CSP) + ol + 64;
    t->csp = malloc(cl);
    if (!t->pay_url || !t->csp) {
        bad(e, "%s.pay_url: out of memory", tn);
        return;
    }
    snprintf(t->csp, cl,
             "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' %.*s; "
             "frame-ancestors 'none'; base-uri 'none'",
             (int)ol, u);
}

static void tenant(const char *tn, json_t *o, gw_tenant *t, errs *e)
{
    const char *m;
    json_t *v;
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", tn);
    t->promise_max_days = 30;
    snprintf(t->locale, sizeof t->locale, "en-GB");
    if (!tenant_ok(tn))
        bad(e, "%s: a tenant is 1-%d of [A-Za-z0-9._-]", tn, CT_TENANT_MAX);
    if (!json_is_object(o)) {
        bad(e, "%s: must be an object {link_keys, pay_url, promise_max_days, locale}", tn);
        return;
    }
    json_object_foreach(o, m, v)
    {
        if (strcmp(m, "link_keys") && strcmp(m, "pay_url") && strcmp(m, "promise_max_days") &&
            strcmp(m, "locale"))
            bad(e, "%s.%s: unknown member", tn, m);
    }
    keys(tn, json_object_get(o, "link_keys"), t, e);
    pay_url(tn, json_object_get(o, "pay_url"), t, e);
    if ((v = json_object_get(o, "promise_max_days"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > GW_PROMISE_MAX_DAYS)
            bad(e, "%s.promise_max_days: must be an integer from 1 to %d", tn, GW_PROMISE_MAX_DAYS);
        else
            t->promise_max_days = (int)json_integer_value(v);
    }
    if ((v = json_object_get(o, "locale"))) {
        if (!json_is_string(v) || !locale_ok(json_string_value(v)))
            bad(e, "%s.locale: must be a locale such as en-GB or de-DE", tn);
        else
            snprintf(t->locale, sizeof t->locale, "%s", json_string_value(v));
    }
}

static void tenant_free(gw_tenant *t)
{
    free(t->pay_url);
    free(t->csp);
    memset(t, 0, sizeof *t);
}

int gw_pages_init(gw_pages *p, double rate)
{
    memset(p, 0, sizeof *p);
    p->rate = rate;
    pthread_mutex_init(&p->mu, NULL);
    p->slots = calloc(GW_PAGE_SLOTS, sizeof *p->slots);
    return p->slots ? 0 : -1;
}

int gw_pages_parse(gw_pages *p, const char *text, size_t len, char *errstr, size_t errlen)
{
    errs e = {errstr, errlen, 0, 0};
    json_error_t je;
    errstr[0] = 0;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(root)) {
        if (root)
            bad(&e, "(file): must be a JSON object keyed by tenant");
        else
            bad(&e, "(file): not JSON: line %d: %s", je.line, je.text);
        json_decref(root);
        return -1;
    }
    size_t need = p->n + json_object_size(root);
    gw_tenant *nt = realloc(p->t, (need ? need : 1) * sizeof *nt);
    if (!nt) {
        json_decref(root);
        bad(&e, "(file): out of memory");
        return -1;
    }
    p->t = nt;
    const char *tn;
    json_t *v;
    json_object_foreach(root, tn, v)
    {
        if (gw_pages_tenant(p, tn)) {
            bad(&e, "%s: given twice", tn);
            continue;
        }
        tenant(tn, v, &p->t[p->n], &e);
        p->n++;
    }
    json_decref(root);
    return e.n ? -1 : 0;
}

int gw_pages_load(gw_pages *p, const char *path, char *errstr, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    cm_buf b = CM_BUF_INIT;
    char chunk[4096], why[1024];
    size_t n;
    if (!f) {
        snprintf(errstr, errlen, "ARREARS_GATEWAY_TENANTS_FILE: cannot open %s", path);
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len < (1u << 20))
        cm_buf_add(&b, chunk, n);
    fclose(f);
    int rc = -1;
    if (b.oom || b.len >= (1u << 20))
        snprintf(errstr, errlen, "ARREARS_GATEWAY_TENANTS_FILE: %s: unreadable or over 1 MiB",
                 path);
    else if (gw_pages_parse(p, b.p ? b.p : "", b.len, why, sizeof why) != 0)
        snprintf(errstr, errlen, "ARREARS_GATEWAY_TENANTS_FILE: %s: %s", path, why);
    else
        rc = 0;
    cm_buf_free(&b);
    return rc;
}

const gw_tenant *gw_pages_tenant(const gw_pages *p, const char *name)
{
    for (size_t i = 0; p && name && i < p->n; i++)
        if (strcmp(p->t[i].name, name) == 0)
            return &p->t[i];
    return NULL;
}

void gw_pages_free(gw_pages *p)
{
    for (size_t i = 0; i < p->n; i++)
        tenant_free(&p->t[i]);
    free(p->t);
    if (p->slots) /* initialized */
        pthread_mutex_destroy(&p->mu);
    free(p->slots);
    memset(p, 0, sizeof *p);
}
