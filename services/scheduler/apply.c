/* apply.c -- what each event and each due timer does to the state.
 *
 * Choices where the issue is silent (docs/scheduler.md):
 * - invoice.issued for a known invoice is an update (replays are no-ops);
 * - steps already past when a ladder is (re)armed collapse into the latest
 *   of them, sent at the next local send time; a changed due date restarts
 *   the ladder with attempt+1 and skips steps already past;
 * - a payment applies its allocations (capped at each invoice's
 *   outstanding), then oldest due first (due date, issue date, id) within
 *   the same currency; the rest is kept as customer credit applied to the
 *   next invoice in that currency;
 * - events about an unknown invoice are kept in P q:<tenant>/<invoice_id>
 *   and applied when its invoice.issued (or .updated) arrives. */
#include "apply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "records.h"
#include "log.h"
#include "str.h"

int sch_ctx_init(sch_ctx *c, const sch_policy *pol, const char *prefix, int64_t now, sch_map *map)
{
    memset(c, 0, sizeof *c);
    c->pol = pol;
    c->prefix = prefix;
    c->now = now;
    c->map = map;
    c->appends = json_array();
    return c->appends ? 0 : -1;
}

void sch_ctx_reset(sch_ctx *c)
{
    json_decref(c->appends);
    c->appends = NULL;
    for (size_t i = 0; i < c->nouts; i++) {
        free(c->outs[i].id);
        free(c->outs[i].key);
        free(c->outs[i].payload);
    }
    free(c->outs);
    c->outs = NULL;
    c->nouts = c->capouts = 0;
}

/* ---- event checks ---- */

static const char *sget(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* The contract's type of an event (CT_EV_NONE when absent or unknown). */
static ct_type type_of(const json_t *ev)
{
    const json_t *t = json_object_get(ev, "type");
    return json_is_string(t) ? ct_type_parse(json_string_value(t), json_string_length(t))
                             : CT_EV_NONE;
}

static int bad(char *errstr, size_t errlen, const char *field, const char *rule)
{
    snprintf(errstr, errlen, "%s: %s", field, rule);
    return -1;
}

static int id_ok(const char *s, size_t max)
{
    if (!s || !*s || strlen(s) >= max)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20)
            return 0;
    return 1;
}

static int need_id(const json_t *d, const char *k, char *errstr, size_t errlen)
{
    char f[64];
    snprintf(f, sizeof f, "data.%s", k);
    if (!id_ok(sget(d, k), SCH_ID_LEN))
        return bad(errstr, errlen, f, "must be a non-empty string of at most 200 bytes");
    return 0;
}

static int need_amount(const json_t *d, const char *k, int allow_zero, char *errstr, size_t errlen)
{
    char f[64];
    json_t *v = json_object_get(d, k);
    snprintf(f, sizeof f, "data.%s", k);
    if (!json_is_integer(v) || json_integer_value(v) < (allow_zero ? 0 : 1) ||
        json_integer_value(v) > 1000000000000000000LL)
        return bad(errstr, errlen, f,
                   allow_zero ? "must be an integer >= 0" : "must be an integer > 0");
    return 0;
}

static int need_currency(const json_t *d, char *errstr, size_t errlen)
{
    const char *c = sget(d, "currency");
    if (!c || strlen(c) != 3 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' ||
        c[2] < 'A' || c[2] > 'Z')
        return bad(errstr, errlen, "data.currency", "must be an ISO 4217 code");
    return 0;
}

static int need_date(const json_t *d, const char *k, char *errstr, size_t errlen)
{
    int32_t day;
    char f[64];
    snprintf(f, sizeof f, "data.%s", k);
    const char *s = sget(d, k);
    if (!s || cm_date_parse(s, &day) < 0)
        return bad(errstr, errlen, f, "must be a date YYYY-MM-DD");
    return 0;
}

