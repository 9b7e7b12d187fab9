/* effect.c -- the effectiveness report: per strategy, variant, step and
 * channel, messages sent and failed, the response rate, and the money
 * recovered attributed to the last contact before each payment; then the
 * variants of each strategy side by side (champion/challenger) with the
 * difference in recovery rate and its 95% confidence interval. Logged
 * contacts (contact.logged) have rows of their own (strategy and variant
 * "", step REP_STEP_LOGGED) and take part in responses and attribution, not
 * in the experiments.
 *
 * Everything is cumulative up to the end of the report's day D. A
 * "response" to a contact on an invoice is a payment allocated to that
 * invoice or a promise covering it, in (contact instant, contact + 7 days].
 * A payment's instant is its received_at, else the end of its received_on
 * day. Definitions and worked examples: docs/reports.md. */
#include "reporter.h"
#include "report_int.h"

#include "contract.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct rep_pinst {
    uint32_t inv;
    int64_t ms;
} rep_pinst;

static int rep_pinst_cmp(const void *a, const void *b)
{
    const rep_pinst *x = a, *y = b;
    if (x->inv != y->inv)
        return x->inv < y->inv ? -1 : 1;
    return (x->ms > y->ms) - (x->ms < y->ms);
}

typedef struct rep_gacc {
    int64_t sent, failed, contacted, responded;
    uint32_t last_contacted, last_responded; /* invoice index + 1 */
    int strategy, variant;                   /* indices into the lists below; -1 for logged rows */
} rep_gacc;

typedef struct rep_vacc {
    const char *strategy, *variant;
    int strategy_ix;
    int64_t n, paid;
    int64_t msgs[CT_CH_COUNT], unpriced; /* sent ladder messages of the variant */
    int32_t *days;                       /* due date -> paid in full, paid invoices */
    uint32_t ndays, capdays;
} rep_vacc;

static const rep_state *rep_sort_st;
static int rep_group_order(const void *a, const void *b)
{
    const rep_group *x = &rep_sort_st->groups[*(const uint32_t *)a];
    const rep_group *y = &rep_sort_st->groups[*(const uint32_t *)b];
    int c = strcmp(x->strategy, y->strategy);
    if (!c)
        c = strcmp(x->variant, y->variant);
    if (!c)
        c = (x->step > y->step) - (x->step < y->step);
    if (!c)
        c = strcmp(x->channel, y->channel);
    return c;
}

static json_t *rep_money_list(const rep_state *st, const int64_t *amounts)
{
    json_t *a = json_array();
    uint32_t order[65536];
    rep_cur_order(st, order);
    for (uint32_t ci = 0; ci < st->ncurs; ci++) {
        uint32_t c = order[ci];
        if (amounts[c])
            json_array_append_new(a, json_pack("{s:s, s:I}", "currency", st->curs[c].code,
                                               "amount_minor", (json_int_t)amounts[c]));
    }
    return a;
}

int rep_wilson95(int64_t x, int64_t n, double *lo, double *hi)
{
    if (n <= 0 || x < 0 || x > n)
        return -1;
    const double z = REP_Z95, nn = (double)n, p = (double)x / nn;
    double den = 1 + z * z / nn;
    double mid = (p + z * z / (2 * nn)) / den;
    double half = z / den * sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn));
    *lo = mid - half < 0 ? 0 : mid - half;
    *hi = mid + half > 1 ? 1 : mid + half;
    return 0;
}

int rep_two_prop_z(int64_t x1, int64_t n1, int64_t x0, int64_t n0, double *z, double *p)
{
    if (n1 <= 0 || n0 <= 0)
        return -1;
    double p1 = (double)x1 / (double)n1, p0 = (double)x0 / (double)n0;
    double pool = (double)(x1 + x0) / (double)(n1 + n0);
    double se = sqrt(pool * (1 - pool) * (1.0 / (double)n1 + 1.0 / (double)n0));
    if (se == 0) { /* both 0% or both 100%: no difference at all */
        *z = 0;
        *p = 1;
        return 0;
    }
    *z = (p1 - p0) / se;
    *p = erfc(fabs(*z) / sqrt(2.0));
    return 0;
}

/* One variant of an experiment: counts, recovery and its Wilson interval,
 * money recovered, messages by channel, cost to collect per currency, days
 * to recover and the aging of its open invoices. rec, cost and unpriced
 * are per currency index; age per currency, bucket, {count, amount}. */
