/* tz.c -- IANA time zones from TZif files, with the POSIX TZ footer rule.
 *
 * A TZif file (RFC 8536) lists UTC transitions and local time types; for
 * instants after the last transition, its footer holds a POSIX TZ string
 * such as "GMT0BST,M3.5.0/1,M10.5.0" (Debian's "slim" files rely on it from
 * a few years after the last rule change). Only the version 2+ 64-bit block
 * is read. Zones are cached for the life of the process, found by name
 * through a cm_map (the scheduler asks twice per timer it fires, and a
 * strcmp down a list of every zone seen cost 550 instructions a call with
 * the bench's 14 zones). */
#include "tz.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "map.h"

typedef struct tz_rule_date {
    char kind; /* 'M' (month.week.day), 'J' (1..365, no Feb 29), 'D' (0..365) */
    int m, w, d, n;
    int32_t time; /* seconds after local midnight */
} tz_rule_date;

struct cm_tz {
    char name[128];
    int64_t *trans; /* seconds */
    uint8_t *idx;
    int32_t *offs;
    int ntrans, ntypes;
    int32_t first_off;
    int has_footer, has_dst;
    int32_t std_off, dst_off; /* seconds east of UTC */
    tz_rule_date start, end;
};

static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;
static cm_tz **tz_cache;
static size_t tz_n;
static cm_map tz_names; /* name -> index in tz_cache */

static int64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    if (n == 4)
        return (int32_t)(uint32_t)v;
    return (int64_t)v;
}

/* ---- POSIX TZ strings -------------------------------------------------- */

static const char *skip_name(const char *p)
{
    if (*p == '<') {
        while (*p && *p != '>')
            p++;
        return *p ? p + 1 : NULL;
    }
    const char *s = p;
    while (isalpha((unsigned char)*p))
        p++;
    return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] into seconds. */
static const char *parse_hms(const char *p, int32_t *out)
{
    int sign = 1, h = 0, m = 0, s = 0;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (!isdigit((unsigned char)*p))
        return NULL;
    while (isdigit((unsigned char)*p))
        h = h * 10 + (*p++ - '0');
    if (*p == ':') {
        p++;
        while (isdigit((unsigned char)*p))
            m = m * 10 + (*p++ - '0');
        if (*p == ':') {
            p++;
            while (isdigit((unsigned char)*p))
                s = s * 10 + (*p++ - '0');
        }
    }
    *out = sign * (h * 3600 + m * 60 + s);
    return p;
}

static const char *parse_date(const char *p, tz_rule_date *r)
{
    memset(r, 0, sizeof(*r));
    r->time = 7200;
    if (*p == 'M') {
        r->kind = 'M';
        if (sscanf(p + 1, "%d.%d.%d", &r->m, &r->w, &r->d) != 3 || r->m < 1 || r->m > 12 ||
            r->w < 1 || r->w > 5 || r->d < 0 || r->d > 6)
            return NULL;
        p++;
        while (*p && (isdigit((unsigned char)*p) || *p == '.'))
            p++;
    } else if (*p == 'J' || isdigit((unsigned char)*p)) {
        r->kind = *p == 'J' ? 'J' : 'D';
        if (*p == 'J')
            p++;
        while (isdigit((unsigned char)*p))
            r->n = r->n * 10 + (*p++ - '0');
    } else {
        return NULL;
    }
    if (*p == '/')
        p = parse_hms(p + 1, &r->time);
    return p;
}

static int parse_posix(cm_tz *z, const char *s)
{
    const char *p = skip_name(s);
    int32_t off;
    if (!p || !(p = parse_hms(p, &off)))
        return -1;
    z->std_off = -off;
    z->dst_off = z->std_off;
    z->has_footer = 1;
    if (!*p)
        return 0;
    if (!(p = skip_name(p)))
        return -1;
    z->has_dst = 1;
    z->dst_off = z->std_off + 3600;
    if (*p && *p != ',') {
        if (!(p = parse_hms(p, &off)))
            return -1;
        z->dst_off = -off;
    }
    if (*p != ',' || !(p = parse_date(p + 1, &z->start)) || *p != ',' ||
        !(p = parse_date(p + 1, &z->end)) || *p)
        return -1;
    return 0;
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Local day number (days since epoch) of a rule date in year y. */
static int32_t rule_day(const tz_rule_date *r, int y)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int32_t jan1 = cm_days_from_civil(y, 1, 1);
    if (r->kind == 'J')
        return jan1 + r->n - 1 + (is_leap(y) && r->n >= 60 ? 1 : 0);
    if (r->kind == 'D')
        return jan1 + r->n;
    int32_t first = cm_days_from_civil(y, (unsigned)r->m, 1);
    int dow1 = (int)(((first % 7) + 11) % 7); /* 1970-01-01 was a Thursday (4) */
    int mday = 1 + (r->d - dow1 + 7) % 7 + 7 * (r->w - 1);
    int len = dim[r->m - 1] + (r->m == 2 && is_leap(y));
    while (mday > len)
        mday -= 7;
    return first + mday - 1;
}