int sch_event_check(const json_t *ev, char *errstr, size_t errlen)
{
    if (!json_is_object(ev))
        return bad(errstr, errlen, "event", "must be a JSON object");
    const char *src = sget(ev, "source");
    if (src && strcmp(src, CT_SCHEDULER_SOURCE) == 0)
        return 0;
    const char *tenant = sget(ev, "tenant"), *cust = sget(ev, "customer_id");
    if (!sget(ev, "type"))
        return bad(errstr, errlen, "type", "is required");
    ct_type type = type_of(ev);
    if (!id_ok(tenant, CT_TENANT_MAX + 1) || strchr(tenant, '/'))
        return bad(errstr, errlen, "tenant", "must be a string of at most 64 bytes without '/'");
    if (!id_ok(cust, SCH_ID_LEN))
        return bad(errstr, errlen, "customer_id",
                   "must be a non-empty string of at most 200 bytes");
    json_t *d = json_object_get(ev, "data");
    if (!json_is_object(d))
        return bad(errstr, errlen, "data", "must be an object");
    const char *dc = sget(d, "customer_id");
    if (dc && strcmp(dc, cust) != 0)
        return bad(errstr, errlen, "data.customer_id", "must equal customer_id");
    switch (type) {
    case CT_EV_INVOICE_ISSUED:
    case CT_EV_INVOICE_UPDATED: {
        if (need_id(d, "invoice_id", errstr, errlen) < 0 || need_currency(d, errstr, errlen) < 0 ||
            need_amount(d, "amount_minor", 0, errstr, errlen) < 0 ||
            need_date(d, "issued_on", errstr, errlen) < 0 ||
            need_date(d, "due_on", errstr, errlen) < 0)
            return -1;
        json_t *n = json_object_get(d, "number");
        if (n && !id_ok(json_string_value(n), SCH_ID_LEN))
            return bad(errstr, errlen, "data.number", "must be a string of at most 200 bytes");
        json_t *tags = json_object_get(d, "tags");
        if (tags && !json_is_array(tags))
            return bad(errstr, errlen, "data.tags", "must be an array");
        return 1;
    }
    case CT_EV_INVOICE_VOIDED:
    case CT_EV_INVOICE_WRITTEN_OFF:
    case CT_EV_DISPUTE_OPENED:
    case CT_EV_DISPUTE_RESOLVED:
        return need_id(d, "invoice_id", errstr, errlen) < 0 ? -1 : 1;
    case CT_EV_PAYMENT_RECEIVED: {
        if (need_id(d, "payment_id", errstr, errlen) < 0 || need_currency(d, errstr, errlen) < 0 ||
            need_amount(d, "amount_minor", 0, errstr, errlen) < 0)
            return -1;
        json_t *al = json_object_get(d, "allocations");
        if (al && !json_is_array(al))
            return bad(errstr, errlen, "data.allocations", "must be an array");
        size_t i;
        json_t *a;
        int64_t sum = 0;
        json_array_foreach(al, i, a)
        {
            if (!json_is_object(a) || need_id(a, "invoice_id", errstr, errlen) < 0 ||
                need_amount(a, "amount_minor", 0, errstr, errlen) < 0) {
                snprintf(errstr, errlen,
                         "data.allocations[%zu]: must have invoice_id and amount_minor >= 0", i);
                return -1;
            }
            sum += json_integer_value(json_object_get(a, "amount_minor"));
        }
        if (sum > json_integer_value(json_object_get(d, "amount_minor")))
            return bad(errstr, errlen, "data.allocations",
                       "must not add up to more than amount_minor");
        return 1;
    }
    case CT_EV_PAYMENT_REVERSED:
        return need_id(d, "payment_id", errstr, errlen) < 0 ? -1 : 1;
    case CT_EV_CREDIT_NOTE_ISSUED:
        if (need_id(d, "credit_note_id", errstr, errlen) < 0 ||
            need_id(d, "invoice_id", errstr, errlen) < 0 || need_currency(d, errstr, errlen) < 0 ||
            need_amount(d, "amount_minor", 0, errstr, errlen) < 0)
            return -1;
        return 1;
    case CT_EV_CUSTOMER_UPSERTED: {
        const char *tz = sget(d, "timezone");
        if (tz && !cm_tz_valid(tz))
            return bad(errstr, errlen, "data.timezone", "must be a known IANA time zone");
        const char *arrs[] = {"tags", "opted_out", "channels"};
        for (int i = 0; i < 3; i++) {
            json_t *a = json_object_get(d, arrs[i]);
            if (a && !json_is_array(a)) {
                char f[64];
                snprintf(f, sizeof f, "data.%s", arrs[i]);
                return bad(errstr, errlen, f, "must be an array of strings");
            }
        }
        return 1;
    }
    case CT_EV_CONTACT_CEASED:
        return 1;
    default:
        return 0; /* promise.made and unknown types: reserved, ignored */
    }
}

/* ---- records ---- */

static sch_rec *rec(sch_ctx *c, char kind, int type, const char *tenant, const char *id)
{
    char key[512];
    sch_key(key, sizeof key, c->prefix, kind, tenant, id);
    return sch_map_add(c->map, key, type, tenant, id);
}

static sch_rec *have(sch_ctx *c, char kind, const char *tenant, const char *id)
{
    char key[512];
    sch_key(key, sizeof key, c->prefix, kind, tenant, id);
    sch_rec *r = sch_map_get(c->map, key);
    return r && r->loaded ? r : NULL;
}

int sch_plan_event(sch_ctx *c, const json_t *ev, int phase)
{
    const char *t = sget(ev, "tenant"), *cu = sget(ev, "customer_id");
    ct_type type = type_of(ev);
    json_t *d = json_object_get(ev, "data");
    const char *inv = sget(d, "invoice_id"), *pid = sget(d, "payment_id");
    if (phase == 1) {
        if (!rec(c, 'c', SCH_T_CUST, t, cu))
            return -1;
        if (inv) {
            if (!rec(c, 'i', SCH_T_INV, t, inv) || !rec(c, 'q', SCH_T_PEND, t, inv))
                return -1;
        }
        if (pid) {
            if (!rec(c, 'p', SCH_T_PAY, t, pid) || !rec(c, 'r', SCH_T_PEND, t, pid))
                return -1;
        }
        json_t *al = json_object_get(d, "allocations");
        size_t i;
        json_t *a;
        json_array_foreach(al, i, a)
        {
            const char *ai = sget(a, "invoice_id");
            if (!rec(c, 'i', SCH_T_INV, t, ai) || !rec(c, 'q', SCH_T_PEND, t, ai))
                return -1;
        }
        return 0;
    }
    if (type == CT_EV_PAYMENT_RECEIVED) {
        sch_rec *cr = have(c, 'c', t, cu);
        for (int i = 0; cr && i < cr->u.cust.open.n; i++)
            if (!rec(c, 'i', SCH_T_INV, t, cr->u.cust.open.v[i]))
                return -1;
    } else if (type == CT_EV_PAYMENT_REVERSED) {
        sch_rec *pr = have(c, 'p', t, pid);
        const char *s = pr && pr->u.pay.alloc ? pr->u.pay.alloc : "";
        while (*s) {
            const char *eq = strchr(s, '='), *semi = strchr(s, ';');
            if (!eq || !semi || eq > semi)
                break;
            char id[SCH_ID_LEN];
            snprintf(id, sizeof id, "%.*s", (int)(eq - s), s);
            if (!rec(c, 'i', SCH_T_INV, t, id) || !rec(c, 'q', SCH_T_PEND, t, id))
                return -1;
            s = semi + 1;
        }
    }
    return 0;
}

