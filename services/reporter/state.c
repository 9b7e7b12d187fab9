/* state.c -- the reporter's aggregation state and how events change it.
 *
 * Design: facts, not counters. An invoice keeps its amount, dates and a
 * day-sorted list of movements (payment allocations, credit notes,
 * disputes); a void or write-off closes it on a day. Any balance "as of the
 * end of day D" is then a walk over a handful of movements, so one state
 * serves the periodic report, a request for last month, and replay. The
 * service drops the facts of invoices settled before its fact retention
 * (retain.c), keeping what reports read of them summed.
 *
 * Business dates decide when a fact takes effect: issued_on/due_on for
 * invoices, received_on for payments, the event's time (UTC day) for
 * voids, write-offs, credit notes, reversals, disputes and promises.
 *
 * The contact history (docs/reports.md, effectiveness): the outcomes of
 * ladder steps from `contacts`, each in the row of its strategy, variant,
 * step and channel (an outcome without a step, a payment.thanks, is in
 * none), and the calls a CRM or dialer logs on `events` (contact.logged),
 * in rows of their own (REP_STEP_LOGGED).
 *
 * Idempotence: every event id (tenant/source/id) and contact id
 * (tenant/id) is remembered; a second copy is counted as a duplicate and
 * changes nothing. The service remembers them for its de-duplication
 * window (ARREARS_REPORTER_DEDUP_WINDOW, like ingest's): ids are stamped
 * with the real-time bucket they were applied in and forgotten once out of
 * the window, so the set holds a window's ids, not every id ever applied;
 * a copy that arrives later than that is applied again. Replay keeps
 * every id (no window). A payment id seen twice (a re-sent event with a new id)
 * is applied once as well.
 *
 * Money (issue 14): the scheduler's invoice.fee_charged, .fee_waived,
 * .interest_claimed and .settled are kept as dated facts of their tenant
 * and currency (rep_money), summed per KPI period by kpis.c; a fee on its
 * charged_on, the others on the event's UTC day. They are counted by the
 * currency they name, not matched to the invoice (a later
 * invoice.updated that changes its currency changes none of them).
 *
 * Hand-off (issue 16): escalation.placed (the scheduler's), .accepted,
 * .recalled and .remitted are dated facts of a case (rep_esc) on the
 * event's UTC day; the case (rep_case, by tenant and case_id) keeps the
 * currency, destination and amount of its first placement, to which a
 * recall is attributed (a remittance names its own currency).
 *
 * Input: each event is decoded once with the contract's ct_event_decode and
 * dispatched on its ct_type; each outcome with ct_contact_decode. Field
 * rules and limits (CT_ID_MAX, ...) are the contract's; what is checked
 * here is what only the state knows: a currency it has an exponent for, a
 * reversed payment it has seen, an allocation to an invoice in the same
 * currency. */
#include "reporter.h"
#include "vec.h"

#include "clock.h"
#include "command.h"
#include "contract.h"
#include "event.h"
#include "money.h"
#include "outcome.h"
#include "str.h"

#include <stdlib.h>
#include <string.h>

#define SEP "\x1f"

int rep_grow(void **p, uint32_t *cap, size_t elem, uint32_t need)
{
    if (need > UINT32_C(1) << 31) /* the doubled capacity stays below 2^32 */
        return -1;
    size_t c = *cap;
    if (cm_grow(p, &c, elem, need) < 0)
        return -1;
    *cap = (uint32_t)c;
    return 0;
}

static int rep_list_push(rep_list *l, uint32_t v)
{
    if (REP_GROW(l->v, l->cap, l->n + 1) < 0)
        return -1;
    l->v[l->n++] = v;
    return 0;
}

static void rep_tlists_free(rep_state *st)
{
    for (uint32_t i = 0; i < st->capby; i++) {
        free(st->by_tenant[i].invs.v);
        free(st->by_tenant[i].pays.v);
        free(st->by_tenant[i].proms.v);
        free(st->by_tenant[i].contacts.v);
        free(st->by_tenant[i].money.v);
        free(st->by_tenant[i].escs.v);
        free(st->by_tenant[i].fbs.v);
    }
    free(st->by_tenant);
    st->by_tenant = NULL;
    st->capby = 0;
}

int rep_state_reindex(rep_state *st)
{
    rep_tlists_free(st);
    if (REP_GROW(st->by_tenant, st->capby, st->ntenants ? st->ntenants : 1) < 0)
        return -1;
    for (uint32_t i = 0; i < st->ninvs; i++)
        if (st->invs[i].tenant >= st->ntenants ||
            rep_list_push(&st->by_tenant[st->invs[i].tenant].invs, i) < 0)
            return -1;
    for (uint32_t i = 0; i < st->npays; i++)
        if (st->pays[i].tenant >= st->ntenants ||
            rep_list_push(&st->by_tenant[st->pays[i].tenant].pays, i) < 0)
            return -1;
    for (uint32_t i = 0; i < st->nproms; i++)
        if (st->proms[i].tenant >= st->ntenants ||
            rep_list_push(&st->by_tenant[st->proms[i].tenant].proms, i) < 0)
            return -1;
    for (uint32_t i = 0; i < st->ncontacts; i++) {
        uint32_t t = st->groups[st->contacts[i].group].tenant;
        if (t >= st->ntenants || rep_list_push(&st->by_tenant[t].contacts, i) < 0)
            return -1;
    }
    for (uint32_t i = 0; i < st->nmoney; i++)
        if (st->money[i].tenant >= st->ntenants ||
            rep_list_push(&st->by_tenant[st->money[i].tenant].money, i) < 0)
            return -1;
    for (uint32_t i = 0; i < st->nescs; i++)
        if (st->escs[i].tenant >= st->ntenants ||
            rep_list_push(&st->by_tenant[st->escs[i].tenant].escs, i) < 0)
            return -1;
    for (uint32_t i = 0; i < st->nfbs; i++)
        if (st->fbs[i].tenant >= st->ntenants ||
            rep_list_push(&st->by_tenant[st->fbs[i].tenant].fbs, i) < 0)
            return -1;
    return 0;
}

rep_state *rep_state_new(void)
{
    return calloc(1, sizeof(rep_state));
}