static json_t *rep_variant_json(const rep_state *st, rep_vacc *v, const int64_t *rec,
                                const int64_t *cost, const int64_t *unpriced, const int64_t *age)
{
    json_t *aging = json_array();
    double lo = NAN, hi = NAN;
    rep_wilson95(v->paid, v->n, &lo, &hi);
    json_t *msgs = json_object(), *cc = json_array(), *days = json_object();
    static const ct_channel by_name[] = {CT_CH_CALL_TASK, CT_CH_EMAIL, CT_CH_LETTER, CT_CH_SMS,
                                         CT_CH_WEBHOOK};
    for (size_t k = 0; k < sizeof by_name / sizeof *by_name; k++)
        if (v->msgs[by_name[k]])
            json_object_set_new(msgs, ct_channel_name(by_name[k]),
                                json_integer(v->msgs[by_name[k]]));
    uint32_t order[65536];
    rep_cur_order(st, order);
    for (uint32_t ci = 0; ci < st->ncurs; ci++) {
        uint32_t c = order[ci];
        if (!cost[c] && !rec[c] && !unpriced[c])
            continue;
        /* a cost with unpriced messages in it is not known: no ratio */
        json_array_append_new(
            cc, json_pack("{s:s, s:I, s:I, s:I, s:o}", "currency", st->curs[c].code, "cost_minor",
                          (json_int_t)cost[c], "unpriced_messages", (json_int_t)unpriced[c],
                          "recovered_minor", (json_int_t)rec[c], "cost_per_100_recovered",
                          unpriced[c] ? json_null() : rep_ratio_json(cost[c], rec[c], 100)));
    }
    json_object_set_new(days, "count", json_integer(v->ndays));
    rep_days_stats(v->days, v->ndays, days);
    for (uint32_t ci = 0; ci < st->ncurs; ci++) {
        const int64_t *a = &age[(size_t)order[ci] * REP_AGE_BUCKETS * 2];
        int any = 0;
        for (int b = 0; b < REP_AGE_BUCKETS; b++)
            any |= a[2 * b] != 0;
        if (!any)
            continue;
        json_t *bk = json_array();
        for (int b = 0; b < REP_AGE_BUCKETS; b++)
            json_array_append_new(
                bk, json_pack("{s:s, s:I, s:I}", "bucket", rep_age_bucket_names[b], "count",
                              (json_int_t)a[2 * b], "amount_minor", (json_int_t)a[2 * b + 1]));
        json_array_append_new(
            aging, json_pack("{s:s, s:o}", "currency", st->curs[order[ci]].code, "buckets", bk));
    }
    return json_pack(
        "{s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:I, s:o, s:o, s:o}", "variant", v->variant,
        "invoices", (json_int_t)v->n, "paid_invoices", (json_int_t)v->paid, "recovery_rate_percent",
        rep_ratio_json(v->paid, v->n, 100), "recovery_ci95_low_percent", rep_num2(100.0 * lo),
        "recovery_ci95_high_percent", rep_num2(100.0 * hi), "recovered", rep_money_list(st, rec),
        "messages", msgs, "unpriced_messages", (json_int_t)v->unpriced, "collection_cost", cc,
        "days_to_recover", days, "aging", aging);
}

/* A challenger v against its champion b: the difference in recovery rate
 * with its Wald interval, the pooled two-proportion z-test and the verdict
 * in words. */
static json_t *rep_compare_json(const rep_vacc *v, const rep_vacc *b)
{
    json_t *diff = json_null(), *lo = json_null(), *hi = json_null(), *zj = json_null(),
           *pj = json_null();
    double z, p;
    int sig = 0;
    char verdict[512];
    if (rep_two_prop_z(v->paid, v->n, b->paid, b->n, &z, &p) == 0) {
        double p1 = (double)v->paid / (double)v->n, p0 = (double)b->paid / (double)b->n;
        double se = sqrt(p1 * (1 - p1) / (double)v->n + p0 * (1 - p0) / (double)b->n);
        diff = rep_ratio_json(v->paid * b->n - b->paid * v->n, v->n * b->n, 100);
        lo = rep_num2(100.0 * (p1 - p0 - REP_Z95 * se));
        hi = rep_num2(100.0 * (p1 - p0 + REP_Z95 * se));
        zj = rep_num2(z);
        pj = json_real(round(p * 10000.0) / 10000.0);
        sig = p < 0.05;
        double pts = json_real_value(diff);
        char pv[32], what[128];
        if (p < 0.001)
            snprintf(pv, sizeof pv, "p < 0.001");
        else
            snprintf(pv, sizeof pv, "p = %.3f", p);
        if (pts == 0)
            snprintf(what, sizeof what, "the same as");
        else
            snprintf(what, sizeof what, "%.2f points %s than", fabs(pts),
                     pts > 0 ? "more" : "less");
        snprintf(verdict, sizeof verdict, "%s recovers %s %s; %s at 95%% (%s)", v->variant, what,
                 b->variant, sig ? "significant" : "not significant", pv);
    } else {
        snprintf(verdict, sizeof verdict, "no verdict: %s has no invoices",
                 v->n ? b->variant : v->variant);
    }
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:b, s:s}", "variant", v->variant,
                     "baseline", b->variant, "difference_points", diff, "ci95_low_points", lo,
                     "ci95_high_points", hi, "z_score", zj, "p_value", pj, "significant", sig,
                     "verdict", verdict);
}