const cm_tz *sch_cust_tz(const sch_ctx *c, const sch_rec *cust)
{
    char e[128];
    const cm_tz *tz = NULL;
    if (cust && cust->u.cust.tz[0])
        tz = cm_tz_get(cust->u.cust.tz, e, sizeof e);
    if (!tz)
        tz = cm_tz_get(c->pol->default_tz, e, sizeof e);
    if (!tz)
        tz = cm_tz_get("UTC", e, sizeof e);
    return tz;
}

static void cust_touch(sch_ctx *c, sch_rec *cust, const char *customer_id)
{
    /* a customer first seen through an invoice or a payment: no contact
     * data yet (commands then carry just the customer_id) */
    cust->exists = 1;
    cust->dirty = 1;
    (void)c;
    (void)customer_id;
}

static void open_add(sch_rec *cust, const char *inv)
{
    char f[SCH_ID_LEN + 4];
    snprintf(f, sizeof f, "o:%s", inv);
    if (!sch_strlist_has(&cust->u.cust.open, inv)) {
        sch_strlist_add(&cust->u.cust.open, inv);
        sch_strlist_add(&cust->u.cust.added, f);
    }
    sch_strlist_del(&cust->u.cust.gone, f);
    cust->dirty = 1;
}

static void open_del(sch_rec *cust, const char *inv)
{
    char f[SCH_ID_LEN + 4];
    snprintf(f, sizeof f, "o:%s", inv);
    if (sch_strlist_del(&cust->u.cust.open, inv)) {
        sch_strlist_add(&cust->u.cust.gone, f);
        sch_strlist_del(&cust->u.cust.added, f);
    }
    cust->dirty = 1;
}

static void hist(sch_rec *inv, const char *what)
{
    sch_str_append(&inv->u.inv.history, what);
    inv->dirty = 1;
}

/* Arms the next ladder step from index from (or clears the timer). */
static void arm(sch_ctx *c, sch_rec *inv, sch_rec *cust, int from, int collapse)
{
    sch_inv *v = &inv->u.inv;
    const sch_ladder *l = sch_policy_ladder(c->pol, v->strategy, v->variant);
    int idx;
    int64_t when;
    inv->dirty = 1;
    if (v->status != 'o' || v->disputed || sch_inv_outstanding(v) == 0 || !l) {
        if (v->next_kind == 's')
            v->next_kind = 0, v->next_ms = 0;
        return;
    }
    if (sch_next_step(l, sch_cust_tz(c, cust), v->due, from, c->now, collapse, &idx, &when) == 0) {
        v->next_kind = 's';
        v->step = idx;
        v->next_ms = when;
    } else {
        v->next_kind = 0;
        v->next_ms = 0;
        v->step = l->nsteps;
    }
}

static void close_inv(sch_ctx *c, sch_rec *inv, sch_rec *cust, char status)
{
    inv->u.inv.status = status;
    if (inv->u.inv.next_kind == 's' || status != 'p')
        inv->u.inv.next_kind = 0, inv->u.inv.next_ms = 0;
    inv->dirty = 1;
    open_del(cust, inv->id);
    (void)c;
}

/* Applies amt of payment pid to an invoice; closes it when fully paid. */
static void pay_inv(sch_ctx *c, sch_rec *inv, sch_rec *cust, int64_t amt, const char *pid)
{
    sch_inv *v = &inv->u.inv;
    v->paid += amt;
    inv->dirty = 1;
    if (v->status == 'o' && sch_inv_outstanding(v) == 0) {
        close_inv(c, inv, cust, 'p');
        if (c->pol->thanks_enabled) {
            v->next_kind = 't';
            v->next_ms = c->now;
            cm_strlcpy(v->thanks_pid, pid, sizeof v->thanks_pid);
            v->thanks_amt = amt;
        }
    }
}

/* Undoes amt of a payment; reopens a paid invoice. */
static void unpay_inv(sch_ctx *c, sch_rec *inv, sch_rec *cust, int64_t amt)
{
    sch_inv *v = &inv->u.inv;
    v->paid -= amt;
    if (v->paid < 0)
        v->paid = 0;
    inv->dirty = 1;
    if (v->status == 'p' && sch_inv_outstanding(v) > 0) {
        v->status = 'o';
        if (v->next_kind == 't')
            v->next_kind = 0, v->next_ms = 0;
        open_add(cust, inv->id);
        arm(c, inv, cust, v->step, 1);
    }
}

static void pend_push(sch_ctx *c, sch_rec *pend, json_t *ev)
{
    if (!pend->u.pend.add)
        pend->u.pend.add = json_array();
    json_array_append(pend->u.pend.add, ev);
    pend->dirty = 1;
    c->pended++;
}

