/* kpis.c -- period KPIs per currency: invoiced, collected, DSO (countback
 * and simple), best possible DSO, ADD, CEI, recovery rate, days-to-pay of
 * late payers, promise-to-pay kept rate and dispute rate, and the money of
 * the scheduler's events (fees charged and waived, interest and
 * compensation claimed, amounts forgiven by offers).
 *
 * Periods end on the report's day D and are "to date": day = [D, D],
 * week = [Monday of D's ISO week, D], month = [1st of D's month, D]. The
 * definitions, each with a worked example, are in docs/reports.md.
 *
 * A period's `money` object is written only for a currency in which the
 * tenant has a money fact effective on or before D (all three periods
 * then), so the reports of a tenant without fees, interest or offers stay
 * as they were before issue 14.
 *
 * Arms (issue 15): when the tenant's contacts carry ladder strategies,
 * "arms" repeats the invoice-based figures per strategy and variant over
 * the arm's invoices only. An invoice is in the arm of the variant of its
 * first contact under each strategy sent by the end of D (the rule of the
 * effectiveness report's experiments, effect.c). Collected cash, promises,
 * the money object and countback DSO stay tenant-wide (docs/reports.md
 * "kpis", "Per arm"). No arms: no key, the report as before.
 *
 * Hand-off (issue 16): a period's `escalations` object (placements,
 * acceptances, recalls, remittances and commission in the period; what
 * was placed and remitted to date and the recovery rate through agencies
 * and legal; the same by destination) is written only for a currency with
 * a placement or remittance on or before D, tenant-wide like `money`
 * (docs/reports.md "escalations"). */
#include "reporter.h"
#include "report_int.h"

#include "clock.h"
#include "contract.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct rep_kacc {
    int64_t invoiced, collected, beg_ar, end_ar, end_current;
    int64_t rec_base, recovered;
    int64_t kept, broken, disputed, active;
    int64_t fees_charged, fees_waived, interest, compensation, forgiven[CT_OFFER_COUNT];
    int money; /* a money fact on or before the period's end */
    /* hand-off (issue 16): esc is set by a placement or remittance on or
     * before the period's end; the period's figures, then those to date */
    int esc;
    int64_t placed_n, placed, accepted_n, recalled_n, remitted, commission;
    int64_t placed_td, remitted_td, commission_td;
    struct {
        int64_t placed_n, placed, recalled_n, remitted, commission;
    } to[CT_TO_COUNT];
    int32_t *late; /* days due -> paid of invoices paid late in the period */
    uint32_t nlate, caplate;
    int present;
} rep_kacc;

static int rep_late_push(rep_kacc *a, int32_t v)
{
    if (REP_GROW(a->late, a->caplate, a->nlate + 1) < 0)
        return -1;
    a->late[a->nlate++] = v;
    return 0;
}

/* Countback DSO as of d over monthly sales (see docs/reports.md), exact:
 * the result is *num / *den days. */
static void rep_countback(int64_t ar, const int64_t *sales, const int32_t *days, int64_t *num,
                          int64_t *den)
{
    int64_t full = 0, rem = ar;
    *num = 0;
    *den = 1;
    if (ar <= 0)
        return;
    for (int k = 0; k < REP_COUNTBACK_MONTHS; k++) {
        if (rem > sales[k]) {
            rem -= sales[k];
            full += days[k];
        } else {
            *num = full * sales[k] + rem * days[k];
            *den = sales[k];
            return;
        }
    }
    *num = full;
}

/* only: NULL for the whole tenant, else a flag per invoice index (an
 * arm): only those invoices, and no payments, promises or money facts. */
