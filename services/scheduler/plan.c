/* plan.c -- an instalment plan's schedule and where payments stand in it
 * (plan.h). */
#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charges.h"
#include "command.h"

int sch_plan_position(const char *schedule, int64_t paid, sch_plan_pos *pos)
{
    memset(pos, 0, sizeof *pos);
    int64_t before = 0; /* the sum of the instalments before the one read */
    int found = 0;
    for (const char *s = schedule ? schedule : ""; *s;) {
        char *end;
        long day = strtol(s, &end, 10);
        if (*end != ':')
            goto bad;
        long long amt = strtoll(end + 1, &end, 10);
        if (*end != ';' || amt <= 0)
            goto bad;
        if (!found && paid < before + amt) { /* the first not fully paid */
            found = 1;
            pos->k = pos->n;
            pos->due = (int32_t)day;
            pos->amount = amt;
            pos->paid = paid > before ? paid - before : 0;
        }
        before += amt;
        pos->n++;
        s = end + 1;
    }
    if (!found)
        pos->k = pos->n;
    pos->total = before;
    return pos->n > 0 ? 0 : -1;
bad:
    memset(pos, 0, sizeof *pos);
    return -1;
}

int sch_plan_offers(const sch_offer *o, const char *currency, int64_t total, int32_t send_day,
                    ct_command_offer *out)
{
    int64_t min = 0;
    memset(out, 0, sizeof *out);
    out->kind = CT_OFFER_PLAN;
    out->amount_minor = total;
    out->valid_until = send_day + o->interval_days;
    sch_cur_get(&o->min_instalment, currency, &min);
    for (int n = 2; n <= o->max_instalments && n <= CT_OFFER_PLAN_INSTALMENTS_MAX &&
                    out->nplans < CT_OFFER_PLANS_MAX;
         n++) {
        int64_t each = total / n, first = each + total % n;
        if (each <= 0 || each < min)
            break; /* more instalments only make them smaller */
        size_t p = out->nplans++;
        out->plans[p].n = (size_t)n;
        for (int k = 0; k < n; k++) {
            out->plans[p].inst[k].due_on = send_day + (k + 1) * o->interval_days;
            out->plans[p].inst[k].amount_minor = k == 0 ? first : each;
        }
    }
    return (int)out->nplans;
}

int64_t sch_plan_break_at(const cm_tz *tz, int32_t day, int grace_days)
{
    return cm_tz_local_to_utc(tz, day + grace_days + 1, 0, 0);
}

char *sch_plan_schedule(const ct_plan *p)
{
    size_t cap = p->ninstalments * 40 + 1, used = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    out[0] = 0;
    for (size_t i = 0; i < p->ninstalments; i++)
        used += (size_t)snprintf(out + used, cap - used, "%ld:%lld;",
                                 (long)p->instalments[i].due_on.day,
                                 (long long)p->instalments[i].amount_minor);
    return out;
}