static void append_op(sch_ctx *c, const char *key, const char *field, const char *suffix)
{
    json_array_append_new(c->appends, json_pack("[sss]", key, field, suffix));
}

static int apply_inner(sch_ctx *c, const json_t *ev, int part, int from_pending, char *errstr,
                       size_t errlen);

static void set_inv_fields(sch_inv *v, const json_t *d)
{
    const char *n = sget(d, "number");
    cm_strlcpy(v->number, n ? n : sget(d, "invoice_id"), sizeof v->number);
    cm_strlcpy(v->currency, sget(d, "currency"), sizeof v->currency);
    v->amount = json_integer_value(json_object_get(d, "amount_minor"));
    cm_date_parse(sget(d, "issued_on"), &v->issued);
    cm_date_parse(sget(d, "due_on"), &v->due);
}

static void assign_strategy(sch_ctx *c, sch_rec *inv, sch_rec *cust, const json_t *d)
{
    const char *tags[64];
    int nt = 0;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(d, "tags"), i, t)
    {
        if (json_is_string(t) && nt < 32)
            tags[nt++] = json_string_value(t);
    }
    char *ct = cust->u.cust.tags ? strdup(cust->u.cust.tags) : NULL, *save = NULL;
    for (char *tok = ct ? strtok_r(ct, ",", &save) : NULL; tok && nt < 64;
         tok = strtok_r(NULL, ",", &save))
        tags[nt++] = tok;
    sch_subject s = {inv->tenant,
                     inv->u.inv.customer,
                     cust->u.cust.country,
                     inv->u.inv.currency,
                     inv->u.inv.amount,
                     tags,
                     nt};
    int si, vi;
    if (sch_policy_assign(c->pol, &s, &si, &vi) == 0) {
        cm_strlcpy(inv->u.inv.strategy, c->pol->strategies[si].name, sizeof inv->u.inv.strategy);
        snprintf(inv->u.inv.variant, sizeof inv->u.inv.variant, "%s",
                 c->pol->strategies[si].variants[vi].name);
    }
    free(ct);
}

static int ev_issued(sch_ctx *c, const json_t *ev, const json_t *d, sch_rec *inv, sch_rec *cust,
                     sch_rec *pend, int part, char *errstr, size_t errlen)
{
    sch_inv *v = &inv->u.inv;
    if (inv->exists && part >= 0 && v->part != part) {
        v->part = part; /* repartitioned topic: the timer follows (commit moves it) */
        inv->dirty = 1;
    }
    if (inv->exists) {
        if (v->status == 'v' || v->status == 'w') {
            c->ignored++;
            return 0;
        }
        int32_t due;
        cm_date_parse(sget(d, "due_on"), &due);
        int64_t amount = json_integer_value(json_object_get(d, "amount_minor"));
        int due_changed = due != v->due;
        int amount_changed = amount != v->amount;
        set_inv_fields(v, d);
        inv->dirty = 1;
        if (due_changed) {
            v->attempt++;
            arm(c, inv, cust, 0, 0);
        }
        if (amount_changed) {
            if (v->status == 'o' && sch_inv_outstanding(v) == 0)
                close_inv(c, inv, cust, 'p');
            else if (v->status == 'p' && sch_inv_outstanding(v) > 0) {
                v->status = 'o';
                if (v->next_kind == 't')
                    v->next_kind = 0, v->next_ms = 0;
                open_add(cust, inv->id);
                arm(c, inv, cust, v->step, 1);
            }
        }
        return 0;
    }
    /* a new invoice */
    cust_touch(c, cust, sget(ev, "customer_id"));
    inv->exists = 1;
    inv->dirty = 1;
    cm_strlcpy(v->customer, sget(ev, "customer_id"), sizeof v->customer);
    set_inv_fields(v, d);
    v->status = 'o';
    v->part = part;
    v->attempt = 1;
    v->step = 0;
    assign_strategy(c, inv, cust, d);
    open_add(cust, inv->id);
    /* customer credit in this currency */
    for (int i = 0; i < cust->u.cust.ncredit && sch_inv_outstanding(v) > 0; i++) {
        sch_credit *cr = &cust->u.cust.credit[i];
        if (cr->amount <= 0 || strcmp(cr->currency, v->currency) != 0)
            continue;
        int64_t take = cr->amount < sch_inv_outstanding(v) ? cr->amount : sch_inv_outstanding(v);
        char pkey[512], suf[300];
        sch_key(pkey, sizeof pkey, c->prefix, 'p', inv->tenant, cr->pid);
        snprintf(suf, sizeof suf, "%s=%lld;", inv->id, (long long)take);
        append_op(c, pkey, "al", suf);
        cr->amount -= take;
        pay_inv(c, inv, cust, take, cr->pid);
    }
    /* events that came before the invoice */
    if (pend && (json_array_size(pend->u.pend.items) || json_array_size(pend->u.pend.add))) {
        /* stored ones first, then those kept earlier in this batch */
        json_t *all = json_array();
        size_t i;
        json_t *pe;
        if (pend->u.pend.items)
            json_array_extend(all, pend->u.pend.items);
        if (pend->u.pend.add)
            json_array_extend(all, pend->u.pend.add);
        json_decref(pend->u.pend.add);
        pend->u.pend.add = NULL;
        pend->u.pend.clear = 1;
        pend->dirty = 1;
        json_array_foreach(all, i, pe)
        {
            const char *pt = sget(pe, "type");
            json_t *pd = json_object_get(pe, "data");
            int64_t amt = json_integer_value(json_object_get(pd, "amount_minor"));
            if (pt && !strcmp(pt, "sch.alloc"))
                pay_inv(c, inv, cust, amt, sget(pd, "payment_id"));
            else if (pt && !strcmp(pt, "sch.unalloc"))
                unpay_inv(c, inv, cust, amt);
            else if (apply_inner(c, pe, part, 1, errstr, errlen) < 0) {
                json_decref(all);
                return -1;
            }
        }
        json_decref(all);
    }
    if (v->status == 'o' && !v->disputed && v->next_kind == 0)
        arm(c, inv, cust, 0, 1);
    return 0;
}