static int rep_kpis_period(const rep_state *st, uint32_t tenant, int32_t from, int32_t to,
                           const uint8_t *only, rep_kacc *acc)
{
    const rep_tlists *tl = &st->by_tenant[tenant];
    for (uint32_t x = 0; x < tl->invs.n; x++) {
        const rep_inv *inv = &st->invs[tl->invs.v[x]];
        if (inv->tenant != tenant || !inv->known || (only && !only[tl->invs.v[x]]))
            continue;
        rep_kacc *a = &acc[inv->cur];
        if (inv->issued >= from && inv->issued <= to)
            a->invoiced += inv->amount;
        int64_t beg = rep_inv_outstanding(st, inv, from - 1);
        int64_t end = rep_inv_outstanding(st, inv, to);
        a->beg_ar += beg;
        a->end_ar += end;
        if (inv->due >= to)
            a->end_current += end;
        if (inv->issued <= to)
            a->present = 1;
        /* recovery: overdue at the start of the period, or became overdue in it */
        int32_t after = 0;
        int64_t base = 0;
        if (inv->due < from) {
            base = beg;
            after = from - 1;
        } else if (inv->due < to) {
            base = rep_inv_outstanding(st, inv, inv->due);
            after = inv->due;
        }
        int disputed = 0;
        for (uint32_t k = 0; k < inv->nmoves; k++) {
            const rep_move *mv = &inv->moves[k];
            if (mv->day > to)
                break;
            if (mv->kind == REP_MV_DISPUTE && mv->day >= from)
                disputed = 1;
            if (base > 0 && mv->kind == REP_MV_PAY && mv->day > after && mv->day < inv->close_day &&
                rep_pay_live(&st->pays[mv->ref], to))
                a->recovered += mv->amount;
        }
        if (base > 0)
            a->rec_base += base;
        a->disputed += disputed;
        if (inv->issued <= to && (beg > 0 || inv->issued >= from))
            a->active++;
        int32_t paid = rep_inv_paid_day(st, inv, to);
        if (paid != REP_DAY_NONE && paid >= from && paid > inv->due &&
            rep_late_push(a, paid - inv->due) < 0)
            return -1;
    }
    if (only)
        return 0;
    /* a currency of invoices, payments, money or hand-off facts dropped by
     * the retention (retain.c; all before the period) stays present, with
     * what the dropped facts add to date */
    for (uint32_t x = 0; x < st->nsales; x++) {
        const rep_sales *sa = &st->sales[x];
        if (sa->tenant != tenant)
            continue;
        rep_kacc *a = &acc[sa->cur];
        a->present = 1;
        a->money |= sa->money;
        a->esc |= sa->esc;
        a->placed_td += sa->placed;
        a->remitted_td += sa->remitted;
        a->commission_td += sa->commission;
    }
    for (uint32_t x = 0; x < tl->pays.n; x++) {
        const rep_pay *p = &st->pays[tl->pays.v[x]];
        if (p->tenant != tenant)
            continue;
        if (p->day >= from && p->day <= to)
            acc[p->cur].collected += p->amount;
        if (p->reversed_day >= from && p->reversed_day <= to)
            acc[p->cur].collected -= p->amount;
        if (p->day <= to)
            acc[p->cur].present = 1;
    }
    for (uint32_t x = 0; x < tl->proms.n; x++) {
        const rep_promise *p = &st->proms[tl->proms.v[x]];
        int32_t day;
        if (p->tenant != tenant)
            continue;
        int s = rep_promise_status(st, p, to, &day);
        if ((s == REP_PROMISE_KEPT || s == REP_PROMISE_BROKEN) && day >= from && day <= to) {
            if (s == REP_PROMISE_KEPT)
                acc[p->cur].kept++;
            else
                acc[p->cur].broken++;
        }
    }
    for (uint32_t x = 0; x < tl->money.n; x++) {
        const rep_money *m = &st->money[tl->money.v[x]];
        if (m->tenant != tenant || m->day > to)
            continue;
        rep_kacc *a = &acc[m->cur];
        a->money = a->present = 1;
        if (m->day < from)
            continue;
        if (m->kind == REP_MN_FEE_CHARGED)
            a->fees_charged += m->amount;
        else if (m->kind == REP_MN_FEE_WAIVED)
            a->fees_waived += m->amount;
        else if (m->kind == REP_MN_INTEREST) {
            a->interest += m->amount;
            a->compensation += m->extra;
        } else if (m->kind == REP_MN_SETTLED && m->detail < CT_OFFER_COUNT)
            a->forgiven[m->detail] += m->amount;
    }
    for (uint32_t x = 0; x < tl->escs.n; x++) {
        const rep_esc *f = &st->escs[tl->escs.v[x]];
        const rep_case *c = &st->cases[f->kase];
        if (f->tenant != tenant || f->day > to)
            continue;
        /* a placement or remittance names its currency; an acceptance or
         * recall is the case's, once placed by the period's end */
        int placed = c->placed && c->placed_day <= to;
        int has_cur = f->kind == REP_ESC_PLACED || f->kind == REP_ESC_REMITTED;
        if (!has_cur && !placed)
            continue;
        rep_kacc *a = &acc[has_cur ? f->cur : c->cur];
        int in = f->day >= from, dest = placed && c->to < CT_TO_COUNT ? c->to : -1;
        if (has_cur)
            a->esc = a->present = 1;
        switch (f->kind) {
        case REP_ESC_PLACED:
            a->placed_td += f->amount;
            if (in) {
                a->placed_n++;
                a->placed += f->amount;
            }
            if (in && dest >= 0) {
                a->to[dest].placed_n++;
                a->to[dest].placed += f->amount;
            }
            break;
        case REP_ESC_ACCEPTED:
            a->accepted_n += in;
            break;
        case REP_ESC_RECALLED:
            a->recalled_n += in;
            if (dest >= 0)
                a->to[dest].recalled_n += in;
            break;
        case REP_ESC_REMITTED:
            /* to date: only what came back on the cases placed in this
             * currency by D (the recovery rate's numerator) */
            if (placed && c->cur == f->cur) {
                a->remitted_td += f->amount;
                a->commission_td += f->extra;
            }
            if (!in)
                break;
            a->remitted += f->amount;
            a->commission += f->extra;
            if (dest >= 0) {
                a->to[dest].remitted += f->amount;
                a->to[dest].commission += f->extra;
            }
            break;
        default:
            break;
        }
    }
    return 0;
}

