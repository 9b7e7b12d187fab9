/* retain.c -- the facts' retention (issue 18): dropping what no report
 * within the retention reads.
 *
 * Design: the reporter used to keep every fact for ever so that a report
 * could be built as of any past date. With ARREARS_REPORTER_FACT_RETENTION
 * it keeps what a report as of any day from today minus the retention
 * reads, and answers a request for an older day with an error. Every report
 * reads back at most REP_LOOKBACK_DAYS from its day (the month to date
 * and its beginning AR); countback DSO reads 24 months of sales. So the
 * facts are dropped by horizon H = today - retention - REP_LOOKBACK_DAYS:
 * an invoice settled before H with nothing about it on or after H (see
 * reporter.h) contributes nothing to a period of such a report but its
 * sales, and, through its customer, the risk score of the aging report
 * (first invoice, last payment, broken promises, the latest paid
 * invoices) and the effectiveness report's message counts. Those stay,
 * summed, in rep_sales, rep_cust's gone_* and rep_group's gone_*; the
 * reports add them (aging.c, report.c, kpis.c, effect.c).
 *
 * Deterministic: which facts go is a function of the state and H alone,
 * kept entities keep their order, and the sums are order-free. The
 * service (serve.c) retains at the report clock's day once caught up, so
 * a rebuild from Kafka drops the same facts at its first tick as the live
 * run dropped over time; only an event about an invoice that arrives
 * after the invoice was dropped differs (live: a new stub; rebuild: part
 * of the invoice, which is then dropped or kept with it).
 *
 * All allocation happens before the state changes: new index maps are
 * built beside the old ones and swapped in at the end. */
#include "reporter.h"
#include "report_int.h"

#include "clock.h"
#include "contract.h"

#include <stdlib.h>
#include <string.h>

int32_t rep_state_exact_from(const rep_state *st)
{
    return st->horizon ? st->horizon + REP_LOOKBACK_DAYS : INT32_MIN;
}

/* Builds into out the entries of m whose value v maps to nv[v] !=
 * REP_GONE, with that value. 0, or -1 (out of memory; out freed). */
static int rep_map_remap(const cm_map *m, const uint32_t *nv, uint32_t n, cm_map *out)
{
    const char *key;
    uint32_t val;
    for (size_t i = 0; i < m->cap; i++) {
        if (!cm_map_at(m, i, &key, &val) || val >= n || nv[val] == REP_GONE)
            continue;
        if (cm_map_put(out, key, strlen(key), nv[val]) < 0) {
            cm_map_free(out);
            return -1;
        }
    }
    return 0;
}

/* Keeps the entries of l whose value maps to a kept index, renumbered. */
static void rep_list_remap(rep_list *l, const uint32_t *nv)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < l->n; i++)
        if (nv[l->v[i]] != REP_GONE)
            l->v[k++] = nv[l->v[i]];
    l->n = k;
}

/* Paid later first; the same day: invoice id ascending (report.c's order). */
static int rep_paid_before(const rep_paid *a, const rep_paid *b)
{
    if (a->paid != b->paid)
        return a->paid > b->paid;
    return strcmp(a->id, b->id) < 0;
}

/* Files a dropped paid invoice among its customer's latest (gone_paid has
 * room for REP_GONE_PAID); takes *id (set to NULL) when it is kept. */
static void rep_gone_paid_add(rep_cust *c, int32_t paid, int32_t late, char **id)
{
    rep_paid r = {paid, late, *id};
    if (c->ngone_paid == REP_GONE_PAID && !rep_paid_before(&r, &c->gone_paid[REP_GONE_PAID - 1]))
        return;
    uint32_t j = c->ngone_paid;
    if (j == REP_GONE_PAID)
        free(c->gone_paid[--j].id);
    else
        c->ngone_paid++;
    while (j > 0 && rep_paid_before(&r, &c->gone_paid[j - 1])) {
        c->gone_paid[j] = c->gone_paid[j - 1];
        j--;
    }
    c->gone_paid[j] = r;
    *id = NULL;
}