static int cmp_due(const void *a, const void *b)
{
    const sch_rec *x = *(sch_rec *const *)a, *y = *(sch_rec *const *)b;
    if (x->u.inv.due != y->u.inv.due)
        return x->u.inv.due < y->u.inv.due ? -1 : 1;
    if (x->u.inv.issued != y->u.inv.issued)
        return x->u.inv.issued < y->u.inv.issued ? -1 : 1;
    return strcmp(x->id, y->id);
}

static int ev_payment(sch_ctx *c, const json_t *ev, const json_t *d, sch_rec *cust, char *errstr,
                      size_t errlen)
{
    const char *t = sget(ev, "tenant"), *pid = sget(d, "payment_id"), *cur = sget(d, "currency");
    sch_rec *pay = have(c, 'p', t, pid), *rpend = have(c, 'r', t, pid);
    if (!pay || !rpend)
        return bad(errstr, errlen, "internal", "payment record not loaded");
    if (pay->exists) {
        c->ignored++;
        return 0;
    }
    cust_touch(c, cust, sget(ev, "customer_id"));
    pay->exists = 1;
    pay->dirty = 1;
    sch_pay *p = &pay->u.pay;
    cm_strlcpy(p->customer, sget(ev, "customer_id"), sizeof p->customer);
    cm_strlcpy(p->currency, cur, sizeof p->currency);
    p->amount = json_integer_value(json_object_get(d, "amount_minor"));
    int64_t rest = p->amount;
    char suf[300];
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(d, "allocations"), i, a)
    {
        const char *iid = sget(a, "invoice_id");
        int64_t amt = json_integer_value(json_object_get(a, "amount_minor"));
        sch_rec *inv = have(c, 'i', t, iid);
        if (!inv)
            return bad(errstr, errlen, "internal", "allocated invoice not loaded");
        if (amt > rest)
            amt = rest;
        if (amt <= 0)
            continue;
        if (!inv->exists) {
            sch_rec *q = have(c, 'q', t, iid);
            json_t *pe = json_pack("{s:s,s:{s:s,s:I}}", "type", "sch.alloc", "data", "payment_id",
                                   pid, "amount_minor", (json_int_t)amt);
            if (!q || !pe) {
                json_decref(pe);
                return bad(errstr, errlen, "internal", "pending list not loaded");
            }
            pend_push(c, q, pe);
            json_decref(pe);
        } else {
            if (strcmp(inv->u.inv.currency, cur) != 0 || inv->u.inv.status != 'o')
                continue;
            int64_t o = sch_inv_outstanding(&inv->u.inv);
            if (amt > o)
                amt = o;
            if (amt <= 0)
                continue;
            pay_inv(c, inv, cust, amt, pid);
        }
        snprintf(suf, sizeof suf, "%s=%lld;", iid, (long long)amt);
        sch_str_append(&p->alloc, suf);
        rest -= amt;
    }
    if (rest > 0) {
        sch_rec **list = malloc(((size_t)cust->u.cust.open.n + 1) * sizeof *list);
        int n = 0;
        if (!list)
            return bad(errstr, errlen, "internal", "out of memory");
        for (int k = 0; k < cust->u.cust.open.n; k++) {
            sch_rec *inv = have(c, 'i', t, cust->u.cust.open.v[k]);
            if (inv && inv->exists && inv->u.inv.status == 'o' &&
                strcmp(inv->u.inv.currency, cur) == 0)
                list[n++] = inv;
        }
        qsort(list, (size_t)n, sizeof *list, cmp_due);
        for (int k = 0; k < n && rest > 0; k++) {
            int64_t o = sch_inv_outstanding(&list[k]->u.inv);
            int64_t amt = o < rest ? o : rest;
            if (amt <= 0)
                continue;
            pay_inv(c, list[k], cust, amt, pid);
            snprintf(suf, sizeof suf, "%s=%lld;", list[k]->id, (long long)amt);
            sch_str_append(&p->alloc, suf);
            rest -= amt;
        }
        free(list);
    }
    if (rest > 0) {
        sch_cust *cu = &cust->u.cust;
        if (cu->ncredit == cu->capcredit) {
            int cap = cu->capcredit ? cu->capcredit * 2 : 4;
            sch_credit *nc = realloc(cu->credit, (size_t)cap * sizeof *nc);
            if (!nc)
                return bad(errstr, errlen, "internal", "out of memory");
            cu->credit = nc;
            cu->capcredit = cap;
        }
        sch_credit *cr = &cu->credit[cu->ncredit++];
        memset(cr, 0, sizeof *cr);
        cm_strlcpy(cr->pid, pid, sizeof cr->pid);
        cm_strlcpy(cr->currency, cur, sizeof cr->currency);
        cr->amount = rest;
        cust->dirty = 1;
    }
    /* a reversal that arrived before its payment */
    if (json_array_size(rpend->u.pend.items) || json_array_size(rpend->u.pend.add)) {
        json_decref(rpend->u.pend.add);
        rpend->u.pend.add = NULL;
        rpend->u.pend.clear = 1;
        rpend->dirty = 1;
        {
            pay->u.pay.reversed = 1;
            /* undo what was just applied */
            const char *s = p->alloc ? p->alloc : "";
            while (*s) {
                const char *eq = strchr(s, '='), *semi = strchr(s, ';');
                if (!eq || !semi)
                    break;
                char id[SCH_ID_LEN];
                snprintf(id, sizeof id, "%.*s", (int)(eq - s), s);
                sch_rec *inv = have(c, 'i', t, id);
                if (inv && inv->exists)
                    unpay_inv(c, inv, cust, strtoll(eq + 1, NULL, 10));
                s = semi + 1;
            }
            for (int k = 0; k < cust->u.cust.ncredit; k++)
                if (!strcmp(cust->u.cust.credit[k].pid, pid))
                    cust->u.cust.credit[k].amount = 0;
        }
    }
    return 0;
}

