/* report.c -- what every report shares: the envelope, rounding, the risk score,
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

/* One of the last N invoices paid in full (docs/risk.md "In the aging
 * report"). */
typedef struct rep_risk_inv {
    int32_t paid; /* the day its balance reached zero through a payment */
    int32_t late; /* days late, 0 when paid by its due date */
    const char *id;
} rep_risk_inv;

/* Paid later first; the same day: invoice id ascending. */
static int rep_risk_before(const rep_risk_inv *a, const rep_risk_inv *b)
{
    if (a->paid != b->paid)
        return a->paid > b->paid;
    return strcmp(a->id, b->id) < 0;
}

void rep_risk_score(const rep_state *st, uint32_t cust, int32_t d, uint32_t broken,
                    int32_t last_pay, cm_risk_result *out)
{
    cm_risk_weights w = cm_risk_defaults();
    cm_risk_input in;
    rep_risk_inv last[100];
    int32_t n = 0, cap = w.last_n < 100 ? w.last_n : 100;
    int32_t first = REP_DAY_NONE;
    const rep_cust *c = &st->custs[cust];

    memset(&in, 0, sizeof in);
    for (uint32_t i = 0; i < c->ninvs; i++) {
        const rep_inv *inv = &st->invs[c->invs[i]];
        if (!inv->known || inv->issued > d)
            continue;
        if (inv->issued < first)
            first = inv->issued;
        int64_t out_bal = rep_inv_outstanding(st, inv, d);
        if (out_bal > 0) {
            for (uint32_t k = 0; k < inv->nmoves; k++)
                if (inv->moves[k].kind == REP_MV_DISPUTE && inv->moves[k].day <= d) {
                    in.open_disputes++;
                    break;
                }
        }
        int32_t paid = rep_inv_paid_day(st, inv, d);
        if (paid == REP_DAY_NONE)
            continue;
        rep_risk_inv r = {paid, paid > inv->due ? paid - inv->due : 0, inv->id};
        if (n == cap && !rep_risk_before(&r, &last[cap - 1]))
            continue;
        int32_t j = n < cap ? n++ : cap - 1;
        while (j > 0 && rep_risk_before(&r, &last[j - 1])) {
            last[j] = last[j - 1];
            j--;
        }
        last[j] = r;
    }
    /* what the retention left of its dropped invoices (retain.c): all
     * issued and paid before any day a report may be asked for */
    if (c->gone_first < first)
        first = c->gone_first;
    for (uint32_t k = 0; k < c->ngone_paid; k++) {
        const rep_paid *g = &c->gone_paid[k];
        rep_risk_inv r = {g->paid, g->late, g->id};
        if (n == cap && !rep_risk_before(&r, &last[cap - 1]))
            break; /* latest first: the others are older still */
        int32_t j = n < cap ? n++ : cap - 1;
        while (j > 0 && rep_risk_before(&r, &last[j - 1])) {
            last[j] = last[j - 1];
            j--;
        }
        last[j] = r;
    }
    int64_t late_days = 0;
    for (int32_t j = 0; j < n; j++)
        if (last[j].late > 0) {
            in.paid_late++;
            late_days += last[j].late;
        }
    in.paid_count = n;
    /* whole days, half-up */
    in.avg_days_late =
        in.paid_late ? (int32_t)((2 * late_days + in.paid_late) / (2 * in.paid_late)) : 0;
    in.broken_promises = (int32_t)broken;
    in.days_since_payment = last_pay == REP_DAY_NONE ? -1 : d - last_pay;
    in.relationship_days = first == REP_DAY_NONE ? 0 : d - first;
    /* not known to the reporter: broken plans, unusable contacts, the
     * credit limit (0: unknown) */
    cm_risk_score(&w, &in, out);
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
        json_object_set_new(r, "deliverability", json_array());
        json_object_set_new(r, "replies_unattributed", json_integer(0));
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