/* Deliverability (issue 17): rows per channel and template of what was
 * sent up to end_ms and what came back, sorted by channel then template;
 * a reply goes to the row of the last message sent to its debtor on its
 * channel at or before it (none: replies_unattributed). Sets
 * "deliverability" and "replies_unattributed" on rep. 0, or -1 (memory). */
typedef struct rep_fbacc {
    uint32_t tmpl;
    int64_t n[REP_FB_REPLIED + 1]; /* by REP_FB_* */
    int64_t hard;
} rep_fbacc;

static const rep_state *rep_fb_st;
static int rep_fbacc_order(const void *a, const void *b)
{
    const rep_tmpl *x = &rep_fb_st->tmpls[((const rep_fbacc *)a)->tmpl];
    const rep_tmpl *y = &rep_fb_st->tmpls[((const rep_fbacc *)b)->tmpl];
    if (x->channel != y->channel)
        return x->channel < y->channel ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int rep_deliverability(const rep_state *st, uint32_t tenant, int64_t end_ms, json_t *rep)
{
    const rep_list *l = &st->by_tenant[tenant].fbs;
    rep_fbacc *acc = calloc(st->ntmpls ? st->ntmpls : 1, sizeof *acc);
    json_t *rows = json_array();
    int64_t unattributed = 0;
    if (!acc || !rows) {
        free(acc);
        json_decref(rows);
        return -1;
    }
    for (uint32_t x = 0; x < l->n; x++) {
        const rep_fb *f = &st->fbs[l->v[x]];
        if (f->at_ms > end_ms)
            continue;
        uint32_t t = f->tmpl;
        if (f->kind == REP_FB_REPLIED) { /* the last message before it */
            int64_t best = INT64_MIN;
            t = REP_TMPL_NONE;
            for (uint32_t y = 0; y < l->n; y++) {
                const rep_fb *s = &st->fbs[l->v[y]];
                if (s->kind == REP_FB_SENT && s->cust == f->cust && s->channel == f->channel &&
                    s->at_ms <= f->at_ms && s->at_ms >= best) {
                    best = s->at_ms;
                    t = s->tmpl;
                }
            }
            if (t == REP_TMPL_NONE) {
                unattributed++;
                continue;
            }
        }
        acc[t].n[f->kind]++;
        acc[t].hard += f->kind == REP_FB_BOUNCED && f->hard;
    }
    /* with the facts dropped by the retention (retain.c) */
    if (tenant < st->ngone_unattr)
        unattributed += st->gone_unattr[tenant];
    uint32_t nrow = 0;
    for (uint32_t t = 0; t < st->ntmpls; t++)
        if (st->tmpls[t].tenant == tenant) {
            rep_fbacc a = acc[t];
            a.tmpl = t;
            for (int k = 0; k <= REP_FB_REPLIED; k++)
                a.n[k] += st->tmpls[t].gone_n[k];
            a.hard += st->tmpls[t].gone_hard;
            acc[nrow++] = a; /* nrow <= t: compacts in place */
        }
    rep_fb_st = st;
    qsort(acc, nrow, sizeof *acc, rep_fbacc_order);
    for (uint32_t k = 0; k < nrow; k++) {
        const rep_fbacc *a = &acc[k];
        const rep_tmpl *tp = &st->tmpls[a->tmpl];
        int64_t sent = a->n[REP_FB_SENT];
        json_array_append_new(
            rows,
            json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o}", "channel",
                      ct_channel_name((ct_channel)tp->channel), "template", tp->name, "sent",
                      (json_int_t)sent, "delivered", (json_int_t)a->n[REP_FB_DELIVERED], "bounced",
                      (json_int_t)a->n[REP_FB_BOUNCED], "hard_bounced", (json_int_t)a->hard,
                      "complained", (json_int_t)a->n[REP_FB_COMPLAINED], "replied",
                      (json_int_t)a->n[REP_FB_REPLIED], "delivery_rate_percent",
                      rep_ratio_json(a->n[REP_FB_DELIVERED], sent, 100), "bounce_rate_percent",
                      rep_ratio_json(a->n[REP_FB_BOUNCED], sent, 100), "complaint_rate_percent",
                      rep_ratio_json(a->n[REP_FB_COMPLAINED], sent, 100), "reply_rate_percent",
                      rep_ratio_json(a->n[REP_FB_REPLIED], sent, 100)));
    }
    free(acc);
    json_object_set_new(rep, "deliverability", rows);
    json_object_set_new(rep, "replies_unattributed", json_integer((json_int_t)unattributed));
    return 0;
}

/* What invoice i adds as of the end of day d to the rows (g, and rec
 * per group and currency index, nc currencies) and to the variants (vars,
 * vage; NULL: no aging) of the strategies its contacts are under:
 * contacted and responded invoices, money recovered, and each strategy's
 * first contact's variant (strat_seen: per strategy, the last invoice +
 * 1 counted). prom: every promise instant, sorted by invoice. */