static int ev_reversed(sch_ctx *c, const json_t *ev, const json_t *d, sch_rec *cust, char *errstr,
                       size_t errlen)
{
    const char *t = sget(ev, "tenant"), *pid = sget(d, "payment_id");
    sch_rec *pay = have(c, 'p', t, pid), *rpend = have(c, 'r', t, pid);
    if (!pay || !rpend)
        return bad(errstr, errlen, "internal", "payment record not loaded");
    if (!pay->exists) {
        if (json_array_size(rpend->u.pend.items) == 0 && !rpend->u.pend.add)
            pend_push(c, rpend, (json_t *)ev);
        return 0;
    }
    if (pay->u.pay.reversed) {
        c->ignored++;
        return 0;
    }
    pay->u.pay.reversed = 1;
    pay->dirty = 1;
    cust_touch(c, cust, sget(ev, "customer_id"));
    const char *s = pay->u.pay.alloc ? pay->u.pay.alloc : "";
    while (*s) {
        const char *eq = strchr(s, '='), *semi = strchr(s, ';');
        if (!eq || !semi || eq > semi)
            break;
        char id[SCH_ID_LEN];
        snprintf(id, sizeof id, "%.*s", (int)(eq - s), s);
        int64_t amt = strtoll(eq + 1, NULL, 10);
        sch_rec *inv = have(c, 'i', t, id);
        if (!inv)
            return bad(errstr, errlen, "internal", "invoice of a reversal not loaded");
        if (inv->exists) {
            unpay_inv(c, inv, cust, amt);
        } else {
            sch_rec *q = have(c, 'q', t, id);
            json_t *pe = json_pack("{s:s,s:{s:s,s:I}}", "type", "sch.unalloc", "data", "payment_id",
                                   pid, "amount_minor", (json_int_t)amt);
            if (q && pe)
                pend_push(c, q, pe);
            json_decref(pe);
        }
        s = semi + 1;
    }
    for (int k = 0; k < cust->u.cust.ncredit; k++)
        if (!strcmp(cust->u.cust.credit[k].pid, pid))
            cust->u.cust.credit[k].amount = 0;
    return 0;
}

static char *csv_from(const json_t *arr)
{
    char *s = NULL;
    size_t i;
    json_t *v;
    if (json_array_size(arr) == 0)
        return NULL;
    sch_str_append(&s, ",");
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v) || strchr(json_string_value(v), ','))
            continue;
        sch_str_append(&s, json_string_value(v));
        sch_str_append(&s, ",");
    }
    return s;
}

static void ev_customer(sch_ctx *c, const json_t *ev, const json_t *d, sch_rec *cust)
{
    sch_cust *cu = &cust->u.cust;
    cust_touch(c, cust, sget(ev, "customer_id"));
    json_t *o = json_object();
    const char *keys[] = {"name", "email", "phone", "timezone", "locale", "country"};
    json_object_set_new(o, "customer_id", json_string(sget(ev, "customer_id")));
    for (int i = 0; i < 6; i++) {
        const char *s = sget(d, keys[i]);
        if (s)
            json_object_set_new(o, keys[i], json_string(s));
    }
    char *js = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (js && (!cu->contact || strcmp(cu->contact, js) != 0)) {
        sch_str_set(&cu->contact, js);
        cu->contact_dirty = 1;
    }
    free(js);
    const char *tz = sget(d, "timezone"), *lo = sget(d, "locale"), *co = sget(d, "country");
    cm_strlcpy(cu->tz, tz && strlen(tz) < sizeof cu->tz ? tz : "", sizeof cu->tz);
    cm_strlcpy(cu->locale, lo && strlen(lo) < sizeof cu->locale ? lo : "", sizeof cu->locale);
    cm_strlcpy(cu->country, co && strlen(co) < sizeof cu->country ? co : "", sizeof cu->country);
    char *tags = csv_from(json_object_get(d, "tags")),
         *oo = csv_from(json_object_get(d, "opted_out"));
    free(cu->tags);
    cu->tags = tags;
    free(cu->opted_out);
    cu->opted_out = oo;
}