/* The rep_sales entry of (tenant, cur, month), or a new one (room was
 * made by the caller). */
static rep_sales *rep_sales_at(rep_state *st, uint32_t tenant, uint16_t cur, int32_t month)
{
    for (uint32_t i = 0; i < st->nsales; i++)
        if (st->sales[i].tenant == tenant && st->sales[i].cur == cur && st->sales[i].month == month)
            return &st->sales[i];
    st->sales[st->nsales] = (rep_sales){.tenant = tenant, .cur = cur, .month = month};
    return &st->sales[st->nsales++];
}

static int32_t rep_month_start(int32_t day)
{
    int y;
    unsigned m, d;
    cm_civil_from_days(day, &y, &m, &d);
    return cm_days_from_civil(y, m, 1);
}

/* 1 when invoice inv has nothing on or after day h (ms: its start) and a
 * zero balance at the end of h - 1. */
static int rep_inv_settled(const rep_state *st, const rep_inv *inv, int32_t h, int64_t hms)
{
    if (inv->known && (inv->issued >= h || inv->due >= h))
        return 0;
    if (inv->close_day != REP_DAY_NONE && inv->close_day >= h)
        return 0;
    for (uint32_t k = 0; k < inv->nmoves; k++) {
        const rep_move *mv = &inv->moves[k];
        if (mv->day >= h || mv->at_ms >= hms)
            return 0;
        if (mv->kind == REP_MV_PAY && st->pays[mv->ref].reversed_day != REP_DAY_NONE &&
            st->pays[mv->ref].reversed_day >= h)
            return 0;
    }
    if (inv->ncontacts && st->contacts[inv->contacts[inv->ncontacts - 1]].at_ms >= hms)
        return 0;
    return rep_inv_outstanding(st, inv, h - 1) == 0;
}