/* A period's escalations object (docs/reports.md "escalations"). */
static json_t *rep_esc_json(const rep_kacc *a)
{
    json_t *by = json_object();
    for (int t = 0; t < CT_TO_COUNT && by; t++)
        if (json_object_set_new(by, ct_escalation_to_name((ct_escalation_to)t),
                                json_pack("{s:I, s:I, s:I, s:I, s:I}", "placed_cases",
                                          (json_int_t)a->to[t].placed_n, "placed_minor",
                                          (json_int_t)a->to[t].placed, "recalled_cases",
                                          (json_int_t)a->to[t].recalled_n, "remitted_minor",
                                          (json_int_t)a->to[t].remitted, "commission_minor",
                                          (json_int_t)a->to[t].commission)) < 0) {
            json_decref(by);
            by = NULL;
        }
    if (!by)
        return NULL;
    return json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o}", "placed_cases",
        (json_int_t)a->placed_n, "placed_minor", (json_int_t)a->placed, "accepted_cases",
        (json_int_t)a->accepted_n, "recalled_cases", (json_int_t)a->recalled_n, "remitted_minor",
        (json_int_t)a->remitted, "commission_minor", (json_int_t)a->commission,
        "net_remitted_minor", (json_int_t)(a->remitted - a->commission), "placed_to_date_minor",
        (json_int_t)a->placed_td, "remitted_to_date_minor", (json_int_t)a->remitted_td,
        "net_remitted_to_date_minor", (json_int_t)(a->remitted_td - a->commission_td),
        "recovery_rate_percent", rep_ratio_json(a->remitted_td, a->placed_td, 100),
        "net_recovery_rate_percent",
        rep_ratio_json(a->remitted_td - a->commission_td, a->placed_td, 100), "by_to", by);
}