void rep_state_free(rep_state *st)
{
    if (st == NULL)
        return;
    /* what the entities own first, then the arrays themselves */
    for (uint32_t i = 0; i < st->ntenants; i++)
        free(st->tenants[i]);
    for (rep_inv *v = st->invs; v < st->invs + st->ninvs; v++) {
        free(v->id);
        free(v->moves);
        free(v->contacts);
    }
    for (rep_cust *c = st->custs; c < st->custs + st->ncusts; c++) {
        free(c->id);
        free(c->name);
        free(c->invs);
        for (uint32_t k = 0; k < c->ngone_paid; k++)
            free(c->gone_paid[k].id);
        free(c->gone_paid);
    }
    for (rep_pay *p = st->pays; p < st->pays + st->npays; p++)
        free(p->allocs);
    for (rep_promise *p = st->proms; p < st->proms + st->nproms; p++)
        free(p->invs);
    for (rep_group *g = st->groups; g < st->groups + st->ngroups; g++) {
        free(g->strategy);
        free(g->variant);
        free(g->channel);
        free(g->gone_sent);
        free(g->gone_rec);
        free(g->gone_days);
        free(g->gone_curs);
    }
    for (rep_case *c = st->cases; c < st->cases + st->ncases; c++)
        free(c->id);
    for (rep_tmpl *t = st->tmpls; t < st->tmpls + st->ntmpls; t++)
        free(t->name);
    void *arrays[] = {st->tenants, st->curs,   st->invs,     st->custs, st->pays,
                      st->proms,   st->groups, st->contacts, st->money, st->cases,
                      st->escs,    st->tmpls,  st->fbs,      st->sales, st->gone_unattr};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        free(arrays[i]);
    rep_tlists_free(st);
    cm_map *maps[] = {&st->tenant_ix, &st->cur_ix,   &st->inv_ix,  &st->cust_ix, &st->pay_ix,
                      &st->prom_ix,   &st->group_ix, &st->case_ix, &st->seen};
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++)
        cm_map_free(maps[i]);
    cm_json_free(st->js);
    free(st);
}

int rep_state_tenant(const rep_state *st, const char *name)
{
    uint32_t v;
    if (cm_map_get(&st->tenant_ix, name, strlen(name), &v))
        return (int)v;
    return -1;
}

/* ---- interning ---- */

static int rep_tenant_ix(rep_state *st, const char *name, uint32_t *out)
{
    size_t n = strlen(name);
    if (cm_map_get(&st->tenant_ix, name, n, out))
        return 0;
    if (REP_GROW(st->tenants, st->captenants, st->ntenants + 1) < 0 ||
        REP_GROW(st->by_tenant, st->capby, st->ntenants + 1) < 0)
        return -1;
    char *copy = strdup(name);
    if (!copy)
        return -1;
    if (cm_map_put(&st->tenant_ix, name, n, st->ntenants) < 0) {
        free(copy);
        return -1;
    }
    st->tenants[st->ntenants] = copy;
    *out = st->ntenants++;
    return 0;
}