static int apply_inner(sch_ctx *c, const json_t *ev, int part, int from_pending, char *errstr,
                       size_t errlen)
{
    const char *t = sget(ev, "tenant"), *cu = sget(ev, "customer_id");
    ct_type type = type_of(ev);
    json_t *d = json_object_get(ev, "data");
    const char *iid = sget(d, "invoice_id");
    sch_rec *cust = have(c, 'c', t, cu);
    sch_rec *inv = iid ? have(c, 'i', t, iid) : NULL, *pend = iid ? have(c, 'q', t, iid) : NULL;
    if (!cust || (iid && (!inv || !pend)))
        return bad(errstr, errlen, "internal", "record not loaded");
    c->applied++;
    switch (type) { /* debtor-level events */
    case CT_EV_INVOICE_ISSUED:
    case CT_EV_INVOICE_UPDATED:
        return ev_issued(c, ev, d, inv, cust, pend, part, errstr, errlen);
    case CT_EV_PAYMENT_RECEIVED:
        return ev_payment(c, ev, d, cust, errstr, errlen);
    case CT_EV_PAYMENT_REVERSED:
        return ev_reversed(c, ev, d, cust, errstr, errlen);
    case CT_EV_CUSTOMER_UPSERTED:
        ev_customer(c, ev, d, cust);
        return 0;
    case CT_EV_CONTACT_CEASED: {
        const char *ch = sget(d, "channel");
        char b[64];
        cust_touch(c, cust, cu);
        snprintf(b, sizeof b, "%s,", ch && strlen(ch) < 32 && !strchr(ch, ',') ? ch : "*");
        if (!sch_csv_has(cust->u.cust.ceased, ch ? ch : "*")) {
            if (!cust->u.cust.ceased)
                sch_str_append(&cust->u.cust.ceased, ",");
            sch_str_append(&cust->u.cust.ceased, b);
        }
        return 0;
    }
    default:
        break;
    }
    /* invoice-level events: keep them if the invoice is not known yet */
    if (!inv)
        return 0; /* not a type sch_event_check lets through */
    if (!inv->exists) {
        if (!from_pending)
            pend_push(c, pend, (json_t *)ev);
        return 0;
    }
    sch_inv *v = &inv->u.inv;
    if (!from_pending && part >= 0 && v->part != part) {
        /* the debtor's events now come from another partition (the topic
         * was repartitioned): its timer follows, so its new owner fires it */
        v->part = part;
        inv->dirty = 1;
    }
    switch (type) {
    case CT_EV_INVOICE_VOIDED:
    case CT_EV_INVOICE_WRITTEN_OFF:
        if (v->status != 'v' && v->status != 'w')
            close_inv(c, inv, cust, type == CT_EV_INVOICE_VOIDED ? 'v' : 'w');
        return 0;
    case CT_EV_CREDIT_NOTE_ISSUED: {
        char mark[SCH_ID_LEN + 4];
        snprintf(mark, sizeof mark, ";%s;", sget(d, "credit_note_id"));
        if (v->credits && strstr(v->credits, mark)) {
            c->ignored++;
            return 0;
        }
        if (strcmp(sget(d, "currency"), v->currency) != 0) {
            snprintf(errstr, errlen, "data.currency: %s differs from the invoice's %s",
                     sget(d, "currency"), v->currency);
            return -1;
        }
        if (!v->credits)
            sch_str_append(&v->credits, ";");
        sch_str_append(&v->credits, mark + 1);
        v->credited += json_integer_value(json_object_get(d, "amount_minor"));
        inv->dirty = 1;
        if (v->status == 'o' && sch_inv_outstanding(v) == 0)
            close_inv(c, inv, cust, 'p');
        return 0;
    }
    case CT_EV_DISPUTE_OPENED:
        v->disputed = 1;
        if (v->next_kind == 's')
            v->next_kind = 0, v->next_ms = 0;
        inv->dirty = 1;
        return 0;
    case CT_EV_DISPUTE_RESOLVED:
        if (v->disputed) {
            v->disputed = 0;
            arm(c, inv, cust, v->step, 1);
        }
        return 0;
    default:
        return 0;
    }
}

int sch_apply_event(sch_ctx *c, const json_t *ev, int part, char *errstr, size_t errlen)
{
    return apply_inner(c, ev, part, 0, errstr, errlen);
}

/* ---- firing ---- */

/* Queues a record; takes payload (malloc'd JSON text) in every case. */
static int out_add(sch_ctx *c, int part, char topic, const char *id, const char *key, char *payload)
{
    if (!payload)
        return -1;
    if (c->nouts == c->capouts) {
        size_t cap = c->capouts ? c->capouts * 2 : 64;
        sch_out *n = realloc(c->outs, cap * sizeof *n);
        if (!n) {
            free(payload);
            return -1;
        }
        c->outs = n;
        c->capouts = cap;
    }
    sch_out *o = &c->outs[c->nouts];
    o->part = part;
    o->topic = topic;
    o->id = strdup(id);
    o->key = strdup(key);
    o->payload = payload;
    if (!o->id || !o->key) {
        free(o->id);
        free(o->key);
        free(payload);
        return -1;
    }
    c->nouts++;
    return 0;
}