/* A period's money object (see the head of the file). */
static json_t *rep_money_json(const rep_kacc *a)
{
    int64_t disc = a->forgiven[CT_OFFER_DISCOUNT], sett = a->forgiven[CT_OFFER_SETTLEMENT];
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I}}", "fees_charged_minor",
                     (json_int_t)a->fees_charged, "fees_waived_minor", (json_int_t)a->fees_waived,
                     "interest_claimed_minor", (json_int_t)a->interest,
                     "compensation_claimed_minor", (json_int_t)a->compensation, "forgiven_minor",
                     (json_int_t)(disc + sett), "forgiven_by_offer", "discount_minor",
                     (json_int_t)disc, "settlement_minor", (json_int_t)sett);
}

static json_t *rep_kpis_json(const char *name, int32_t from, int32_t to, rep_kacc *a)
{
    char f[16], t[16];
    int32_t days = to - from + 1;
    cm_date_format(from, f, sizeof f);
    cm_date_format(to, t, sizeof t);
    json_t *late = json_object();
    json_object_set_new(late, "count", json_integer(a->nlate));
    if (a->nlate) {
        int64_t sum = 0;
        for (uint32_t i = 0; i < a->nlate; i++)
            sum += a->late[i];
        json_object_set_new(late, "mean_days", rep_ratio_json(sum, a->nlate, 1));
    } else {
        json_object_set_new(late, "mean_days", json_null());
    }
    rep_days_stats(a->late, a->nlate, late);
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:I, s:I, s:o,"
        " s:o, s:{s:I, s:I, s:o}, s:{s:I, s:I, s:o}}",
        "period", name, "from", f, "to", t, "days", (int)days, "invoiced_minor",
        (json_int_t)a->invoiced, "collected_minor", (json_int_t)a->collected, "beginning_ar_minor",
        (json_int_t)a->beg_ar, "ending_ar_minor", (json_int_t)a->end_ar, "ending_current_ar_minor",
        (json_int_t)a->end_current, "ending_overdue_ar_minor",
        (json_int_t)(a->end_ar - a->end_current), "dso_simple_days",
        rep_ratio_json(a->end_ar, a->invoiced, days), "best_possible_dso_days",
        rep_ratio_json(a->end_current, a->invoiced, days), "add_days",
        rep_ratio_json(a->end_ar - a->end_current, a->invoiced, days), "cei_percent",
        rep_ratio_json(a->beg_ar + a->invoiced - a->end_ar,
                       a->beg_ar + a->invoiced - a->end_current, 100),
        "recovery_base_minor", (json_int_t)a->rec_base, "recovered_minor", (json_int_t)a->recovered,
        "recovery_rate_percent", rep_ratio_json(a->recovered, a->rec_base, 100), "late_payments",
        late, "promises", "kept", (json_int_t)a->kept, "broken", (json_int_t)a->broken,
        "kept_rate_percent", rep_ratio_json(a->kept, a->kept + a->broken, 100), "disputes",
        "disputed_invoices", (json_int_t)a->disputed, "active_invoices", (json_int_t)a->active,
        "dispute_rate_percent", rep_ratio_json(a->disputed, a->active, 100));
    if (o && a->money && json_object_set_new(o, "money", rep_money_json(a)) < 0) {
        json_decref(o);
        o = NULL;
    }
    if (o && a->esc && json_object_set_new(o, "escalations", rep_esc_json(a)) < 0) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

/* One arm: a strategy's variant and its invoices (a flag per invoice
 * index). */
typedef struct rep_karm {
    const char *strategy, *variant; /* borrowed from the state's groups */
    uint8_t *only;                  /* [st->ninvs], owned */
} rep_karm;

