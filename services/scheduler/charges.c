/* charges.c -- the arithmetic of fees, interest, compensation and offers.
 *
 * Design: every amount is an exact integer quotient rounded once, half-up.
 * Interest walks the days late in runs where both the balance and the rate
 * are constant (a run ends the day after a payment and, under the EU
 * scheme, at each half-year) and adds balance x rate x days to an __int128
 * numerator; the sum is divided by 365 x 10^6 (a year of 365 days, rates
 * in 1e-4 percent) once at the end. No I/O, no allocation. */
#include "charges.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"

__extension__ typedef __int128 i128;

#define RATE_DEN 1000000 /* 100 percent in 1e-4 percent units */

/* num / den rounded half-up, for num >= 0, den > 0. */
static i128 half_up(i128 num, i128 den)
{
    return (2 * num + den) / (2 * den);
}

/* pct (1e-4 percent) of amount >= 0, half-up. */
static int64_t pct_of(int64_t amount, int32_t pct)
{
    if (amount <= 0 || pct <= 0)
        return 0;
    return (int64_t)half_up((i128)amount * pct, RATE_DEN);
}

int sch_cur_get(const sch_cur_map *m, const char *currency, int64_t *minor)
{
    if (!m || !currency)
        return 0;
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->v[i].code, currency) == 0) {
            *minor = m->v[i].minor;
            return 1;
        }
    return 0;
}

int sch_rate_at(const sch_rate_table *t, int32_t day, int32_t *rate)
{
    int lo = 0, hi = t ? t->n : 0; /* first entry with from > day */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (t->e[mid].from <= day)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return -1;
    *rate = t->e[lo - 1].rate;
    return 0;
}

void sch_pct_format(int32_t pct, char *buf, size_t len)
{
    int64_t a = pct < 0 ? -(int64_t)pct : pct;
    char frac[8];
    int n = snprintf(frac, sizeof frac, "%04lld", (long long)(a % SCH_PCT_UNIT));
    while (n > 0 && frac[n - 1] == '0')
        frac[--n] = 0;
    snprintf(buf, len, "%s%lld%s%s", pct < 0 ? "-" : "", (long long)(a / SCH_PCT_UNIT),
             n ? "." : "", frac);
}

/* ---- interest ---------------------------------------------------------- */

/* The first day of the half-year after the one holding day, and (ref) the
 * first day of the half-year holding it. */
static int32_t half_year(int32_t day, int32_t *ref)
{
    int y;
    unsigned m, d;
    cm_civil_from_days(day, &y, &m, &d);
    if (m <= 6) {
        *ref = cm_days_from_civil(y, 1, 1);
        return cm_days_from_civil(y, 7, 1);
    }
    *ref = cm_days_from_civil(y, 7, 1);
    return cm_days_from_civil(y + 1, 1, 1);
}

/* The rate of a statutory rule on reference day ref: table + margin, not
 * below 0. */
static int ref_rate(const sch_interest_rule *r, int32_t ref, int32_t *rate, char *errstr,
                    size_t errlen)
{
    int32_t base;
    char d[16];
    if (!r->table || sch_rate_at(r->table, ref, &base) < 0) {
        cm_date_format(ref, d, sizeof d);
        snprintf(errstr, errlen, "interest: no %s rate in force on %s",
                 r->table ? r->table->name : "reference", d);
        return -1;
    }
    int64_t x = (int64_t)base + r->margin;
    *rate = x < 0 ? 0 : (int32_t)x;
    return 0;
}

/* Principal outstanding on day: reductions made before day count. */
static int64_t balance_on(int64_t principal, const sch_reduction *red, int nred, int32_t day)
{
    int64_t b = principal;
    for (int i = 0; i < nred; i++)
        if (red[i].day < day)
            b -= red[i].amount;
    return b < 0 ? 0 : b;
}

int sch_interest(const sch_interest_rule *rule, int32_t due_on, int64_t principal,
                 const sch_reduction *red, int nred, int32_t until, sch_interest_result *out,
                 char *errstr, size_t errlen)
{
    return sch_interest_frozen(rule, due_on, principal, red, nred, NULL, 0, until, out, errstr,
                               errlen);
}