static void rep_eff_invoice(const rep_state *st, uint32_t i, int32_t d, const rep_pinst *prom,
                            size_t nprom, rep_gacc *g, int64_t *rec, uint32_t nc, rep_vacc *vars,
                            uint32_t *strat_seen, int64_t *vage)
{
    const int64_t end_ms = ((int64_t)d + 1) * REP_MS_PER_DAY - 1;
    const int64_t window = REP_RESPONSE_DAYS * REP_MS_PER_DAY;
    {
        const rep_inv *inv = &st->invs[i];
        if (!inv->ncontacts)
            return;
        uint32_t nct = 0; /* contacts up to end_ms (sorted by instant) */
        while (nct < inv->ncontacts && st->contacts[inv->contacts[nct]].at_ms <= end_ms)
            nct++;
        if (!nct)
            return;
        /* this invoice's promises */
        size_t plo = 0, phi = nprom;
        {
            size_t lo = 0, hi = nprom;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (prom[mid].inv < i)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            plo = lo;
            phi = lo;
            while (phi < nprom && prom[phi].inv == i)
                phi++;
        }
        for (uint32_t k = 0; k < nct; k++) {
            const rep_contact *c = &st->contacts[inv->contacts[k]];
            rep_gacc *a = &g[c->group];
            if (a->last_contacted != i + 1) {
                a->last_contacted = i + 1;
                a->contacted++;
            }
            if (a->last_responded == i + 1)
                continue;
            int64_t lim = c->at_ms + window < end_ms ? c->at_ms + window : end_ms;
            int resp = 0;
            for (uint32_t m = 0; m < inv->nmoves && !resp; m++) {
                const rep_move *mv = &inv->moves[m];
                if (mv->kind == REP_MV_PAY && rep_pay_live(&st->pays[mv->ref], d) &&
                    mv->at_ms > c->at_ms && mv->at_ms <= lim)
                    resp = 1;
            }
            for (size_t m = plo; m < phi && !resp; m++)
                if (prom[m].ms > c->at_ms && prom[m].ms <= lim)
                    resp = 1;
            if (resp) {
                a->last_responded = i + 1;
                a->responded++;
            }
        }
        /* attribution of each payment to the last contact before it */
        for (uint32_t m = 0; m < inv->nmoves; m++) {
            const rep_move *mv = &inv->moves[m];
            if (mv->kind != REP_MV_PAY || mv->day > d || mv->at_ms > end_ms ||
                !rep_pay_live(&st->pays[mv->ref], d))
                continue;
            int last = -1;
            for (uint32_t k = 0; k < nct; k++)
                if (st->contacts[inv->contacts[k]].at_ms < mv->at_ms)
                    last = (int)k;
            if (last >= 0)
                rec[(size_t)st->contacts[inv->contacts[last]].group * nc + st->pays[mv->ref].cur] +=
                    mv->amount;
        }
        /* experiments: the variant of the first contact under each strategy */
        int32_t paid = rep_inv_paid_day(st, inv, d);
        int64_t open = inv->known ? rep_inv_outstanding(st, inv, d) : 0;
        for (uint32_t k = 0; k < nct; k++) {
            const rep_contact *c = &st->contacts[inv->contacts[k]];
            int s = g[c->group].strategy;
            if (s < 0 || strat_seen[s] == i + 1) /* logged contacts: no variant */
                continue;
            strat_seen[s] = i + 1;
            rep_vacc *v = &vars[g[c->group].variant];
            v->n++;
            if (open > 0 && vage) {
                size_t at = ((size_t)g[c->group].variant * nc + inv->cur) * REP_AGE_BUCKETS +
                            (size_t)rep_age_bucket(d - inv->due);
                vage[2 * at]++;
                vage[2 * at + 1] += open;
            }
            if (paid != REP_DAY_NONE &&
                (int64_t)paid * REP_MS_PER_DAY + REP_MS_PER_DAY > c->at_ms) {
                v->paid++;
                if (inv->known && REP_GROW(v->days, v->capdays, v->ndays + 1) == 0)
                    v->days[v->ndays++] = paid - inv->due;
            }
        }
    }
}