long rep_state_retain(rep_state *st, int32_t horizon, char *errstr, size_t errlen)
{
    if (horizon <= st->horizon)
        return 0;
    const int64_t hms = (int64_t)horizon * REP_MS_PER_DAY;
    const int32_t prune = horizon - (REP_COUNTBACK_MONTHS + 1) * 31; /* older sales: one sum */
    uint32_t *ni = malloc((st->ninvs ? st->ninvs : 1) * sizeof *ni);
    uint32_t *np = malloc((st->npays ? st->npays : 1) * sizeof *np);
    uint32_t *nr = malloc((st->nproms ? st->nproms : 1) * sizeof *nr);
    uint32_t *nk = malloc((st->ncontacts ? st->ncontacts : 1) * sizeof *nk);
    int32_t *ccur = malloc((st->ncontacts ? st->ncontacts : 1) * sizeof *ccur);
    int32_t *dcur = malloc((st->ncontacts ? st->ncontacts : 1) * sizeof *dcur);
    int32_t *pstat = malloc((st->nproms ? st->nproms : 1) * sizeof *pstat);
    int32_t *pday = malloc((st->nproms ? st->nproms : 1) * sizeof *pday);
    int32_t *paid = malloc((st->ninvs ? st->ninvs : 1) * sizeof *paid);
    int32_t *block = malloc((st->ncusts ? st->ncusts : 1) * sizeof *block);
    uint32_t *nf = malloc((st->nfbs ? st->nfbs : 1) * sizeof *nf);
    uint32_t *fto = malloc((st->nfbs ? st->nfbs : 1) * sizeof *fto); /* a reply's row */
    uint32_t *lastsent = malloc((st->ncusts ? st->ncusts : 1) * 2 * sizeof *lastsent);
    uint32_t *nm = malloc((st->nmoney ? st->nmoney : 1) * sizeof *nm);
    uint32_t *ne = malloc((st->nescs ? st->nescs : 1) * sizeof *ne);
    cm_map inv2 = {0}, pay2 = {0}, prom2 = {0};
    rep_eff_gone *eff = NULL;
    long dropped = 0;
    int rc = -1;

    if (!ni || !np || !nr || !nk || !ccur || !dcur || !pstat || !pday || !paid || !block || !nf ||
        !fto || !lastsent || !nm || !ne)
        goto cleanup;
    /* a promise undecided at the end of horizon - 1 may still be kept by
     * the customer's payments from the day it was made (the documented
     * rule, report.c): an invoice with such a payment stays. block: per
     * customer, the first day a payment may count */
    for (uint32_t c = 0; c < st->ncusts; c++)
        block[c] = REP_DAY_NONE;
    for (uint32_t i = 0; i < st->nproms; i++) {
        pstat[i] = rep_promise_status(st, &st->proms[i], horizon - 1, &pday[i]);
        if (pstat[i] == REP_PROMISE_OPEN && st->proms[i].made_day < block[st->proms[i].cust])
            block[st->proms[i].cust] = st->proms[i].made_day;
    }
    /* a promise made on or after horizon is a fact of its invoices */
    for (uint32_t i = 0; i < st->ninvs; i++)
        ni[i] = 0;
    for (uint32_t i = 0; i < st->nproms; i++)
        if (st->proms[i].made && (st->proms[i].made_day >= horizon || st->proms[i].made_ms >= hms))
            for (uint32_t k = 0; k < st->proms[i].ninvs; k++)
                ni[st->proms[i].invs[k]] = 1;
    for (uint32_t i = 0; i < st->ninvs; i++) {
        const rep_inv *inv = &st->invs[i];
        int drop = !ni[i] && rep_inv_settled(st, inv, horizon, hms);
        for (uint32_t m = 0; drop && m < inv->nmoves; m++)
            drop = inv->moves[m].kind != REP_MV_PAY || inv->moves[m].day < block[inv->cust];
        ni[i] = drop ? REP_GONE : 0;
        paid[i] = drop ? rep_inv_paid_day(st, inv, horizon - 1) : REP_DAY_NONE;
    }
    /* contacts: kept when recent or filed under a kept invoice; the
     * currency a dropped one is charged in is effect.c's (the
     * alphabetically first of its invoices') */
    for (uint32_t k = 0; k < st->ncontacts; k++) {
        nk[k] = st->contacts[k].at_ms >= hms ? 0 : REP_GONE;
        ccur[k] = (int32_t)st->contacts[k].gone_cur - 1;
        dcur[k] = ccur[k];
    }
    for (uint32_t i = 0; i < st->ninvs; i++)
        for (uint32_t k = 0; k < st->invs[i].ncontacts; k++) {
            uint32_t c = st->invs[i].contacts[k];
            if (ni[i] != REP_GONE)
                nk[c] = 0;
            const uint16_t cur = st->invs[i].cur;
            if (ccur[c] < 0 || strcmp(st->curs[cur].code, st->curs[ccur[c]].code) < 0)
                ccur[c] = cur;
            if (ni[i] == REP_GONE &&
                (dcur[c] < 0 || strcmp(st->curs[cur].code, st->curs[dcur[c]].code) < 0))
                dcur[c] = cur;
        }
    for (uint32_t p = 0; p < st->npays; p++) {
        const rep_pay *py = &st->pays[p];
        int drop = py->day < horizon && py->at_ms < hms &&
                   (py->reversed_day == REP_DAY_NONE || py->reversed_day < horizon);
        for (uint32_t a = 0; drop && a < py->nallocs; a++)
            drop = ni[py->allocs[a].inv] == REP_GONE;
        np[p] = drop ? REP_GONE : 0;
    }
    for (uint32_t i = 0; i < st->nproms; i++) {
        const rep_promise *p = &st->proms[i];
        int drop = (pstat[i] == REP_PROMISE_KEPT || pstat[i] == REP_PROMISE_BROKEN) &&
                   pday[i] < horizon && (!p->made || p->made_day < horizon) &&
                   (p->outcome == REP_PROMISE_OPEN || p->outcome_day < horizon);
        for (uint32_t k = 0; drop && k < p->ninvs; k++)
            drop = ni[p->invs[k]] == REP_GONE;
        nr[i] = drop ? REP_GONE : 0;
    }
    /* deliverability: each debtor's last message sent on each channel
     * before horizon stays (a reply after it is given to it; among equal
     * instants the report takes the later fact); the other facts before
     * horizon go, a reply counted in the row the report gives it */
    for (uint32_t c = 0; c < 2 * st->ncusts; c++)
        lastsent[c] = REP_GONE;
    for (uint32_t i = 0; i < st->nfbs; i++) {
        const rep_fb *f = &st->fbs[i];
        nf[i] = f->at_ms >= hms ? 0 : REP_GONE;
        uint32_t *ls = &lastsent[2 * f->cust + (f->channel == CT_CH_SMS)];
        if (nf[i] && f->kind == REP_FB_SENT && (*ls == REP_GONE || f->at_ms >= st->fbs[*ls].at_ms))
            *ls = i;
    }
    for (uint32_t c = 0; c < 2 * st->ncusts; c++)
        if (lastsent[c] != REP_GONE)
            nf[lastsent[c]] = 0;
    for (uint32_t i = 0; i < st->nfbs; i++) {
        const rep_fb *f = &st->fbs[i];
        fto[i] = f->tmpl;
        if (nf[i] != REP_GONE || f->kind != REP_FB_REPLIED)
            continue;
        const rep_list *l = &st->by_tenant[f->tenant].fbs;
        int64_t best = INT64_MIN;
        fto[i] = REP_TMPL_NONE;
        for (uint32_t y = 0; y < l->n; y++) {
            const rep_fb *o = &st->fbs[l->v[y]];
            if (o->kind == REP_FB_SENT && o->cust == f->cust && o->channel == f->channel &&
                o->at_ms <= f->at_ms && o->at_ms >= best) {
                best = o->at_ms;
                fto[i] = o->tmpl;
            }
        }
    }
    /* money facts before horizon go; hand-off facts too, but a remittance
     * of a case not placed before horizon (its placement decides where it
     * counts) */
    uint32_t ndrop_other = 0;
    for (uint32_t i = 0; i < st->nmoney; i++) {
        nm[i] = st->money[i].day < horizon ? REP_GONE : 0;
        ndrop_other += nm[i] == REP_GONE;
    }
    for (uint32_t i = 0; i < st->nescs; i++) {
        const rep_esc *f = &st->escs[i];
        const rep_case *c = &st->cases[f->kase];
        int drop = f->day < horizon &&
                   (f->kind != REP_ESC_REMITTED || (c->placed && c->placed_day < horizon));
        ne[i] = drop ? REP_GONE : 0;
        ndrop_other += drop;
    }
    /* new indices */
    uint32_t n = 0, ndrop_inv = 0, ndrop_pay = 0, ndrop_prom = 0;
    for (uint32_t i = 0; i < st->ninvs; i++)
        ni[i] = ni[i] == REP_GONE ? (ndrop_inv++, REP_GONE) : n++;
    n = 0;
    for (uint32_t i = 0; i < st->npays; i++)
        np[i] = np[i] == REP_GONE ? (ndrop_pay++, REP_GONE) : n++;
    n = 0;
    for (uint32_t i = 0; i < st->nproms; i++)
        nr[i] = nr[i] == REP_GONE ? (ndrop_prom++, REP_GONE) : n++;
    n = 0;
    for (uint32_t i = 0; i < st->ncontacts; i++)
        nk[i] = nk[i] == REP_GONE ? REP_GONE : n++;
    n = 0;
    for (uint32_t i = 0; i < st->nfbs; i++)
        nf[i] = nf[i] == REP_GONE ? REP_GONE : n++;
    n = 0;
    for (uint32_t i = 0; i < st->nmoney; i++)
        nm[i] = nm[i] == REP_GONE ? REP_GONE : n++;
    n = 0;
    for (uint32_t i = 0; i < st->nescs; i++)
        ne[i] = ne[i] == REP_GONE ? REP_GONE : n++;
    if (st->ngone_unattr < st->ntenants) {
        int64_t *v = realloc(st->gone_unattr, st->ntenants * sizeof *v);
        if (!v)
            goto cleanup;
        memset(v + st->ngone_unattr, 0, (st->ntenants - st->ngone_unattr) * sizeof *v);
        st->gone_unattr = v;
        st->ngone_unattr = st->ntenants;
    }
    /* room for what stays of them, and the new maps */
    if (REP_GROW(st->sales, st->capsales,
                 2 * st->nsales + 2 * ndrop_inv + st->npays + ndrop_other + 1) < 0)
        goto cleanup;
    for (uint32_t g = 0; g < st->ngroups; g++) {
        rep_group *gr = &st->groups[g];
        if (gr->ngone_sent < st->ncurs + 1) {
            int64_t *v = realloc(gr->gone_sent, (st->ncurs + 1) * sizeof *v);
            if (!v)
                goto cleanup;
            memset(v + gr->ngone_sent, 0, (st->ncurs + 1 - gr->ngone_sent) * sizeof *v);
            gr->gone_sent = v;
            gr->ngone_sent = st->ncurs + 1;
        }
    }
    for (uint32_t i = 0; i < st->ninvs; i++) {
        rep_cust *c = &st->custs[st->invs[i].cust];
        if (paid[i] != REP_DAY_NONE && !c->gone_paid &&
            !(c->gone_paid = calloc(REP_GONE_PAID, sizeof *c->gone_paid)))
            goto cleanup;
    }
    /* (a day that drops no invoice, payment or promise rebuilds no map) */
    if ((ndrop_inv && (!(eff = rep_eff_gone_new(st, ni, horizon - 1)) ||
                       rep_map_remap(&st->inv_ix, ni, st->ninvs, &inv2) < 0)) ||
        (ndrop_pay && rep_map_remap(&st->pay_ix, np, st->npays, &pay2) < 0) ||
        (ndrop_prom && rep_map_remap(&st->prom_ix, nr, st->nproms, &prom2) < 0))
        goto cleanup;

    /* ---- from here on nothing fails ---- */
    if (eff)
        rep_eff_gone_commit(st, eff);
    eff = NULL;
    /* promises decided by the documented rule keep that outcome: the
     * payments it read may go */
    for (uint32_t i = 0; i < st->nproms; i++) {
        rep_promise *p = &st->proms[i];
        if (p->outcome == REP_PROMISE_OPEN &&
            (pstat[i] == REP_PROMISE_KEPT || pstat[i] == REP_PROMISE_BROKEN) && pday[i] < horizon) {
            p->outcome = (uint8_t)pstat[i];
            p->outcome_day = pday[i];
        }
        if (nr[i] == REP_GONE && pstat[i] == REP_PROMISE_BROKEN)
            st->custs[p->cust].gone_broken++;
    }
    for (uint32_t p = 0; p < st->npays; p++) {
        const rep_pay *py = &st->pays[p];
        if (np[p] != REP_GONE)
            continue;
        rep_cust *c = &st->custs[py->cust];
        if (py->reversed_day == REP_DAY_NONE &&
            (c->gone_lastpay == REP_DAY_NONE || py->day > c->gone_lastpay))
            c->gone_lastpay = py->day;
        rep_sales_at(st, py->tenant, py->cur, INT32_MIN); /* the currency stays present */
    }
    for (uint32_t k = 0; k < st->ncontacts; k++) {
        if (nk[k] != REP_GONE)
            continue;
        rep_group *gr = &st->groups[st->contacts[k].group];
        if (st->contacts[k].sent)
            gr->gone_sent[ccur[k] + 1]++;
        else
            gr->gone_failed++;
    }
    for (uint32_t i = 0; i < st->ninvs; i++) {
        rep_inv *inv = &st->invs[i];
        if (ni[i] != REP_GONE)
            continue;
        rep_cust *c = &st->custs[inv->cust];
        if (inv->known) {
            if (c->gone_first == REP_DAY_NONE || inv->issued < c->gone_first)
                c->gone_first = inv->issued;
            int32_t m = rep_month_start(inv->issued);
            rep_sales_at(st, inv->tenant, inv->cur, m < prune ? INT32_MIN : m)->amount +=
                inv->amount;
        }
        if (paid[i] != REP_DAY_NONE)
            rep_gone_paid_add(c, paid[i], paid[i] > inv->due ? paid[i] - inv->due : 0, &inv->id);
        free(inv->id);
        free(inv->moves);
        free(inv->contacts);
        dropped++;
    }
    /* sales of months countback no longer reads: into the one sum per
     * tenant and currency (month INT32_MIN) */
    uint32_t ks = 0, ns = st->nsales;
    for (uint32_t i = 0; i < ns; i++) {
        rep_sales *sa = &st->sales[i];
        if (sa->month != INT32_MIN && sa->month < prune) {
            rep_sales_at(st, sa->tenant, sa->cur, INT32_MIN)->amount += st->sales[i].amount;
            st->sales[i].amount = 0;
            st->sales[i].month = INT32_MAX; /* gone */
        }
    }
    for (uint32_t i = 0; i < st->nsales; i++)
        if (st->sales[i].month != INT32_MAX)
            st->sales[ks++] = st->sales[i];
    st->nsales = ks;
    /* compaction */
    uint32_t k = 0;
    for (uint32_t i = 0; i < st->ninvs; i++) {
        if (ni[i] == REP_GONE)
            continue;
        rep_inv *inv = &st->invs[i];
        for (uint32_t m = 0; m < inv->nmoves; m++)
            if (inv->moves[m].kind == REP_MV_PAY)
                inv->moves[m].ref = np[inv->moves[m].ref];
        for (uint32_t m = 0; m < inv->ncontacts; m++)
            inv->contacts[m] = nk[inv->contacts[m]];
        st->invs[k++] = *inv;
    }
    st->ninvs = k;
    k = 0;
    for (uint32_t p = 0; p < st->npays; p++) {
        rep_pay *py = &st->pays[p];
        if (np[p] == REP_GONE) {
            free(py->allocs);
            continue;
        }
        uint32_t a = 0;
        for (uint32_t x = 0; x < py->nallocs; x++)
            if (ni[py->allocs[x].inv] != REP_GONE)
                py->allocs[a++] = (rep_alloc){ni[py->allocs[x].inv], py->allocs[x].amount};
        py->nallocs = a;
        st->pays[k++] = *py;
    }
    st->npays = k;
    k = 0;
    for (uint32_t i = 0; i < st->nproms; i++) {
        rep_promise *p = &st->proms[i];
        if (nr[i] == REP_GONE) {
            free(p->invs);
            continue;
        }
        uint32_t a = 0;
        for (uint32_t x = 0; x < p->ninvs; x++)
            if (ni[p->invs[x]] != REP_GONE)
                p->invs[a++] = ni[p->invs[x]];
        p->ninvs = a;
        st->proms[k++] = *p;
    }
    st->nproms = k;
    for (uint32_t i = 0; i < st->nmoney; i++)
        if (nm[i] == REP_GONE)
            rep_sales_at(st, st->money[i].tenant, st->money[i].cur, INT32_MIN)->money = 1;
    for (uint32_t i = 0; i < st->nescs; i++) {
        const rep_esc *f = &st->escs[i];
        if (ne[i] != REP_GONE || (f->kind != REP_ESC_PLACED && f->kind != REP_ESC_REMITTED))
            continue;
        rep_sales *e = rep_sales_at(st, f->tenant, f->cur, INT32_MIN);
        e->esc = 1;
        if (f->kind == REP_ESC_PLACED) {
            e->placed += f->amount;
        } else if (st->cases[f->kase].cur == f->cur) {
            e->remitted += f->amount;
            e->commission += f->extra;
        }
    }
    k = 0;
    for (uint32_t i = 0; i < st->nmoney; i++)
        if (nm[i] != REP_GONE)
            st->money[k++] = st->money[i];
    st->nmoney = k;
    k = 0;
    for (uint32_t i = 0; i < st->nescs; i++)
        if (ne[i] != REP_GONE)
            st->escs[k++] = st->escs[i];
    st->nescs = k;
    for (uint32_t i = 0; i < st->nfbs; i++) {
        const rep_fb *f = &st->fbs[i];
        if (nf[i] != REP_GONE)
            continue;
        if (fto[i] == REP_TMPL_NONE) {
            st->gone_unattr[f->tenant]++;
            continue;
        }
        st->tmpls[fto[i]].gone_n[f->kind]++;
        st->tmpls[fto[i]].gone_hard += f->kind == REP_FB_BOUNCED && f->hard;
    }
    k = 0;
    for (uint32_t i = 0; i < st->nfbs; i++)
        if (nf[i] != REP_GONE)
            st->fbs[k++] = st->fbs[i];
    st->nfbs = k;
    /* a kept contact of a dropped invoice keeps the currency it is
     * charged in (effect.c: the first of all its invoices') */
    k = 0;
    for (uint32_t i = 0; i < st->ncontacts; i++)
        if (nk[i] != REP_GONE) {
            st->contacts[i].gone_cur = (uint16_t)(dcur[i] + 1);
            st->contacts[k++] = st->contacts[i];
        }
    st->ncontacts = k;
    for (uint32_t c = 0; c < st->ncusts; c++) {
        rep_cust *cu = &st->custs[c];
        uint32_t a = 0;
        for (uint32_t x = 0; x < cu->ninvs; x++)
            if (ni[cu->invs[x]] != REP_GONE)
                cu->invs[a++] = ni[cu->invs[x]];
        cu->ninvs = a;
    }
    for (uint32_t t = 0; t < st->ntenants; t++) {
        rep_tlists *tl = &st->by_tenant[t];
        rep_list_remap(&tl->invs, ni);
        rep_list_remap(&tl->pays, np);
        rep_list_remap(&tl->proms, nr);
        rep_list_remap(&tl->contacts, nk);
        rep_list_remap(&tl->fbs, nf);
        rep_list_remap(&tl->money, nm);
        rep_list_remap(&tl->escs, ne);
    }
    if (ndrop_inv) {
        cm_map_free(&st->inv_ix);
        st->inv_ix = inv2;
    }
    if (ndrop_pay) {
        cm_map_free(&st->pay_ix);
        st->pay_ix = pay2;
    }
    if (ndrop_prom) {
        cm_map_free(&st->prom_ix);
        st->prom_ix = prom2;
    }
    st->horizon = horizon;
    rc = 0;
cleanup:
    rep_eff_gone_free(eff);
    if (rc < 0) {
        cm_map_free(&inv2);
        cm_map_free(&pay2);
        cm_map_free(&prom2);
        snprintf(errstr, errlen, "fact retention: out of memory (nothing dropped)");
    }
    free(ni);
    free(np);
    free(nr);
    free(nk);
    free(ccur);
    free(dcur);
    free(pstat);
    free(pday);
    free(paid);
    free(block);
    free(nf);
    free(fto);
    free(lastsent);
    free(nm);
    free(ne);
    return rc < 0 ? -1 : dropped;
}