/* 1 when day is frozen; *edge: the next day the answer may change. */
static int frozen_on(const sch_frozen *fz, int nfz, int32_t day, int32_t *edge)
{
    int in = 0;
    *edge = INT32_MAX;
    for (int i = 0; i < nfz; i++) {
        if (day >= fz[i].from && day < fz[i].to) {
            in = 1;
            if (fz[i].to < *edge)
                *edge = fz[i].to;
        } else if (fz[i].from > day && fz[i].from < *edge) {
            *edge = fz[i].from;
        }
    }
    return in;
}

int sch_interest_frozen(const sch_interest_rule *rule, int32_t due_on, int64_t principal,
                        const sch_reduction *red, int nred, const sch_frozen *frozen, int nfrozen,
                        int32_t until, sch_interest_result *out, char *errstr, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->ref_day = -1;
    out->days_late = until > due_on ? until - due_on : 0;
    if (principal < 0) {
        snprintf(errstr, errlen, "interest: negative principal");
        return -1;
    }
    for (int i = 0; i < nred; i++)
        if (red[i].amount < 0) {
            snprintf(errstr, errlen, "interest: negative payment");
            return -1;
        }
    if (!rule || rule->scheme == SCH_INT_NONE || out->days_late == 0)
        return 0;
    int32_t start = due_on + 1, rate = 0, next_half = 0;
    if (rule->scheme == SCH_INT_CONTRACTUAL)
        rate = rule->pct < 0 ? 0 : rule->pct;
    else if (rule->scheme == SCH_INT_UK) {
        /* SI 2002/1675 art. 4: the rate in force on 31 December for
         * interest starting to run 1 January..30 June, on 30 June for
         * interest starting 1 July..31 December. */
        int y;
        unsigned m, d;
        cm_civil_from_days(start, &y, &m, &d);
        out->ref_day = m <= 6 ? cm_days_from_civil(y - 1, 12, 31) : cm_days_from_civil(y, 6, 30);
        if (ref_rate(rule, out->ref_day, &rate, errstr, errlen) < 0)
            return -1;
    }
    i128 num = 0;
    for (int32_t day = start; day <= until;) {
        int32_t end = until + 1; /* the run is day .. end - 1 */
        if (rule->scheme == SCH_INT_EU) {
            int32_t ref;
            if (day == start || day == next_half) {
                next_half = half_year(day, &ref);
                if (ref_rate(rule, ref, &rate, errstr, errlen) < 0)
                    return -1;
            }
            if (next_half < end)
                end = next_half;
        }
        for (int i = 0; i < nred; i++)
            if (red[i].day + 1 > day && red[i].day + 1 < end)
                end = red[i].day + 1;
        int32_t edge;
        int frozen_run = frozen_on(frozen, nfrozen, day, &edge);
        if (edge < end)
            end = edge;
        if (frozen_run) { /* no interest on these days, no period */
            day = end;
            continue;
        }
        num += (i128)balance_on(principal, red, nred, day) * rate * (end - day);
        sch_interest_period *p = out->nperiods ? &out->periods[out->nperiods - 1] : NULL;
        if (p && p->rate == rate && p->to + 1 == day)
            p->to = end - 1; /* runs split by a payment or an unchanged half-year merge */
        else if (out->nperiods < SCH_INT_PERIODS_MAX)
            out->periods[out->nperiods++] = (sch_interest_period){day, end - 1, rate};
        day = end;
    }
    i128 v = half_up(num, (i128)365 * RATE_DEN);
    if (v > INT64_MAX) {
        snprintf(errstr, errlen, "interest: amount out of range");
        return -1;
    }
    out->interest_minor = (int64_t)v;
    out->rate = out->nperiods ? out->periods[0].rate : rate;
    return 0;
}

/* ---- policy lookups and compensation ------------------------------------ */

static const sch_interest_rule *rule_of(const sch_interest_policy *ip, const char *country)
{
    const sch_interest_rule *any = NULL;
    for (int i = 0; i < ip->nrules; i++) {
        if (country && strcmp(ip->rules[i].country, country) == 0)
            return &ip->rules[i];
        if (strcmp(ip->rules[i].country, "*") == 0)
            any = &ip->rules[i];
    }
    return any;
}

