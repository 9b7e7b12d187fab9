/* report.c -- what every report shares: the envelope, rounding, risk bands,
 * promise outcomes and the dispatch by report type. */
#include "reporter.h"
#include "report_int.h"

#include "clock.h"
#include "contract.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double rep_round2(double x)
{
    double r = round(x * 100.0) / 100.0;
    return r == 0 ? 0.0 : r; /* no -0 */
}

json_t *rep_num2(double x)
{
    if (!isfinite(x))
        return json_null();
    return json_real(rep_round2(x));
}

void rep_cur_order(const rep_state *st, uint32_t *order)
{
    for (uint32_t i = 0; i < st->ncurs; i++) {
        uint32_t j = i;
        while (j > 0 && strcmp(st->curs[order[j - 1]].code, st->curs[i].code) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
}

json_t *rep_ratio_json(int64_t num, int64_t den, int64_t scale)
{
    if (den == 0)
        return json_null();
    __int128 q = (__int128)num * scale * 100, d = den;
    int neg = (q < 0) != (d < 0);
    if (q < 0)
        q = -q;
    if (d < 0)
        d = -d;
    __int128 r = (2 * q + d) / (2 * d);
    if (r == 0)
        return json_real(0.0);
    double v = (double)r / 100.0;
    return json_real(neg ? -v : v);
}

const char *rep_risk_band(int32_t max_dpd, int broken_promise)
{
    static const char *const bands[] = {"low", "medium", "high", "severe"};
    int b = max_dpd <= 30 ? 0 : max_dpd <= 60 ? 1 : max_dpd <= 90 ? 2 : 3;
    if (broken_promise && b < 3)
        b++;
    return bands[b];
}

json_t *rep_report_envelope(const rep_state *st, const char *type, const char *tenant, int32_t d,
                            int64_t generated_ms)
{
    (void)st;
    char day[16], gen[40];
    cm_date_format(d, day, sizeof day);
    cm_time_format_rfc3339(generated_ms, gen, sizeof gen);
    return json_pack("{s:i, s:s, s:s, s:s, s:s}", "v", 1, "type", type, "tenant", tenant, "as_of",
                     day, "generated_at", gen);
}

int rep_promise_status(const rep_state *st, const rep_promise *p, int32_t d, int32_t *day)
{
    if (p->outcome != REP_PROMISE_OPEN && p->outcome_day <= d) {
        *day = p->outcome_day;
        return p->outcome;
    }
    if (!p->made || p->made_day > d)
        return -1;
    if (p->promised_on >= d)
        return REP_PROMISE_OPEN;
    /* no outcome from the scheduler: kept when the customer's payments in
     * the promise's currency, received from the day it was made through the
     * promised day, reach the promised amount */
    const rep_cust *c = &st->custs[p->cust];
    int64_t paid = 0;
    int32_t reached = REP_DAY_NONE;
    /* collect qualifying payment days in order: small lists, quadratic ok */
    for (;;) {
        int32_t next = REP_DAY_NONE;
        int64_t add = 0;
        for (uint32_t i = 0; i < c->ninvs; i++) {
            const rep_inv *inv = &st->invs[c->invs[i]];
            if (inv->cur != p->cur)
                continue;
            for (uint32_t k = 0; k < inv->nmoves; k++) {
                const rep_move *mv = &inv->moves[k];
                if (mv->kind != REP_MV_PAY || mv->day < p->made_day || mv->day > p->promised_on ||
                    !rep_pay_live(&st->pays[mv->ref], d))
                    continue;
                if (reached != REP_DAY_NONE && mv->day <= reached)
                    continue;
                if (mv->day < next) {
                    next = mv->day;
                    add = 0;
                }
                if (mv->day == next)
                    add += mv->amount;
            }
        }
        if (next == REP_DAY_NONE)
            break;
        paid += add;
        reached = next;
        if (paid >= p->amount) {
            *day = next;
            return REP_PROMISE_KEPT;
        }
    }
    *day = p->promised_on + 1;
    return REP_PROMISE_BROKEN;
}

json_t *rep_report_build(const rep_state *st, const char *type, const char *tenant, int32_t d,
                         int64_t generated_ms)
{
    static json_t *(*const build[CT_REP_COUNT])(const rep_state *, uint32_t, int32_t, int64_t) = {
        [CT_REP_AGING] = rep_report_aging,
        [CT_REP_KPIS] = rep_report_kpis,
        [CT_REP_EFFECTIVENESS] = rep_report_effectiveness};
    ct_report k = ct_report_parse(type, strlen(type));
    if (k == CT_REP_NONE)
        return NULL;
    int ti = rep_state_tenant(st, tenant);
    if (ti >= 0)
        return build[k](st, (uint32_t)ti, d, generated_ms);
    /* a tenant never seen: the report with nothing in it */
    json_t *r = rep_report_envelope(st, type, tenant, d, generated_ms);
    if (k == 2) {
        json_object_set_new(r, "response_window_days", json_integer(REP_RESPONSE_DAYS));
        json_object_set_new(r, "rows", json_array());
        json_object_set_new(r, "experiments", json_array());
    } else {
        json_object_set_new(r, "currencies", json_array());
    }
    return r;
}

static int rep_i32_cmp(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

void rep_days_stats(int32_t *v, uint32_t n, json_t *into)
{
    if (!n) {
        json_object_set_new(into, "median_days", json_null());
        json_object_set_new(into, "p90_days", json_null());
        return;
    }
    qsort(v, n, sizeof *v, rep_i32_cmp);
    int64_t median2 = n % 2 ? 2 * (int64_t)v[n / 2] : (int64_t)v[n / 2 - 1] + v[n / 2];
    uint32_t rank = (uint32_t)(((uint64_t)n * 9 + 9) / 10); /* ceil(0.9 n) */
    json_object_set_new(into, "median_days", rep_ratio_json(median2, 2, 1));
    json_object_set_new(into, "p90_days", rep_ratio_json(v[rank - 1], 1, 1));
}

const char *const rep_age_bucket_names[REP_AGE_BUCKETS] = {"current", "1-30", "31-60", "61-90",
                                                           "91+"};

int rep_age_bucket(int32_t dpd)
{
    return dpd <= 0 ? 0 : dpd <= 30 ? 1 : dpd <= 60 ? 2 : dpd <= 90 ? 3 : 4;
}