static int rep_karm_cmp(const void *a, const void *b)
{
    const rep_karm *x = a, *y = b;
    int c = strcmp(x->strategy, y->strategy);
    return c ? c : strcmp(x->variant, y->variant);
}

static void rep_karms_free(rep_karm *arms, uint32_t n)
{
    for (uint32_t a = 0; a < n && arms; a++)
        free(arms[a].only);
    free(arms);
}

/* The tenant's arms sorted by strategy and variant, each with its invoices
 * as of the end of day d (see the head of the file). *out (NULL when
 * *nout is 0) is freed with rep_karms_free. 0, or -1 out of memory. */
static int rep_kpis_arms(const rep_state *st, uint32_t tenant, int32_t d, rep_karm **out,
                         uint32_t *nout)
{
    const int64_t end_ms = ((int64_t)d + 1) * REP_MS_PER_DAY - 1;
    uint32_t ng = st->ngroups ? st->ngroups : 1, n = 0;
    int32_t *garm = malloc(ng * sizeof *garm);
    uint32_t *sid = malloc(ng * sizeof *sid), *seen = calloc(ng, sizeof *seen);
    rep_karm *arms = calloc(ng, sizeof *arms);
    int rc = -1;

    *out = NULL;
    *nout = 0;
    if (!garm || !sid || !seen || !arms)
        goto cleanup;
    for (uint32_t i = 0; i < st->ngroups; i++) {
        const rep_group *gr = &st->groups[i];
        if (gr->tenant != tenant || gr->step == REP_STEP_LOGGED)
            continue;
        rep_karm k = {gr->strategy, gr->variant, NULL};
        uint32_t a = 0;
        while (a < n && rep_karm_cmp(&arms[a], &k))
            a++;
        if (a == n)
            arms[n++] = k;
    }
    if (!n) {
        rc = 0;
        goto cleanup;
    }
    qsort(arms, n, sizeof *arms, rep_karm_cmp);
    for (uint32_t a = 0; a < n; a++) {
        /* a strategy's id: its first arm */
        sid[a] = a && !strcmp(arms[a - 1].strategy, arms[a].strategy) ? sid[a - 1] : a;
        if (!(arms[a].only = calloc(st->ninvs ? st->ninvs : 1, 1)))
            goto cleanup;
    }
    for (uint32_t i = 0; i < st->ngroups; i++) {
        const rep_group *gr = &st->groups[i];
        rep_karm k = {gr->strategy, gr->variant, NULL};
        const rep_karm *hit = gr->tenant != tenant || gr->step == REP_STEP_LOGGED
                                  ? NULL
                                  : bsearch(&k, arms, n, sizeof *arms, rep_karm_cmp);
        garm[i] = hit ? (int32_t)(hit - arms) : -1;
    }
    const rep_tlists *tl = &st->by_tenant[tenant];
    for (uint32_t x = 0; x < tl->invs.n; x++) {
        uint32_t i = tl->invs.v[x];
        const rep_inv *inv = &st->invs[i];
        if (inv->tenant != tenant)
            continue;
        /* contacts are sorted by instant: the first under each strategy */
        for (uint32_t k = 0; k < inv->ncontacts; k++) {
            const rep_contact *c = &st->contacts[inv->contacts[k]];
            if (c->at_ms > end_ms)
                break;
            int32_t a = garm[c->group];
            if (a < 0 || seen[sid[a]] == i + 1)
                continue;
            seen[sid[a]] = i + 1;
            arms[a].only[i] = 1;
        }
    }
    *out = arms;
    *nout = n;
    arms = NULL;
    rc = 0;
cleanup:
    rep_karms_free(arms, n);
    free(garm);
    free(sid);
    free(seen);
    return rc;
}

/* The "arms" array (see the head of the file): per arm, the currencies in
 * which it has invoices, each with the three periods without the
 * tenant-wide figures. NULL out of memory. */