const sch_interest_rule *sch_interest_rule_for(const sch_interest_policy *ip, const char *country,
                                               int consumer)
{
    if (!ip || !ip->enabled)
        return NULL;
    const sch_interest_rule *r = rule_of(ip, country);
    if (!consumer)
        return r;
    if (ip->consumers != SCH_INT_CONTRACTUAL)
        return NULL;
    if (r && r->scheme == SCH_INT_CONTRACTUAL)
        return r;
    r = rule_of(ip, NULL); /* the "*" rule */
    return r && r->scheme == SCH_INT_CONTRACTUAL ? r : NULL;
}

int64_t sch_compensation(const sch_interest_policy *ip, sch_int_scheme scheme, const char *currency,
                         int64_t amount_minor)
{
    int64_t v;
    if (!ip || !ip->compensation || !currency || (scheme != SCH_INT_UK && scheme != SCH_INT_EU))
        return 0;
    if (scheme == SCH_INT_UK && strcmp(currency, "GBP") == 0)
        return amount_minor < 100000 ? 4000 : amount_minor < 1000000 ? 7000 : 10000;
    if (sch_cur_get(&ip->compensation_minor, currency, &v))
        return v;
    return scheme == SCH_INT_EU && strcmp(currency, "EUR") == 0 ? 4000 : 0;
}

/* ---- fees, waivers, allocation ------------------------------------------ */

int64_t sch_fee_amount(const sch_fee *f, const sch_fees_policy *fp, const char *currency,
                       int64_t original_minor, int64_t outstanding_principal, int64_t fees_charged)
{
    int64_t fee = 0, cap;
    if (!f || !f->enabled)
        return 0;
    sch_cur_get(&f->fixed, currency, &fee);
    fee += pct_of(outstanding_principal, f->pct);
    if (sch_cur_get(&f->max, currency, &cap) && fee > cap)
        fee = cap;
    if (fp && fp->max_total_pct >= 0 && original_minor >= 0) {
        /* floor, so the fees together never exceed the percentage */
        int64_t total = (int64_t)((i128)original_minor * fp->max_total_pct / RATE_DEN);
        int64_t left = total - (fees_charged > 0 ? fees_charged : 0);
        if (fee > left)
            fee = left;
    }
    return fee > 0 ? fee : 0;
}

int sch_fee_waived(const sch_fees_policy *fp, int32_t charged_on, int32_t paid_on)
{
    return fp && fp->waive_days >= 0 && paid_on <= charged_on + fp->waive_days;
}

void sch_allocate(int64_t payment, int64_t principal_due, int64_t fees_due, sch_split *out)
{
    int64_t left = payment > 0 ? payment : 0;
    out->principal = principal_due > 0 ? (left < principal_due ? left : principal_due) : 0;
    left -= out->principal;
    out->fees = fees_due > 0 ? (left < fees_due ? left : fees_due) : 0;
    out->excess = left - out->fees;
}

/* ---- amounts and offers ------------------------------------------------- */

int64_t sch_amounts_total(const sch_amounts *a)
{
    return a->principal + a->fees + a->interest + a->compensation;
}

int sch_offer_terms_for(const sch_offer *o, int32_t due_on, int32_t send_day, const sch_amounts *a,
                        sch_offer_terms *out)
{
    int64_t total = sch_amounts_total(a);
    memset(out, 0, sizeof *out);
    if (!o || total <= 0)
        return -1;
    if (o->kind == SCH_OFFER_DISCOUNT) {
        out->forgiven_minor = pct_of(a->principal, o->pct);
        out->pay_minor = total - out->forgiven_minor;
        out->valid_until = due_on + o->valid_until_offset;
    } else if (o->kind == SCH_OFFER_SETTLEMENT) {
        out->pay_minor = pct_of(total, o->pct);
        out->forgiven_minor = total - out->pay_minor;
        out->valid_until = send_day + o->valid_days;
    } else
        return -1;
    return out->forgiven_minor > 0 && out->pay_minor > 0 ? 0 : -1;
}