static int blocked(const sch_rec *cust, const char *channel)
{
    if (!cust)
        return 0;
    const sch_cust *cu = &cust->u.cust;
    if (sch_csv_has(cu->ceased, "*") || sch_csv_has(cu->ceased, channel))
        return 1;
    if (sch_csv_has(cu->opted_out, channel))
        return 1;
    return 0;
}

/* hist(inv, "<step>.<attempt>@<now>;") without snprintf (once per fired step). */
static void hist_step(sch_rec *inv, int step, int attempt, int64_t now)
{
    char h[80], *p = h + sizeof h - 1;
    long long parts[3] = {step, attempt, now};
    const char seps[3] = {'.', '@', ';'};
    *p = 0;
    for (int i = 2; i >= 0; i--) { /* right to left */
        *--p = seps[i];
        p = sch_fmt_ll(p, parts[i]);
    }
    hist(inv, p);
}

/* A command or event id that does not fit its buffer: an error, never a
 * truncated id (cannot happen with the records' bounded fields). */
static int id_too_long(const sch_rec *inv)
{
    cm_log_error("invoice %s/%s: a command id does not fit in %d bytes", inv->tenant, inv->id,
                 CT_COMMAND_ID_MAX);
    return -1;
}

int sch_fire_invoice(sch_ctx *c, sch_rec *inv, sch_rec *cust)
{
    sch_inv *v = &inv->u.inv;
    char key[CT_KEY_MAX], id[SCH_CMD_ID_LEN], h[160];
    inv->dirty = 1; /* at least the timer is rewritten */
    if (!inv->exists || v->next_kind == 0) {
        v->next_kind = 0;
        v->next_ms = 0;
        return 0;
    }
    if (v->next_ms > c->now)
        return 0; /* moved later; commit re-adds the right score */
    if (!v->strategy[0]) {
        const char *sn, *vn;
        sch_policy_fallback(c->pol, &sn, &vn);
        cm_strlcpy(v->strategy, sn, sizeof v->strategy);
        cm_strlcpy(v->variant, vn, sizeof v->variant);
    }
    const cm_tz *tz = sch_cust_tz(c, cust);
    size_t tl = strlen(inv->tenant), cl = strlen(v->customer); /* tenant/customer */
    if (tl + 1 + cl >= sizeof key)
        cl = tl + 1 < sizeof key ? sizeof key - tl - 2 : 0;
    if (tl + 1 >= sizeof key)
        tl = sizeof key - 2;
    memcpy(key, inv->tenant, tl);
    key[tl] = '/';
    memcpy(key + tl + 1, v->customer, cl);
    key[tl + 1 + cl] = 0;
    if (v->next_kind == 't') {
        if (sch_command_id_thanks(id, sizeof id, inv->tenant, inv->id, v->thanks_pid) < 0)
            return id_too_long(inv);
        int rc = out_add(c, v->part, 'c', id, key,
                         sch_command_thanks(inv, cust, c->pol, tz, v->next_ms, c->now));
        if (rc < 0)
            return -1;
        v->next_kind = 0;
        v->next_ms = 0;
        snprintf(h, sizeof h, "t@%lld;", (long long)c->now);
        hist(inv, h);
        c->fired++;
        return 1;
    }
    const sch_ladder *l = sch_policy_ladder(c->pol, v->strategy, v->variant);
    if (!l || v->step < 0 || v->step >= l->nsteps || v->status != 'o' || v->disputed) {
        v->next_kind = 0;
        v->next_ms = 0;
        return 0;
    }
    const sch_step *st = &l->steps[v->step];
    int fired = 0;
    if (blocked(cust, ct_channel_name(st->channel))) {
        snprintf(h, sizeof h, "%d.%d@%lld!hold;", v->step, v->attempt, (long long)c->now);
        hist(inv, h);
        c->skipped++;
    } else if (st->min_outstanding_minor > 0 &&
               sch_inv_outstanding(v) < st->min_outstanding_minor) {
        snprintf(h, sizeof h, "%d.%d@%lld!cond;", v->step, v->attempt, (long long)c->now);
        hist(inv, h);
        c->skipped++;
    } else {
        if (sch_command_id_step(id, sizeof id, inv->tenant, inv->id, v->step, v->attempt) < 0)
            return id_too_long(inv);
        int rc = out_add(c, v->part, 'c', id, key,
                         sch_command_step(inv, cust, c->pol, tz, st, v->step, v->next_ms, c->now));
        if (rc < 0)
            return -1;
        if (st->kind == CT_KIND_ESCALATION) {
            char eid[SCH_CMD_ID_LEN];
            if (sch_event_id_escalated(eid, sizeof eid, id) < 0)
                return id_too_long(inv);
            json_t *e = sch_event_escalated(inv, id, st->level, c->now);
            rc = e ? out_add(c, v->part, 'e', eid, key, json_dumps(e, JSON_COMPACT)) : -1;
            json_decref(e);
            if (rc < 0)
                return -1;
        }
        hist_step(inv, v->step, v->attempt, c->now);
        c->fired++;
        fired = 1;
    }
    /* the next step at its own time, even if that is already past (a late
     * round fires it at once): no step of a running ladder is lost */
    int nxt = v->step + 1;
    if (nxt >= l->nsteps) {
        v->next_kind = 0;
        v->next_ms = 0;
        v->step = l->nsteps;
    } else {
        v->step = nxt;
        v->next_kind = 's';
        v->next_ms = sch_step_time(&l->steps[nxt], tz, v->due);
    }
    return fired;
}
