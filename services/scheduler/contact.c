/* contact.c -- the debtor's clock (contact.h). */
#include "contact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sch_contact_rules_free(sch_contact_rules *r)
{
    for (int i = 0; i < r->njur; i++)
        if (r->jur[i].rules.holidays != r->base.holidays)
            free(r->jur[i].rules.holidays);
    free(r->jur);
    free(r->base.holidays);
    memset(r, 0, sizeof *r);
}

const sch_clock_rules *sch_contact_rules_for(const sch_contact_rules *r, const char *region,
                                             const char *country)
{
    const char *keys[2] = {region, country};
    for (int k = 0; k < 2; k++) {
        if (!keys[k] || !keys[k][0])
            continue;
        for (int i = 0; i < r->njur; i++)
            if (strcmp(r->jur[i].key, keys[k]) == 0)
                return &r->jur[i].rules;
    }
    return &r->base;
}

int sch_weekday(int32_t day)
{
    int w = (int)((day + 3) % 7); /* 1970-01-01 was a Thursday */
    return w < 0 ? w + 7 : w;
}

static int holiday(const sch_clock_rules *r, int32_t day)
{
    int lo = 0, hi = r->nholidays - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (r->holidays[mid] == day)
            return 1;
        if (r->holidays[mid] < day)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return 0;
}

/* NULL when day is allowed, else the rule that forbids it. */
static const char *day_rule(const sch_clock_rules *r, int32_t day)
{
    if (!(r->weekdays & (1u << sch_weekday(day))))
        return "weekday";
    return holiday(r, day) ? "holiday" : NULL;
}

int64_t sch_clock_next(const sch_clock_rules *r, const cm_tz *tz, int64_t t, int send_min,
                       const char **why)
{
    int32_t day;
    int minute;
    cm_tz_local(tz, t, &day, &minute);
    const char *rule = day_rule(r, day);
    *why = NULL;
    if (!rule && minute >= r->start_min && minute < r->end_min)
        return t;
    *why = rule ? rule : "window";
    if (!rule && minute < r->start_min) { /* later the same day */
        int64_t s = cm_tz_local_to_utc(tz, day, r->start_min / 60, r->start_min % 60);
        if (s > t)
            return s;
    }
    int at = send_min >= r->start_min && send_min < r->end_min ? send_min : r->start_min;
    for (int32_t d = day + 1; d <= day + 731; d++) {
        if (day_rule(r, d))
            continue;
        int64_t s = cm_tz_local_to_utc(tz, d, at / 60, at % 60);
        int32_t sd;
        int sm;
        cm_tz_local(tz, s, &sd, &sm);
        /* a DST gap can push a window-start time forward: still inside? */
        if (sd == d && sm >= r->start_min && sm < r->end_min)
            return s;
    }
    return t;
}

/* A decimal (an optional '-', then digits, at most 18) at p into *v: the
 * byte after it, or NULL when there is none. The log is ours; strtol's
 * locale and whitespace handling cost more than the caps checks. */
static const char *num(const char *p, long *v)
{
    int neg = *p == '-';
    p += neg;
    if (*p < '0' || *p > '9')
        return NULL;
    long x = 0;
    for (int k = 0; *p >= '0' && *p <= '9'; p++, k++) {
        if (k == 18)
            return NULL;
        x = x * 10 + (*p - '0');
    }
    *v = neg ? -x : x;
    return p;
}

/* Sends in the log on channels (bits) on local days [from, to]. */
static int count(const char *log, unsigned channels, int32_t from, int32_t to)
{
    int n = 0;
    for (const char *p = log; p && *p;) {
        long d, ch;
        const char *end = num(p, &d);
        if (!end || *end != ':' || !(end = num(end + 1, &ch)))
            break;
        if (d >= from && d <= to && ch >= 0 && ch < 32 && (channels & (1u << ch)))
            n++;
        if (*end != ';')
            break;
        p = end + 1;
    }
    return n;
}

/* The first cap of r on channel that a send on day would exceed, or NULL. */
static const sch_cap *over(const sch_clock_rules *r, const char *log, int channel, int32_t day)
{
    for (int i = 0; i < r->ncaps; i++) {
        const sch_cap *c = &r->caps[i];
        if (channel < 0 || !(c->channels & (1u << channel)))
            continue;
        if (count(log, c->channels, day - c->days + 1, day) >= c->max)
            return c;
    }
    return NULL;
}

int sch_caps_check(const sch_clock_rules *r, const char *sendlog, int channel, int32_t today,
                   int32_t *ok_day, const sch_cap **hit)
{
    *hit = over(r, sendlog, channel, today);
    if (!*hit)
        return 0;
    /* the log only holds the past: some day within the longest cap is free */
    for (int32_t d = today + 1; d <= today + SCH_CAP_DAYS_MAX + 1; d++)
        if (!over(r, sendlog, channel, d)) {
            *ok_day = d;
            return 1;
        }
    *ok_day = today + SCH_CAP_DAYS_MAX + 1;
    return 1;
}

char *sch_sendlog_add(const char *log, int32_t day, int channel)
{
    size_t n = log ? strlen(log) : 0;
    char *out = malloc(n + 32), *w = out;
    if (!out)
        return NULL;
    for (const char *p = log; p && *p;) { /* keep the recent entries */
        const char *semi = strchr(p, ';');
        size_t len = semi ? (size_t)(semi - p + 1) : strlen(p);
        if (strtol(p, NULL, 10) > day - SCH_CAP_DAYS_MAX) {
            memcpy(w, p, len);
            w += len;
        }
        p += len;
    }
    w += snprintf(w, 32, "%ld:%d;", (long)day, channel);
    *w = 0;
    return out;
}