static int32_t posix_offset(const cm_tz *z, int64_t t)
{
    if (!z->has_dst)
        return z->std_off;
    int y;
    unsigned m, d;
    cm_civil_from_days(cm_time_day((t + z->std_off) * 1000), &y, &m, &d);
    for (int yy = y - 1; yy <= y + 1; yy++) {
        /* DST in force between start (given in standard time) and end
         * (given in daylight time) of year yy. */
        int64_t s = (int64_t)rule_day(&z->start, yy) * 86400 + z->start.time - z->std_off;
        int64_t e = (int64_t)rule_day(&z->end, yy) * 86400 + z->end.time - z->dst_off;
        if (s < e) {
            if (t >= s && t < e)
                return z->dst_off;
        } else if (yy == y) { /* southern hemisphere: DST spans the new year */
            if (t < e || t >= s)
                return z->dst_off;
        }
    }
    return z->std_off;
}

/* ---- loading ------------------------------------------------------------- */

static int name_ok(const char *name)
{
    if (!name || !*name || strlen(name) >= 128 || name[0] == '/' || strstr(name, ".."))
        return 0;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p))
            return 0;
    return 1;
}

static cm_tz *load(const char *name, char *errstr, size_t errlen)
{
    char path[512];
    const char *dir = getenv("TZDIR");
    FILE *f = NULL;
    unsigned char *buf = NULL;
    cm_tz *z = NULL;
    long size;

    if (!name_ok(name)) {
        snprintf(errstr, errlen, "'%s' is not an IANA time zone name", name ? name : "");
        return NULL;
    }
    snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    f = fopen(path, "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 44 || size > (1 << 20) ||
        fseek(f, 0, SEEK_SET) != 0) {
        snprintf(errstr, errlen, "unknown time zone '%s'", name);
        goto fail;
    }
    buf = malloc((size_t)size + 1);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size)
        goto bad;
    buf[size] = 0;
    if (memcmp(buf, "TZif", 4) != 0 || buf[4] < '2')
        goto bad;
    /* skip the v1 block */
    const unsigned char *h = buf;
    int64_t c[6];
    for (int i = 0; i < 6; i++)
        c[i] = be(h + 20 + 4 * i, 4);
    size_t v1 = 44 + (size_t)(c[3] * 5 + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0]);
    if (v1 + 44 > (size_t)size)
        goto bad;
    h = buf + v1;
    if (memcmp(h, "TZif", 4) != 0)
        goto bad;
    for (int i = 0; i < 6; i++)
        c[i] = be(h + 20 + 4 * i, 4);
    int64_t isut = c[0], isstd = c[1], leap = c[2], timecnt = c[3], typecnt = c[4], charcnt = c[5];
    if (timecnt < 0 || typecnt < 1 || typecnt > 256 || charcnt < 0 || leap < 0)
        goto bad;
    const unsigned char *d = h + 44;
    size_t need = (size_t)(timecnt * 9 + typecnt * 6 + charcnt + leap * 12 + isstd + isut);
    if ((size_t)(d - buf) + need > (size_t)size)
        goto bad;
    z = calloc(1, sizeof(*z));
    if (!z)
        goto bad;
    snprintf(z->name, sizeof(z->name), "%s", name);
    z->ntrans = (int)timecnt;
    z->ntypes = (int)typecnt;
    z->trans = malloc(sizeof(int64_t) * (size_t)(timecnt ? timecnt : 1));
    z->idx = malloc((size_t)(timecnt ? timecnt : 1));
    z->offs = malloc(sizeof(int32_t) * (size_t)typecnt);
    if (!z->trans || !z->idx || !z->offs)
        goto bad;
    for (int64_t i = 0; i < timecnt; i++)
        z->trans[i] = be(d + 8 * i, 8);
    d += 8 * timecnt;
    for (int64_t i = 0; i < timecnt; i++) {
        z->idx[i] = d[i];
        if (d[i] >= typecnt)
            goto bad;
    }
    d += timecnt;
    for (int64_t i = 0; i < typecnt; i++)
        z->offs[i] = (int32_t)be(d + 6 * i, 4);
    z->first_off = z->offs[0];
    d += 6 * typecnt + charcnt + leap * 12 + isstd + isut;
    /* footer: "\n<posix>\n" */
    if (d < buf + size && *d == '\n') {
        const char *fs = (const char *)d + 1;
        char *nl = strchr(fs, '\n');
        if (nl && nl != fs) {
            *nl = 0;
            if (parse_posix(z, fs) != 0)
                z->has_footer = 0;
        }
    }
    free(buf);
    fclose(f);
    return z;