json_t *rep_report_effectiveness(const rep_state *st, uint32_t tenant, int32_t d,
                                 int64_t generated_ms)
{
    const int64_t end_ms = ((int64_t)d + 1) * REP_MS_PER_DAY - 1;
    uint32_t ng = st->ngroups, nc = st->ncurs ? st->ncurs : 1;
    rep_gacc *g = calloc(ng ? ng : 1, sizeof *g);
    int64_t *rec = calloc((size_t)(ng ? ng : 1) * nc, sizeof *rec);
    uint32_t *order = calloc(ng ? ng : 1, sizeof *order);
    rep_vacc *vars = calloc(ng ? ng : 1, sizeof *vars); /* at most one per group */
    const char **strats = calloc(ng ? ng : 1, sizeof *strats);
    uint32_t *strat_seen = calloc(ng ? ng : 1, sizeof *strat_seen);
    int32_t *ccur = malloc((st->ncontacts ? st->ncontacts : 1) * sizeof *ccur);
    int64_t *vcost = calloc((size_t)(ng ? ng : 1) * nc, sizeof *vcost);
    int64_t *vunp = calloc((size_t)(ng ? ng : 1) * nc, sizeof *vunp); /* unpriced */
    /* open balances of each variant's invoices by currency and age bucket */
    int64_t *vage = calloc((size_t)(ng ? ng : 1) * nc * REP_AGE_BUCKETS * 2, sizeof *vage);
    rep_pinst *prom = NULL;
    size_t nprom = 0;
    int nvars = 0, nstrats = 0;
    json_t *rep = NULL, *rows = NULL, *exps = NULL;

    if (!g || !rec || !order || !vars || !strats || !strat_seen || !ccur || !vcost || !vunp ||
        !vage)
        goto fail;
    /* strategies and variants of this tenant */
    uint32_t nord = 0;
    for (uint32_t i = 0; i < ng; i++) {
        const rep_group *gr = &st->groups[i];
        if (gr->tenant != tenant)
            continue;
        order[nord++] = i;
        if (gr->step == REP_STEP_LOGGED) { /* a row, but no strategy's variant */
            g[i].strategy = g[i].variant = -1;
            continue;
        }
        int s = 0;
        while (s < nstrats && strcmp(strats[s], gr->strategy))
            s++;
        if (s == nstrats)
            strats[nstrats++] = gr->strategy;
        int v = 0;
        while (v < nvars && (vars[v].strategy_ix != s || strcmp(vars[v].variant, gr->variant)))
            v++;
        if (v == nvars) {
            vars[v].strategy = gr->strategy;
            vars[v].variant = gr->variant;
            vars[v].strategy_ix = s;
            nvars++;
        }
        g[i].strategy = s;
        g[i].variant = v;
    }
    const rep_tlists *tl = &st->by_tenant[tenant];
    /* the currency a message is charged in: the alphabetically first of
     * its invoices' currencies */
    for (uint32_t x = 0; x < st->ncontacts; x++) /* with its dropped invoices' (retain.c) */
        ccur[x] = (int32_t)st->contacts[x].gone_cur - 1;
    for (uint32_t x = 0; x < tl->invs.n; x++) {
        const rep_inv *inv = &st->invs[tl->invs.v[x]];
        for (uint32_t k = 0; k < inv->ncontacts; k++) {
            int32_t *cc = &ccur[inv->contacts[k]];
            if (*cc < 0 || strcmp(st->curs[inv->cur].code, st->curs[*cc].code) < 0)
                *cc = inv->cur;
        }
    }
    for (uint32_t x = 0; x < tl->contacts.n; x++) {
        uint32_t ci = tl->contacts.v[x];
        const rep_contact *c = &st->contacts[ci];
        if (st->groups[c->group].tenant != tenant || c->at_ms > end_ms)
            continue;
        if (!c->sent) {
            g[c->group].failed++;
            continue;
        }
        g[c->group].sent++;
        if (g[c->group].strategy < 0) /* logged contacts: no variant's messages */
            continue;
        const char *chn = st->groups[c->group].channel;
        ct_channel ch = ct_channel_parse(chn, strlen(chn));
        rep_vacc *v = &vars[g[c->group].variant];
        int64_t unit = 0;
        if (ch == CT_CH_NONE)
            continue;
        v->msgs[ch]++;
        size_t vc = (size_t)g[c->group].variant * nc + (uint32_t)ccur[ci];
        if (ccur[ci] >= 0 && rep_costs_get(st->costs, ch, st->curs[ccur[ci]].code, &unit)) {
            vcost[vc] += unit;
        } else {
            v->unpriced++;
            if (ccur[ci] >= 0)
                vunp[vc]++;
        }
    }
    /* the contacts dropped by the retention (retain.c), counted as above */
    for (uint32_t k = 0; k < nord; k++) {
        const rep_group *gr = &st->groups[order[k]];
        rep_gacc *a = &g[order[k]];
        a->failed += gr->gone_failed;
        for (uint32_t x = 0; x < gr->ngone_sent; x++) {
            int64_t m = gr->gone_sent[x], unit = 0;
            a->sent += m;
            ct_channel ch = ct_channel_parse(gr->channel, strlen(gr->channel));
            if (!m || a->strategy < 0 || ch == CT_CH_NONE)
                continue;
            rep_vacc *v = &vars[a->variant];
            v->msgs[ch] += m;
            size_t vc = (size_t)a->variant * nc + (x ? x - 1 : 0);
            if (x && rep_costs_get(st->costs, ch, st->curs[x - 1].code, &unit)) {
                vcost[vc] += unit * m;
            } else {
                v->unpriced += m;
                if (x)
                    vunp[vc] += m;
            }
        }
    }
    /* promise instants per invoice */
    for (uint32_t x = 0; x < tl->proms.n; x++) {
        uint32_t i = tl->proms.v[x];
        if (st->proms[i].tenant == tenant && st->proms[i].made && st->proms[i].made_ms <= end_ms)
            nprom += st->proms[i].ninvs;
    }
    if (nprom) {
        prom = calloc(nprom, sizeof *prom);
        if (!prom)
            goto fail;
        size_t k = 0;
        for (uint32_t x = 0; x < tl->proms.n; x++) {
            const rep_promise *p = &st->proms[tl->proms.v[x]];
            if (p->tenant != tenant || !p->made || p->made_ms > end_ms)
                continue;
            for (uint32_t j = 0; j < p->ninvs; j++) {
                prom[k].inv = p->invs[j];
                prom[k].ms = p->made_ms;
                k++;
            }
        }
        qsort(prom, nprom, sizeof *prom, rep_pinst_cmp);
    }

    for (uint32_t x = 0; x < tl->invs.n; x++)
        if (st->invs[tl->invs.v[x]].tenant == tenant)
            rep_eff_invoice(st, tl->invs.v[x], d, prom, nprom, g, rec, nc, vars, strat_seen, vage);
    /* what the invoices dropped by the retention added (retain.c) */
    for (uint32_t k = 0; k < nord; k++) {
        const rep_group *gr = &st->groups[order[k]];
        rep_gacc *a = &g[order[k]];
        a->contacted += gr->gone_contacted;
        a->responded += gr->gone_responded;
        for (uint32_t c = 0; c < gr->ngone_rec && c < nc; c++)
            rec[(size_t)order[k] * nc + c] += gr->gone_rec[c];
        if (a->strategy < 0)
            continue;
        rep_vacc *v = &vars[a->variant];
        v->n += gr->gone_invoices;
        v->paid += gr->gone_paid;
        for (uint32_t x = 0; x < gr->ngone_days; x++)
            for (int64_t m = 0; m < gr->gone_days[x].n; m++)
                if (REP_GROW(v->days, v->capdays, v->ndays + 1) == 0)
                    v->days[v->ndays++] = gr->gone_days[x].days;
    }

    rep = rep_report_envelope(st, "effectiveness", st->tenants[tenant], d, generated_ms);
    rows = json_array();
    exps = json_array();
    if (!rep || !rows || !exps)
        goto fail;
    json_object_set_new(rep, "response_window_days", json_integer(REP_RESPONSE_DAYS));
    rep_sort_st = st;
    qsort(order, nord, sizeof *order, rep_group_order);
    for (uint32_t k = 0; k < nord; k++) {
        uint32_t i = order[k];
        const rep_group *gr = &st->groups[i];
        const rep_gacc *a = &g[i];
        json_array_append_new(
            rows, json_pack("{s:s, s:s, s:I, s:s, s:I, s:I, s:I, s:I, s:o, s:o}", "strategy",
                            gr->strategy, "variant", gr->variant, "step", (json_int_t)gr->step,
                            "channel", gr->channel, "sent", (json_int_t)a->sent, "failed",
                            (json_int_t)a->failed, "contacted_invoices", (json_int_t)a->contacted,
                            "responded_invoices", (json_int_t)a->responded, "response_rate_percent",
                            rep_ratio_json(a->responded, a->contacted, 100), "recovered",
                            rep_money_list(st, &rec[(size_t)i * nc])));
    }
    /* champion/challenger per strategy */
    int64_t *vrec = calloc(nc, sizeof *vrec);
    if (!vrec)
        goto fail;
    int sorder[256] = {0};
    for (int s = 0; s < nstrats && s < 256; s++) { /* strategies by name */
        int j = s;
        while (j > 0 && strcmp(strats[sorder[j - 1]], strats[s]) > 0) {
            sorder[j] = sorder[j - 1];
            j--;
        }
        sorder[j] = s;
    }
    for (int si = 0; si < nstrats && si < 256; si++) {
        int s = sorder[si];
        int idx[256] = {0}, n = 0;
        for (int v = 0; v < nvars && n < 256; v++) {
            if (vars[v].strategy_ix != s)
                continue;
            int j = n++;
            while (j > 0 && strcmp(vars[idx[j - 1]].variant, vars[v].variant) > 0) {
                idx[j] = idx[j - 1];
                j--;
            }
            idx[j] = v;
        }
        int base = idx[0];
        for (int j = 0; j < n; j++)
            if (!strcmp(vars[idx[j]].variant, "A"))
                base = idx[j];
        json_t *va = json_array(), *cmp = json_array();
        for (int j = 0; j < n; j++) {
            rep_vacc *v = &vars[idx[j]];
            memset(vrec, 0, nc * sizeof *vrec);
            for (uint32_t k = 0; k < nord; k++)
                if (g[order[k]].variant == idx[j])
                    for (uint32_t c = 0; c < nc; c++)
                        vrec[c] += rec[(size_t)order[k] * nc + c];
            json_array_append_new(
                va, rep_variant_json(st, v, vrec, &vcost[(size_t)idx[j] * nc],
                                     &vunp[(size_t)idx[j] * nc],
                                     &vage[(size_t)idx[j] * nc * REP_AGE_BUCKETS * 2]));
            if (idx[j] == base)
                continue;
            json_array_append_new(cmp, rep_compare_json(v, &vars[base]));
        }
        json_array_append_new(exps,
                              json_pack("{s:s, s:s, s:o, s:o}", "strategy", strats[s], "baseline",
                                        vars[base].variant, "variants", va, "comparisons", cmp));
    }
    free(vrec);
    json_object_set_new(rep, "rows", rows);
    json_object_set_new(rep, "experiments", exps);
    if (rep_deliverability(st, tenant, end_ms, rep) < 0)
        goto fail;
    rows = exps = NULL;
    goto done;
fail:
    json_decref(rows);
    json_decref(exps);
    json_decref(rep);
    rep = NULL;
done:
    free(g);
    free(rec);
    free(order);
    for (int v = 0; vars && v < nvars; v++)
        free(vars[v].days);
    free(vars);
    free(strats);
    free(strat_seen);
    free(prom);
    free(ccur);
    free(vcost);
    free(vunp);
    free(vage);
    return rep;
}