static json_t *rep_kpis_arms_json(const rep_state *st, uint32_t tenant, int32_t d,
                                  const int32_t *from, const char *const *names,
                                  const uint32_t *order, const rep_karm *arms, uint32_t narms)
{
    uint32_t nc = st->ncurs ? st->ncurs : 1;
    rep_kacc *acc[3] = {NULL, NULL, NULL};
    json_t *out = json_array();
    int ok = out != NULL;

    for (uint32_t a = 0; a < narms && ok; a++) {
        json_t *curs = json_array();
        ok = curs != NULL;
        for (int p = 0; p < 3 && ok; p++)
            ok = (acc[p] = calloc(nc, sizeof *acc[p])) != NULL &&
                 rep_kpis_period(st, tenant, from[p], d, arms[a].only, acc[p]) == 0;
        /* the currencies of the arm's invoices dropped by the retention
         * (retain.c; issued before any period) */
        for (uint32_t g = 0; g < st->ngroups && ok; g++) {
            const rep_group *gr = &st->groups[g];
            if (gr->tenant != tenant || gr->step == REP_STEP_LOGGED ||
                strcmp(gr->strategy, arms[a].strategy) || strcmp(gr->variant, arms[a].variant))
                continue;
            for (uint32_t c = 0; c < gr->ngone_curs && c < nc; c++)
                if (gr->gone_curs[c])
                    for (int p = 0; p < 3; p++)
                        acc[p][c].present = 1;
        }
        for (uint32_t ci = 0; ci < st->ncurs && ok; ci++) {
            uint32_t c = order[ci];
            if (!acc[2][c].present && !acc[2][c].end_ar && !acc[2][c].beg_ar)
                continue;
            json_t *periods = json_array();
            for (int p = 0; p < 3 && periods; p++) {
                json_t *o = rep_kpis_json(names[p], from[p], d, &acc[p][c]);
                json_object_del(o, "collected_minor"); /* tenant-wide figures */
                json_object_del(o, "promises");
                json_array_append_new(periods, o);
            }
            ok = json_array_append_new(
                     curs, json_pack("{s:s, s:i, s:o}", "currency", st->curs[c].code, "exponent",
                                     st->curs[c].exponent, "periods", periods)) == 0;
        }
        for (int p = 0; p < 3; p++) {
            if (acc[p])
                for (uint32_t c = 0; c < nc; c++)
                    free(acc[p][c].late);
            free(acc[p]);
            acc[p] = NULL;
        }
        if (ok)
            ok = json_array_append_new(out, json_pack("{s:s, s:s, s:o}", "strategy",
                                                      arms[a].strategy, "variant", arms[a].variant,
                                                      "currencies", curs)) == 0;
        else
            json_decref(curs);
    }
    if (!ok) {
        json_decref(out);
        out = NULL;
    }
    return out;
}

