/* templates.c -- message templates loaded from a directory tree.
 *
 * Design: a few hundred small files, read once into one flat array and
 * searched linearly (a handful of lookups per message is far cheaper than
 * the send). A ConfigMap update takes effect on the next restart (a
 * rolling restart of the deployment). */
#include "templates.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FILE (256 * 1024)

typedef struct entry {
    char *tenant, *locale, *channel, *name;
    char *text;
    size_t len;
} entry;

typedef struct tvars {
    char *tenant;
    json_t *vars;
} tvars;

struct ntf_templates {
    entry *e;
    size_t n, cap;
    tvars *v;
    size_t nv;
};

static int visible(const char *name)
{
    /* skips ., .., and the ..data / ..2026_... links of a ConfigMap mount */
    return name[0] != '.';
}

/* dir "/" name into out; -1 when it does not fit. */
static int join(char *out, size_t outlen, const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    if (a + b + 2 > outlen)
        return -1;
    memcpy(out, dir, a);
    out[a] = '/';
    memcpy(out + a + 1, name, b + 1);
    return 0;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *read_file(const char *path, size_t *len, char *errstr, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    if (!f) {
        snprintf(errstr, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    buf = malloc(MAX_FILE + 1);
    if (!buf) {
        fclose(f);
        snprintf(errstr, errlen, "out of memory");
        return NULL;
    }
    size_t n = fread(buf, 1, MAX_FILE + 1, f);
    int err = ferror(f);
    fclose(f);
    if (err || n > MAX_FILE) {
        snprintf(errstr, errlen, "%s: %s", path, err ? "read error" : "larger than 256 KiB");
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    if (memchr(buf, 0, n)) {
        snprintf(errstr, errlen, "%s: contains a NUL byte", path);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static int add_entry(ntf_templates *t, const char *tenant, const char *locale, const char *channel,
                     const char *name, char *text, size_t len)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        entry *e = realloc(t->e, cap * sizeof *e);
        if (!e)
            return -1;
        t->e = e;
        t->cap = cap;
    }
    entry *e = &t->e[t->n];
    e->tenant = strdup(tenant);
    e->locale = strdup(locale);
    e->channel = strdup(channel);
    e->name = strdup(name);
    e->text = text;
    e->len = len;
    t->n++;
    if (!e->tenant || !e->locale || !e->channel || !e->name)
        return -1;
    return 0;
}

static int load_channel(ntf_templates *t, const char *path, const char *tenant, const char *locale,
                        const char *channel, char *errstr, size_t errlen)
{
    DIR *d = opendir(path);
    if (!d) {
        snprintf(errstr, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d))) {
        if (!visible(de->d_name))
            continue;
        char fp[4096];
        if (join(fp, sizeof fp, path, de->d_name) < 0)
            continue;
        if (is_dir(fp))
            continue;
        size_t len = 0;
        char *text = read_file(fp, &len, errstr, errlen);
        if (!text) {
            rc = -1;
            break;
        }
        if (add_entry(t, tenant, locale, channel, de->d_name, text, len) < 0) {
            snprintf(errstr, errlen, "out of memory");
            rc = -1;
        }
    }
    closedir(d);
    return rc;
}

/* A tenant's vars.json: variables every template of the tenant may use. */
static int load_vars(ntf_templates *t, const char *path, const char *tenant, char *errstr,
                     size_t errlen)
{
    json_error_t jerr;
    json_t *v = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(v)) {
        snprintf(errstr, errlen, "%s: %s", path, v ? "not a JSON object" : jerr.text);
        json_decref(v);
        return -1;
    }
    tvars *nv = realloc(t->v, (t->nv + 1) * sizeof *nv);
    if (!nv) {
        json_decref(v);
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    t->v = nv;
    t->v[t->nv].tenant = strdup(tenant);
    t->v[t->nv].vars = v;
    t->nv++;
    return 0;
}

/* The flat layout of a Kubernetes ConfigMap (keys cannot hold '/'):
 * "<tenant>__<locale>__<channel>__<file>" is <tenant>/<locale>/<channel>/<file>
 * and "<tenant>__vars.json" is <tenant>/vars.json. Other names are ignored. */
static int load_flat(ntf_templates *t, const char *path, const char *name, char *errstr,
                     size_t errlen)
{
    char buf[1024], *part[4];
    int n = 0;
    if (strlen(name) >= sizeof buf)
        return 0;
    strcpy(buf, name);
    for (char *p = buf; n < 4;) {
        part[n++] = p;
        char *sep = strstr(p, "__");
        if (!sep || n == 4)
            break;
        *sep = 0;
        p = sep + 2;
    }
    for (int i = 0; i < n; i++)
        if (!*part[i])
            return 0;
    if (n == 2 && strcmp(part[1], "vars.json") == 0)
        return load_vars(t, path, part[0], errstr, errlen);
    if (n != 4)
        return 0;
    size_t len = 0;
    char *text = read_file(path, &len, errstr, errlen);
    if (!text)
        return -1;
    if (add_entry(t, part[0], part[1], part[2], part[3], text, len) < 0) {
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static int load_tenant(ntf_templates *t, const char *path, const char *tenant, char *errstr,
                       size_t errlen)
{
    DIR *d = opendir(path);
    if (!d) {
        snprintf(errstr, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d))) {
        if (!visible(de->d_name))
            continue;
        char lp[4096];
        if (join(lp, sizeof lp, path, de->d_name) < 0)
            continue;
        if (strcmp(de->d_name, "vars.json") == 0) {
            rc = load_vars(t, lp, tenant, errstr, errlen);
            continue;
        }
        if (!is_dir(lp))
            continue;
        DIR *cd = opendir(lp);
        if (!cd) {
            snprintf(errstr, errlen, "%s: %s", lp, strerror(errno));
            rc = -1;
            break;
        }
        struct dirent *ce;
        while (rc == 0 && (ce = readdir(cd))) {
            if (!visible(ce->d_name))
                continue;
            char cp[4096];
            if (join(cp, sizeof cp, lp, ce->d_name) < 0)
                continue;
            if (is_dir(cp))
                rc = load_channel(t, cp, tenant, de->d_name, ce->d_name, errstr, errlen);
        }
        closedir(cd);
    }
    closedir(d);
    return rc;
}

ntf_templates *ntf_templates_load(const char *dir, char *errstr, size_t errlen)
{
    ntf_templates *t = calloc(1, sizeof *t);
    DIR *d = NULL;
    if (!t) {
        snprintf(errstr, errlen, "out of memory");
        return NULL;
    }
    d = opendir(dir);
    if (!d) {
        snprintf(errstr, errlen, "templates directory %s: %s", dir, strerror(errno));
        goto fail;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!visible(de->d_name))
            continue;
        char tp[4096];
        if (join(tp, sizeof tp, dir, de->d_name) < 0)
            continue;
        if (is_dir(tp) ? load_tenant(t, tp, de->d_name, errstr, errlen) < 0
                       : load_flat(t, tp, de->d_name, errstr, errlen) < 0)
            goto fail;
    }
    closedir(d);
    return t;
fail:
    if (d)
        closedir(d);
    ntf_templates_free(t);
    return NULL;
}

void ntf_templates_free(ntf_templates *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->e[i].tenant);
        free(t->e[i].locale);
        free(t->e[i].channel);
        free(t->e[i].name);
        free(t->e[i].text);
    }
    for (size_t i = 0; i < t->nv; i++) {
        free(t->v[i].tenant);
        json_decref(t->v[i].vars);
    }
    free(t->e);
    free(t->v);
    free(t);
}

size_t ntf_templates_count(const ntf_templates *t)
{
    return t->n;
}

static const entry *get(const ntf_templates *t, const char *tenant, const char *locale,
                        const char *channel, const char *id, const char *ext)
{
    size_t idl = strlen(id);
    for (size_t i = 0; i < t->n; i++) {
        const entry *e = &t->e[i];
        if (strcmp(e->tenant, tenant) || strcmp(e->locale, locale) || strcmp(e->channel, channel))
            continue;
        if (strncmp(e->name, id, idl) == 0 && e->name[idl] == '.' &&
            strcmp(e->name + idl + 1, ext) == 0)
            return e;
    }
    return NULL;
}

static int has_main(const ntf_templates *t, const char *tenant, const char *locale,
                    const char *channel, const char *id)
{
    return get(t, tenant, locale, channel, id, "txt") != NULL;
}

/* A locale of tenant with the same language as want ("de" for "de-AT")
 * that has the template, or NULL. */
static const char *same_language(const ntf_templates *t, const char *tenant, const char *want,
                                 const char *channel, const char *id)
{
    size_t ll = strcspn(want, "-_");
    for (size_t i = 0; i < t->n; i++) {
        const entry *e = &t->e[i];
        if (strcmp(e->tenant, tenant) || strcmp(e->channel, channel))
            continue;
        if (strncmp(e->locale, want, ll) == 0 &&
            (e->locale[ll] == 0 || e->locale[ll] == '-' || e->locale[ll] == '_') &&
            has_main(t, tenant, e->locale, channel, id))
            return e->locale;
    }
    return NULL;
}

int ntf_templates_find(const ntf_templates *t, const char *tenant, const char *locale,
                       const char *channel, const char *id, ntf_template_set *out, char *errstr,
                       size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *tenants[2] = {tenant, "default"};
    const char *found_t = NULL, *found_l = NULL;
    for (int pass = 0; pass < 3 && !found_t; pass++) {
        for (int ti = 0; ti < 2 && !found_t; ti++) {
            const char *tn = tenants[ti];
            if (ti == 1 && strcmp(tenant, "default") == 0)
                break;
            const char *l = NULL;
            if (pass == 0)
                l = has_main(t, tn, locale, channel, id) ? locale : NULL;
            else if (pass == 1)
                l = same_language(t, tn, locale, channel, id);
            else
                l = has_main(t, tn, "en-GB", channel, id) ? "en-GB" : NULL;
            if (l) {
                found_t = tn;
                found_l = l;
            }
        }
    }
    if (!found_t) {
        snprintf(errstr, errlen,
                 "no template %s/%s for tenant '%s' locale '%s' (nor default, nor en-GB)", channel,
                 id, tenant, locale);
        return -1;
    }
    const entry *txt = get(t, found_t, found_l, channel, id, "txt");
    out->tenant = txt->tenant;
    out->locale = txt->locale;
    out->text = txt->text;
    out->text_len = txt->len;
    if (strcmp(channel, "email") == 0) {
        const entry *sub = get(t, found_t, found_l, channel, id, "subject");
        const entry *html = get(t, found_t, found_l, channel, id, "html");
        if (!sub || !html) {
            snprintf(errstr, errlen, "template %s/%s/email/%s.%s is missing", found_t, found_l, id,
                     sub ? "html" : "subject");
            return -1;
        }
        out->subject = sub->text;
        out->subject_len = sub->len;
        out->html = html->text;
        out->html_len = html->len;
    }
    const entry *oo = get(t, found_t, found_l, channel, "_opt_out", "txt");
    if (oo) {
        out->opt_out = oo->text;
        out->opt_out_len = oo->len;
    }
    return 0;
}

json_t *ntf_templates_vars(const ntf_templates *t, const char *tenant)
{
    json_t *v = json_object();
    for (int pass = 0; pass < 2; pass++) {
        const char *want = pass == 0 ? "default" : tenant;
        if (pass == 1 && strcmp(tenant, "default") == 0)
            break;
        for (size_t i = 0; i < t->nv; i++)
            if (strcmp(t->v[i].tenant, want) == 0)
                json_object_update(v, t->v[i].vars);
    }
    return v;
}
