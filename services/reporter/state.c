/* state.c -- the reporter's aggregation state and how events change it.
 *
 * Design: facts, not counters. An invoice keeps its amount, dates and a
 * day-sorted list of movements (payment allocations, credit notes,
 * disputes); a void or write-off closes it on a day. Any balance "as of the
 * end of day D" is then a walk over a handful of movements, so one state
 * serves the periodic report, a request for last month, and replay.
 *
 * Business dates decide when a fact takes effect: issued_on/due_on for
 * invoices, received_on for payments, the event's time (UTC day) for
 * voids, write-offs, credit notes, reversals, disputes and promises.
 *
 * Idempotence: every event id (tenant/source/id) and contact id
 * (tenant/id) is remembered; a second copy is counted as a duplicate and
 * changes nothing. A payment id seen twice (a re-sent event with a new id)
 * is applied once as well. */
#include "reporter.h"

#include "clock.h"
#include "money.h"

#include <stdlib.h>
#include <string.h>

#define SEP "\x1f"

static int rep_grow(void **p, uint32_t *cap, size_t elem, uint32_t need)
{
    if (need <= *cap)
        return 0;
    uint32_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    void *q = realloc(*p, (size_t)ncap * elem);
    if (!q)
        return -1;
    memset((char *)q + (size_t)*cap * elem, 0, (size_t)(ncap - *cap) * elem);
    *p = q;
    *cap = ncap;
    return 0;
}
#define GROW(arr, cap, need) rep_grow((void **)&(arr), &(cap), sizeof *(arr), (need))

static int rep_list_push(rep_list *l, uint32_t v)
{
    if (GROW(l->v, l->cap, l->n + 1) < 0)
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
    }
    free(st->by_tenant);
    st->by_tenant = NULL;
    st->capby = 0;
}

int rep_state_reindex(rep_state *st)
{
    rep_tlists_free(st);
    if (GROW(st->by_tenant, st->capby, st->ntenants ? st->ntenants : 1) < 0)
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
    return 0;
}

rep_state *rep_state_new(void)
{
    return calloc(1, sizeof(rep_state));
}

void rep_state_free(rep_state *st)
{
    if (!st)
        return;
    for (uint32_t i = 0; i < st->ntenants; i++)
        free(st->tenants[i]);
    free(st->tenants);
    free(st->curs);
    for (uint32_t i = 0; i < st->ninvs; i++) {
        free(st->invs[i].id);
        free(st->invs[i].moves);
        free(st->invs[i].contacts);
    }
    free(st->invs);
    for (uint32_t i = 0; i < st->ncusts; i++) {
        free(st->custs[i].id);
        free(st->custs[i].name);
        free(st->custs[i].invs);
    }
    free(st->custs);
    for (uint32_t i = 0; i < st->npays; i++)
        free(st->pays[i].allocs);
    free(st->pays);
    for (uint32_t i = 0; i < st->nproms; i++)
        free(st->proms[i].invs);
    free(st->proms);
    for (uint32_t i = 0; i < st->ngroups; i++) {
        free(st->groups[i].strategy);
        free(st->groups[i].variant);
        free(st->groups[i].channel);
    }
    free(st->groups);
    free(st->contacts);
    rep_tlists_free(st);
    rep_map *maps[] = {&st->tenant_ix, &st->cur_ix,  &st->inv_ix,   &st->cust_ix,
                       &st->pay_ix,    &st->prom_ix, &st->group_ix, &st->seen};
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++)
        rep_map_free(maps[i]);
    free(st);
}

int rep_state_tenant(const rep_state *st, const char *name)
{
    uint32_t v;
    if (rep_map_get(&st->tenant_ix, name, strlen(name), &v))
        return (int)v;
    return -1;
}

/* ---- interning ---- */