static int rep_cur_ix(rep_state *st, const char *code, uint16_t *out, char *errstr, size_t errlen,
                      const char *field)
{
    uint32_t v;
    size_t n = strlen(code);
    if (cm_map_get(&st->cur_ix, code, n, &v)) {
        *out = (uint16_t)v;
        return 0;
    }
    int e = cm_money_exponent(code);
    if (n != 3 || e < 0) {
        snprintf(errstr, errlen, "%s: unknown ISO 4217 currency \"%.16s\"", field, code);
        return -1;
    }
    if (st->ncurs >= 65535 || REP_GROW(st->curs, st->capcurs, st->ncurs + 1) < 0 ||
        cm_map_put(&st->cur_ix, code, n, st->ncurs) < 0) {
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    memcpy(st->curs[st->ncurs].code, code, 4);
    st->curs[st->ncurs].exponent = e;
    *out = (uint16_t)st->ncurs++;
    return 0;
}

/* Looks up "tenant SEP id" in m (the index of customers, invoices or
 * payments): 1 and *out when present; 0 when not, with the key in key
 * (CT_KEY_MAX bytes) and its length in *klen for the insert; -1 when the
 * key does not fit. */
static int rep_lookup(const rep_state *st, const cm_map *m, uint32_t tenant, const char *id,
                      char *key, size_t *klen, uint32_t *out)
{
    const char *parts[] = {st->tenants[tenant], id};
    size_t n = cm_str_join(key, CT_KEY_MAX, SEP[0], parts, 2); /* printf-free: per event */
    if (n >= CT_KEY_MAX)
        return -1;
    *klen = n;
    return cm_map_get(m, key, *klen, out);
}

/* Interns id of tenant in index m over an array of entities (*arr, n
 * used, *cap allocated, elem bytes each): 0 and *out when known; 1 when
 * new, with room for entity n in the array, m mapping the key to n and a
 * copy of id in *copy for the caller to store (and own); -1 on out of
 * memory or a key too long. */
static int rep_intern(rep_state *st, cm_map *m, void **arr, uint32_t *cap, size_t elem, uint32_t n,
                      uint32_t tenant, const char *id, uint32_t *out, char **copy)
{
    char key[CT_KEY_MAX];
    size_t kn;
    int found = rep_lookup(st, m, tenant, id, key, &kn, out);
    if (found)
        return found > 0 ? 0 : -1;
    *copy = NULL;
    if (rep_grow(arr, cap, elem, n + 1) < 0 || !(*copy = strdup(id)) ||
        cm_map_put(m, key, kn, n) < 0) {
        free(*copy);
        return -1;
    }
    *out = n;
    return 1;
}

static int rep_cust_ix(rep_state *st, uint32_t tenant, const char *id, uint32_t *out)
{
    char *copy;
    int rc = rep_intern(st, &st->cust_ix, (void **)&st->custs, &st->capcusts, sizeof *st->custs,
                        st->ncusts, tenant, id, out, &copy);
    if (rc > 0)
        st->custs[st->ncusts++] = (rep_cust){
            .id = copy, .tenant = tenant, .gone_first = REP_DAY_NONE, .gone_lastpay = REP_DAY_NONE};
    return rc < 0 ? -1 : 0;
}

/* Finds or creates (as a stub, known = 0) the invoice. */
static int rep_inv_ix(rep_state *st, uint32_t tenant, const char *id, uint32_t cust, uint16_t cur,
                      uint32_t *out)
{
    char *copy;
    int rc = rep_intern(st, &st->inv_ix, (void **)&st->invs, &st->capinvs, sizeof *st->invs,
                        st->ninvs, tenant, id, out, &copy);
    if (rc <= 0)
        return rc;
    st->invs[st->ninvs] = (rep_inv){
        .id = copy, .tenant = tenant, .cust = cust, .cur = cur, .close_day = REP_DAY_NONE};
    rep_cust *c = &st->custs[cust];
    if (REP_GROW(c->invs, c->capinvs, c->ninvs + 1) < 0 ||
        rep_list_push(&st->by_tenant[tenant].invs, st->ninvs) < 0)
        return -1;
    c->invs[c->ninvs++] = st->ninvs;
    st->ninvs++;
    return 0;
}

static int rep_inv_add_move(rep_inv *inv, const rep_move *mv)
{
    if (REP_GROW(inv->moves, inv->capmoves, inv->nmoves + 1) < 0)
        return -1;
    uint32_t i = inv->nmoves;
    while (i > 0 && inv->moves[i - 1].day > mv->day) {
        inv->moves[i] = inv->moves[i - 1];
        i--;
    }
    inv->moves[i] = *mv;
    inv->nmoves++;
    return 0;
}

/* ---- balances ---- */

int rep_pay_live(const rep_pay *p, int32_t d)
{
    return p->day <= d && p->reversed_day > d;
}

int64_t rep_inv_outstanding(const rep_state *st, const rep_inv *inv, int32_t d)
{
    if (!inv->known || inv->close_day <= d || inv->issued > d)
        return 0;
    int64_t bal = inv->amount;
    for (uint32_t i = 0; i < inv->nmoves; i++) {
        const rep_move *mv = &inv->moves[i];
        if (mv->day > d)
            break;
        if (mv->kind == REP_MV_PAY) {
            if (rep_pay_live(&st->pays[mv->ref], d))
                bal -= mv->amount;
        } else if (mv->kind == REP_MV_CREDIT) {
            bal -= mv->amount;
        }
    }
    return bal > 0 ? bal : 0;
}

int32_t rep_inv_paid_day(const rep_state *st, const rep_inv *inv, int32_t d)
{
    if (!inv->known || inv->amount <= 0)
        return REP_DAY_NONE;
    int64_t bal = inv->amount;
    for (uint32_t i = 0; i < inv->nmoves; i++) {
        const rep_move *mv = &inv->moves[i];
        if (mv->day > d || mv->day >= inv->close_day)
            break;
        if (mv->kind == REP_MV_PAY) {
            if (!rep_pay_live(&st->pays[mv->ref], d))
                continue;
            bal -= mv->amount;
            if (bal <= 0)
                return mv->day;
        } else if (mv->kind == REP_MV_CREDIT) {
            bal -= mv->amount;
            if (bal <= 0)
                return REP_DAY_NONE;
        }
    }
    return REP_DAY_NONE;
}

/* ---- events: decoded by the contract (ct_event_decode), which checked
 * presence, types, CT_* limits, dates and allocation sums; what is left
 * here is what only the reporter knows (currencies it has an exponent
 * for, payments it has seen, an invoice's currency). ---- */

/* 1 when an id stamped v (bucket + 1, 0: before any window) is still in
 * the window at bucket cur (+ 1, 0: not set). A stamp ahead of cur (the
 * real clock stepped back) is in it. */
static int rep_dedup_live(uint32_t v, uint32_t cur, uint32_t keep)
{
    return v == 0 || cur == 0 || v >= cur || cur - v <= keep;
}

static int rep_seen(rep_state *st, const char *key, size_t n)
{
    uint32_t v;
    if (!cm_map_get(&st->seen, key, n, &v))
        return 0;
    return st->dedup_bucket_ms <= 0 || rep_dedup_live(v, st->dedup_cur, st->dedup_keep);
}

/* Remembers an id as applied now (the map overwrites a stale stamp). */
static int rep_remember(rep_state *st, const char *key, size_t n)
{
    return cm_map_put(&st->seen, key, n, st->dedup_bucket_ms > 0 ? st->dedup_cur : 0);
}

void rep_state_dedup_window(rep_state *st, int64_t window_ms)
{
    if (window_ms <= 0) {
        st->dedup_bucket_ms = 0;
        st->dedup_keep = 0;
        return;
    }
    int64_t b = window_ms / REP_DEDUP_BUCKETS;
    st->dedup_bucket_ms = b < 1000 ? 1000 : b;
    st->dedup_keep = (uint32_t)((window_ms + st->dedup_bucket_ms - 1) / st->dedup_bucket_ms);
}

static int rep_dedup_keep(const char *key, uint32_t v, uint32_t *nv, void *arg)
{
    (void)key;
    const rep_state *st = arg;
    *nv = v ? v : st->dedup_cur;
    return rep_dedup_live(v, st->dedup_cur, st->dedup_keep);
}

long rep_state_dedup_at(rep_state *st, int64_t now_ms, char *errstr, size_t errlen)
{
    if (st->dedup_bucket_ms <= 0 || now_ms < 0)
        return 0;
    uint32_t cur = (uint32_t)(now_ms / st->dedup_bucket_ms + 1);
    if (cur == st->dedup_cur)
        return 0;
    st->dedup_cur = cur;
    long dropped = cm_map_filter(&st->seen, rep_dedup_keep, st);
    if (dropped < 0)
        snprintf(errstr, errlen, "de-duplication window: out of memory");
    return dropped;
}

static int rep_oom(char *errstr, size_t errlen)
{
    snprintf(errstr, errlen, "out of memory");
    return -1;
}

/* The end of day (last millisecond) of day: the instant of a fact that
 * only has a date. */
static int64_t rep_day_end(int32_t day)
{
    return ((int64_t)day + 1) * REP_MS_PER_DAY - 1;
}

static int rep_apply_invoice(rep_state *st, uint32_t tenant, uint32_t cust, const ct_invoice *d,
                             char *errstr, size_t errlen)
{
    uint16_t ci;
    uint32_t ii;
    if (rep_cur_ix(st, d->currency, &ci, errstr, errlen, "data.currency") < 0)
        return -1;
    if (rep_inv_ix(st, tenant, d->invoice_id, cust, ci, &ii) < 0)
        return rep_oom(errstr, errlen);
    rep_inv *inv = &st->invs[ii];
    inv->known = 1;
    inv->cur = ci;
    inv->amount = d->amount_minor;
    inv->issued = d->issued_on.day;
    inv->due = d->due_on.day;
    return 1;
}

static int rep_apply_close(rep_state *st, uint32_t tenant, uint32_t cust, const char *iid, int kind,
                           int32_t day, char *errstr, size_t errlen)
{
    uint32_t ii;
    if (rep_inv_ix(st, tenant, iid, cust, 0, &ii) < 0)
        return rep_oom(errstr, errlen);
    rep_inv *inv = &st->invs[ii];
    if (inv->close_day == REP_DAY_NONE) {
        inv->close_day = day;
        inv->close_kind = (uint8_t)kind;
    }
    return 1;
}

typedef struct rep_open {
    uint32_t inv;
    int64_t bal;
} rep_open;

static int rep_open_cmp_st(const rep_state *st, const rep_open *a, const rep_open *b)
{
    const rep_inv *x = &st->invs[a->inv], *y = &st->invs[b->inv];
    if (x->due != y->due)
        return x->due < y->due ? -1 : 1;
    if (x->issued != y->issued)
        return x->issued < y->issued ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* The payment's explicit allocations into al (d->nallocations entries);
 * -1 with errstr when an invoice is in another currency. */
static int rep_alloc_explicit(rep_state *st, uint32_t tenant, uint32_t cust, uint16_t ci,
                              const ct_payment *d, rep_alloc *al, char *errstr, size_t errlen)
{
    for (size_t i = 0; i < d->nallocations; i++) {
        uint32_t ii;
        if (rep_inv_ix(st, tenant, d->allocations[i].invoice_id, cust, ci, &ii) < 0)
            return rep_oom(errstr, errlen);
        if (st->invs[ii].known && st->invs[ii].cur != ci) {
            snprintf(errstr, errlen,
                     "data.allocations[%zu].invoice_id: invoice is in %s, the payment in %s", i,
                     st->curs[st->invs[ii].cur].code, d->currency);
            return -1;
        }
        al[i] = (rep_alloc){ii, d->allocations[i].amount_minor};
    }
    return 0;
}

/* Allocates amount oldest due first over the customer's open invoices in
 * currency ci. A new array (NULL when nothing is open) in *out, its length
 * in *nout; -1 on out of memory. */
static int rep_alloc_oldest(const rep_state *st, uint32_t cust, uint16_t ci, int64_t amount,
                            rep_alloc **out, uint32_t *nout)
{
    const rep_cust *c = &st->custs[cust];
    rep_open *open = c->ninvs ? calloc(c->ninvs, sizeof *open) : NULL;
    uint32_t nopen = 0;
    *out = NULL;
    *nout = 0;
    if (c->ninvs && !open)
        return -1;
    for (uint32_t i = 0; i < c->ninvs; i++) {
        const rep_inv *inv = &st->invs[c->invs[i]];
        if (!inv->known || inv->cur != ci)
            continue;
        int64_t bal = rep_inv_outstanding(st, inv, REP_DAY_NONE - 1);
        if (bal <= 0)
            continue;
        rep_open o = {c->invs[i], bal};
        uint32_t j = nopen++;
        while (j > 0 && rep_open_cmp_st(st, &open[j - 1], &o) > 0) {
            open[j] = open[j - 1];
            j--;
        }
        open[j] = o;
    }
    rep_alloc *al = nopen ? calloc(nopen, sizeof *al) : NULL;
    if (nopen && !al) {
        free(open);
        return -1;
    }
    int64_t left = amount;
    uint32_t n = 0;
    for (uint32_t i = 0; i < nopen && left > 0; i++) {
        int64_t take = open[i].bal < left ? open[i].bal : left;
        al[n++] = (rep_alloc){open[i].inv, take};
        left -= take;
    }
    free(open);
    *out = al;
    *nout = n;
    return 0;
}

static int rep_apply_payment(rep_state *st, uint32_t tenant, uint32_t cust, const ct_payment *d,
                             char *errstr, size_t errlen)
{
    uint16_t ci;
    if (rep_cur_ix(st, d->currency, &ci, errstr, errlen, "data.currency") < 0)
        return -1;
    int32_t day = d->received_on.day;
    int64_t at_ms = d->received_at ? d->received_at_ms : rep_day_end(day);

    char key[CT_KEY_MAX];
    size_t kn;
    uint32_t seen;
    int found = rep_lookup(st, &st->pay_ix, tenant, d->payment_id, key, &kn, &seen);
    if (found < 0) {
        snprintf(errstr, errlen, "data.payment_id: too long");
        return -1;
    }
    if (found)
        return 0; /* the same payment again */
    if (REP_GROW(st->pays, st->cappays, st->npays + 1) < 0)
        return rep_oom(errstr, errlen);
    uint32_t pi = st->npays;
    st->pays[pi] = (rep_pay){.tenant = tenant,
                             .cust = cust,
                             .cur = ci,
                             .day = day,
                             .reversed_day = REP_DAY_NONE,
                             .at_ms = at_ms,
                             .amount = d->amount_minor};

    rep_alloc *al = NULL;
    uint32_t nout = 0;
    if (d->nallocations) {
        al = calloc(d->nallocations, sizeof *al);
        if (!al)
            return rep_oom(errstr, errlen);
        if (rep_alloc_explicit(st, tenant, cust, ci, d, al, errstr, errlen) < 0) {
            free(al);
            return -1;
        }
        nout = (uint32_t)d->nallocations;
    } else if (rep_alloc_oldest(st, cust, ci, d->amount_minor, &al, &nout) < 0) {
        return rep_oom(errstr, errlen);
    }
    st->pays[pi].allocs = al;
    st->pays[pi].nallocs = nout;
    for (uint32_t i = 0; i < nout; i++) {
        rep_move mv = {al[i].amount, at_ms, day, pi, REP_MV_PAY};
        if (rep_inv_add_move(&st->invs[al[i].inv], &mv) < 0)
            return rep_oom(errstr, errlen);
    }
    if (cm_map_put(&st->pay_ix, key, kn, pi) < 0 ||
        rep_list_push(&st->by_tenant[tenant].pays, pi) < 0)
        return rep_oom(errstr, errlen);
    st->npays++;
    return 1;
}

static int rep_apply_reversal(rep_state *st, uint32_t tenant, const ct_reversal *d, int32_t day,
                              char *errstr, size_t errlen)
{
    char key[CT_KEY_MAX];
    size_t kn;
    uint32_t pi;
    if (rep_lookup(st, &st->pay_ix, tenant, d->payment_id, key, &kn, &pi) <= 0) {
        snprintf(errstr, errlen, "data.payment_id: unknown payment \"%.64s\"", d->payment_id);
        return -1;
    }
    rep_pay *p = &st->pays[pi];
    if (p->reversed_day == REP_DAY_NONE)
        p->reversed_day = day < p->day ? p->day : day;
    return 1;
}

/* A dated movement of an invoice: a credit note (amount > 0) or a dispute. */
static int rep_apply_move(rep_state *st, uint32_t tenant, uint32_t cust, const char *iid,
                          const char *currency, const rep_move *mv, char *errstr, size_t errlen)
{
    uint16_t ci = 0;
    uint32_t ii;
    if (currency && rep_cur_ix(st, currency, &ci, errstr, errlen, "data.currency") < 0)
        return -1;
    if (rep_inv_ix(st, tenant, iid, cust, ci, &ii) < 0 || rep_inv_add_move(&st->invs[ii], mv) < 0)
        return rep_oom(errstr, errlen);
    return 1;
}

static int rep_apply_promise(rep_state *st, uint32_t tenant, uint32_t cust, const ct_promise *d,
                             int outcome, int32_t day, int64_t ms, char *errstr, size_t errlen)
{
    uint16_t ci;
    if (rep_cur_ix(st, d->currency, &ci, errstr, errlen, "data.currency") < 0)
        return -1;
    /* a promise is (customer, date, currency, amount): promise.kept and
     * promise.broken name the promise.made they decide */
    char key[CT_KEY_MAX + 64];
    int kn = snprintf(key, sizeof key, "%s" SEP "%s" SEP "%d" SEP "%s" SEP "%lld",
                      st->tenants[tenant], st->custs[cust].id, (int)d->promised_on.day, d->currency,
                      (long long)d->amount_minor);
    uint32_t pi;
    if (kn < 0 || (size_t)kn >= sizeof key) {
        snprintf(errstr, errlen, "customer_id: too long");
        return -1;
    }
    if (!cm_map_get(&st->prom_ix, key, (size_t)kn, &pi)) {
        if (REP_GROW(st->proms, st->capproms, st->nproms + 1) < 0 ||
            cm_map_put(&st->prom_ix, key, (size_t)kn, st->nproms) < 0 ||
            rep_list_push(&st->by_tenant[tenant].proms, st->nproms) < 0)
            return rep_oom(errstr, errlen);
        pi = st->nproms++;
        st->proms[pi] = (rep_promise){.tenant = tenant,
                                      .cust = cust,
                                      .cur = ci,
                                      .amount = d->amount_minor,
                                      .promised_on = d->promised_on.day,
                                      .made_day = REP_DAY_NONE,
                                      .outcome_day = REP_DAY_NONE};
    }
    rep_promise *p = &st->proms[pi];
    if (outcome != REP_PROMISE_OPEN) {
        if (p->outcome == REP_PROMISE_OPEN) {
            p->outcome = (uint8_t)outcome;
            p->outcome_day = day;
        }
        return 1;
    }
    if (p->made)
        return 0;
    p->made = 1;
    p->made_day = day;
    p->made_ms = ms;
    size_t n = d->invoice_ids.n;
    free(p->invs);
    p->invs = n ? calloc(n, sizeof *p->invs) : NULL;
    p->ninvs = 0;
    if (n && !p->invs)
        return rep_oom(errstr, errlen);
    for (size_t i = 0; i < n; i++) {
        uint32_t ii;
        if (rep_inv_ix(st, tenant, d->invoice_ids.v[i], cust, ci, &ii) < 0)
            return rep_oom(errstr, errlen);
        p = &st->proms[pi];
        p->invs[p->ninvs++] = ii;
    }
    return 1;
}

static int rep_apply_customer(rep_state *st, uint32_t cust, const ct_customer *d, char *errstr,
                              size_t errlen)
{
    char *copy = strdup(d->name);
    if (!copy)
        return rep_oom(errstr, errlen);
    free(st->custs[cust].name);
    st->custs[cust].name = copy;
    return 1;
}

/* ---- the contact history: outcomes from `contacts` and logged contacts
 * from `events` ---- */

/* The effectiveness row of (tenant, strategy, variant, step, channel). */
static int rep_group_ix(rep_state *st, uint32_t tenant, const char *strategy, const char *variant,
                        int64_t step, const char *channel, uint32_t *out)
{
    char gkey[CT_TENANT_MAX + 3 * CT_TEXT_MAX + 32];
    int gn = snprintf(gkey, sizeof gkey, "%s" SEP "%s" SEP "%s" SEP "%lld" SEP "%s",
                      st->tenants[tenant], strategy, variant, (long long)step, channel);
    if (gn < 0 || (size_t)gn >= sizeof gkey)
        return -1;
    if (cm_map_get(&st->group_ix, gkey, (size_t)gn, out))
        return 0;
    if (REP_GROW(st->groups, st->capgroups, st->ngroups + 1) < 0)
        return -1;
    rep_group g = {.tenant = tenant,
                   .strategy = strdup(strategy),
                   .variant = strdup(variant),
                   .channel = strdup(channel),
                   .step = step};
    if (!g.strategy || !g.variant || !g.channel ||
        cm_map_put(&st->group_ix, gkey, (size_t)gn, st->ngroups) < 0) {
        free(g.strategy);
        free(g.variant);
        free(g.channel);
        return -1;
    }
    st->groups[st->ngroups] = g;
    *out = st->ngroups++;
    return 0;
}

/* Files sent contact ki under the invoice, keeping its contacts sorted by
 * instant. */
static int rep_inv_add_contact(rep_state *st, rep_inv *inv, uint32_t ki)
{
    if (REP_GROW(inv->contacts, inv->capcontacts, inv->ncontacts + 1) < 0)
        return -1;
    int64_t at = st->contacts[ki].at_ms;
    uint32_t j = inv->ncontacts;
    while (j > 0 && st->contacts[inv->contacts[j - 1]].at_ms > at) {
        inv->contacts[j] = inv->contacts[j - 1];
        j--;
    }
    inv->contacts[j] = ki;
    inv->ncontacts++;
    return 0;
}

/* A new contact of tenant in row gi at at_ms (sent: 1 sent, 0 failed),
 * listed for its tenant, its index in *out; -1 on out of memory. The
 * caller files a sent one under its invoices. */
static int rep_contact_new(rep_state *st, uint32_t tenant, uint32_t gi, int64_t at_ms, int sent,
                           uint32_t *out)
{
    if (REP_GROW(st->contacts, st->capcontacts, st->ncontacts + 1) < 0 ||
        rep_list_push(&st->by_tenant[tenant].contacts, st->ncontacts) < 0)
        return -1;
    st->contacts[st->ncontacts] = (rep_contact){at_ms, gi, (uint8_t)(sent != 0), 0};
    *out = st->ncontacts++;
    return 0;
}

/* contact.logged: a contact at its `at` in the row ("", "",
 * REP_STEP_LOGGED, channel). A conversation or a voicemail reached the
 * debtor and counts as sent, filed under the invoices it names or, when it
 * names none, under the debtor's invoices open at the start of its UTC day
 * (a balance at the end of the day before, or issued that day and not
 * closed on it), as the state knows them when it arrives (the event shares
 * the debtor's partition with its invoices and payments, so live and replay
 * see the same order). no_answer and wrong_number count as failed and, like
 * a failed message, name no invoice. */
static int rep_apply_logged(rep_state *st, uint32_t tenant, uint32_t cust, const ct_contact_log *d,
                            char *errstr, size_t errlen)
{
    int reached = d->outcome == CT_CALL_CONVERSATION || d->outcome == CT_CALL_VOICEMAIL;
    uint32_t gi, ki;
    if (rep_group_ix(st, tenant, "", "", REP_STEP_LOGGED, ct_channel_name(d->channel), &gi) < 0 ||
        rep_contact_new(st, tenant, gi, d->at_ms, reached, &ki) < 0)
        return rep_oom(errstr, errlen);
    if (!reached)
        return 1;
    for (size_t i = 0; i < d->invoice_ids.n; i++) {
        uint32_t ii;
        if (rep_inv_ix(st, tenant, d->invoice_ids.v[i], cust, 0, &ii) < 0 ||
            rep_inv_add_contact(st, &st->invs[ii], ki) < 0)
            return rep_oom(errstr, errlen);
    }
    if (d->invoice_ids.n)
        return 1;
    int32_t day = cm_time_day(d->at_ms);
    const rep_cust *c = &st->custs[cust];
    for (uint32_t i = 0; i < c->ninvs; i++) {
        rep_inv *inv = &st->invs[c->invs[i]];
        int open = rep_inv_outstanding(st, inv, day - 1) > 0 ||
                   (inv->known && inv->issued == day && inv->close_day > day);
        if (open && rep_inv_add_contact(st, inv, ki) < 0)
            return rep_oom(errstr, errlen);
    }
    return 1;
}

/* A money fact (kind, day, amount, extra, detail: see rep_money) of
 * tenant in currency, listed for its tenant. */
static int rep_apply_money(rep_state *st, uint32_t tenant, const char *currency, rep_money m,
                           char *errstr, size_t errlen)
{
    if (rep_cur_ix(st, currency, &m.cur, errstr, errlen, "data.currency") < 0)
        return -1;
    m.tenant = tenant;
    if (REP_GROW(st->money, st->capmoney, st->nmoney + 1) < 0 ||
        rep_list_push(&st->by_tenant[tenant].money, st->nmoney) < 0)
        return rep_oom(errstr, errlen);
    st->money[st->nmoney++] = m;
    return 1;
}

/* Hand-off (issue 16): a fact (kind, currency, amount, extra) of case
 * case_id of tenant on day, listed for its tenant. The case is interned
 * on its first event of any kind (a recall or remittance may arrive
 * before the placement it follows: the reports read the case as it is
 * when they are built); an escalation.placed (pl) fills it in when it is
 * the case's first. */
static int rep_apply_esc(rep_state *st, uint32_t tenant, const char *case_id, const char *currency,
                         const ct_placement *pl, rep_esc f, char *errstr, size_t errlen)
{
    if (currency && rep_cur_ix(st, currency, &f.cur, errstr, errlen, "data.currency") < 0)
        return -1;
    char *copy;
    int rc = rep_intern(st, &st->case_ix, (void **)&st->cases, &st->capcases, sizeof *st->cases,
                        st->ncases, tenant, case_id, &f.kase, &copy);
    if (rc < 0)
        return rep_oom(errstr, errlen);
    if (rc > 0)
        st->cases[st->ncases++] = (rep_case){.id = copy, .tenant = tenant};
    rep_case *c = &st->cases[f.kase];
    if (pl && !c->placed) {
        c->placed = 1;
        c->cur = f.cur;
        c->to = (uint8_t)pl->to;
        c->placed_day = f.day;
    }
    f.tenant = tenant;
    if (REP_GROW(st->escs, st->capescs, st->nescs + 1) < 0 ||
        rep_list_push(&st->by_tenant[tenant].escs, st->nescs) < 0)
        return rep_oom(errstr, errlen);
    st->escs[st->nescs++] = f;
    return 1;
}

/* Deliverability (issue 17): a fact of kind about a message of
 * template name on channel (name NULL: a reply, given to a row by the
 * report), for customer cust of tenant at at_ms. Only email and sms have
 * rows; a fact on another channel is not kept. */
static int rep_apply_fb(rep_state *st, uint32_t tenant, uint32_t cust, int kind, ct_channel ch,
                        const char *name, int hard, int64_t at_ms)
{
    if (ch != CT_CH_EMAIL && ch != CT_CH_SMS)
        return 0;
    uint32_t t = REP_TMPL_NONE;
    if (name) {
        for (t = 0; t < st->ntmpls; t++)
            if (st->tmpls[t].tenant == tenant && st->tmpls[t].channel == (uint8_t)ch &&
                !strcmp(st->tmpls[t].name, name))
                break;
        if (t == st->ntmpls) {
            char *copy = strdup(name);
            if (!copy || REP_GROW(st->tmpls, st->captmpls, st->ntmpls + 1) < 0) {
                free(copy);
                return -1;
            }
            st->tmpls[st->ntmpls++] =
                (rep_tmpl){.tenant = tenant, .channel = (uint8_t)ch, .name = copy};
        }
    }
    if (REP_GROW(st->fbs, st->capfbs, st->nfbs + 1) < 0 ||
        rep_list_push(&st->by_tenant[tenant].fbs, st->nfbs) < 0)
        return -1;
    st->fbs[st->nfbs++] =
        (rep_fb){tenant, cust, t, (uint8_t)kind, (uint8_t)ch, (uint8_t)hard, at_ms};
    return 1;
}

/* The types a report depends on; the others (dispute.resolved,
 * contact.ceased, contact.resumed, plan events, and any type added
 * later) are remembered for de-duplication and otherwise ignored. */
static const uint8_t rep_reads[CT_EV_COUNT] = {
    [CT_EV_INVOICE_ISSUED] = 1,      [CT_EV_INVOICE_UPDATED] = 1,
    [CT_EV_INVOICE_VOIDED] = 1,      [CT_EV_INVOICE_WRITTEN_OFF] = 1,
    [CT_EV_PAYMENT_RECEIVED] = 1,    [CT_EV_PAYMENT_REVERSED] = 1,
    [CT_EV_CREDIT_NOTE_ISSUED] = 1,  [CT_EV_CUSTOMER_UPSERTED] = 1,
    [CT_EV_PROMISE_MADE] = 1,        [CT_EV_DISPUTE_OPENED] = 1,
    [CT_EV_PROMISE_KEPT] = 1,        [CT_EV_PROMISE_BROKEN] = 1,
    [CT_EV_CONTACT_LOGGED] = 1,      [CT_EV_INVOICE_FEE_CHARGED] = 1,
    [CT_EV_INVOICE_FEE_WAIVED] = 1,  [CT_EV_INVOICE_INTEREST_CLAIMED] = 1,
    [CT_EV_INVOICE_SETTLED] = 1,     [CT_EV_ESCALATION_PLACED] = 1,
    [CT_EV_ESCALATION_ACCEPTED] = 1, [CT_EV_ESCALATION_RECALLED] = 1,
    [CT_EV_ESCALATION_REMITTED] = 1, [CT_EV_CONTACT_DELIVERED] = 1,
    [CT_EV_CONTACT_BOUNCED] = 1,     [CT_EV_CONTACT_COMPLAINED] = 1,
    [CT_EV_CONTACT_REPLIED] = 1,
};

/* "e" SEP tenant SEP source SEP id: the de-dup key of an event. */
#define REP_EVENT_KEY_MAX (2 + CT_TENANT_MAX + 1 + CT_ID_MAX + 1 + CT_DERIVED_ID_MAX + 1)

static int apply_event(rep_state *st, const ct_event *e, int decoded, char *errstr, size_t errlen);
static int apply_contact(rep_state *st, const ct_contact *co, int decoded, char *errstr,
                         size_t errlen);

/* The arena of st's record trees (events, outcomes), emptied (a record is
 * applied before the next is parsed), and errstr cleared; NULL, the record counted rejected,
 * when out of memory. */
static cm_json *event_arena(rep_state *st, char *errstr, size_t errlen)
{
    if (!st->js)
        st->js = cm_json_new();
    if (!st->js) {
        rep_oom(errstr, errlen);
        st->rejected++;
        return NULL;
    }
    cm_json_clear(st->js);
    errstr[0] = 0;
    return st->js;
}

int rep_state_apply_event_bytes(rep_state *st, const char *p, size_t n, char *errstr, size_t errlen)
{
    ct_event e;
    cm_json *js = event_arena(st, errstr, errlen);
    return js ? apply_event(st, &e, ct_event_decode_bytes(js, p, n, &e, errstr, errlen), errstr,
                            errlen)
              : -1;
}

int rep_state_apply_event(rep_state *st, const json_t *ev, char *errstr, size_t errlen)
{
    ct_event e;
    cm_json *js = event_arena(st, errstr, errlen);
    return js ? apply_event(st, &e, ct_event_decode_json(js, ev, &e, errstr, errlen), errstr,
                            errlen)
              : -1;
}

/* e decoded with the returns of ct_event_decode in decoded. */
static int apply_event(rep_state *st, const ct_event *e, int decoded, char *errstr, size_t errlen)
{
    if (decoded < 0) {
        /* an unknown type with a readable envelope (data_jv is set only
         * once the envelope was read) is ignored below; anything else is
         * rejected with the decoder's "field: rule (detail)" */
        if (e->type != CT_EV_NONE || !e->data_jv)
            goto bad;
        errstr[0] = 0;
    }
    char key[REP_EVENT_KEY_MAX];
    const char *parts[] = {"e", e->tenant, e->source, e->id};
    size_t kn = cm_str_join(key, sizeof key, SEP[0], parts, 4);
    if (kn >= sizeof key) {
        snprintf(errstr, errlen, "id: too long");
        goto bad;
    }
    if (rep_seen(st, key, kn)) {
        st->duplicates++;
        return 0;
    }
    int rc = 0;
    if (e->type != CT_EV_NONE && rep_reads[e->type]) {
        uint32_t ti, ci;
        int32_t day = cm_time_day(e->time_ms);
        if (rep_tenant_ix(st, e->tenant, &ti) < 0 || rep_cust_ix(st, ti, e->customer_id, &ci) < 0) {
            snprintf(errstr, errlen, "tenant/customer_id: out of memory");
            goto bad;
        }
        switch (e->type) {
        case CT_EV_INVOICE_ISSUED:
        case CT_EV_INVOICE_UPDATED:
            rc = rep_apply_invoice(st, ti, ci, &e->data.invoice, errstr, errlen);
            break;
        case CT_EV_INVOICE_VOIDED:
            rc = rep_apply_close(st, ti, ci, e->data.invoice_ref.invoice_id, REP_CLOSE_VOID, day,
                                 errstr, errlen);
            break;
        case CT_EV_INVOICE_WRITTEN_OFF:
            rc = rep_apply_close(st, ti, ci, e->data.invoice_ref.invoice_id, REP_CLOSE_WRITEOFF,
                                 day, errstr, errlen);
            break;
        case CT_EV_PAYMENT_RECEIVED:
            rc = rep_apply_payment(st, ti, ci, &e->data.payment, errstr, errlen);
            break;
        case CT_EV_PAYMENT_REVERSED:
            rc = rep_apply_reversal(st, ti, &e->data.reversal, day, errstr, errlen);
            break;
        case CT_EV_CREDIT_NOTE_ISSUED: {
            const ct_credit_note *d = &e->data.credit_note;
            rep_move mv = {d->amount_minor, rep_day_end(day), day, 0, REP_MV_CREDIT};
            rc = rep_apply_move(st, ti, ci, d->invoice_id, d->currency, &mv, errstr, errlen);
            break;
        }
        case CT_EV_DISPUTE_OPENED: {
            rep_move mv = {0, e->time_ms, day, 0, REP_MV_DISPUTE};
            rc = rep_apply_move(st, ti, ci, e->data.dispute.invoice_id, NULL, &mv, errstr, errlen);
            break;
        }
        case CT_EV_PROMISE_MADE:
        case CT_EV_PROMISE_KEPT:
        case CT_EV_PROMISE_BROKEN: {
            int status = e->type == CT_EV_PROMISE_MADE   ? REP_PROMISE_OPEN
                         : e->type == CT_EV_PROMISE_KEPT ? REP_PROMISE_KEPT
                                                         : REP_PROMISE_BROKEN;
            rc = rep_apply_promise(st, ti, ci, &e->data.promise, status, day, e->time_ms, errstr,
                                   errlen);
            break;
        }
        case CT_EV_CUSTOMER_UPSERTED:
            rc = rep_apply_customer(st, ci, &e->data.customer, errstr, errlen);
            break;
        case CT_EV_CONTACT_LOGGED:
            rc = rep_apply_logged(st, ti, ci, &e->data.contact_log, errstr, errlen);
            break;
        case CT_EV_CONTACT_DELIVERED:
        case CT_EV_CONTACT_BOUNCED:
        case CT_EV_CONTACT_COMPLAINED: {
            const ct_delivery *d = &e->data.delivery;
            int kind = e->type == CT_EV_CONTACT_DELIVERED ? REP_FB_DELIVERED
                       : e->type == CT_EV_CONTACT_BOUNCED ? REP_FB_BOUNCED
                                                          : REP_FB_COMPLAINED;
            rc = rep_apply_fb(st, ti, ci, kind, d->channel, d->template_id,
                              d->kind == CT_BOUNCE_HARD, e->time_ms);
            if (rc < 0)
                rc = rep_oom(errstr, errlen);
            break;
        }
        case CT_EV_CONTACT_REPLIED:
            rc = rep_apply_fb(st, ti, ci, REP_FB_REPLIED, e->data.reply.channel, NULL, 0,
                              e->time_ms);
            if (rc < 0)
                rc = rep_oom(errstr, errlen);
            break;
        case CT_EV_INVOICE_FEE_CHARGED: {
            const ct_fee_charged *d = &e->data.fee_charged;
            rep_money m = {
                .kind = REP_MN_FEE_CHARGED, .day = d->charged_on.day, .amount = d->amount_minor};
            rc = rep_apply_money(st, ti, d->currency, m, errstr, errlen);
            break;
        }
        case CT_EV_INVOICE_FEE_WAIVED: {
            const ct_fee_waived *d = &e->data.fee_waived;
            rep_money m = {.kind = REP_MN_FEE_WAIVED, .day = day, .amount = d->amount_minor};
            rc = rep_apply_money(st, ti, d->currency, m, errstr, errlen);
            break;
        }
        case CT_EV_INVOICE_INTEREST_CLAIMED: {
            const ct_interest_claimed *d = &e->data.interest_claimed;
            rep_money m = {.kind = REP_MN_INTEREST,
                           .day = day,
                           .amount = d->interest_minor,
                           .extra = d->compensation_minor};
            rc = rep_apply_money(st, ti, d->currency, m, errstr, errlen);
            break;
        }
        case CT_EV_INVOICE_SETTLED: {
            const ct_settled *d = &e->data.settled;
            rep_money m = {.kind = REP_MN_SETTLED,
                           .detail = (uint8_t)d->offer,
                           .day = day,
                           .amount = d->forgiven_minor,
                           .extra = d->paid_minor};
            rc = rep_apply_money(st, ti, d->currency, m, errstr, errlen);
            break;
        }
        case CT_EV_ESCALATION_PLACED: {
            const ct_placement *d = &e->data.placement;
            rep_esc f = {.kind = REP_ESC_PLACED, .day = day, .amount = d->placed_minor};
            rc = rep_apply_esc(st, ti, d->case_id, d->currency, d, f, errstr, errlen);
            break;
        }
        case CT_EV_ESCALATION_ACCEPTED:
        case CT_EV_ESCALATION_RECALLED: {
            rep_esc f = {.kind = e->type == CT_EV_ESCALATION_ACCEPTED ? REP_ESC_ACCEPTED
                                                                      : REP_ESC_RECALLED,
                         .day = day};
            rc = rep_apply_esc(st, ti, e->data.case_event.case_id, NULL, NULL, f, errstr, errlen);
            break;
        }
        case CT_EV_ESCALATION_REMITTED: {
            const ct_remittance *d = &e->data.remittance;
            rep_esc f = {.kind = REP_ESC_REMITTED,
                         .day = day,
                         .amount = d->amount_minor,
                         .extra = d->commission_minor};
            rc = rep_apply_esc(st, ti, d->case_id, d->currency, NULL, f, errstr, errlen);
            break;
        }
        default:
            break;
        }
    }
    if (rc < 0)
        goto bad;
    if (rep_remember(st, key, kn) < 0) {
        rep_oom(errstr, errlen);
        goto bad;
    }
    st->applied++;
    return rc > 0 ? 1 : 0;
bad:
    st->rejected++;
    return -1;
}

/* "c" SEP tenant SEP id: the de-dup key of an outcome. */
#define REP_CONTACT_KEY_MAX (2 + CT_TENANT_MAX + 1 + CT_COMMAND_ID_MAX + 1)

int rep_state_apply_contact(rep_state *st, const json_t *c, char *errstr, size_t errlen)
{
    ct_contact o;
    cm_json *js = event_arena(st, errstr, errlen);
    return js ? apply_contact(st, &o, ct_contact_decode_json(js, c, &o, errstr, errlen), errstr,
                              errlen)
              : -1;
}

int rep_state_apply_contact_bytes(rep_state *st, const char *p, size_t n, char *errstr,
                                  size_t errlen)
{
    ct_contact o;
    cm_json *js = event_arena(st, errstr, errlen);
    return js ? apply_contact(st, &o, ct_contact_decode_bytes(js, p, n, &o, errstr, errlen), errstr,
                              errlen)
              : -1;
}

/* o decoded with the returns of ct_contact_decode in decoded. */
static int apply_contact(rep_state *st, const ct_contact *co, int decoded, char *errstr,
                         size_t errlen)
{
    ct_contact o = *co;
    if (decoded < 0)
        goto bad;
    char key[REP_CONTACT_KEY_MAX];
    int kn = snprintf(key, sizeof key, "c" SEP "%s" SEP "%s", o.tenant, o.id);
    if (kn < 0 || (size_t)kn >= sizeof key) {
        snprintf(errstr, errlen, "id: too long");
        goto bad;
    }
    if (rep_seen(st, key, (size_t)kn)) {
        st->duplicates++;
        return 0;
    }
    int rc = 0;
    /* an outcome without a step (a payment.thanks) is no ladder step's
     * contact: remembered for de-duplication, in no row and no invoice's
     * history (a negative step, which no scheduler writes, likewise: the
     * rows of logged contacts use REP_STEP_LOGGED) */
    if (o.has_step && o.step >= 0) {
        const char *channel = o.channel == CT_CH_NONE ? "" : ct_channel_name(o.channel);
        uint32_t ti, cu, gi, ki;
        if (rep_tenant_ix(st, o.tenant, &ti) < 0 ||
            rep_cust_ix(st, ti, o.customer_id ? o.customer_id : "", &cu) < 0 ||
            rep_group_ix(st, ti, o.strategy ? o.strategy : "", o.variant ? o.variant : "", o.step,
                         channel, &gi) < 0 ||
            rep_contact_new(st, ti, gi, o.at_ms, o.type == CT_OUT_SENT, &ki) < 0)
            goto oom;
        for (size_t i = 0; o.type == CT_OUT_SENT && i < o.ninvoice_ids; i++) {
            uint32_t ii;
            if (rep_inv_ix(st, ti, o.invoice_ids[i], cu, 0, &ii) < 0 ||
                rep_inv_add_contact(st, &st->invs[ii], ki) < 0)
                goto oom;
        }
        rc = 1;
    }
    /* deliverability (issue 17): every email or SMS sent, ladder step or
     * not, counts in its channel and template's row */
    if (o.type == CT_OUT_SENT && o.template_id && o.template_id[0] &&
        (o.channel == CT_CH_EMAIL || o.channel == CT_CH_SMS)) {
        uint32_t ti, cu;
        if (rep_tenant_ix(st, o.tenant, &ti) < 0 ||
            rep_cust_ix(st, ti, o.customer_id ? o.customer_id : "", &cu) < 0 ||
            rep_apply_fb(st, ti, cu, REP_FB_SENT, o.channel, o.template_id, 0, o.at_ms) < 0)
            goto oom;
        rc = 1;
    }
    if (rep_remember(st, key, (size_t)kn) < 0)
        goto oom;
    st->applied++;
    return rc;
oom:
    rep_oom(errstr, errlen);
bad:
    st->rejected++;
    return -1;
}
