/* aging.c -- the aging report: open receivables by days past due.
 *
 * One pass over the invoices fills the five buckets of every currency of
 * the tenant; then, per currency with overdue money, one pass sums each
 * customer's overdue balance into dense arrays indexed by customer, and a
 * bounded insertion keeps the ten largest. No sorting of the invoices, no
 * allocation per invoice: this is the report that must stay under a second
 * at a million open invoices. */
#include "reporter.h"
#include "report_int.h"

#include <stdlib.h>
#include <string.h>

#define REP_NBUCKETS 5
#define REP_TOP      10
static const char *const rep_bucket_names[REP_NBUCKETS] = {"current", "1-30", "31-60", "61-90",
                                                           "91+"};

static int rep_bucket(int32_t dpd)
{
    return dpd <= 0 ? 0 : dpd <= 30 ? 1 : dpd <= 60 ? 2 : dpd <= 90 ? 3 : 4;
}

typedef struct rep_top {
    uint32_t cust;
    int64_t amount;
} rep_top;

static int rep_top_before(const rep_state *st, const rep_top *a, const rep_top *b)
{
    if (a->amount != b->amount)
        return a->amount > b->amount;
    return strcmp(st->custs[a->cust].id, st->custs[b->cust].id) < 0;
}

json_t *rep_report_aging(const rep_state *st, uint32_t tenant, int32_t d, int64_t generated_ms)
{
    json_t *rep = NULL, *curs = NULL;
    int64_t(*amt)[REP_NBUCKETS] = NULL;
    int64_t(*cnt)[REP_NBUCKETS] = NULL;
    int64_t *camt = NULL;
    int32_t *cdpd = NULL;
    uint32_t *cinv = NULL;
    uint32_t *broken = NULL; /* promises broken as of d, by customer */
    int32_t *lastpay = NULL; /* day of the last payment live at d, by customer */
    uint32_t nc = st->ncurs ? st->ncurs : 1;

    amt = calloc(nc, sizeof *amt);
    cnt = calloc(nc, sizeof *cnt);
    if (!amt || !cnt)
        goto fail;
    const rep_tlists *tl = &st->by_tenant[tenant];
    for (uint32_t x = 0; x < tl->invs.n; x++) {
        const rep_inv *inv = &st->invs[tl->invs.v[x]];
        if (inv->tenant != tenant || !inv->known)
            continue;
        int64_t out = rep_inv_outstanding(st, inv, d);
        if (out <= 0)
            continue;
        int b = rep_bucket(d - inv->due);
        amt[inv->cur][b] += out;
        cnt[inv->cur][b]++;
    }

    rep = rep_report_envelope(st, "aging", st->tenants[tenant], d, generated_ms);
    curs = json_array();
    if (!rep || !curs)
        goto fail;
    uint32_t order[65536];
    rep_cur_order(st, order);
    for (uint32_t ci = 0; ci < st->ncurs; ci++) {
        uint32_t c = order[ci];
        int64_t tc = 0, ta = 0, oc = 0, oa = 0;
        for (int b = 0; b < REP_NBUCKETS; b++) {
            tc += cnt[c][b];
            ta += amt[c][b];
            if (b) {
                oc += cnt[c][b];
                oa += amt[c][b];
            }
        }
        if (!tc)
            continue;
        json_t *buckets = json_array();
        for (int b = 0; b < REP_NBUCKETS; b++)
            json_array_append_new(
                buckets, json_pack("{s:s, s:I, s:I}", "bucket", rep_bucket_names[b], "count",
                                   (json_int_t)cnt[c][b], "amount_minor", (json_int_t)amt[c][b]));
        json_t *top = json_array();
        if (oc) {
            if (!camt) {
                camt = calloc(st->ncusts, sizeof *camt);
                cdpd = calloc(st->ncusts, sizeof *cdpd);
                cinv = calloc(st->ncusts, sizeof *cinv);
                broken = calloc(st->ncusts, sizeof *broken);
                lastpay = malloc(st->ncusts * sizeof *lastpay);
                if (!camt || !cdpd || !cinv || !broken || !lastpay) {
                    json_decref(buckets);
                    json_decref(top);
                    goto fail;
                }
                /* with what the retention left of dropped promises and
                 * payments (retain.c) */
                for (uint32_t k = 0; k < st->ncusts; k++) {
                    broken[k] = st->custs[k].gone_broken;
                    lastpay[k] = st->custs[k].gone_lastpay;
                }
                for (uint32_t x = 0; x < tl->proms.n; x++) {
                    uint32_t p = tl->proms.v[x];
                    int32_t day;
                    if (st->proms[p].tenant == tenant &&
                        rep_promise_status(st, &st->proms[p], d, &day) == REP_PROMISE_BROKEN)
                        broken[st->proms[p].cust]++;
                }
                for (uint32_t x = 0; x < tl->pays.n; x++) {
                    const rep_pay *py = &st->pays[tl->pays.v[x]];
                    if (py->tenant == tenant && rep_pay_live(py, d) &&
                        (lastpay[py->cust] == REP_DAY_NONE || py->day > lastpay[py->cust]))
                        lastpay[py->cust] = py->day;
                }
            } else {
                memset(camt, 0, st->ncusts * sizeof *camt);
                memset(cdpd, 0, st->ncusts * sizeof *cdpd);
                memset(cinv, 0, st->ncusts * sizeof *cinv);
            }
            for (uint32_t x = 0; x < tl->invs.n; x++) {
                const rep_inv *inv = &st->invs[tl->invs.v[x]];
                if (inv->tenant != tenant || !inv->known || inv->cur != c || inv->due >= d)
                    continue;
                int64_t out = rep_inv_outstanding(st, inv, d);
                if (out <= 0)
                    continue;
                camt[inv->cust] += out;
                cinv[inv->cust]++;
                if (d - inv->due > cdpd[inv->cust])
                    cdpd[inv->cust] = d - inv->due;
            }
            rep_top best[REP_TOP];
            int nbest = 0;
            for (uint32_t k = 0; k < st->ncusts; k++) {
                if (camt[k] <= 0)
                    continue;
                rep_top t = {k, camt[k]};
                if (nbest == REP_TOP && !rep_top_before(st, &t, &best[REP_TOP - 1]))
                    continue;
                int j = nbest < REP_TOP ? nbest++ : REP_TOP - 1;
                while (j > 0 && rep_top_before(st, &t, &best[j - 1])) {
                    best[j] = best[j - 1];
                    j--;
                }
                best[j] = t;
            }
            for (int j = 0; j < nbest; j++) {
                const rep_cust *cu = &st->custs[best[j].cust];
                cm_risk_result risk;
                rep_risk_score(st, best[j].cust, d, broken[best[j].cust], lastpay[best[j].cust],
                               &risk);
                json_array_append_new(
                    top,
                    json_pack("{s:s, s:s?, s:I, s:I, s:i, s:b, s:s}", "customer_id", cu->id, "name",
                              cu->name, "overdue_minor", (json_int_t)best[j].amount,
                              "overdue_invoices", (json_int_t)cinv[best[j].cust],
                              "max_days_past_due", (int)cdpd[best[j].cust], "broken_promise",
                              broken[best[j].cust] > 0, "risk_band", cm_risk_band_name(risk.band)));
            }
        }
        json_array_append_new(
            curs, json_pack("{s:s, s:i, s:o, s:{s:I, s:I}, s:{s:I, s:I}, s:o}", "currency",
                            st->curs[c].code, "exponent", st->curs[c].exponent, "buckets", buckets,
                            "total", "count", (json_int_t)tc, "amount_minor", (json_int_t)ta,
                            "overdue", "count", (json_int_t)oc, "amount_minor", (json_int_t)oa,
                            "top_overdue_customers", top));
    }
    json_object_set_new(rep, "currencies", curs);
    curs = NULL;
    goto done;
fail:
    json_decref(curs);
    json_decref(rep);
    rep = NULL;
done:
    free(amt);
    free(cnt);
    free(camt);
    free(cdpd);
    free(cinv);
    free(broken);
    free(lastpay);
    return rep;
}
