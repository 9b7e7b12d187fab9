/* policy_set.c -- the policies of every tenant (ARREARS_POLICY_DIR).
 *
 * Design: a directory holds default.json plus <tenant>.json files; each is
 * a whole policy (docs/policy.md), parsed and validated by policy.c. A set
 * is loaded whole or not at all: every file is checked, and every error is
 * reported (one per line, "<file>: policy <path>: <rule>"), so a reload
 * that fails leaves the running set untouched and says everything that is
 * wrong at once. A tenant without a file of its own runs default.json.
 * Each policy's version is the FNV-1a 64 hash of its file's bytes, so the
 * same file always has the same version (shown by /readyz and the logs).
 *
 * Ownership: the set owns its policies (each allocated once and never
 * moved: a policy's parsed parts point into its own allocations); free
 * with sch_policy_set_free. */
#include "policy_set.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"
#include "str.h"
#include "validate.h"

#define SET_FILE_MAX (16 << 20)

/* The whole file, NUL-terminated (malloc'd), or NULL with errstr. */
static char *slurp(const char *path, size_t *len, char *errstr, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    if (!f) {
        snprintf(errstr, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) < 0)
        goto fail;
    long n = ftell(f);
    if (n < 0 || n > SET_FILE_MAX)
        goto fail;
    rewind(f);
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
        goto fail;
    buf[n] = 0;
    *len = (size_t)n;
    fclose(f);
    return buf;
fail:
    snprintf(errstr, errlen, "%s: not a readable file under 16 MiB", path);
    free(buf);
    fclose(f);
    return NULL;
}

/* Adds the policy of path for tenant ("" default). 0, or -1 with the
 * error appended to errs. */
static int add_file(sch_policy_set *s, const char *tenant, const char *path, char *errs,
                    size_t errlen)
{
    char err[5200];
    size_t len = 0;
    char *text = slurp(path, &len, err, sizeof err);
    sch_policy *p = NULL;
    int rc = -1;
    if (!text)
        goto cleanup;
    p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, sizeof err, "%s: out of memory", path);
        goto cleanup;
    }
    char perr[1000];
    if (sch_policy_parse(text, p, perr, sizeof perr) < 0) {
        snprintf(err, sizeof err, "%s: %s", path, perr);
        free(p);
        p = NULL;
        goto cleanup;
    }
    sch_policy_set_entry *e = realloc(s->v, (size_t)(s->n + 1) * sizeof *e);
    if (!e) {
        snprintf(err, sizeof err, "%s: out of memory", path);
        goto cleanup;
    }
    s->v = e;
    e = &s->v[s->n++];
    cm_strlcpy(e->tenant, tenant, sizeof e->tenant);
    e->pol = p;
    e->version = cm_fnv1a64(text, len);
    p = NULL; /* now owned by the set */
    rc = 0;
cleanup:
    if (rc < 0) {
        size_t used = strlen(errs);
        snprintf(errs + used, errlen > used ? errlen - used : 0, "%s%s", used ? "\n" : "", err);
    }
    if (p) {
        sch_policy_free(p);
        free(p);
    }
    free(text);
    return rc;
}

static int by_tenant(const void *a, const void *b)
{
    return strcmp(((const sch_policy_set_entry *)a)->tenant,
                  ((const sch_policy_set_entry *)b)->tenant);
}

int sch_policy_set_load_file(sch_policy_set *s, const char *path, char *errstr, size_t errlen)
{
    memset(s, 0, sizeof *s);
    if (errlen)
        errstr[0] = 0;
    if (add_file(s, "", path, errstr, errlen) < 0) {
        sch_policy_set_free(s);
        return -1;
    }
    return 0;
}

int sch_policy_set_load_dir(sch_policy_set *s, const char *dir, char *errstr, size_t errlen)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int bad = 0, have_default = 0;
    char path[4096];
    memset(s, 0, sizeof *s);
    if (errlen)
        errstr[0] = 0;
    if (!d) {
        snprintf(errstr, errlen, "%s: cannot open the directory: %s", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (de->d_name[0] == '.' || n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
            continue; /* only *.json; editors' backups and hidden files are not policies */
        char tenant[CT_TENANT_MAX + 1];
        size_t tl = n - 5;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (tl <= CT_TENANT_MAX) {
            memcpy(tenant, de->d_name, tl);
            tenant[tl] = 0;
        }
        if (tl > CT_TENANT_MAX || !ct_tenant_valid(tenant)) {
            size_t used = strlen(errstr);
            snprintf(errstr + used, errlen > used ? errlen - used : 0,
                     "%s%s: the name must be <tenant>.json (a valid tenant) or default.json",
                     used ? "\n" : "", path);
            bad = 1;
            continue;
        }
        int dflt = strcmp(tenant, "default") == 0;
        have_default |= dflt;
        if (add_file(s, dflt ? "" : tenant, path, errstr, errlen) < 0)
            bad = 1;
    }
    closedir(d);
    if (!have_default && !bad) {
        snprintf(errstr, errlen, "%s: no default.json (the policy of tenants without a file)", dir);
        bad = 1;
    }
    if (bad) {
        sch_policy_set_free(s);
        return -1;
    }
    qsort(s->v, (size_t)s->n, sizeof *s->v, by_tenant); /* "" (default) first */
    return 0;
}

const sch_policy *sch_policy_set_for(const sch_policy_set *s, const char *tenant)
{
    int lo = 1, hi = s->n - 1; /* v[0] is the default */
    while (tenant && lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(tenant, s->v[mid].tenant);
        if (c == 0)
            return s->v[mid].pol;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return s->n ? s->v[0].pol : NULL;
}

void sch_policy_set_describe(const sch_policy_set *s, char *buf, size_t len)
{
    size_t used = 0;
    if (len)
        buf[0] = 0;
    for (int i = 0; i < s->n && used < len; i++) {
        int w = snprintf(buf + used, len - used, "%s%s=%016llx", i ? " " : "",
                         s->v[i].tenant[0] ? s->v[i].tenant : "default",
                         (unsigned long long)s->v[i].version);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

void sch_policy_set_free(sch_policy_set *s)
{
    for (int i = 0; i < s->n; i++) {
        sch_policy_free(s->v[i].pol);
        free(s->v[i].pol);
    }
    free(s->v);
    memset(s, 0, sizeof *s);
}