static int rep_tenant_ix(rep_state *st, const char *name, uint32_t *out)
{
    size_t n = strlen(name);
    if (rep_map_get(&st->tenant_ix, name, n, out))
        return 0;
    if (GROW(st->tenants, st->captenants, st->ntenants + 1) < 0 ||
        GROW(st->by_tenant, st->capby, st->ntenants + 1) < 0)
        return -1;
    char *copy = strdup(name);
    if (!copy)
        return -1;
    if (rep_map_put(&st->tenant_ix, name, n, st->ntenants) < 0) {
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
    if (rep_map_get(&st->cur_ix, code, n, &v)) {
        *out = (uint16_t)v;
        return 0;
    }
    int e = cm_money_exponent(code);
    if (n != 3 || e < 0) {
        snprintf(errstr, errlen, "%s: unknown ISO 4217 currency \"%.16s\"", field, code);
        return -1;
    }
    if (st->ncurs >= 65535 || GROW(st->curs, st->capcurs, st->ncurs + 1) < 0 ||
        rep_map_put(&st->cur_ix, code, n, st->ncurs) < 0) {
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    memcpy(st->curs[st->ncurs].code, code, 4);
    st->curs[st->ncurs].exponent = e;
    *out = (uint16_t)st->ncurs++;
    return 0;
}

static int rep_cust_ix(rep_state *st, uint32_t tenant, const char *id, uint32_t *out)
{
    char key[512];
    int n = snprintf(key, sizeof key, "%s" SEP "%s", st->tenants[tenant], id);
    if (n < 0 || (size_t)n >= sizeof key)
        return -1;
    if (rep_map_get(&st->cust_ix, key, (size_t)n, out))
        return 0;
    if (GROW(st->custs, st->capcusts, st->ncusts + 1) < 0)
        return -1;
    rep_cust *c = &st->custs[st->ncusts];
    memset(c, 0, sizeof *c);
    c->id = strdup(id);
    if (!c->id || rep_map_put(&st->cust_ix, key, (size_t)n, st->ncusts) < 0) {
        free(c->id);
        c->id = NULL;
        return -1;
    }
    c->tenant = tenant;
    *out = st->ncusts++;
    return 0;
}

/* Finds or creates (as a stub, known = 0) the invoice. */
static int rep_inv_ix(rep_state *st, uint32_t tenant, const char *id, uint32_t cust, uint16_t cur,
                      uint32_t *out)
{
    char key[512];
    int n = snprintf(key, sizeof key, "%s" SEP "%s", st->tenants[tenant], id);
    if (n < 0 || (size_t)n >= sizeof key)
        return -1;
    if (rep_map_get(&st->inv_ix, key, (size_t)n, out))
        return 0;
    if (GROW(st->invs, st->capinvs, st->ninvs + 1) < 0)
        return -1;
    rep_inv *inv = &st->invs[st->ninvs];
    memset(inv, 0, sizeof *inv);
    inv->id = strdup(id);
    if (!inv->id || rep_map_put(&st->inv_ix, key, (size_t)n, st->ninvs) < 0) {
        free(inv->id);
        inv->id = NULL;
        return -1;
    }
    inv->tenant = tenant;
    inv->cust = cust;
    inv->cur = cur;
    inv->close_day = REP_DAY_NONE;
    rep_cust *c = &st->custs[cust];
    if (GROW(c->invs, c->capinvs, c->ninvs + 1) < 0 ||
        rep_list_push(&st->by_tenant[tenant].invs, st->ninvs) < 0)
        return -1;
    c->invs[c->ninvs++] = st->ninvs;
    *out = st->ninvs++;
    return 0;
}

static int rep_inv_add_move(rep_inv *inv, const rep_move *mv)
{
    if (GROW(inv->moves, inv->capmoves, inv->nmoves + 1) < 0)
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

/* ---- field helpers: every error names the field and the rule ---- */

static const char *rep_str(const json_t *o, const char *k, const char *prefix, int required,
                           char *errstr, size_t errlen)
{
    const json_t *v = json_object_get(o, k);
    if (!v || json_is_null(v)) {
        if (required)
            snprintf(errstr, errlen, "%s%s: required", prefix, k);
        return NULL;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 200) {
        snprintf(errstr, errlen, "%s%s: not a string of 1..200 characters", prefix, k);
        return NULL;
    }
    return json_string_value(v);
}

static int rep_date(const json_t *o, const char *k, int32_t *day, char *errstr, size_t errlen)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_string(v) || cm_date_parse(json_string_value(v), day) < 0) {
        snprintf(errstr, errlen, "data.%s: %s", k, v ? "not a date (YYYY-MM-DD)" : "required");
        return -1;
    }
    return 0;
}

static int rep_minor(const json_t *o, const char *k, const char *prefix, int64_t *out, char *errstr,
                     size_t errlen)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        snprintf(errstr, errlen, "%s%s: %s", prefix, k,
                 v ? "not a non-negative integer (minor units)" : "required");
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

static int rep_seen(rep_state *st, const char *key, size_t n)
{
    return rep_map_get(&st->seen, key, n, NULL);
}

/* ---- events ---- */

static int rep_apply_invoice(rep_state *st, uint32_t tenant, uint32_t cust, const json_t *data,
                             char *errstr, size_t errlen)
{
    const char *iid = rep_str(data, "invoice_id", "data.", 1, errstr, errlen);
    const char *cur = rep_str(data, "currency", "data.", 1, errstr, errlen);
    int64_t amount;
    int32_t issued, due;
    uint16_t ci;
    uint32_t ii;
    if (!iid || !cur)
        return -1;
    if (rep_minor(data, "amount_minor", "data.", &amount, errstr, errlen) < 0 ||
        rep_date(data, "issued_on", &issued, errstr, errlen) < 0 ||
        rep_date(data, "due_on", &due, errstr, errlen) < 0 ||
        rep_cur_ix(st, cur, &ci, errstr, errlen, "data.currency") < 0)
        return -1;
    if (rep_inv_ix(st, tenant, iid, cust, ci, &ii) < 0) {
        snprintf(errstr, errlen, "data.invoice_id: too long or out of memory");
        return -1;
    }
    rep_inv *inv = &st->invs[ii];
    inv->known = 1;
    inv->cur = ci;
    inv->amount = amount;
    inv->issued = issued;
    inv->due = due;
    return 1;
}

static int rep_apply_close(rep_state *st, uint32_t tenant, uint32_t cust, const json_t *data,
                           int kind, int32_t day, char *errstr, size_t errlen)
{
    const char *iid = rep_str(data, "invoice_id", "data.", 1, errstr, errlen);
    uint32_t ii;
    if (!iid)
        return -1;
    if (rep_inv_ix(st, tenant, iid, cust, 0, &ii) < 0) {
        snprintf(errstr, errlen, "data.invoice_id: too long or out of memory");
        return -1;
    }
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

static int rep_apply_payment(rep_state *st, uint32_t tenant, uint32_t cust, const json_t *data,
                             char *errstr, size_t errlen)
{
    const char *pid = rep_str(data, "payment_id", "data.", 1, errstr, errlen);
    const char *cur = rep_str(data, "currency", "data.", 1, errstr, errlen);
    int64_t amount, at_ms = -1;
    int32_t day;
    uint16_t ci;
    if (!pid || !cur)
        return -1;
    if (rep_minor(data, "amount_minor", "data.", &amount, errstr, errlen) < 0 ||
        rep_cur_ix(st, cur, &ci, errstr, errlen, "data.currency") < 0)
        return -1;
    const json_t *rat = json_object_get(data, "received_at");
    if (rat && !json_is_null(rat)) {
        if (!json_is_string(rat) || cm_time_parse_rfc3339(json_string_value(rat), &at_ms) < 0) {
            snprintf(errstr, errlen, "data.received_at: not an RFC 3339 instant");
            return -1;
        }
    }
    if (json_object_get(data, "received_on")) {
        if (rep_date(data, "received_on", &day, errstr, errlen) < 0)
            return -1;
    } else if (at_ms >= 0) {
        day = cm_time_day(at_ms);
    } else {
        snprintf(errstr, errlen, "data.received_on: required");
        return -1;
    }
    if (at_ms < 0)
        at_ms = ((int64_t)day + 1) * REP_MS_PER_DAY - 1;
    const json_t *allocs = json_object_get(data, "allocations");
    if (allocs && !json_is_null(allocs) && !json_is_array(allocs)) {
        snprintf(errstr, errlen, "data.allocations: not an array");
        return -1;
    }
    size_t nal = json_is_array(allocs) ? json_array_size(allocs) : 0;
    /* validate allocations before changing anything */
    int64_t alloc_sum = 0;
    for (size_t i = 0; i < nal; i++) {
        const json_t *a = json_array_get(allocs, i);
        char pfx[48];
        int64_t am;
        snprintf(pfx, sizeof pfx, "data.allocations[%zu].", i);
        if (!json_is_object(a)) {
            snprintf(errstr, errlen, "data.allocations[%zu]: not an object", i);
            return -1;
        }
        if (!rep_str(a, "invoice_id", pfx, 1, errstr, errlen) ||
            rep_minor(a, "amount_minor", pfx, &am, errstr, errlen) < 0)
            return -1;
        alloc_sum += am;
    }
    if (alloc_sum > amount) {
        snprintf(errstr, errlen, "data.allocations: sum exceeds data.amount_minor");
        return -1;
    }

    char key[512];
    int kn = snprintf(key, sizeof key, "%s" SEP "%s", st->tenants[tenant], pid);
    if (kn < 0 || (size_t)kn >= sizeof key) {
        snprintf(errstr, errlen, "data.payment_id: too long");
        return -1;
    }
    if (rep_map_get(&st->pay_ix, key, (size_t)kn, NULL))
        return 0; /* the same payment again */
    if (GROW(st->pays, st->cappays, st->npays + 1) < 0)
        goto oom;
    uint32_t pi = st->npays;
    rep_pay *p = &st->pays[pi];
    memset(p, 0, sizeof *p);
    p->tenant = tenant;
    p->cust = cust;
    p->cur = ci;
    p->day = day;
    p->reversed_day = REP_DAY_NONE;
    p->at_ms = at_ms;
    p->amount = amount;

    rep_alloc *al = NULL;
    uint32_t nout = 0;
    if (nal) {
        al = calloc(nal, sizeof *al);
        if (!al)
            goto oom;
        for (size_t i = 0; i < nal; i++) {
            const json_t *a = json_array_get(allocs, i);
            uint32_t ii;
            if (rep_inv_ix(st, tenant, json_string_value(json_object_get(a, "invoice_id")), cust,
                           ci, &ii) < 0) {
                free(al);
                goto oom;
            }
            if (st->invs[ii].known && st->invs[ii].cur != ci) {
                snprintf(errstr, errlen,
                         "data.allocations[%zu].invoice_id: invoice is in %s, the payment in %s", i,
                         st->curs[st->invs[ii].cur].code, cur);
                free(al);
                return -1;
            }
            al[nout].inv = ii;
            al[nout].amount = json_integer_value(json_object_get(a, "amount_minor"));
            nout++;
        }
    } else {
        /* oldest due first over the customer's open invoices in this currency */
        const rep_cust *c = &st->custs[cust];
        rep_open *open = c->ninvs ? calloc(c->ninvs, sizeof *open) : NULL;
        uint32_t nopen = 0;
        if (c->ninvs && !open)
            goto oom;
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
        al = nopen ? calloc(nopen, sizeof *al) : NULL;
        if (nopen && !al) {
            free(open);
            goto oom;
        }
        int64_t left = amount;
        for (uint32_t i = 0; i < nopen && left > 0; i++) {
            int64_t take = open[i].bal < left ? open[i].bal : left;
            al[nout].inv = open[i].inv;
            al[nout].amount = take;
            nout++;
            left -= take;
        }
        free(open);
    }
    p->allocs = al;
    p->nallocs = nout;
    for (uint32_t i = 0; i < nout; i++) {
        rep_move mv = {al[i].amount, at_ms, day, pi, REP_MV_PAY};
        if (rep_inv_add_move(&st->invs[al[i].inv], &mv) < 0)
            goto oom;
    }
    if (rep_map_put(&st->pay_ix, key, (size_t)kn, pi) < 0 ||
        rep_list_push(&st->by_tenant[tenant].pays, pi) < 0)
        goto oom;
    st->npays++;
    return 1;
oom:
    snprintf(errstr, errlen, "out of memory");
    return -1;
}

static int rep_apply_reversal(rep_state *st, uint32_t tenant, const json_t *data, int32_t day,
                              char *errstr, size_t errlen)
{
    const char *pid = rep_str(data, "payment_id", "data.", 1, errstr, errlen);
    char key[512];
    uint32_t pi;
    if (!pid)
        return -1;
    int kn = snprintf(key, sizeof key, "%s" SEP "%s", st->tenants[tenant], pid);
    if (kn < 0 || (size_t)kn >= sizeof key || !rep_map_get(&st->pay_ix, key, (size_t)kn, &pi)) {
        snprintf(errstr, errlen, "data.payment_id: unknown payment \"%.64s\"", pid);
        return -1;
    }
    if (st->pays[pi].reversed_day == REP_DAY_NONE)
        st->pays[pi].reversed_day = day < st->pays[pi].day ? st->pays[pi].day : day;
    return 1;
}

static int rep_apply_credit(rep_state *st, uint32_t tenant, uint32_t cust, const json_t *data,
                            int32_t day, char *errstr, size_t errlen)
{
    const char *iid = rep_str(data, "invoice_id", "data.", 1, errstr, errlen);
    const char *cur = rep_str(data, "currency", "data.", 1, errstr, errlen);
    int64_t amount;
    uint16_t ci;
    uint32_t ii;
    if (!iid || !cur)
        return -1;
    if (rep_minor(data, "amount_minor", "data.", &amount, errstr, errlen) < 0 ||
        rep_cur_ix(st, cur, &ci, errstr, errlen, "data.currency") < 0)
        return -1;
    if (rep_inv_ix(st, tenant, iid, cust, ci, &ii) < 0) {
        snprintf(errstr, errlen, "data.invoice_id: too long or out of memory");
        return -1;
    }
    rep_move mv = {amount, ((int64_t)day + 1) * REP_MS_PER_DAY - 1, day, 0, REP_MV_CREDIT};
    if (rep_inv_add_move(&st->invs[ii], &mv) < 0) {
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    return 1;
}

static int rep_apply_dispute(rep_state *st, uint32_t tenant, uint32_t cust, const json_t *data,
                             int32_t day, int64_t ms, char *errstr, size_t errlen)
{
    const char *iid = rep_str(data, "invoice_id", "data.", 1, errstr, errlen);
    uint32_t ii;
    if (!iid)
        return -1;
    if (rep_inv_ix(st, tenant, iid, cust, 0, &ii) < 0) {
        snprintf(errstr, errlen, "data.invoice_id: too long or out of memory");
        return -1;
    }
    rep_move mv = {0, ms, day, 0, REP_MV_DISPUTE};
    if (rep_inv_add_move(&st->invs[ii], &mv) < 0) {
        snprintf(errstr, errlen, "out of memory");
        return -1;
    }
    return 1;
}

static int rep_apply_promise(rep_state *st, uint32_t tenant, uint32_t cust, const json_t *data,
                             int outcome, int32_t day, int64_t ms, char *errstr, size_t errlen)
{
    const char *cur = rep_str(data, "currency", "data.", 1, errstr, errlen);
    int64_t amount;
    int32_t promised_on;
    uint16_t ci;
    if (!cur)
        return -1;
    if (rep_minor(data, "amount_minor", "data.", &amount, errstr, errlen) < 0 ||
        rep_date(data, "promised_on", &promised_on, errstr, errlen) < 0 ||
        rep_cur_ix(st, cur, &ci, errstr, errlen, "data.currency") < 0)
        return -1;
    const json_t *ids = json_object_get(data, "invoice_ids");
    if (ids && !json_is_array(ids)) {
        snprintf(errstr, errlen, "data.invoice_ids: not an array");
        return -1;
    }
    for (size_t i = 0; i < json_array_size(ids); i++) {
        const json_t *s = json_array_get(ids, i);
        if (!json_is_string(s) || json_string_length(s) == 0 || json_string_length(s) > 200) {
            snprintf(errstr, errlen, "data.invoice_ids[%zu]: not a string of 1..200 characters", i);
            return -1;
        }
    }
    char key[600];
    int kn =
        snprintf(key, sizeof key, "%s" SEP "%s" SEP "%d" SEP "%s" SEP "%lld", st->tenants[tenant],
                 st->custs[cust].id, (int)promised_on, cur, (long long)amount);
    uint32_t pi;
    if (kn < 0 || (size_t)kn >= sizeof key) {
        snprintf(errstr, errlen, "data.customer_id: too long");
        return -1;
    }
    if (!rep_map_get(&st->prom_ix, key, (size_t)kn, &pi)) {
        if (GROW(st->proms, st->capproms, st->nproms + 1) < 0 ||
            rep_map_put(&st->prom_ix, key, (size_t)kn, st->nproms) < 0 ||
            rep_list_push(&st->by_tenant[tenant].proms, st->nproms) < 0)
            goto oom;
        pi = st->nproms++;
        rep_promise *p = &st->proms[pi];
        memset(p, 0, sizeof *p);
        p->tenant = tenant;
        p->cust = cust;
        p->cur = ci;
        p->amount = amount;
        p->promised_on = promised_on;
        p->made_day = REP_DAY_NONE;
        p->outcome_day = REP_DAY_NONE;
    }
    rep_promise *p = &st->proms[pi];
    if (outcome == REP_PROMISE_OPEN) {
        if (p->made)
            return 0;
        p->made = 1;
        p->made_day = day;
        p->made_ms = ms;
        size_t n = json_array_size(ids);
        free(p->invs);
        p->invs = n ? calloc(n, sizeof *p->invs) : NULL;
        p->ninvs = 0;
        if (n && !p->invs)
            goto oom;
        for (size_t i = 0; i < n; i++) {
            uint32_t ii;
            if (rep_inv_ix(st, tenant, json_string_value(json_array_get(ids, i)), cust, ci, &ii) <
                0)
                goto oom;
            p = &st->proms[pi];
            p->invs[p->ninvs++] = ii;
        }
    } else if (p->outcome == REP_PROMISE_OPEN) {
        p->outcome = (uint8_t)outcome;
        p->outcome_day = day;
    }
    return 1;
oom:
    snprintf(errstr, errlen, "out of memory");
    return -1;
}

int rep_state_apply_event(rep_state *st, const json_t *ev, char *errstr, size_t errlen)
{
    errstr[0] = 0;
    if (!json_is_object(ev)) {
        snprintf(errstr, errlen, "event: not a JSON object");
        goto bad;
    }
    const char *id = rep_str(ev, "id", "", 1, errstr, errlen);
    const char *tenant = id ? rep_str(ev, "tenant", "", 1, errstr, errlen) : NULL;
    const char *type = tenant ? rep_str(ev, "type", "", 1, errstr, errlen) : NULL;
    const char *tstr = type ? rep_str(ev, "time", "", 1, errstr, errlen) : NULL;
    if (!tstr)
        goto bad;
    const char *source = json_string_value(json_object_get(ev, "source"));
    int64_t ms;
    if (cm_time_parse_rfc3339(tstr, &ms) < 0) {
        snprintf(errstr, errlen, "time: not an RFC 3339 instant");
        goto bad;
    }
    const json_t *data = json_object_get(ev, "data");
    if (!json_is_object(data)) {
        snprintf(errstr, errlen, "data: %s", data ? "not an object" : "required");
        goto bad;
    }
    char key[700];
    int kn =
        snprintf(key, sizeof key, "e" SEP "%s" SEP "%s" SEP "%s", tenant, source ? source : "", id);
    if (kn < 0 || (size_t)kn >= sizeof key) {
        snprintf(errstr, errlen, "id: too long");
        goto bad;
    }
    if (rep_seen(st, key, (size_t)kn)) {
        st->duplicates++;
        return 0;
    }
    static const char *const known[] = {
        "invoice.issued",   "invoice.updated",  "invoice.voided",     "invoice.written_off",
        "payment.received", "payment.reversed", "credit_note.issued", "dispute.opened",
        "promise.made",     "promise.kept",     "promise.broken",     "customer.upserted"};
    size_t kt = 0;
    while (kt < sizeof known / sizeof known[0] && strcmp(type, known[kt]))
        kt++;
    if (kt == sizeof known / sizeof known[0]) {
        /* a type no report depends on (dispute.resolved, contact.ceased,
         * invoice.escalated, or one added later): remembered, ignored */
        if (rep_map_put(&st->seen, key, (size_t)kn, 0) < 0) {
            snprintf(errstr, errlen, "out of memory");
            goto bad;
        }
        st->applied++;
        return 0;
    }
    const char *cid = json_string_value(json_object_get(data, "customer_id"));
    if (!cid)
        cid = json_string_value(json_object_get(ev, "customer_id"));
    if (!cid || !*cid || strlen(cid) > 200) {
        snprintf(errstr, errlen, "data.customer_id: required (a string of 1..200 characters)");
        goto bad;
    }
    uint32_t ti, ci;
    if (rep_tenant_ix(st, tenant, &ti) < 0 || rep_cust_ix(st, ti, cid, &ci) < 0) {
        snprintf(errstr, errlen, "tenant/customer_id: too long or out of memory");
        goto bad;
    }
    int32_t day = cm_time_day(ms);
    int rc = 0;
    if (!strcmp(type, "invoice.issued") || !strcmp(type, "invoice.updated"))
        rc = rep_apply_invoice(st, ti, ci, data, errstr, errlen);
    else if (!strcmp(type, "invoice.voided"))
        rc = rep_apply_close(st, ti, ci, data, REP_CLOSE_VOID, day, errstr, errlen);
    else if (!strcmp(type, "invoice.written_off"))
        rc = rep_apply_close(st, ti, ci, data, REP_CLOSE_WRITEOFF, day, errstr, errlen);
    else if (!strcmp(type, "payment.received"))
        rc = rep_apply_payment(st, ti, ci, data, errstr, errlen);
    else if (!strcmp(type, "payment.reversed"))
        rc = rep_apply_reversal(st, ti, data, day, errstr, errlen);
    else if (!strcmp(type, "credit_note.issued"))
        rc = rep_apply_credit(st, ti, ci, data, day, errstr, errlen);
    else if (!strcmp(type, "dispute.opened"))
        rc = rep_apply_dispute(st, ti, ci, data, day, ms, errstr, errlen);
    else if (!strcmp(type, "promise.made"))
        rc = rep_apply_promise(st, ti, ci, data, REP_PROMISE_OPEN, day, ms, errstr, errlen);
    else if (!strcmp(type, "promise.kept"))
        rc = rep_apply_promise(st, ti, ci, data, REP_PROMISE_KEPT, day, ms, errstr, errlen);
    else if (!strcmp(type, "promise.broken"))
        rc = rep_apply_promise(st, ti, ci, data, REP_PROMISE_BROKEN, day, ms, errstr, errlen);
    else if (!strcmp(type, "customer.upserted")) {
        const char *name = json_string_value(json_object_get(data, "name"));
        if (name) {
            char *copy = strdup(name);
            if (copy) {
                free(st->custs[ci].name);
                st->custs[ci].name = copy;
            }
        }
        rc = 1;
    }
    if (rc < 0)
        goto bad;
    if (rep_map_put(&st->seen, key, (size_t)kn, 0) < 0) {
        snprintf(errstr, errlen, "out of memory");
        goto bad;
    }
    st->applied++;
    return rc > 0 ? 1 : 0;
bad:
    st->rejected++;
    return -1;
}

int rep_state_apply_contact(rep_state *st, const json_t *c, char *errstr, size_t errlen)
{
    errstr[0] = 0;
    if (!json_is_object(c)) {
        snprintf(errstr, errlen, "contact: not a JSON object");
        goto bad;
    }
    const char *type = rep_str(c, "type", "", 1, errstr, errlen);
    if (!type)
        goto bad;
    int sent = !strcmp(type, "contact.sent");
    if (!sent && strcmp(type, "contact.failed")) {
        snprintf(errstr, errlen, "type: not contact.sent or contact.failed");
        goto bad;
    }
    const char *id = json_string_value(json_object_get(c, "id"));
    if (!id)
        id = json_string_value(json_object_get(c, "command_id"));
    if (!id || !*id || strlen(id) > 300) {
        snprintf(errstr, errlen, "id: required (a string of 1..300 characters)");
        goto bad;
    }
    const char *tenant = rep_str(c, "tenant", "", 1, errstr, errlen);
    const char *atstr = tenant ? rep_str(c, "at", "", 1, errstr, errlen) : NULL;
    int64_t at;
    if (!atstr)
        goto bad;
    if (cm_time_parse_rfc3339(atstr, &at) < 0) {
        snprintf(errstr, errlen, "at: not an RFC 3339 instant");
        goto bad;
    }
    const json_t *jstep = json_object_get(c, "step");
    if (json_is_null(jstep))
        jstep = NULL;
    long long step = 0;
    if (jstep && json_is_integer(jstep)) {
        step = (long long)json_integer_value(jstep);
    } else if (jstep) { /* tolerate "2" */
        const char *sv = json_string_value(jstep);
        char *end = NULL;
        step = sv ? strtoll(sv, &end, 10) : 0;
        if (!sv || !*sv || *end) {
            snprintf(errstr, errlen, "step: not an integer");
            goto bad;
        }
    }
    const json_t *ids = json_object_get(c, "invoice_ids");
    if (ids && !json_is_array(ids)) {
        snprintf(errstr, errlen, "invoice_ids: not an array");
        goto bad;
    }
    for (size_t i = 0; i < json_array_size(ids); i++) {
        const json_t *s = json_array_get(ids, i);
        if (!json_is_string(s) || json_string_length(s) == 0 || json_string_length(s) > 200) {
            snprintf(errstr, errlen, "invoice_ids[%zu]: not a string of 1..200 characters", i);
            goto bad;
        }
    }
    const char *strategy = json_string_value(json_object_get(c, "strategy"));
    const char *variant = json_string_value(json_object_get(c, "variant"));
    const char *channel = json_string_value(json_object_get(c, "channel"));
    const char *cid = json_string_value(json_object_get(c, "customer_id"));
    strategy = strategy ? strategy : "";
    variant = variant ? variant : "";
    channel = channel ? channel : "";
    cid = cid ? cid : "";
    if (strlen(strategy) > 100 || strlen(variant) > 100 || strlen(channel) > 100 ||
        strlen(cid) > 200) {
        snprintf(errstr, errlen, "strategy/variant/channel/customer_id: too long");
        goto bad;
    }
    char key[700];
    int kn = snprintf(key, sizeof key, "c" SEP "%s" SEP "%s", tenant, id);
    if (kn < 0 || (size_t)kn >= sizeof key) {
        snprintf(errstr, errlen, "id: too long");
        goto bad;
    }
    if (rep_seen(st, key, (size_t)kn)) {
        st->duplicates++;
        return 0;
    }
    uint32_t ti, cu, gi;
    if (rep_tenant_ix(st, tenant, &ti) < 0 || rep_cust_ix(st, ti, cid, &cu) < 0)
        goto oom;
    char gkey[600];
    int gn = snprintf(gkey, sizeof gkey, "%s" SEP "%s" SEP "%s" SEP "%lld" SEP "%s", tenant,
                      strategy, variant, step, channel);
    if (gn < 0 || (size_t)gn >= sizeof gkey)
        goto oom;
    if (!rep_map_get(&st->group_ix, gkey, (size_t)gn, &gi)) {
        if (GROW(st->groups, st->capgroups, st->ngroups + 1) < 0)
            goto oom;
        rep_group *g = &st->groups[st->ngroups];
        g->tenant = ti;
        g->strategy = strdup(strategy);
        g->variant = strdup(variant);
        g->channel = strdup(channel);
        g->step = step;
        if (!g->strategy || !g->variant || !g->channel ||
            rep_map_put(&st->group_ix, gkey, (size_t)gn, st->ngroups) < 0) {
            free(g->strategy);
            free(g->variant);
            free(g->channel);
            memset(g, 0, sizeof *g);
            goto oom;
        }
        gi = st->ngroups++;
    }
    if (GROW(st->contacts, st->capcontacts, st->ncontacts + 1) < 0)
        goto oom;
    uint32_t ki = st->ncontacts;
    st->contacts[ki].at_ms = at;
    st->contacts[ki].group = gi;
    st->contacts[ki].sent = (uint8_t)sent;
    if (sent) {
        for (size_t i = 0; i < json_array_size(ids); i++) {
            uint32_t ii;
            if (rep_inv_ix(st, ti, json_string_value(json_array_get(ids, i)), cu, 0, &ii) < 0)
                goto oom;
            rep_inv *inv = &st->invs[ii];
            if (GROW(inv->contacts, inv->capcontacts, inv->ncontacts + 1) < 0)
                goto oom;
            /* keep sorted by instant */
            uint32_t j = inv->ncontacts;
            while (j > 0 && st->contacts[inv->contacts[j - 1]].at_ms > at) {
                inv->contacts[j] = inv->contacts[j - 1];
                j--;
            }
            inv->contacts[j] = ki;
            inv->ncontacts++;
        }
    }
    if (rep_list_push(&st->by_tenant[ti].contacts, ki) < 0)
        goto oom;
    st->ncontacts++;
    if (rep_map_put(&st->seen, key, (size_t)kn, 0) < 0)
        goto oom;
    st->applied++;
    return 1;
oom:
    snprintf(errstr, errlen, "out of memory or field too long");
bad:
    st->rejected++;
    return -1;
}