/* ---- the retention (retain.c): what dropped invoices leave in the rows ---- */

struct rep_eff_gone {
    uint32_t ng, nc;
    rep_gacc *g;     /* [ng] */
    int64_t *rec;    /* [ng * nc] */
    rep_vacc *vars;  /* [ng]: each row its own variant */
    int64_t **recs;  /* [ng]: the rows' new gone_rec (st->ncurs each), or NULL */
    rep_dayn **days; /* [ng]: the rows' new gone_days, or NULL */
    uint8_t **curs;  /* [ng]: the rows' new gone_curs (st->ncurs each), or NULL */
    uint32_t *ndays; /* [ng] */
};

void rep_eff_gone_free(rep_eff_gone *x)
{
    if (!x)
        return;
    for (uint32_t i = 0; i < x->ng; i++) {
        if (x->recs)
            free(x->recs[i]);
        if (x->days)
            free(x->days[i]);
        if (x->curs)
            free(x->curs[i]);
        if (x->vars)
            free(x->vars[i].days);
    }
    free(x->g);
    free(x->rec);
    free(x->vars);
    free(x->recs);
    free(x->days);
    free(x->curs);
    free(x->ndays);
    free(x);
}

/* Merges the sorted histogram a[0..na) and the sorted values v[0..nv)
 * into a new histogram in *out (*nout entries); -1 out of memory. */