json_t *rep_report_kpis(const rep_state *st, uint32_t tenant, int32_t d, int64_t generated_ms)
{
    uint32_t nc = st->ncurs ? st->ncurs : 1;
    rep_kacc *acc[3] = {NULL, NULL, NULL};
    int64_t(*sales)[REP_COUNTBACK_MONTHS] = calloc(nc, sizeof *sales);
    int32_t mdays[REP_COUNTBACK_MONTHS], mstart[REP_COUNTBACK_MONTHS];
    json_t *rep = NULL, *curs = NULL;
    rep_karm *arms = NULL;
    uint32_t narms = 0;
    int y;
    unsigned m, dd;

    cm_civil_from_days(d, &y, &m, &dd);
    /* period starts: day, ISO week (Monday), month */
    int32_t wd = (int32_t)(((d % 7) + 7 + 3) % 7); /* 1970-01-01 was a Thursday: 0 = Monday */
    int32_t from[3] = {d, d - wd, cm_days_from_civil(y, m, 1)};
    static const char *const names[3] = {"day", "week", "month"};

    /* countback months: k = 0 is the month to date */
    for (int k = 0; k < REP_COUNTBACK_MONTHS; k++) {
        int yy = y, mm = (int)m - k;
        while (mm <= 0) {
            mm += 12;
            yy--;
        }
        mstart[k] = cm_days_from_civil(yy, (unsigned)mm, 1);
        int ny = mm == 12 ? yy + 1 : yy, nm = mm == 12 ? 1 : mm + 1;
        mdays[k] = k == 0 ? d - mstart[0] + 1 : cm_days_from_civil(ny, (unsigned)nm, 1) - mstart[k];
    }
    if (!sales)
        goto fail;
    const rep_tlists *tl = &st->by_tenant[tenant];
    for (uint32_t x = 0; x < tl->invs.n; x++) {
        const rep_inv *inv = &st->invs[tl->invs.v[x]];
        if (inv->tenant != tenant || !inv->known || inv->issued > d ||
            inv->issued < mstart[REP_COUNTBACK_MONTHS - 1])
            continue;
        for (int k = 0; k < REP_COUNTBACK_MONTHS; k++)
            if (inv->issued >= mstart[k]) {
                sales[inv->cur][k] += inv->amount;
                break;
            }
    }
    /* the sales of invoices dropped by the retention, by month (retain.c) */
    for (uint32_t x = 0; x < st->nsales; x++) {
        const rep_sales *sa = &st->sales[x];
        if (sa->tenant != tenant || sa->month > d || sa->month < mstart[REP_COUNTBACK_MONTHS - 1])
            continue;
        for (int k = 0; k < REP_COUNTBACK_MONTHS; k++)
            if (sa->month >= mstart[k]) {
                sales[sa->cur][k] += sa->amount;
                break;
            }
    }
    for (int p = 0; p < 3; p++) {
        acc[p] = calloc(nc, sizeof *acc[p]);
        if (!acc[p] || rep_kpis_period(st, tenant, from[p], d, NULL, acc[p]) < 0)
            goto fail;
    }
    rep = rep_report_envelope(st, "kpis", st->tenants[tenant], d, generated_ms);
    curs = json_array();
    if (!rep || !curs)
        goto fail;
    uint32_t order[65536];
    rep_cur_order(st, order);
    for (uint32_t ci = 0; ci < st->ncurs; ci++) {
        uint32_t c = order[ci];
        if (!acc[2][c].present && !acc[2][c].end_ar && !acc[2][c].beg_ar)
            continue;
        json_t *periods = json_array();
        int64_t cbn, cbd;
        rep_countback(acc[0][c].end_ar, sales[c], mdays, &cbn, &cbd);
        for (int p = 0; p < 3; p++)
            json_array_append_new(periods, rep_kpis_json(names[p], from[p], d, &acc[p][c]));
        json_array_append_new(curs,
                              json_pack("{s:s, s:i, s:o, s:o}", "currency", st->curs[c].code,
                                        "exponent", st->curs[c].exponent, "dso_countback_days",
                                        rep_ratio_json(cbn, cbd, 1), "periods", periods));
    }
    json_object_set_new(rep, "currencies", curs);
    curs = NULL;
    if (rep_kpis_arms(st, tenant, d, &arms, &narms) < 0)
        goto fail;
    if (narms) {
        json_t *aj = rep_kpis_arms_json(st, tenant, d, from, names, order, arms, narms);
        if (!aj || json_object_set_new(rep, "arms", aj) < 0)
            goto fail;
    }
    goto done;
fail:
    json_decref(curs);
    json_decref(rep);
    rep = NULL;
done:
    for (int p = 0; p < 3; p++) {
        if (acc[p])
            for (uint32_t c = 0; c < nc; c++)
                free(acc[p][c].late);
        free(acc[p]);
    }
    free(sales);
    rep_karms_free(arms, narms);
    return rep;
}