bad:
    snprintf(errstr, errlen, "time zone file for '%s' is malformed", name);
fail:
    if (z) {
        free(z->trans);
        free(z->idx);
        free(z->offs);
        free(z);
    }
    free(buf);
    if (f)
        fclose(f);
    return NULL;
}

const cm_tz *cm_tz_get(const char *name, char *errstr, size_t errlen)
{
    cm_tz *z = NULL;
    uint32_t at;
    size_t nlen = strlen(name);
    pthread_mutex_lock(&tz_lock);
    if (cm_map_get(&tz_names, name, nlen, &at)) {
        z = tz_cache[at];
        goto out;
    }
    z = load(name, errstr, errlen);
    if (z) {
        cm_tz **c = realloc(tz_cache, sizeof(*c) * (tz_n + 1));
        if (!c || cm_map_put(&tz_names, name, nlen, (uint32_t)tz_n) < 0) {
            if (c)
                tz_cache = c;
            free(z->trans);
            free(z->idx);
            free(z->offs);
            free(z);
            z = NULL;
            snprintf(errstr, errlen, "out of memory");
            goto out;
        }
        tz_cache = c;
        tz_cache[tz_n++] = z;
    }
out:
    pthread_mutex_unlock(&tz_lock);
    return z;
}

int cm_tz_valid(const char *name)
{
    char err[256];
    return cm_tz_get(name, err, sizeof(err)) != NULL;
}

static int32_t offset_s(const cm_tz *z, int64_t t)
{
    if (z->ntrans == 0 || t >= z->trans[z->ntrans - 1]) {
        if (z->has_footer && (z->ntrans == 0 || t >= z->trans[z->ntrans - 1]))
            return posix_offset(z, t);
        return z->ntrans ? z->offs[z->idx[z->ntrans - 1]] : z->first_off;
    }
    if (t < z->trans[0])
        return z->first_off;
    int lo = 0, hi = z->ntrans - 1; /* trans[lo] <= t < trans[hi] */
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (z->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return z->offs[z->idx[lo]];
}

int32_t cm_tz_offset(const cm_tz *tz, int64_t ms)
{
    int64_t t = ms / 1000 - (ms % 1000 < 0);
    return offset_s(tz, t);
}

int64_t cm_tz_local_to_utc(const cm_tz *tz, int32_t day, int hour, int minute)
{
    int64_t local = (int64_t)day * 86400 + hour * 3600 + minute * 60;
    int32_t before = offset_s(tz, local - 86400), after = offset_s(tz, local + 86400);
    int32_t cands[2] = {before > after ? before : after, before > after ? after : before};
    /* larger offset first = earlier instant: an ambiguous time takes it */
    for (int i = 0; i < 2; i++)
        if (offset_s(tz, local - cands[i]) == cands[i])
            return (local - cands[i]) * 1000;
    /* a gap (the clocks jump over the local time): the first instant at or
     * after it is the jump itself, e.g. 02:30 on a spring-forward day in
     * New York is 03:00 EDT. It lies between the two readings of the local
     * time; find the first second with the new offset. */
    int64_t lo = local - after, hi = local - before; /* offset(lo) = before, offset(hi) != */
    if (lo > hi) {
        int64_t t = lo;
        lo = hi;
        hi = t;
    }
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (offset_s(tz, mid) == before)
            lo = mid;
        else
            hi = mid;
    }
    return hi * 1000;
}

void cm_tz_local(const cm_tz *tz, int64_t ms, int32_t *day, int *minute_of_day)
{
    int64_t local = ms + (int64_t)cm_tz_offset(tz, ms) * 1000;
    *day = cm_time_day(local);
    *minute_of_day = (int)((local - (int64_t)*day * 86400000) / 60000);
}

void cm_tz_cache_free(void)
{
    pthread_mutex_lock(&tz_lock);
    for (size_t i = 0; i < tz_n; i++) {
        free(tz_cache[i]->trans);
        free(tz_cache[i]->idx);
        free(tz_cache[i]->offs);
        free(tz_cache[i]);
    }
    free(tz_cache);
    tz_cache = NULL;
    tz_n = 0;
    cm_map_free(&tz_names);
    pthread_mutex_unlock(&tz_lock);
}