static int rep_dayn_merge(const rep_dayn *a, uint32_t na, const int32_t *v, uint32_t nv,
                          rep_dayn **out, uint32_t *nout)
{
    rep_dayn *r = malloc(((size_t)na + nv + 1) * sizeof *r);
    uint32_t n = 0, i = 0, j = 0;
    if (!r)
        return -1;
    while (i < na || j < nv) {
        int32_t day = i < na && (j == nv || a[i].days <= v[j]) ? a[i].days : v[j];
        int64_t c = 0;
        for (; i < na && a[i].days == day; i++)
            c += a[i].n;
        for (; j < nv && v[j] == day; j++)
            c++;
        r[n++] = (rep_dayn){day, c};
    }
    *out = r;
    *nout = n;
    return 0;
}

static int rep_i32_order(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

rep_eff_gone *rep_eff_gone_new(const rep_state *st, const uint32_t *ni, int32_t d)
{
    const int64_t end_ms = ((int64_t)d + 1) * REP_MS_PER_DAY - 1;
    uint32_t ng = st->ngroups ? st->ngroups : 1, nc = st->ncurs ? st->ncurs : 1;
    rep_eff_gone *x = calloc(1, sizeof *x);
    uint32_t *seen = calloc(ng, sizeof *seen);
    rep_pinst *prom = NULL;
    size_t nprom = 0;
    if (!x || !seen)
        goto fail;
    x->ng = st->ngroups;
    x->nc = nc;
    x->g = calloc(ng, sizeof *x->g);
    x->rec = calloc((size_t)ng * nc, sizeof *x->rec);
    x->vars = calloc(ng, sizeof *x->vars);
    x->recs = calloc(ng, sizeof *x->recs);
    x->days = calloc(ng, sizeof *x->days);
    x->ndays = calloc(ng, sizeof *x->ndays);
    x->curs = calloc(ng, sizeof *x->curs);
    if (!x->g || !x->rec || !x->vars || !x->recs || !x->days || !x->ndays || !x->curs)
        goto fail;
    /* a strategy's id: the first row of its tenant and name */
    for (uint32_t i = 0; i < st->ngroups; i++) {
        const rep_group *gr = &st->groups[i];
        x->g[i].variant = (int)i;
        x->g[i].strategy = -1;
        if (gr->step == REP_STEP_LOGGED)
            continue;
        uint32_t j = 0;
        while (j < i &&
               (st->groups[j].tenant != gr->tenant || st->groups[j].step == REP_STEP_LOGGED ||
                strcmp(st->groups[j].strategy, gr->strategy)))
            j++;
        x->g[i].strategy = (int)j;
    }
    for (uint32_t p = 0; p < st->nproms; p++)
        if (st->proms[p].made && st->proms[p].made_ms <= end_ms)
            for (uint32_t k = 0; k < st->proms[p].ninvs; k++)
                nprom += ni[st->proms[p].invs[k]] == REP_GONE;
    if (nprom && !(prom = calloc(nprom, sizeof *prom)))
        goto fail;
    nprom = 0;
    for (uint32_t p = 0; p < st->nproms; p++)
        if (st->proms[p].made && st->proms[p].made_ms <= end_ms)
            for (uint32_t k = 0; k < st->proms[p].ninvs; k++)
                if (ni[st->proms[p].invs[k]] == REP_GONE)
                    prom[nprom++] = (rep_pinst){st->proms[p].invs[k], st->proms[p].made_ms};
    if (nprom)
        qsort(prom, nprom, sizeof *prom, rep_pinst_cmp);
    for (uint32_t i = 0; i < st->ninvs; i++)
        if (ni[i] == REP_GONE)
            rep_eff_invoice(st, i, d, prom, nprom, x->g, x->rec, nc, x->vars, seen, NULL);
    for (uint32_t i = 0; i < st->ngroups; i++) {
        const rep_group *gr = &st->groups[i];
        rep_vacc *v = &x->vars[i];
        if (st->ncurs && !(x->recs[i] = calloc(st->ncurs, sizeof *x->recs[i])))
            goto fail;
        for (uint32_t c = 0; c < st->ncurs; c++)
            x->recs[i][c] = (c < gr->ngone_rec ? gr->gone_rec[c] : 0) + x->rec[(size_t)i * nc + c];
        if (v->ndays)
            qsort(v->days, v->ndays, sizeof *v->days, rep_i32_order);
        if (rep_dayn_merge(gr->gone_days, gr->ngone_days, v->days, v->ndays, &x->days[i],
                           &x->ndays[i]) < 0)
            goto fail;
    }
    /* the currencies of each arm's dropped invoices (the first contact
     * under each strategy, as above) */
    memset(seen, 0, ng * sizeof *seen);
    for (uint32_t i = 0; i < st->ngroups; i++) {
        const rep_group *gr = &st->groups[i];
        if (st->ncurs && !(x->curs[i] = calloc(st->ncurs, 1)))
            goto fail;
        for (uint32_t c = 0; c < gr->ngone_curs && c < st->ncurs; c++)
            x->curs[i][c] = gr->gone_curs[c];
    }
    for (uint32_t i = 0; i < st->ninvs; i++) {
        const rep_inv *inv = &st->invs[i];
        if (ni[i] != REP_GONE || !inv->known)
            continue;
        for (uint32_t k = 0; k < inv->ncontacts; k++) {
            uint32_t gi = st->contacts[inv->contacts[k]].group;
            int s = x->g[gi].strategy;
            if (s < 0 || seen[s] == i + 1 || st->contacts[inv->contacts[k]].at_ms > end_ms)
                continue;
            seen[s] = i + 1;
            x->curs[gi][inv->cur] = 1;
        }
    }
    free(seen);
    free(prom);
    return x;
fail:
    free(seen);
    free(prom);
    rep_eff_gone_free(x);
    return NULL;
}

void rep_eff_gone_commit(rep_state *st, rep_eff_gone *x)
{
    for (uint32_t i = 0; i < x->ng && i < st->ngroups; i++) {
        rep_group *gr = &st->groups[i];
        gr->gone_contacted += x->g[i].contacted;
        gr->gone_responded += x->g[i].responded;
        gr->gone_invoices += x->vars[i].n;
        gr->gone_paid += x->vars[i].paid;
        free(gr->gone_rec);
        gr->gone_rec = x->recs[i];
        gr->ngone_rec = x->recs[i] ? st->ncurs : 0;
        x->recs[i] = NULL;
        free(gr->gone_days);
        gr->gone_days = x->days[i];
        gr->ngone_days = x->ndays[i];
        x->days[i] = NULL;
        free(gr->gone_curs);
        gr->gone_curs = x->curs[i];
        gr->ngone_curs = x->curs[i] ? st->ncurs : 0;
        x->curs[i] = NULL;
    }
    rep_eff_gone_free(x);
}
