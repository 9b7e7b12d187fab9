/* contact.c -- the debtor's clock (contact.h). */
#include "contact.h"

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
