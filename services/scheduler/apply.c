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
 *   and applied when its invoice.issued (or .updated) arrives.
 * Events come decoded once (sch_event_decode: the contract's ct_event plus
 * the scheduler's own rules); everything below reads typed fields. Raw
 * JSON is touched only for what the scheduler stores: the events kept in
 * pending lists, and its own {"type": "sch.alloc"|"sch.unalloc"} entries
 * there. */
#include "apply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amounts.h"
#include "debtor.h"
#include "plan.h"
#include "policy_set.h"
#include "clock.h"
#include "records.h"
#include "retention.h"
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
    for (size_t i = 0; i < c->ngath; i++)
        free(c->gath[i].item.rules);
    free(c->gath);
    c->gath = NULL;
    c->ngath = c->capgath = 0;
    if (c->staged && c->staged_free)
        c->staged_free(c->staged);
    c->staged = NULL;
    c->staged_ok = 0;
}

/* ---- decoding ---- */

static int bad(char *errstr, size_t errlen, const char *field, const char *rule)
{
    snprintf(errstr, errlen, "%s: %s", field, rule);
    return -1;
}

/* The types the scheduler acts on (a case in apply_inner). */
static int handled(ct_type t)
{
    switch (t) {
    case CT_EV_INVOICE_ISSUED:
    case CT_EV_INVOICE_UPDATED:
    case CT_EV_INVOICE_VOIDED:
    case CT_EV_INVOICE_WRITTEN_OFF:
    case CT_EV_PAYMENT_RECEIVED:
    case CT_EV_PAYMENT_REVERSED:
    case CT_EV_CREDIT_NOTE_ISSUED:
    case CT_EV_CUSTOMER_UPSERTED:
    case CT_EV_CONTACT_CEASED:
    case CT_EV_DISPUTE_OPENED:
    case CT_EV_DISPUTE_RESOLVED:
    case CT_EV_PROMISE_MADE: /* acted on when the policy has "promises" */
    case CT_EV_CONTACT_LOGGED:
    case CT_EV_CONTACT_RESUMED:
        return 1;
    case CT_EV_CONTACT_REPLIED:    /* a review task (issue 17) */
    case CT_EV_CONTACT_BOUNCED:    /* hard: the address is unusable */
    case CT_EV_CONTACT_COMPLAINED: /* the email is unusable and ceased */
        return 1;
    case CT_EV_PLAN_AGREED: /* acted on when the policy has "instalments" */
    case CT_EV_PLAN_CANCELLED:
        return 1;
    case CT_EV_ESCALATION_ACCEPTED: /* acted on when the debtor has that case */
    case CT_EV_ESCALATION_RECALLED:
    case CT_EV_ESCALATION_REMITTED:
        return 1;
    default:
        return 0; /* the scheduler's own types */
    }
}

/* An amount the state adds up: 1 .. 10^18 minor units. */
static int amount_ok(int64_t v)
{
    return v > 0 && v <= 1000000000000000000LL;
}

/* The invoice an event is about (NULL for debtor-level events). */
static const char *invoice_of(const ct_event *e)
{
    switch (ct_event_shape(e->type)) {
    case CT_SHAPE_INVOICE:
        return e->data.invoice.invoice_id;
    case CT_SHAPE_INVOICE_REF:
        return e->data.invoice_ref.invoice_id;
    case CT_SHAPE_CREDIT_NOTE:
        return e->data.credit_note.invoice_id;
    case CT_SHAPE_DISPUTE:
        return e->data.dispute.invoice_id;
    default:
        return NULL;
    }
}

/* The payment an event is about (payment.received, payment.reversed). */
static const char *payment_of(const ct_event *e)
{
    switch (ct_event_shape(e->type)) {
    case CT_SHAPE_PAYMENT:
        return e->data.payment.payment_id;
    case CT_SHAPE_REVERSAL:
        return e->data.reversal.payment_id;
    default:
        return NULL;
    }
}

static int check_event(const cm_jv *ev, sch_event *out, char *errstr, size_t errlen)
{
    const ct_event *e = &out->ev;
    int rc = ct_event_decode(ev, &out->ev, errstr, errlen);
    if (e->source && strcmp(e->source, CT_SCHEDULER_SOURCE) == 0)
        return 0; /* its own events come back on `events`: skipped */
    if (!handled(e->type))
        return e->data_jv ? 0 : -1; /* a readable envelope: a type it does not act on */
    if (rc < 0)
        return -1;
    /* the contract checked presence, types and limits; what the state needs
     * on top: amounts it adds up, numbers it packs, zones it computes in */
    switch (e->type) {
    case CT_EV_INVOICE_ISSUED:
    case CT_EV_INVOICE_UPDATED: {
        const char *n = e->data.invoice.number;
        if (!amount_ok(e->data.invoice.amount_minor))
            return bad(errstr, errlen, "data.amount_minor", "must be an integer > 0");
        if (n && strlen(n) > CT_TEXT_MAX)
            return bad(errstr, errlen, "data.number", "max_length (longer than 1000 bytes)");
        for (; n && *n; n++) /* ingest refuses them too; 0x1f separates packed fields */
            if ((unsigned char)*n < 0x20)
                return bad(errstr, errlen, "data.number", "must not contain control characters");
        return 1;
    }
    case CT_EV_PAYMENT_RECEIVED:
        if (!amount_ok(e->data.payment.amount_minor))
            return bad(errstr, errlen, "data.amount_minor", "must be an integer > 0");
        return 1;
    case CT_EV_CREDIT_NOTE_ISSUED:
        if (!amount_ok(e->data.credit_note.amount_minor))
            return bad(errstr, errlen, "data.amount_minor", "must be an integer > 0");
        return 1;
    case CT_EV_ESCALATION_REMITTED:
        if (!amount_ok(e->data.remittance.amount_minor))
            return bad(errstr, errlen, "data.amount_minor", "must be an integer > 0");
        return 1;
    case CT_EV_CUSTOMER_UPSERTED:
        if (e->data.customer.timezone && !cm_tz_valid(e->data.customer.timezone))
            return bad(errstr, errlen, "data.timezone", "must be a known IANA time zone");
        return 1;
    default:
        return 1;
    }
}

int sch_event_decode_bytes(cm_json *j, const char *raw, size_t rawlen, sch_event *out, char *errstr,
                           size_t errlen)
{
    const cm_jv *ev = ct_event_parse(j, raw, rawlen, errstr, errlen);
    if (!ev) {
        out->raw = NULL;
        return -1;
    }
    return sch_event_decode(ev, raw, rawlen, out, errstr, errlen);
}

int sch_event_decode(const cm_jv *ev, const char *raw, size_t rawlen, sch_event *out, char *errstr,
                     size_t errlen)
{
    int rc = check_event(ev, out, errstr, errlen);
    out->raw = rc > 0 ? raw : NULL;
    out->rawlen = rc > 0 ? rawlen : 0;
    return rc;
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

/* The tenant's policy becomes c->pol (per-tenant policies only). */
/* The next id of a list ",a,b," from s into id (len bytes): the position
 * after it, or NULL at the end (or at an id that does not fit). */
static const char *csv_next(const char *s, char *id, size_t len)
{
    if (!s || *s != ',' || !s[1])
        return NULL;
    const char *comma = strchr(s + 1, ',');
    size_t l = comma ? (size_t)(comma - s - 1) : 0;
    if (!comma || l == 0 || l >= len)
        return NULL;
    memcpy(id, s + 1, l);
    id[l] = 0;
    return comma;
}

static void pick_policy(sch_ctx *c, const char *tenant)
{
    if (c->pols)
        c->pol = sch_policy_set_for(c->pols, tenant);
}

/* Types whose phase 2 lists the debtor's open invoices (the review). */
static int reviews_open(const sch_ctx *c, ct_type type)
{
    return type == CT_EV_PAYMENT_RECEIVED ||
           (type == CT_EV_PROMISE_MADE && c->pol->promises_enabled) ||
           (type == CT_EV_PLAN_AGREED && c->pol->plans.enabled) ||
           (type == CT_EV_CONTACT_CEASED && c->pol->contact.on_cease) ||
           type == CT_EV_CONTACT_REPLIED;
}

int sch_plan_last_phase(sch_ctx *c, const sch_event *se)
{
    pick_policy(c, se->ev.tenant);
    ct_type type = se->ev.type;
    if (type == CT_EV_PAYMENT_RECEIVED)
        return 3;
    return reviews_open(c, type) || type == CT_EV_PAYMENT_REVERSED ? 2 : 1;
}

int sch_plan_event(sch_ctx *c, const sch_event *se, int phase)
{
    const ct_event *e = &se->ev;
    pick_policy(c, e->tenant);
    const char *t = e->tenant, *cu = e->customer_id;
    ct_type type = e->type;
    const char *inv = invoice_of(e), *pid = payment_of(e);
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
        if (type == CT_EV_PROMISE_MADE && c->pol->promises_enabled) {
            const ct_promise *p = &e->data.promise;
            for (size_t i = 0; i < p->invoice_ids.n; i++)
                if (!rec(c, 'i', SCH_T_INV, t, p->invoice_ids.v[i]))
                    return -1;
        }
        if (type == CT_EV_PLAN_AGREED && c->pol->plans.enabled) {
            const ct_plan *p = &e->data.plan;
            for (size_t i = 0; i < p->invoice_ids.n; i++)
                if (!rec(c, 'i', SCH_T_INV, t, p->invoice_ids.v[i]))
                    return -1;
        }
        if (type == CT_EV_PAYMENT_RECEIVED) {
            const ct_payment *p = &e->data.payment;
            for (size_t i = 0; i < p->nallocations; i++) {
                const char *ai = p->allocations[i].invoice_id;
                if (!rec(c, 'i', SCH_T_INV, t, ai) || !rec(c, 'q', SCH_T_PEND, t, ai))
                    return -1;
            }
        }
        return 0;
    }
    if (phase == 3) { /* a payment: the primaries of its invoices' promises */
        if (type != CT_EV_PAYMENT_RECEIVED)
            return 0;
        const ct_payment *p = &e->data.payment;
        sch_rec *cr = have(c, 'c', t, cu);
        size_t na = p->nallocations, no = cr ? (size_t)cr->u.cust.open.n : 0;
        for (size_t i = 0; i < na + no; i++) {
            sch_rec *r =
                have(c, 'i', t, i < na ? p->allocations[i].invoice_id : cr->u.cust.open.v[i - na]);
            if (r && r->exists && r->u.inv.promise_primary[0] &&
                !rec(c, 'i', SCH_T_INV, t, r->u.inv.promise_primary))
                return -1;
        }
        return 0;
    }
    sch_rec *whole = have(c, 'c', t, cu);
    if (whole && (whole->u.cust.plan.id[0] || whole->u.cust.esc.state)) {
        /* a plan (plan_settle) or a case (esc_settle): every open invoice */
        for (int i = 0; i < whole->u.cust.open.n; i++)
            if (!rec(c, 'i', SCH_T_INV, t, whole->u.cust.open.v[i]))
                return -1;
    }
    if (reviews_open(c, type)) { /* the review lists the open invoices */
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

static int out_add(sch_ctx *c, int part, char topic, const char *id, const char *key,
                   char *payload);

/* The step index that stands for a notice of kind 'c' or 'b' in decide()
 * and defer(), and back. */
#define NOTICE_IDX(kind) ((kind) == 'c' ? -2 : (kind) == 'b' ? -3 : -4)
#define NOTICE_KIND(idx) ((idx) == -2 ? 'c' : (idx) == -3 ? 'b' : 'i')
/* an instalment reminder (its step and id: c->plan_step, c->plan_cmd) */
#define PLAN_IDX -5

/* Records a decision that publishes nothing (only when c->decide): the
 * step idx of inv's ladder (-1: its payment thanks, -2 and -3: its notice
 * of kind 'c', 'b' or 'i', NOTICE_IDX), held or moved by rule, at the send's
 * instant. -1 out of memory. */
static int decide(sch_ctx *c, const sch_rec *inv, int idx, const char *rule, int64_t scheduled)
{
    if (!c->decide)
        return 0;
    const sch_inv *v = &inv->u.inv;
    char id[SCH_CMD_ID_LEN], key[CT_KEY_MAX];
    sch_step thanks;
    const sch_step *st = &thanks;
    if (idx == PLAN_IDX) { /* an instalment reminder */
        if (!c->plan_step)
            return 0;
        st = c->plan_step;
        cm_strlcpy(id, c->plan_cmd, sizeof id);
    } else if (idx <= -2) { /* a notice: a cease confirmation, a promise broken */
        char kind = NOTICE_KIND(idx);
        const char *tpl;
        memset(&thanks, 0, sizeof thanks);
        cm_strlcpy(thanks.name,
                   kind == 'c'   ? "cease.confirmation"
                   : kind == 'b' ? "promise.broken"
                                 : "interest.claim",
                   sizeof thanks.name);
        sch_notice_of(c->pol, kind, &thanks.channel, &tpl);
        thanks.kind = kind == 'i'                      ? CT_KIND_INTEREST_CLAIM
                      : thanks.channel == CT_CH_LETTER ? CT_KIND_LETTER
                                                       : CT_KIND_REMINDER;
        cm_strlcpy(thanks.template_id, tpl, sizeof thanks.template_id);
        if (sch_command_id_notice(id, sizeof id, kind, inv->tenant, inv->id, v->notice_id) < 0)
            return -1;
    } else if (idx < 0) {
        memset(&thanks, 0, sizeof thanks);
        cm_strlcpy(thanks.name, "payment.thanks", sizeof thanks.name);
        thanks.kind = CT_KIND_PAYMENT_THANKS;
        thanks.channel = c->pol->thanks_channel;
        cm_strlcpy(thanks.template_id, c->pol->thanks_template, sizeof thanks.template_id);
        if (sch_command_id_thanks(id, sizeof id, inv->tenant, inv->id, v->thanks_pid) < 0)
            return -1;
    } else {
        const sch_ladder *l = sch_policy_ladder(c->pol, v->strategy, v->variant);
        if (!l || idx >= l->nsteps)
            return 0;
        st = &l->steps[idx];
        if (sch_command_id_step(id, sizeof id, inv->tenant, inv->id, idx, v->attempt) < 0)
            return -1;
    }
    sch_tenant_key(key, sizeof key, inv->tenant, v->customer);
    return out_add(c, v->part, 'd', id, key,
                   sch_decision_json(inv, st, idx, v->attempt, rule, scheduled));
}

/* 1 when the debtor has a plan (and the policy runs plans) covering
 * invoice inv_id. */
static int in_plan(const sch_ctx *c, const sch_rec *cust, const char *inv_id)
{
    return c->pol->plans.enabled && cust && cust->u.cust.plan.id[0] &&
           sch_csv_has(cust->u.cust.plan.invoices, inv_id);
}

/* 1 when the debtor's case is with an agency or legal (placed, accepted). */
static int placed(const sch_rec *cust)
{
    return cust && (cust->u.cust.esc.state == 'p' || cust->u.cust.esc.state == 'a');
}

/* 1 when invoice inv_id is in the debtor's placed case. */
static int in_case(const sch_ctx *c, const sch_rec *cust, const char *inv_id)
{
    return c->pol->escalation.enabled && placed(cust) &&
           sch_csv_has(cust->u.cust.esc.invoices, inv_id);
}

/* The plan's ladder step to start an instalment due on due with: the first
 * whose time is still to come (nsteps: none). */
static int plan_first_step(const sch_ctx *c, const sch_rec *cust, int32_t due)
{
    const sch_ladder *l = &c->pol->ladders[c->pol->plans.ladder];
    int idx;
    int64_t when;
    if (sch_next_step(l, sch_cust_tz(c, cust), due, 0, c->now, 0, &idx, &when) < 0)
        return l->nsteps;
    return idx;
}

/* The plan's next action: its current instalment's next reminder, or the
 * instant that instalment breaks, whichever comes first (now when the
 * schedule says the plan is over: plan_fire settles it). */
static int64_t plan_next_ms(const sch_ctx *c, const sch_rec *cust)
{
    const sch_cust *cu = &cust->u.cust;
    sch_plan_pos pos;
    if (sch_plan_position(cu->plan.schedule, cu->plan.paid, &pos) < 0 || pos.k >= pos.n)
        return c->now;
    const cm_tz *tz = sch_cust_tz(c, cust);
    int64_t brk = sch_plan_break_at(tz, pos.due, c->pol->plans.grace_days);
    const sch_ladder *l = &c->pol->ladders[c->pol->plans.ladder];
    if (cu->plan.step >= 0 && cu->plan.step < l->nsteps) {
        int64_t t = sch_step_time(&l->steps[cu->plan.step], tz, pos.due);
        if (t < brk)
            return t;
    }
    return brk;
}

/* Arms the next ladder step from index from (or clears the timer). */
static void arm(sch_ctx *c, sch_rec *inv, sch_rec *cust, int from, int collapse)
{
    sch_inv *v = &inv->u.inv;
    const sch_ladder *l = sch_policy_ladder(c->pol, v->strategy, v->variant);
    int idx;
    int64_t when;
    inv->dirty = 1;
    free(v->moved_rules); /* a new schedule: what moved the old one is gone */
    v->moved_rules = NULL;
    if (v->status == 'o' && in_case(c, cust, inv->id)) { /* with the agency */
        if (v->next_kind == 's' || v->next_kind == 'p')
            v->next_kind = 0, v->next_ms = 0;
        return;
    }
    if (v->status == 'o' && in_plan(c, cust, inv->id)) { /* the plan runs it */
        if (!strcmp(cust->u.cust.plan.primary, inv->id)) {
            v->next_kind = 'n';
            v->next_ms = plan_next_ms(c, cust);
        } else if (v->next_kind == 's' || v->next_kind == 'p' || v->next_kind == 'n') {
            v->next_kind = 0, v->next_ms = 0;
        }
        return;
    }
    if (v->status == 'o' && v->promise_id[0]) { /* paused until the promise breaks */
        v->next_kind = 'p';
        v->next_ms = v->promise_until;
        return;
    }
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

/* ---- promises to pay (policy "promises"; docs/policy.md) ----
 *
 * A promise lives on the invoices it covers (state.h, promise_*): each
 * carries its id and the instant it breaks, and is paused (timer kind
 * 'p' at that instant); the first of them, the primary, keeps the amount,
 * what was paid since and the list. Payments to a covered invoice count
 * on the primary: reaching the amount before the break keeps the promise
 * (promise.kept, the invoices go on as payments left them); the break
 * timer publishes promise.broken (from the primary) and resumes the
 * ladders, missed steps collapsing into the latest. A new promise over an
 * invoice replaces the open one: the replaced one is neither kept nor
 * broken. */

/* 00:00 local on the day after promised_on + grace_days. */
static int64_t promise_until(const sch_ctx *c, const sch_rec *cust, int32_t promised_on)
{
    return cm_tz_local_to_utc(sch_cust_tz(c, cust), promised_on + c->pol->promise_grace_days + 1, 0,
                              0);
}

/* Drops the promise from inv; resume re-arms its ladder (collapsing the
 * steps missed meanwhile). */
static void promise_clear(sch_ctx *c, sch_rec *inv, sch_rec *cust, int resume)
{
    sch_inv *v = &inv->u.inv;
    v->promise_id[0] = v->promise_primary[0] = 0;
    v->promise_until = v->promise_amount = v->promise_paid = 0;
    v->promised_on = 0;
    free(v->promise_invoices);
    v->promise_invoices = NULL;
    inv->dirty = 1;
    if (v->next_kind == 'p')
        v->next_kind = 0, v->next_ms = 0;
    if (resume && v->status == 'o')
        arm(c, inv, cust, v->step, 1);
}

/* Drops promise pid from every loaded invoice of inv's debtor; resume as
 * above, except for the invoices of keep (a ";id;id;" list, may be NULL). */
static void promise_drop(sch_ctx *c, const sch_rec *of, sch_rec *cust, const char *pid,
                         const char *keep)
{
    char id[SCH_ID_LEN + 2];
    cm_strlcpy(id, pid, sizeof id); /* pid may be one of the fields cleared */
    for (size_t i = 0; i < sch_map_count(c->map); i++) {
        sch_rec *r = sch_map_at(c->map, i);
        if (r->type != SCH_T_INV || !r->loaded || !r->exists ||
            strcmp(r->tenant, of->tenant) != 0 || strcmp(r->u.inv.promise_id, id) != 0)
            continue;
        char mark[SCH_ID_LEN + 3];
        snprintf(mark, sizeof mark, ";%s;", r->id);
        promise_clear(c, r, cust, !(keep && strstr(keep, mark)));
    }
}

static void respond(sch_ctx *c, sch_rec *cust, ct_type type, int64_t at, const char *id,
                    const char *detail);

/* Publishes promise.kept or .broken from the primary inv at at. */
static int promise_publish(sch_ctx *c, const sch_rec *inv, ct_type type, int64_t at)
{
    char id[SCH_CMD_ID_LEN], key[CT_KEY_MAX];
    sch_tenant_key(key, sizeof key, inv->tenant, inv->u.inv.customer);
    char *payload = sch_event_promise(inv, type, at, id, sizeof id);
    return out_add(c, inv->u.inv.part, 'e', id, key, payload);
}

/* A payment of amt applied to inv: counts on its open promise. */
static int promise_payment(sch_ctx *c, sch_rec *inv, sch_rec *cust, int64_t amt)
{
    sch_inv *v = &inv->u.inv;
    if (!v->promise_id[0])
        return 0;
    sch_rec *prim = v->promise_primary[0] ? have(c, 'i', inv->tenant, v->promise_primary) : inv;
    if (!prim || !prim->exists || strcmp(prim->u.inv.promise_id, v->promise_id) != 0 ||
        c->now >= prim->u.inv.promise_until)
        return 0; /* past its break instant: the break timer decides */
    prim->u.inv.promise_paid += amt;
    prim->dirty = 1;
    if (prim->u.inv.promise_paid < prim->u.inv.promise_amount)
        return 0;
    if (promise_publish(c, prim, CT_EV_PROMISE_KEPT, c->now) < 0)
        return -1;
    respond(c, cust, CT_EV_PROMISE_KEPT, c->now, prim->u.inv.promise_id, NULL);
    c->kept++;
    promise_drop(c, prim, cust, prim->u.inv.promise_id, NULL);
    return 0;
}

static int ev_promise(sch_ctx *c, const ct_event *e, sch_rec *cust, char *errstr, size_t errlen)
{
    const ct_promise *p = &e->data.promise;
    sch_rec *list[CT_LIST_MAX];
    size_t n = 0;
    char keep[CT_LIST_MAX * 8 + 2] = ";", *names = NULL;
    if (!c->pol->promises_enabled) {
        c->ignored++;
        return 0;
    }
    for (size_t i = 0; i < p->invoice_ids.n && n < CT_LIST_MAX; i++) {
        sch_rec *r = have(c, 'i', e->tenant, p->invoice_ids.v[i]);
        if (r && r->exists && r->u.inv.status == 'o')
            list[n++] = r;
    }
    if (n == 0) { /* no open invoice of the promise is known: nothing to pause */
        c->ignored++;
        return 0;
    }
    if (strcmp(list[0]->u.inv.currency, p->currency) != 0)
        return bad(errstr, errlen, "data.currency",
                   "must be the currency of the promised invoices");
    if (strcmp(list[0]->u.inv.promise_id, e->id) == 0)
        return 0; /* a replay */
    size_t kl = 1;
    for (size_t i = 0; i < n; i++) {
        size_t il = strlen(list[i]->id);
        if (kl + il + 2 < sizeof keep) {
            memcpy(keep + kl, list[i]->id, il);
            keep[kl + il] = ';';
            keep[kl + il + 1] = 0;
            kl += il + 1;
        }
        if ((i && sch_str_append(&names, ",") < 0) || sch_str_append(&names, list[i]->id) < 0) {
            free(names);
            return bad(errstr, errlen, "internal", "out of memory");
        }
    }
    /* open promises on these invoices are replaced (neither kept nor broken) */
    for (size_t i = 0; i < n; i++)
        if (list[i]->u.inv.promise_id[0])
            promise_drop(c, list[i], cust, list[i]->u.inv.promise_id, keep);
    int64_t until = promise_until(c, cust, p->promised_on.day);
    for (size_t i = 0; i < n; i++) {
        sch_inv *v = &list[i]->u.inv;
        cm_strlcpy(v->promise_id, e->id, sizeof v->promise_id);
        v->promise_until = until;
        if (i == 0) {
            v->promise_primary[0] = 0;
            v->promise_amount = p->amount_minor;
            v->promise_paid = 0;
            v->promised_on = p->promised_on.day;
            free(v->promise_invoices);
            v->promise_invoices = names;
            names = NULL;
        } else {
            cm_strlcpy(v->promise_primary, list[0]->id, sizeof v->promise_primary);
        }
        list[i]->dirty = 1;
        if (v->next_kind != 't') { /* pause: the ladder waits for the promise */
            v->next_kind = 'p';
            v->next_ms = until;
        }
    }
    free(names);
    return 0;
}

static int32_t local_today(const sch_ctx *c, const sch_rec *cust);

/* ---- instalment plans (policy "instalments"; docs/policy.md) ----
 *
 * A plan lives on its debtor (state.h, plan): the schedule, what was
 * paid towards it, the current instalment and its next reminder, and the
 * invoice whose timer runs it (the primary: the first open invoice of
 * the plan's list; timer kind 'n', arm). The plan's other open invoices
 * are paused (no timer). Payments to the plan's invoices fill the
 * instalments in order (pay_inv). Every event of a debtor with a plan
 * loads all its open invoices (sch_plan_event), and so does a firing
 * round whose timer is a plan's (sch_plan_fire), so plan_settle can
 * re-arm them all after each. The plan ends when payments reach its total
 * or none of its invoices is open any more (plan.completed), when an
 * instalment is still short at its break instant (plan.broken, plan_fire)
 * or on plan.cancelled; the invoices' ladders then resume, the steps
 * missed meanwhile collapsed into one. */

/* The plan's invoices that are open, loaded, in the plan's order, into
 * out (at most CT_LIST_MAX); -1 when one of them is not loaded (a batch
 * that did not load the debtor whole: nothing is decided). */
static int plan_open(sch_ctx *c, const sch_rec *cust, sch_rec **out, size_t *n)
{
    char id[SCH_ID_LEN];
    *n = 0;
    for (const char *s = csv_next(cust->u.cust.plan.invoices, id, sizeof id); s && *n < CT_LIST_MAX;
         s = csv_next(s, id, sizeof id)) {
        if (!sch_strlist_has(&cust->u.cust.open, id))
            continue; /* closed: paid, credited, voided */
        sch_rec *r = have(c, 'i', cust->tenant, id);
        if (!r || !r->exists)
            return -1;
        out[(*n)++] = r;
    }
    return 0;
}

/* Interest "freeze": the invoice's days without interest start on day
 * (start) or the running ones end before day (!start). */
static void plan_freeze(sch_ctx *c, sch_rec *inv, int32_t day, int start)
{
    sch_inv *v = &inv->u.inv;
    char buf[32];
    size_t l = v->frozen ? strlen(v->frozen) : 0;
    if (start) {
        snprintf(buf, sizeof buf, "%ld:0;", (long)day);
        if (sch_str_append(&v->frozen, buf) < 0)
            c->oom = 1;
    } else if (l >= 3 && !strcmp(v->frozen + l - 3, ":0;")) {
        v->frozen[l - 2] = 0; /* "from:" */
        snprintf(buf, sizeof buf, "%ld;", (long)day);
        if (sch_str_append(&v->frozen, buf) < 0)
            c->oom = 1;
    } else {
        return;
    }
    inv->dirty = 1;
}

/* Ends the plan of cust: publishes plan.broken (pos: the instalment that
 * broke) or plan.completed (type; CT_EV_NONE: cancelled, nothing
 * published), drops it, and resumes the ladders of its open invoices. */
static int plan_end(sch_ctx *c, sch_rec *cust, sch_rec *const *open, size_t n, sch_rec *from,
                    ct_type type, const sch_plan_pos *pos, const char *why, int64_t at)
{
    sch_cust *cu = &cust->u.cust;
    char id[SCH_CMD_ID_LEN], key[CT_KEY_MAX], h[SCH_ID_LEN + 64];
    snprintf(h, sizeof h, "n@%lld!%s:%s;", (long long)c->now, why, cu->plan.id);
    if (type != CT_EV_NONE && from) {
        respond(c, cust, type, at, cu->plan.id, NULL);
        if (type == CT_EV_PLAN_COMPLETED)
            c->plans_completed++;
        sch_tenant_key(key, sizeof key, cust->tenant, cust->id);
        if (out_add(c, from->u.inv.part, 'e', id, key,
                    sch_event_plan(from, cust, type, pos, at, id, sizeof id)) < 0)
            return -1;
    }
    /* frozen interest runs again from today, on every invoice of the plan */
    int32_t today = local_today(c, cust);
    char iid[SCH_ID_LEN];
    for (const char *s = csv_next(cu->plan.invoices, iid, sizeof iid); s;
         s = csv_next(s, iid, sizeof iid)) {
        sch_rec *r = have(c, 'i', cust->tenant, iid);
        if (r && r->exists)
            plan_freeze(c, r, today, 0);
    }
    sch_cust_plan_clear(cu);
    cust->dirty = 1;
    for (size_t i = 0; i < n; i++) {
        hist(open[i], h);
        arm(c, open[i], cust, open[i]->u.inv.step, 1);
    }
    return 0;
}

/* After an event or a fired plan timer: ends a plan paid in full (or
 * with nothing left open), else moves to the instalment payments reached
 * and re-arms the plan's invoices (a new primary if the old one closed). */
static int plan_settle(sch_ctx *c, sch_rec *cust)
{
    sch_cust *cu = &cust->u.cust;
    sch_rec *open[CT_LIST_MAX];
    size_t n = 0;
    sch_plan_pos pos;
    if (!cu->plan.id[0] || plan_open(c, cust, open, &n) < 0)
        return 0;
    if (!c->pol->plans.enabled || sch_plan_position(cu->plan.schedule, cu->plan.paid, &pos) < 0)
        return plan_end(c, cust, open, n, NULL, CT_EV_NONE, &pos, "dropped", c->now);
    if (pos.k >= pos.n || n == 0 || cu->plan.paid >= cu->plan.total) {
        sch_rec *from = n ? open[0] : have(c, 'i', cust->tenant, cu->plan.primary);
        return plan_end(c, cust, open, n, from, CT_EV_PLAN_COMPLETED, &pos, "completed", c->now);
    }
    if (pos.k != cu->plan.k) { /* an instalment paid: the next one's reminders */
        cu->plan.k = pos.k;
        cu->plan.step = plan_first_step(c, cust, pos.due);
        cust->dirty = 1;
    }
    int primary_open = 0;
    for (size_t i = 0; i < n; i++)
        primary_open |= !strcmp(open[i]->id, cu->plan.primary);
    if (!primary_open) {
        cm_strlcpy(cu->plan.primary, open[0]->id, sizeof cu->plan.primary);
        cust->dirty = 1;
    }
    for (size_t i = 0; i < n; i++)
        arm(c, open[i], cust, open[i]->u.inv.step, 0);
    return 0;
}

/* plan.agreed: the debtor's plan over its open invoices (docs/policy.md
 * "Instalment plans"). Refused, naming the field, when an invoice is
 * unknown, closed, of another debtor or currency, or the debtor already
 * has another plan (max_active_per_debtor 1). A plan replaces the open
 * promises over its invoices. */
static int ev_plan_agreed(sch_ctx *c, const ct_event *e, sch_rec *cust, char *errstr, size_t errlen)
{
    const ct_plan *p = &e->data.plan;
    sch_cust *cu = &cust->u.cust;
    sch_rec *list[CT_LIST_MAX];
    size_t n = 0;
    char field[48], h[SCH_ID_LEN + 64];
    if (!c->pol->plans.enabled) {
        c->ignored++;
        return 0;
    }
    if (cu->esc.state == 'p' || cu->esc.state == 'a')
        return bad(errstr, errlen, "data.plan_id",
                   "the debtor's case is placed (escalation.recalled first)");
    if (cu->plan.id[0]) {
        if (!strcmp(cu->plan.id, p->plan_id))
            return 0; /* a replay */
        return bad(errstr, errlen, "data.plan_id",
                   "the debtor has an active plan (instalments.max_active_per_debtor is 1): "
                   "plan.cancelled first");
    }
    for (size_t i = 0; i < p->invoice_ids.n && n < CT_LIST_MAX; i++) {
        sch_rec *r = have(c, 'i', e->tenant, p->invoice_ids.v[i]);
        snprintf(field, sizeof field, "data.invoice_ids[%zu]", i);
        if (!r || !r->exists || strcmp(r->u.inv.customer, e->customer_id) != 0)
            return bad(errstr, errlen, field,
                       "not an invoice of this debtor known to the scheduler");
        if (r->u.inv.status != 'o')
            return bad(errstr, errlen, field, "the invoice is not open");
        if (strcmp(r->u.inv.currency, p->currency) != 0)
            return bad(errstr, errlen, "data.currency",
                       "must be the currency of the plan's invoices");
        list[n++] = r;
    }
    char *names = strdup(","), *schedule = sch_plan_schedule(p);
    for (size_t i = 0; names && i < n; i++)
        if (sch_str_append(&names, list[i]->id) < 0 || sch_str_append(&names, ",") < 0) {
            free(names);
            names = NULL;
        }
    if (!names || !schedule) {
        free(names);
        free(schedule);
        return bad(errstr, errlen, "internal", "out of memory");
    }
    sch_cust_plan_clear(cu);
    cm_strlcpy(cu->plan.id, p->plan_id, sizeof cu->plan.id);
    cm_strlcpy(cu->plan.currency, p->currency, sizeof cu->plan.currency);
    cm_strlcpy(cu->plan.primary, list[0]->id, sizeof cu->plan.primary);
    cu->plan.total = p->total_minor;
    cu->plan.invoices = names;
    cu->plan.schedule = schedule;
    cu->plan.agreed = local_today(c, cust);
    cu->plan.k = 0;
    cu->plan.step = plan_first_step(c, cust, p->instalments[0].due_on.day);
    cust->dirty = 1;
    snprintf(h, sizeof h, "n@%lld!agreed:%s;", (long long)c->now, p->plan_id);
    for (size_t i = 0; i < n; i++) {
        if (list[i]->u.inv.promise_id[0]) /* replaced: the plan pauses it (arm) */
            promise_drop(c, list[i], cust, list[i]->u.inv.promise_id, NULL);
        hist(list[i], h);
        if (c->pol->plans.freeze)
            plan_freeze(c, list[i], cu->plan.agreed, 1);
        arm(c, list[i], cust, list[i]->u.inv.step, 0);
    }
    return 0; /* plan_settle re-arms after the event */
}

/* plan.cancelled of the debtor's plan: the ladders resume. */
static int ev_plan_cancelled(sch_ctx *c, const ct_event *e, sch_rec *cust)
{
    sch_cust *cu = &cust->u.cust;
    sch_rec *open[CT_LIST_MAX];
    size_t n = 0;
    if (!c->pol->plans.enabled || strcmp(cu->plan.id, e->data.plan_cancel.plan_id) != 0 ||
        plan_open(c, cust, open, &n) < 0) {
        c->ignored++;
        return 0;
    }
    return plan_end(c, cust, open, n, NULL, CT_EV_NONE, NULL, "cancelled", c->now);
}

static void close_inv(sch_ctx *c, sch_rec *inv, sch_rec *cust, char status)
{
    /* a step moved and never sent leaves with the ladder: its reasons are
     * not the thank-you's */
    free(inv->u.inv.moved_rules);
    inv->u.inv.moved_rules = NULL;
    inv->u.inv.status = status;
    if (inv->u.inv.next_kind == 's' || status != 'p')
        inv->u.inv.next_kind = 0, inv->u.inv.next_ms = 0;
    inv->dirty = 1;
    open_del(cust, inv->id);
    (void)c;
}

/* The debtor's local date now. */
static int32_t local_today(const sch_ctx *c, const sch_rec *cust)
{
    int32_t day;
    int minute;
    cm_tz_local(sch_cust_tz(c, cust), c->now, &day, &minute);
    return day;
}

static void waive_fees(sch_ctx *c, sch_rec *inv, const char *pid, int32_t day);
static int offer_payment(sch_ctx *c, sch_rec *inv, int64_t amt, const char *pid, int32_t day);

/* Applies amt of payment pid, paid on local day (0: today), to an
 * invoice; closes it when fully paid. The interest's principal falls by
 * amt after day (inv reductions). */
static void pay_inv(sch_ctx *c, sch_rec *inv, sch_rec *cust, int64_t amt, const char *pid,
                    int32_t day)
{
    sch_inv *v = &inv->u.inv;
    char red[48];
    if (day <= 0)
        day = local_today(c, cust);
    int64_t to_principal = sch_inv_principal(v) < amt ? sch_inv_principal(v) : amt;
    snprintf(red, sizeof red, "%ld:%lld;", (long)day, (long long)to_principal);
    if (to_principal > 0 && sch_str_append(&v->reductions, red) < 0)
        c->oom = 1;
    v->paid += amt;
    inv->dirty = 1;
    if (cust && day > cust->u.cust.last_paid) {
        cust->u.cust.last_paid = day;
        cust->dirty = 1;
    }
    if (promise_payment(c, inv, cust, amt) < 0)
        c->oom = 1;
    if (in_plan(c, cust, inv->id)) { /* fills the plan's instalments in order */
        cust->u.cust.plan.paid += amt;
        cust->dirty = 1;
    }
    /* the principal paid: its fees are waived as the policy says first,
     * so an offer only settles what is still owed after that */
    if (v->status == 'o' && sch_inv_principal(v) == 0 && v->fees > 0)
        waive_fees(c, inv, pid, day);
    int settled = offer_payment(c, inv, amt, pid, day);
    if (v->status == 'o' && sch_inv_outstanding(v) == 0) {
        v->paid_on = day;
        if (cust && sch_cust_history_add(&cust->u.cust, day - v->due) < 0)
            c->oom = 1;
        close_inv(c, inv, cust, 'p');
        /* a late payment in full owes the interest and compensation it
         * accrued: one claim, after the thank-you (notice kind 'i') */
        v->notice_id[0] = 0;
        sch_amounts am;
        char e[256];
        if (!settled && !c->remitting && c->pol->interest.claim_enabled &&
            sch_inv_amounts(c->pol, inv, cust, day, &am, NULL, e, sizeof e) == 0 &&
            am.interest + am.compensation > 0)
            cm_strlcpy(v->notice_id, pid, sizeof v->notice_id);
        if (c->pol->thanks_enabled) {
            v->next_kind = 't';
            v->next_ms = c->now;
            cm_strlcpy(v->thanks_pid, pid, sizeof v->thanks_pid);
            v->thanks_amt = amt;
        } else if (v->notice_id[0]) {
            v->next_kind = 'i';
            v->next_ms = c->now;
        }
    }
}

/* Drops the latest reduction of amt from the list (a reversal). */
static void reduction_drop(sch_inv *v, int64_t amt)
{
    char *s = v->reductions, *last = NULL;
    while (s && *s) {
        char *colon = strchr(s, ':'), *semi = strchr(s, ';');
        if (!colon || !semi)
            break;
        if (strtoll(colon + 1, NULL, 10) == amt)
            last = s;
        s = semi + 1;
    }
    if (last) {
        char *semi = strchr(last, ';');
        memmove(last, semi + 1, strlen(semi + 1) + 1);
    }
}

/* Undoes amt of a payment; reopens a paid invoice. */
static void unpay_inv(sch_ctx *c, sch_rec *inv, sch_rec *cust, int64_t amt)
{
    sch_inv *v = &inv->u.inv;
    reduction_drop(v, amt);
    if (in_plan(c, cust, inv->id)) {
        sch_cust *cu = &cust->u.cust;
        cu->plan.paid = cu->plan.paid > amt ? cu->plan.paid - amt : 0;
        cust->dirty = 1;
    }
    v->paid -= amt;
    if (v->paid < 0)
        v->paid = 0;
    inv->dirty = 1;
    if (v->status == 'p' && sch_inv_outstanding(v) > 0) {
        v->status = 'o';
        v->paid_on = 0;
        if (v->offer_kind == 'x')
            v->offer_kind = 0;
        if (v->next_kind == 't' || v->next_kind == 'i')
            v->next_kind = 0, v->next_ms = 0;
        v->notice_id[0] = 0;
        open_add(cust, inv->id);
        arm(c, inv, cust, v->step, 1);
    }
}

/* Keeps the entry ev (stolen) in the pending list pend. -1 only when out
 * of memory. */
static int pend_keep(sch_ctx *c, sch_rec *pend, json_t *ev)
{
    if (!pend->u.pend.add)
        pend->u.pend.add = json_array();
    if (!ev || !pend->u.pend.add || json_array_append_new(pend->u.pend.add, ev) < 0)
        return -1;
    pend->dirty = 1;
    pend->gcp = c->part + 1; /* its purge member's partition (retention.h) */
    c->pended++;
    return 0;
}

/* Keeps the event se, as it came, in the pending list pend. Its record
 * parsed strictly once already, so jansson refusing it means out of
 * memory: the event is then "not applied" (logged and counted). */
static int pend_push(sch_ctx *c, sch_rec *pend, const sch_event *se, char *errstr, size_t errlen)
{
    if (pend_keep(c, pend, json_loadb(se->raw, se->rawlen, 0, NULL)) < 0)
        return bad(errstr, errlen, "internal", "out of memory keeping a pending event");
    return 0;
}

static void append_op(sch_ctx *c, const char *key, const char *field, const char *suffix)
{
    json_array_append_new(c->appends, json_pack("[sss]", key, field, suffix));
}

static int apply_inner(sch_ctx *c, const sch_event *se, int part, int from_pending, char *errstr,
                       size_t errlen);

static void set_inv_fields(sch_inv *v, const ct_invoice *d)
{
    cm_strlcpy(v->number, d->number ? d->number : d->invoice_id, sizeof v->number);
    cm_strlcpy(v->currency, d->currency, sizeof v->currency);
    v->amount = d->amount_minor;
    v->issued = d->issued_on.day;
    v->due = d->due_on.day;
}

/* Appends the debtor's tags to tags[*nt..max) (they point into the
 * returned copy of its tag list, which the caller frees; NULL: none). */
static char *cust_tags(const sch_rec *cust, const char **tags, int *nt, int max)
{
    char *ct = cust && cust->u.cust.tags ? strdup(cust->u.cust.tags) : NULL, *save = NULL;
    for (char *tok = ct ? strtok_r(ct, ",", &save) : NULL; tok && *nt < max;
         tok = strtok_r(NULL, ",", &save))
        tags[(*nt)++] = tok;
    return ct;
}

/* What segments look at for inv and its debtor (tags: the caller's). */
static void subject_of(const sch_rec *inv, const sch_rec *cust, const char *const *tags, int nt,
                       sch_subject *s)
{
    const sch_inv *v = &inv->u.inv;
    const sch_cust *cu = cust ? &cust->u.cust : NULL;
    memset(s, 0, sizeof *s);
    s->tenant = inv->tenant;
    s->customer_id = v->customer;
    s->country = cu ? cu->country : NULL;
    s->currency = v->currency;
    s->amount_minor = v->amount;
    s->tags = tags;
    s->ntags = nt;
    if (cu) {
        s->region = cu->region[0] ? cu->region : NULL;
        s->consumer = cu->consumer;
        s->has_paid = cu->last_paid > 0;
        s->broken_promises = cu->broken;
        sch_cust_history(cu, &s->late_share, &s->avg_days_late);
        for (const char *p = cu->exposure; p && *p && s->exposure.n < SCH_CUR_MAX;) {
            const char *colon = strchr(p, ':'), *semi = strchr(p, ';');
            if (!colon || !semi || colon - p > 3)
                break;
            memcpy(s->exposure.v[s->exposure.n].code, p, (size_t)(colon - p));
            s->exposure.v[s->exposure.n].code[colon - p] = 0;
            s->exposure.v[s->exposure.n++].minor = strtoll(colon + 1, NULL, 10);
            p = semi + 1;
        }
    }
    /* this invoice, when its debtor's balance does not count it yet (a
     * new invoice: counted after its event) */
    int64_t add = v->status == 'o' ? sch_inv_outstanding(v) - v->counted : 0;
    if (add != 0) {
        int i = 0;
        while (i < s->exposure.n && strcmp(s->exposure.v[i].code, v->currency) != 0)
            i++;
        if (i == s->exposure.n && i < SCH_CUR_MAX) {
            cm_strlcpy(s->exposure.v[i].code, v->currency, sizeof s->exposure.v[i].code);
            s->exposure.v[i].minor = 0;
            s->exposure.n++;
        }
        if (i < s->exposure.n)
            s->exposure.v[i].minor += add;
    }
}

/* subject_of, with the debtor's risk band as of now. */
static void subject_now(sch_ctx *c, const sch_rec *inv, const sch_rec *cust,
                        const char *const *tags, int nt, sch_subject *s)
{
    cm_risk_result r;
    subject_of(inv, cust, tags, nt, s);
    sch_debtor_risk(c->pol, cust ? &cust->u.cust : NULL, local_today(c, cust), &r);
    s->risk_band = (int)r.band;
}

/* The index of inv's strategy in the policy (the fallback's when it names
 * none or one that is gone), or -1 without strategies. */
static int strategy_index(const sch_policy *p, const sch_inv *v)
{
    for (int i = 0; i < p->nstrategies; i++)
        if (strcmp(p->strategies[i].name, v->strategy) == 0)
            return i;
    return p->nstrategies - 1;
}

/* A strategy with "reassess": before one of its steps goes, the debtor is
 * matched again (customer tags, country, the invoice's currency and
 * amount: the invoice's own tags are not kept). If an earlier strategy
 * now matches, the invoice moves there, its ladder re-armed as for a late
 * invoice (missed steps collapse into the one its age calls for, at the
 * next send time, under the next attempt number so that its command ids
 * differ from the old ladder's); the step that was due is not sent. 1
 * when it moved. */
static int reassess(sch_ctx *c, sch_rec *inv, sch_rec *cust)
{
    sch_inv *v = &inv->u.inv;
    int cur = strategy_index(c->pol, v);
    if (cur < 0 || !c->pol->strategies[cur].reassess)
        return 0;
    const char *tags[64];
    int nt = 0;
    char *ct = cust_tags(cust, tags, &nt, 64);
    sch_subject s;
    subject_now(c, inv, cust, tags, nt, &s);
    int si, vi, moved = 0;
    if (sch_policy_assign(c->pol, &s, &si, &vi) == 0 && si < cur) {
        const sch_strategy *to = &c->pol->strategies[si];
        char rule[160], h[200];
        snprintf(rule, sizeof rule, "reassess:%s/%s", to->name, to->variants[vi].name);
        snprintf(h, sizeof h, "%d.%d@%lld!%s;", v->step, v->attempt, (long long)c->now, rule);
        hist(inv, h);
        if (decide(c, inv, v->step, rule, v->next_ms) < 0)
            c->oom = 1;
        cm_strlcpy(v->strategy, to->name, sizeof v->strategy);
        cm_strlcpy(v->variant, to->variants[vi].name, sizeof v->variant);
        v->unmatched = 0;
        v->attempt++; /* a new ladder: its step ids must not meet the old ones' */
        arm(c, inv, cust, 0, 1);
        moved = 1;
    }
    free(ct);
    return moved;
}

static void assign_strategy(sch_ctx *c, sch_rec *inv, sch_rec *cust, const ct_invoice *d)
{
    const char *tags[64];
    int nt = 0;
    for (size_t i = 0; i < d->tags.n && nt < 32; i++)
        tags[nt++] = d->tags.v[i];
    char *ct = cust_tags(cust, tags, &nt, 64);
    sch_subject s;
    subject_now(c, inv, cust, tags, nt, &s);
    int si, vi;
    if (sch_policy_assign(c->pol, &s, &si, &vi) == 0) {
        cm_strlcpy(inv->u.inv.strategy, c->pol->strategies[si].name, sizeof inv->u.inv.strategy);
        snprintf(inv->u.inv.variant, sizeof inv->u.inv.variant, "%s",
                 c->pol->strategies[si].variants[vi].name);
        inv->u.inv.unmatched = 0;
    } else { /* no segment matched: the last strategy's first variant runs it
              * (docs/policy.md "strategies"); named, so a reload keeps it */
        const char *sn, *vn;
        sch_policy_fallback(c->pol, &sn, &vn);
        cm_strlcpy(inv->u.inv.strategy, sn, sizeof inv->u.inv.strategy);
        cm_strlcpy(inv->u.inv.variant, vn, sizeof inv->u.inv.variant);
        inv->u.inv.unmatched = 1;
    }
    free(ct);
}

static int ev_issued(sch_ctx *c, const ct_event *e, sch_rec *inv, sch_rec *cust, sch_rec *pend,
                     int part, char *errstr, size_t errlen)
{
    const ct_invoice *d = &e->data.invoice;
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
        int due_changed = d->due_on.day != v->due;
        int amount_changed = d->amount_minor != v->amount;
        if (v->counted && strcmp(v->currency, d->currency) != 0) { /* counted in the old one */
            if (sch_cust_exposure_add(&cust->u.cust, v->currency, -v->counted) < 0)
                c->oom = 1;
            v->counted = 0;
            cust->dirty = 1;
        }
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
    cust_touch(c, cust, e->customer_id);
    inv->exists = 1;
    inv->dirty = 1;
    cm_strlcpy(v->customer, e->customer_id, sizeof v->customer);
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
        pay_inv(c, inv, cust, take, cr->pid, 0);
    }
    /* events that came before the invoice */
    if (pend && (json_array_size(pend->u.pend.items) || json_array_size(pend->u.pend.add))) {
        /* stored ones first, then those kept earlier in this batch */
        json_t *all = json_array();
        cm_json *pj = cm_json_new(); /* each kept event's tree, in turn */
        if (!all || !pj) {
            json_decref(all);
            cm_json_free(pj);
            return bad(errstr, errlen, "internal", "out of memory replaying pending events");
        }
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
            /* the scheduler's own entries {"type": "sch.alloc"/"sch.unalloc",
             * "data": {payment_id, amount_minor}} (ev_payment, ev_reversed),
             * else a canonical event kept as it came, decoded again here */
            const char *pt = json_string_value(json_object_get(pe, "type"));
            if (pt && (!strcmp(pt, "sch.alloc") || !strcmp(pt, "sch.unalloc"))) {
                json_t *pd = json_object_get(pe, "data");
                int64_t amt = json_integer_value(json_object_get(pd, "amount_minor"));
                if (pt[4] == 'a')
                    pay_inv(c, inv, cust, amt, json_string_value(json_object_get(pd, "payment_id")),
                            (int32_t)json_integer_value(json_object_get(pd, "day")));
                else
                    unpay_inv(c, inv, cust, amt);
                continue;
            }
            sch_event pv;
            char why[512];
            char *raw = json_dumps(pe, JSON_COMPACT);
            if (!raw) {
                json_decref(all);
                cm_json_free(pj);
                return bad(errstr, errlen, "internal", "out of memory replaying pending events");
            }
            cm_json_clear(pj);
            int ck = sch_event_decode_bytes(pj, raw, strlen(raw), &pv, why, sizeof why);
            if (ck < 0)
                cm_log_warn("invoice %s/%s: a kept event is not applied: %s", inv->tenant, inv->id,
                            why);
            if (ck <= 0 || apply_inner(c, &pv, part, 1, errstr, errlen) < 0) {
                free(raw);
                if (ck <= 0)
                    continue;
                json_decref(all);
                cm_json_free(pj);
                return -1;
            }
            free(raw);
        }
        json_decref(all);
        cm_json_free(pj);
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

static int ev_payment(sch_ctx *c, const ct_event *e, sch_rec *cust, char *errstr, size_t errlen)
{
    const ct_payment *d = &e->data.payment;
    const char *t = e->tenant, *pid = d->payment_id, *cur = d->currency;
    sch_rec *pay = have(c, 'p', t, pid), *rpend = have(c, 'r', t, pid);
    if (!pay || !rpend)
        return bad(errstr, errlen, "internal", "payment record not loaded");
    if (pay->exists) {
        c->ignored++;
        return 0;
    }
    if (sch_gc_late(c, cust, e, 'p', pid)) /* a copy of a payment purged since */
        return 0;
    cust_touch(c, cust, e->customer_id);
    pay->exists = 1;
    pay->dirty = 1;
    sch_pay *p = &pay->u.pay;
    cm_strlcpy(p->customer, e->customer_id, sizeof p->customer);
    cm_strlcpy(p->currency, cur, sizeof p->currency);
    p->amount = d->amount_minor;
    int64_t rest = p->amount;
    char suf[300];
    for (size_t i = 0; i < d->nallocations; i++) {
        const char *iid = d->allocations[i].invoice_id;
        int64_t amt = d->allocations[i].amount_minor;
        sch_rec *inv = have(c, 'i', t, iid);
        if (!inv)
            return bad(errstr, errlen, "internal", "allocated invoice not loaded");
        if (amt > rest)
            amt = rest;
        if (amt <= 0)
            continue;
        if (!inv->exists && sch_gc_late(c, cust, e, 'i', iid))
            continue; /* purged: as a closed invoice, its share stays in rest */
        if (!inv->exists) {
            sch_rec *q = have(c, 'q', t, iid);
            json_t *pe =
                json_pack("{s:s,s:{s:s,s:I,s:I}}", "type", "sch.alloc", "data", "payment_id", pid,
                          "amount_minor", (json_int_t)amt, "day", (json_int_t)d->received_on.day);
            if (!q || !pe) {
                json_decref(pe);
                return bad(errstr, errlen, "internal", "pending list not loaded");
            }
            if (pend_keep(c, q, pe) < 0)
                return bad(errstr, errlen, "internal", "out of memory keeping an allocation");
        } else {
            if (strcmp(inv->u.inv.currency, cur) != 0 || inv->u.inv.status != 'o')
                continue;
            int64_t o = sch_inv_outstanding(&inv->u.inv);
            if (amt > o)
                amt = o;
            if (amt <= 0)
                continue;
            pay_inv(c, inv, cust, amt, pid, d->received_on.day);
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
            pay_inv(c, list[k], cust, amt, pid, d->received_on.day);
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

static int ev_reversed(sch_ctx *c, const sch_event *se, sch_rec *cust, char *errstr, size_t errlen)
{
    const ct_event *e = &se->ev;
    const char *t = e->tenant, *pid = e->data.reversal.payment_id;
    sch_rec *pay = have(c, 'p', t, pid), *rpend = have(c, 'r', t, pid);
    if (!pay || !rpend)
        return bad(errstr, errlen, "internal", "payment record not loaded");
    if (!pay->exists) {
        if (sch_gc_late(c, cust, e, 'p', pid))
            return 0;
        if (json_array_size(rpend->u.pend.items) == 0 && !rpend->u.pend.add)
            return pend_push(c, rpend, se, errstr, errlen);
        return 0;
    }
    if (pay->u.pay.reversed) {
        c->ignored++;
        return 0;
    }
    pay->u.pay.reversed = 1;
    pay->dirty = 1;
    cust_touch(c, cust, e->customer_id);
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
        } else if (!sch_gc_late(c, cust, e, 'i', id)) {
            sch_rec *q = have(c, 'q', t, id);
            json_t *pe = json_pack("{s:s,s:{s:s,s:I}}", "type", "sch.unalloc", "data", "payment_id",
                                   pid, "amount_minor", (json_int_t)amt);
            if (q && pend_keep(c, q, pe) < 0)
                return bad(errstr, errlen, "internal", "out of memory keeping a reversal");
            if (!q)
                json_decref(pe);
        }
        s = semi + 1;
    }
    for (int k = 0; k < cust->u.cust.ncredit; k++)
        if (!strcmp(cust->u.cust.credit[k].pid, pid))
            cust->u.cust.credit[k].amount = 0;
    return 0;
}

/* ",a,b," of the n items that hold no ',' (NULL when n is 0). */
static char *csv_from(const char *const *v, size_t n)
{
    char *s = NULL;
    if (n == 0)
        return NULL;
    sch_str_append(&s, ",");
    for (size_t i = 0; i < n; i++) {
        if (strchr(v[i], ','))
            continue;
        sch_str_append(&s, v[i]);
        sch_str_append(&s, ",");
    }
    return s;
}

/* Removes item from a ",a,b," list (NULL when it empties). */
static void csv_del(char **csv, const char *item)
{
    char mark[64];
    snprintf(mark, sizeof mark, ",%s,", item);
    char *at = *csv ? strstr(*csv, mark) : NULL;
    if (!at)
        return;
    memmove(at, at + strlen(mark) - 1, strlen(at + strlen(mark) - 1) + 1);
    if (strcmp(*csv, ",") == 0) {
        free(*csv);
        *csv = NULL;
    }
}

/* Appends item to the csv ",a,b," (NULL: empty) unless it is there. 0,
 * or -1 out of memory. */
static int csv_add(char **csv, const char *item)
{
    if (sch_csv_has(*csv, item))
        return 0;
    if (!*csv && sch_str_append(csv, ",") < 0)
        return -1;
    return sch_str_append(csv, item) < 0 || sch_str_append(csv, ",") < 0 ? -1 : 0;
}

/* The debtor's address on channel as the commands carry it (the stored
 * contact's "email" for email, "phone" for sms and calls) into buf; 0
 * when it has none. */
static int contact_addr(const sch_rec *cust, ct_channel ch, char *buf, size_t len)
{
    const char *ct = cust ? cust->u.cust.contact : NULL;
    const char *k = ch == CT_CH_EMAIL                          ? "\"email\":\""
                    : ch == CT_CH_SMS || ch == CT_CH_CALL_TASK ? "\"phone\":\""
                                                               : NULL;
    const char *at = ct && k ? strstr(ct, k) : NULL;
    if (!at)
        return 0;
    at += strlen(k);
    const char *end = strchr(at, '"');
    if (!end || (size_t)(end - at) >= len || end == at)
        return 0;
    memcpy(buf, at, (size_t)(end - at));
    buf[end - at] = 0;
    return 1;
}

/* 1 when the debtor's address on channel was made unusable (issue 17). */
static int addr_unusable(const sch_rec *cust, ct_channel ch)
{
    char a[300];
    return cust && cust->u.cust.unusable && contact_addr(cust, ch, a, sizeof a) &&
           sch_csv_has(cust->u.cust.unusable, a);
}

/* Marks the address of a hard bounce (data.address, else the debtor's
 * address on its channel now) or of a complaint (the debtor's email)
 * unusable; a complaint also ceases email, as contact.ceased does (issue
 * 17). A soft bounce changes nothing. */
static int ev_bounced(sch_ctx *c, const ct_event *e, sch_rec *cust)
{
    const ct_delivery *d = &e->data.delivery;
    sch_cust *cu = &cust->u.cust;
    char a[300];
    if (e->type == CT_EV_CONTACT_BOUNCED && d->kind != CT_BOUNCE_HARD)
        return 0;
    cust_touch(c, cust, e->customer_id);
    const char *addr = e->type == CT_EV_CONTACT_BOUNCED && d->address ? d->address
                       : contact_addr(cust, d->channel, a, sizeof a)  ? a
                                                                      : NULL;
    if (addr && !strchr(addr, ',') && csv_add(&cu->unusable, addr) < 0)
        return -1;
    if (e->type == CT_EV_CONTACT_COMPLAINED && csv_add(&cu->ceased, "email") < 0)
        return -1;
    return 0;
}

/* contact.replied: a review task for a collector, now, with the reply and
 * the debtor's open invoices (issue 17). */
static int ev_replied(sch_ctx *c, const ct_event *e, sch_rec *cust, int part)
{
    const sch_rec *open[CT_LIST_MAX];
    size_t n = 0;
    cust_touch(c, cust, e->customer_id);
    for (int i = 0; i < cust->u.cust.open.n && n < CT_LIST_MAX; i++) {
        sch_rec *r = have(c, 'i', e->tenant, cust->u.cust.open.v[i]);
        if (r && r->exists && r->u.inv.status == 'o')
            open[n++] = r;
    }
    char id[SCH_CMD_ID_LEN], key[CT_KEY_MAX];
    char *payload = sch_command_review(e->tenant, e->customer_id, cust, open, n, c->pol,
                                       sch_cust_tz(c, cust), e, c->now, id, sizeof id);
    sch_tenant_key(key, sizeof key, e->tenant, e->customer_id);
    return out_add(c, part, 'c', id, key, payload);
}

/* contact.logged: a call's outcome, reported by a CRM or dialer. It counts
 * against the caps (when the policy has some), a conversation starts the
 * after-conversation period, a wrong number makes the phone unusable for
 * sms and calls until customer.upserted changes it. */
static int ev_logged(sch_ctx *c, const ct_event *e, sch_rec *cust)
{
    const ct_contact_log *d = &e->data.contact_log;
    sch_cust *cu = &cust->u.cust;
    int32_t day;
    int minute;
    cust_touch(c, cust, e->customer_id);
    cm_tz_local(sch_cust_tz(c, cust), d->at_ms, &day, &minute);
    if (c->pol->contact.any_caps) {
        char *n = sch_sendlog_add(cu->sendlog, day, (int)d->channel);
        if (!n)
            return -1;
        free(cu->sendlog);
        cu->sendlog = n;
    }
    if (d->outcome == CT_CALL_CONVERSATION && day > cu->conversation)
        cu->conversation = day;
    if (d->outcome == CT_CALL_WRONG_NUMBER)
        cu->wrong_number = 1;
    return 0;
}

static void ev_customer(sch_ctx *c, const ct_event *e, sch_rec *cust)
{
    const ct_customer *d = &e->data.customer;
    sch_cust *cu = &cust->u.cust;
    cust_touch(c, cust, e->customer_id);
    /* a phone reported wrong (contact.logged) stays unusable until the
     * number changes */
    if (cu->wrong_number) {
        const char *at = cu->contact ? strstr(cu->contact, "\"phone\":\"") : NULL;
        size_t pl = d->phone ? strlen(d->phone) : 0;
        if (!at || !d->phone || strncmp(at + 9, d->phone, pl) != 0 || at[9 + pl] != '"')
            cu->wrong_number = 0;
    }
    /* an address a hard bounce or a complaint made unusable stays so
     * until customer.upserted changes it (issue 17) */
    if (cu->unusable) {
        char *keep = NULL;
        const char *now[2] = {d->email, d->phone};
        for (int i = 0; i < 2; i++)
            if (now[i] && sch_csv_has(cu->unusable, now[i]) && csv_add(&keep, now[i]) < 0)
                c->oom = 1;
        free(cu->unusable);
        cu->unusable = keep;
    }
    /* the command's "customer", kept as compact JSON: customer_id, then
     * these in this order when given */
    const char *keys[] = {"name", "email", "phone", "timezone", "locale", "country"};
    const char *vals[] = {d->name, d->email, d->phone, d->timezone, d->locale, d->country};
    json_t *o = json_object();
    json_object_set_new(o, "customer_id", json_string(e->customer_id));
    for (int i = 0; i < 6; i++)
        if (vals[i])
            json_object_set_new(o, keys[i], json_string(vals[i]));
    char *js = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (js && (!cu->contact || strcmp(cu->contact, js) != 0)) {
        sch_str_set(&cu->contact, js);
        cu->contact_dirty = 1;
    }
    free(js);
    cm_strlcpy(cu->region, d->region && strlen(d->region) < sizeof cu->region ? d->region : "",
               sizeof cu->region);
    cu->consumer = d->kind == CT_DEBTOR_CONSUMER;
    cu->credit_limit = d->has_credit_limit ? d->credit_limit_minor : 0;
    cm_strlcpy(cu->credit_currency,
               d->has_credit_limit && d->credit_currency ? d->credit_currency : "",
               sizeof cu->credit_currency);
    free(cu->zones);
    cu->zones = csv_from(d->extra_timezones.v, d->extra_timezones.n);
    const char *tz = d->timezone, *lo = d->locale, *co = d->country;
    cm_strlcpy(cu->tz, tz && strlen(tz) < sizeof cu->tz ? tz : "", sizeof cu->tz);
    cm_strlcpy(cu->locale, lo && strlen(lo) < sizeof cu->locale ? lo : "", sizeof cu->locale);
    cm_strlcpy(cu->country, co && strlen(co) < sizeof cu->country ? co : "", sizeof cu->country);
    const char *oo_names[CT_CH_COUNT];
    for (size_t i = 0; i < d->opted_out.n; i++)
        oo_names[i] = ct_channel_name(d->opted_out.v[i]);
    char *tags = csv_from(d->tags.v, d->tags.n), *oo = csv_from(oo_names, d->opted_out.n);
    free(cu->tags);
    cu->tags = tags;
    free(cu->opted_out);
    cu->opted_out = oo;
    const char *pc_names[CT_CH_COUNT];
    for (size_t i = 0; i < d->channels.n && i < CT_CH_COUNT; i++)
        pc_names[i] = ct_channel_name(d->channels.v[i]);
    free(cu->prefer);
    cu->prefer = csv_from(pc_names, d->channels.n < CT_CH_COUNT ? d->channels.n : CT_CH_COUNT);
}

/* ---- hand-off to an agency or to legal (policy "escalation"; escalate.h,
 * docs/policy.md "Escalation") ----
 *
 * An escalation step with "to" asks the gate about the debtor's case in
 * its invoice's currency: every open invoice of that currency. Held
 * (escalation:disputed, :below_threshold, :not_worth_it), the debtor's
 * record remembers the step ("es" state 'h') and the gate is asked again
 * when the debtor's next step fires or an event changes its balance.
 * Placed, the case file goes on `escalations` and escalation.placed on
 * `events`; the case's invoices pause (arm) and every message to the
 * debtor is held (blocked: escalation:placed) until escalation.recalled
 * (the ladders resume collapsed, or stay stopped: on_recall) or the
 * case's invoices are closed. escalation.remitted applies like a payment
 * to the case's invoices, oldest due first; the commission is recorded. */

static const char *blocked(const sch_rec *cust, const char *channel);
static int id_too_long(const sch_rec *inv);

/* Appends to the debtor's response log (when the policy hands off). */
static void respond(sch_ctx *c, sch_rec *cust, ct_type type, int64_t at, const char *id,
                    const char *detail)
{
    if (!c->pol->escalation.enabled || !cust)
        return;
    if (sch_esc_log_response(&cust->u.cust.responses, type, at, id, detail) < 0)
        c->oom = 1;
    cust->dirty = 1;
}

/* The debtor's open invoices in currency, loaded, oldest due first, into
 * *out (malloc'd); -2 when one is not loaded (the batch did not load the
 * debtor whole: nothing is decided), -1 out of memory. */
static int esc_open(sch_ctx *c, const sch_rec *cust, const char *currency, sch_rec ***out,
                    size_t *n)
{
    const sch_cust *cu = &cust->u.cust;
    *n = 0;
    *out = malloc(((size_t)cu->open.n + 1) * sizeof **out);
    if (!*out)
        return -1;
    for (int i = 0; i < cu->open.n; i++) {
        sch_rec *r = have(c, 'i', cust->tenant, cu->open.v[i]);
        if (!r || !r->loaded || cust->u.cust.partial) {
            free(*out);
            *out = NULL;
            return -2;
        }
        if (r->exists && r->u.inv.status == 'o' && !strcmp(r->u.inv.currency, currency))
            (*out)[(*n)++] = r;
    }
    qsort(*out, *n, sizeof **out, cmp_due);
    return 0;
}

/* The contacts of the case's invoices from their histories: each ladder
 * step issued ("s.a@ms;") or held ("s.a@ms!hold|cond|escalation:...;"). */
static size_t esc_contacts(sch_ctx *c, sch_rec *const *list, size_t n, sch_esc_contact **out)
{
    size_t cap = 0, k = 0;
    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        const sch_inv *v = &list[i]->u.inv;
        const sch_ladder *l = sch_policy_ladder(c->pol, v->strategy, v->variant);
        for (const char *p = v->history ? v->history : ""; l && *p;) {
            const char *semi = strchr(p, ';');
            if (!semi)
                break;
            char *end;
            long step = strtol(p, &end, 10);
            long att = end > p && *end == '.' ? strtol(end + 1, &end, 10) : -1;
            const char *bang = *end == '@' ? memchr(end, '!', (size_t)(semi - end)) : NULL;
            int ok = att >= 0 && *end == '@' && step >= 0 && step < l->nsteps;
            char rule[40] = "";
            if (ok && bang) {
                snprintf(rule, sizeof rule, "%.*s", (int)(semi - bang - 1), bang + 1);
                ok = !strcmp(rule, "hold") || !strcmp(rule, "cond") ||
                     !strncmp(rule, "escalation:", 11);
            }
            if (ok && k == cap) {
                size_t nc = cap ? cap * 2 : 8;
                sch_esc_contact *m = realloc(*out, nc * sizeof *m);
                if (!m) {
                    c->oom = 1;
                    return k;
                }
                *out = m;
                cap = nc;
            }
            if (ok) {
                const sch_step *st = &l->steps[step];
                sch_esc_contact *ct = &(*out)[k++];
                memset(ct, 0, sizeof *ct);
                ct->invoice_id = list[i]->id;
                sch_command_id_step(ct->command_id, sizeof ct->command_id, list[i]->tenant,
                                    list[i]->id, (int)step, (int)att);
                ct->at = strtoll(end + 1, NULL, 10);
                ct->step = (int)step;
                ct->step_name = st->name;
                ct->template_id = st->template_id;
                ct->kind = st->kind;
                ct->channel = st->channel;
                if (bang) /* "hold": no channel, ceased, opted out (its decision line says) */
                    cm_strlcpy(ct->rule, !strcmp(rule, "cond") ? "min_outstanding_minor" : rule,
                               sizeof ct->rule);
            }
            p = semi + 1;
        }
    }
    /* oldest first across the invoices (stable: one invoice's in order) */
    for (size_t i = 1; i < k; i++)
        for (size_t j = i; j > 0 && (*out)[j - 1].at > (*out)[j].at; j--) {
            sch_esc_contact t = (*out)[j];
            (*out)[j] = (*out)[j - 1];
            (*out)[j - 1] = t;
        }
    return k;
}

/* Asks the gate about inv's escalation step st (index idx; its timer was
 * due at scheduled): places the case (1) or holds the step (0); -1 on
 * out of memory. retry: asked again for a held step (a decision line only
 * when the rule changed). */
static int esc_try(sch_ctx *c, sch_rec *inv, sch_rec *cust, const sch_step *st, int idx,
                   int64_t scheduled, int retry)
{
    sch_inv *v = &inv->u.inv;
    sch_cust *cu = &cust->u.cust;
    const sch_esc_target *tg = &c->pol->escalation.to[st->to];
    char id[SCH_CMD_ID_LEN], key[CT_KEY_MAX], h[120];
    sch_rec **list = NULL;
    size_t n = 0;
    int rc = -1;
    if (placed(cust)) { /* one case at a time: another currency waits */
        if (!retry && decide(c, inv, idx, "escalation:placed", scheduled) < 0)
            return -1;
        c->esc_held++;
        return 0;
    }
    int o = esc_open(c, cust, v->currency, &list, &n);
    if (o < 0)
        return o; /* -2: the debtor was not loaded whole (nothing decided) */
    int32_t today = local_today(c, cust);
    int64_t outstanding = 0;
    int blocked_ = 0;
    sch_esc_invoice *invs = calloc(n + 1, sizeof *invs);
    if (!invs)
        goto done;
    for (size_t i = 0; i < n; i++) {
        const sch_inv *w = &list[i]->u.inv;
        char e[256];
        sch_esc_invoice *x = &invs[i];
        x->invoice_id = list[i]->id;
        x->number = w->number;
        x->issued = w->issued;
        x->due = w->due;
        x->days_overdue = today > w->due ? today - w->due : 0;
        x->amount = w->amount;
        x->paid = w->paid;
        x->credited = w->credited;
        if (sch_inv_amounts(c->pol, list[i], cust, today, &x->a, NULL, e, sizeof e) < 0)
            memset(&x->a, 0, sizeof x->a), x->a.principal = sch_inv_principal(w),
                                           x->a.fees = sch_inv_fees_owed(w);
        outstanding += sch_amounts_total(&x->a);
        blocked_ |= w->disputed || w->promise_id[0] || in_plan(c, cust, list[i]->id);
    }
    sch_esc_gate g;
    const char *rule = n ? sch_esc_check(tg, v->currency, outstanding, blocked_, &g)
                         : "escalation:below_threshold";
    if (sch_command_id_step(id, sizeof id, inv->tenant, inv->id, idx, v->attempt) < 0) {
        rc = id_too_long(inv);
        goto done;
    }
    if (rule) {
        int changed = cu->esc.state != 'h' || strcmp(cu->esc.rule, rule) != 0 ||
                      strcmp(cu->esc.inv, inv->id) != 0 || cu->esc.step != idx;
        if (!retry || changed) {
            snprintf(h, sizeof h, "%d.%d@%lld!%s;", idx, v->attempt, (long long)c->now, rule);
            hist(inv, h);
            if (decide(c, inv, idx, rule, scheduled) < 0)
                goto done;
            c->esc_held++;
        }
        sch_cust_esc_clear(cu);
        cu->esc.state = 'h';
        cu->esc.to = st->to;
        cm_strlcpy(cu->esc.currency, v->currency, sizeof cu->esc.currency);
        cm_strlcpy(cu->esc.inv, inv->id, sizeof cu->esc.inv);
        cm_strlcpy(cu->esc.rule, rule, sizeof cu->esc.rule);
        cu->esc.step = idx;
        cust->dirty = 1;
        rc = 0;
        goto done;
    }
    /* placed: the case file, the event, the invoices paused */
    char case_id[24];
    sch_esc_case_id(case_id, inv->tenant, v->customer, id);
    char *names = strdup(",");
    for (size_t i = 0; names && i < n; i++)
        if (sch_str_append(&names, list[i]->id) < 0 || sch_str_append(&names, ",") < 0) {
            free(names);
            names = NULL;
        }
    sch_esc_contact *contacts = NULL;
    size_t ncontacts = esc_contacts(c, list, n, &contacts);
    json_t *risk = NULL;
    if (c->pol->risk_in_commands) {
        cm_risk_result rr;
        cm_buf b = CM_BUF_INIT;
        sch_debtor_risk(c->pol, cu, today, &rr);
        if (cm_risk_json(&b, &rr) == 0 && b.p)
            risk = json_loads(b.p, 0, NULL);
        cm_buf_free(&b);
    }
    const char *sn = v->strategy, *vn = v->variant;
    if (!sn[0])
        sch_policy_fallback(c->pol, &sn, &vn);
    sch_esc_case k = {case_id,     inv->tenant, v->customer, scheduled,   st->to,
                      v->currency, sn,          vn,          st->name,    id,
                      idx,         tg,          g,           cu->contact, risk,
                      invs,        n,           contacts,    ncontacts,   cu->responses};
    json_t *file = names ? sch_esc_case_file(&k) : NULL;
    json_t *ev = file ? sch_event_placed(inv, case_id, st->to, names, v->currency, outstanding,
                                         g.expected_net, id, scheduled)
                      : NULL;
    json_decref(risk);
    free(contacts);
    sch_tenant_key(key, sizeof key, inv->tenant, v->customer);
    char eid[40];
    snprintf(eid, sizeof eid, "%s/placed", case_id);
    if (!file || !ev ||
        out_add(c, v->part, 'x', case_id, key, json_dumps(file, JSON_COMPACT)) < 0 ||
        out_add(c, v->part, 'e', eid, key, json_dumps(ev, JSON_COMPACT)) < 0) {
        json_decref(file);
        json_decref(ev);
        free(names);
        goto done;
    }
    json_decref(file);
    json_decref(ev);
    sch_cust_esc_clear(cu);
    cu->esc.state = 'p';
    cm_strlcpy(cu->esc.case_id, case_id, sizeof cu->esc.case_id);
    cu->esc.to = st->to;
    cm_strlcpy(cu->esc.currency, v->currency, sizeof cu->esc.currency);
    cm_strlcpy(cu->esc.inv, inv->id, sizeof cu->esc.inv);
    cu->esc.step = idx;
    cu->esc.placed = outstanding;
    cu->esc.at = scheduled;
    cu->esc.invoices = names;
    cust->dirty = 1;
    snprintf(h, sizeof h, "%d.%d@%lld;x@%lld!placed:%s;", idx, v->attempt, (long long)c->now,
             (long long)c->now, case_id);
    hist(inv, h);
    for (size_t i = 0; i < n; i++) {
        if (list[i] != inv) {
            snprintf(h, sizeof h, "x@%lld!placed:%s;", (long long)c->now, case_id);
            hist(list[i], h);
        }
        arm(c, list[i], cust, list[i]->u.inv.step, 0);
    }
    c->esc_placed++;
    rc = 1;
done:
    free(invs);
    free(list);
    return rc;
}

/* A held escalation asked again (the debtor's next step fires, or its
 * balance changed): 1 placed, 0 still held, -1 out of memory. */
static int esc_retry(sch_ctx *c, sch_rec *cust)
{
    sch_cust *cu = &cust->u.cust;
    if (!c->pol->escalation.enabled || cu->esc.state != 'h')
        return 0;
    sch_rec *inv = have(c, 'i', cust->tenant, cu->esc.inv);
    if (!inv || !inv->loaded || !inv->exists || inv->u.inv.status != 'o') {
        sch_cust_esc_clear(cu); /* its invoice closed: nothing to hand over */
        cust->dirty = 1;
        return 0;
    }
    const sch_ladder *l = sch_policy_ladder(c->pol, inv->u.inv.strategy, inv->u.inv.variant);
    if (!l || cu->esc.step < 0 || cu->esc.step >= l->nsteps ||
        l->steps[cu->esc.step].to == CT_TO_NONE) {
        sch_cust_esc_clear(cu); /* the policy changed under it */
        cust->dirty = 1;
        return 0;
    }
    return esc_try(c, inv, cust, &l->steps[cu->esc.step], cu->esc.step, c->now, 1);
}

/* Ends the debtor's case: the ladders of its open invoices resume
 * (collapsed) or stay stopped (resume 0). */
static void esc_end(sch_ctx *c, sch_rec *cust, const char *why, int resume)
{
    sch_cust *cu = &cust->u.cust;
    char h[80];
    snprintf(h, sizeof h, "x@%lld!%s:%s;", (long long)c->now, why, cu->esc.case_id);
    char *names = cu->esc.invoices;
    cu->esc.invoices = NULL;
    sch_cust_esc_clear(cu);
    cust->dirty = 1;
    char iid[SCH_ID_LEN];
    for (const char *s = csv_next(names, iid, sizeof iid); s; s = csv_next(s, iid, sizeof iid)) {
        sch_rec *r = have(c, 'i', cust->tenant, iid);
        if (!r || !r->loaded || !r->exists)
            continue;
        hist(r, h); /* closed ones too: their history says where the case went */
        r->dirty = 1;
        if (resume && r->u.inv.status == 'o')
            arm(c, r, cust, r->u.inv.step, 1);
    }
    free(names);
}

/* After an event: a case whose invoices are all closed ends; a held
 * escalation is asked again (the balance may have changed). */
static int esc_settle(sch_ctx *c, sch_rec *cust)
{
    sch_cust *cu = &cust->u.cust;
    if (cu->esc.state == 'h')
        return esc_retry(c, cust) == -1 ? -1 : 0;
    if (!placed(cust))
        return 0;
    for (int i = 0; i < cu->open.n; i++)
        if (sch_csv_has(cu->esc.invoices, cu->open.v[i]))
            return 0;
    esc_end(c, cust, "closed", 0);
    return 0;
}

/* escalation.accepted, .recalled, .remitted of the debtor's case */
static int ev_case(sch_ctx *c, const ct_event *e, sch_rec *cust, char *errstr, size_t errlen)
{
    sch_cust *cu = &cust->u.cust;
    const char *cid = e->type == CT_EV_ESCALATION_REMITTED ? e->data.remittance.case_id
                                                           : e->data.case_event.case_id;
    if (!placed(cust) || strcmp(cu->esc.case_id, cid) != 0) {
        c->ignored++; /* not the debtor's open case (ended, or unknown) */
        return 0;
    }
    if (e->type == CT_EV_ESCALATION_ACCEPTED) {
        cu->esc.state = 'a';
        if (sch_str_set(&cu->esc.ref, e->data.case_event.agency_ref) < 0)
            return bad(errstr, errlen, "internal", "out of memory");
        cust->dirty = 1;
        return 0;
    }
    if (e->type == CT_EV_ESCALATION_RECALLED) {
        c->esc_recalled++;
        esc_end(c, cust, "recalled", c->pol->escalation.resume_on_recall);
        return 0;
    }
    const ct_remittance *r = &e->data.remittance;
    if (strcmp(r->currency, cu->esc.currency) != 0)
        return bad(errstr, errlen, "data.currency", "must be the currency of the case");
    sch_rec **list = NULL;
    size_t n = 0;
    if (esc_open(c, cust, cu->esc.currency, &list, &n) < 0)
        return bad(errstr, errlen, "internal", "case invoices not loaded (or out of memory)");
    int64_t rest = r->amount_minor;
    int32_t today = local_today(c, cust);
    for (size_t i = 0; i < n && rest > 0; i++) {
        if (!sch_csv_has(cu->esc.invoices, list[i]->id))
            continue;
        int64_t o = sch_inv_outstanding(&list[i]->u.inv);
        int64_t amt = o < rest ? o : rest;
        if (amt <= 0)
            continue;
        c->remitting = 1;
        pay_inv(c, list[i], cust, amt, e->id, today);
        c->remitting = 0;
        rest -= amt;
    }
    free(list);
    cu->esc.remitted += r->amount_minor;
    cu->esc.commission += r->commission_minor;
    cust->dirty = 1;
    c->esc_remitted++;
    return 0;
}

static int apply_inner(sch_ctx *c, const sch_event *se, int part, int from_pending, char *errstr,
                       size_t errlen)
{
    const ct_event *e = &se->ev;
    const char *t = e->tenant, *cu = e->customer_id;
    ct_type type = e->type;
    const char *iid = invoice_of(e);
    sch_rec *cust = have(c, 'c', t, cu);
    sch_rec *inv = iid ? have(c, 'i', t, iid) : NULL, *pend = iid ? have(c, 'q', t, iid) : NULL;
    if (!cust || (iid && (!inv || !pend)))
        return bad(errstr, errlen, "internal", "record not loaded");
    c->applied++;
    if (!cust->u.cust.first_seen) { /* the relationship's age (risk) */
        cust->u.cust.first_seen = local_today(c, cust);
        cust->dirty = 1;
    }
    switch (type) { /* debtor-level events */
    case CT_EV_INVOICE_ISSUED:
    case CT_EV_INVOICE_UPDATED:
        if (!inv->exists && !from_pending && sch_gc_late(c, cust, e, 'i', iid))
            return 0; /* a copy of an invoice closed and purged since */
        return ev_issued(c, e, inv, cust, pend, part, errstr, errlen);
    case CT_EV_PAYMENT_RECEIVED:
        return ev_payment(c, e, cust, errstr, errlen);
    case CT_EV_PAYMENT_REVERSED:
        return ev_reversed(c, se, cust, errstr, errlen);
    case CT_EV_CUSTOMER_UPSERTED:
        ev_customer(c, e, cust);
        return 0;
    case CT_EV_PROMISE_MADE:
        return ev_promise(c, e, cust, errstr, errlen);
    case CT_EV_PLAN_AGREED:
        return ev_plan_agreed(c, e, cust, errstr, errlen);
    case CT_EV_PLAN_CANCELLED:
        return ev_plan_cancelled(c, e, cust);
    case CT_EV_ESCALATION_ACCEPTED:
    case CT_EV_ESCALATION_RECALLED:
    case CT_EV_ESCALATION_REMITTED:
        return ev_case(c, e, cust, errstr, errlen);
    case CT_EV_CONTACT_RESUMED: /* consent again: lifts a cease and an opt-out */
        cust_touch(c, cust, cu);
        if (e->data.resumed.channel == CT_CH_NONE) {
            free(cust->u.cust.ceased);
            free(cust->u.cust.opted_out);
            cust->u.cust.ceased = cust->u.cust.opted_out = NULL;
        } else {
            const char *ch = ct_channel_name(e->data.resumed.channel);
            csv_del(&cust->u.cust.ceased, ch);
            csv_del(&cust->u.cust.opted_out, ch);
        }
        return 0;
    case CT_EV_CONTACT_LOGGED:
        return ev_logged(c, e, cust) < 0 ? bad(errstr, errlen, "internal", "out of memory") : 0;
    case CT_EV_CONTACT_BOUNCED:
    case CT_EV_CONTACT_COMPLAINED:
        return ev_bounced(c, e, cust) < 0 ? bad(errstr, errlen, "internal", "out of memory") : 0;
    case CT_EV_CONTACT_REPLIED:
        return ev_replied(c, e, cust, part) < 0 ? bad(errstr, errlen, "internal", "out of memory")
                                                : 0;
    case CT_EV_CONTACT_CEASED: {
        /* ",email,": that channel; ",*,": every channel */
        ct_channel chan = e->data.ceased.channel;
        const char *ch = chan == CT_CH_NONE ? "*" : ct_channel_name(chan);
        char b[64];
        cust_touch(c, cust, cu);
        snprintf(b, sizeof b, "%s,", ch);
        if (!sch_csv_has(cust->u.cust.ceased, ch)) {
            if (!cust->u.cust.ceased)
                sch_str_append(&cust->u.cust.ceased, ",");
            sch_str_append(&cust->u.cust.ceased, b);
            /* a full cease: one confirmation, then nothing more (FDCPA
             * 1692c(c)), about the debtor's first open invoice */
            for (int i = 0;
                 chan == CT_CH_NONE && c->pol->contact.on_cease && i < cust->u.cust.open.n; i++) {
                sch_rec *r = have(c, 'i', t, cust->u.cust.open.v[i]);
                if (!r || !r->exists || r->u.inv.status != 'o')
                    continue;
                cm_strlcpy(r->u.inv.notice_id, e->id, sizeof r->u.inv.notice_id);
                r->u.inv.next_kind = 'c';
                r->u.inv.next_ms = c->now;
                r->dirty = 1;
                break;
            }
        }
        return 0;
    }
    default:
        break;
    }
    /* invoice-level events: keep them if the invoice is not known yet */
    if (!inv)
        return 0; /* not a type sch_event_decode lets through */
    if (!inv->exists) {
        if (!from_pending && !sch_gc_late(c, cust, e, 'i', iid))
            return pend_push(c, pend, se, errstr, errlen);
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
        const ct_credit_note *cn = &e->data.credit_note;
        char mark[SCH_ID_LEN + 4];
        snprintf(mark, sizeof mark, ";%s;", cn->credit_note_id);
        if (v->credits && strstr(v->credits, mark)) {
            c->ignored++;
            return 0;
        }
        if (strcmp(cn->currency, v->currency) != 0) {
            snprintf(errstr, errlen, "data.currency: %s differs from the invoice's %s",
                     cn->currency, v->currency);
            return -1;
        }
        if (!v->credits)
            sch_str_append(&v->credits, ";");
        sch_str_append(&v->credits, mark + 1);
        v->credited += cn->amount_minor;
        inv->dirty = 1;
        if (v->status == 'o' && sch_inv_outstanding(v) == 0)
            close_inv(c, inv, cust, 'p');
        return 0;
    }
    case CT_EV_DISPUTE_OPENED:
        if (v->next_kind == 's' && !v->disputed &&
            decide(c, inv, v->step, "dispute", v->next_ms) < 0)
            return -1;
        if (!v->disputed) { /* the debtor's open disputes (risk) */
            cust->u.cust.disputes++;
            cust->dirty = 1;
        }
        v->disputed = 1;
        if (v->next_kind == 's')
            v->next_kind = 0, v->next_ms = 0;
        inv->dirty = 1;
        return 0;
    case CT_EV_DISPUTE_RESOLVED:
        if (v->disputed) {
            v->disputed = 0;
            if (cust->u.cust.disputes > 0)
                cust->u.cust.disputes--;
            cust->dirty = 1;
            arm(c, inv, cust, v->step, 1);
        }
        return 0;
    default:
        return 0;
    }
}

/* Keeps inv's share of its debtor's exposure (state.h counted) in step:
 * its outstanding while open, else 0; the difference goes to the debtor's
 * open balance in the invoice's currency. */
static void exposure_sync(sch_ctx *c, sch_rec *inv, sch_rec *cust)
{
    if (!inv || !inv->loaded || !cust)
        return;
    sch_inv *v = &inv->u.inv;
    int64_t now = inv->exists && v->status == 'o' ? sch_inv_outstanding(v) : 0;
    if (now == v->counted)
        return;
    if (sch_cust_exposure_add(&cust->u.cust, v->currency, now - v->counted) < 0)
        c->oom = 1;
    v->counted = now;
    inv->dirty = 1;
    cust->dirty = 1;
}

/* exposure_sync for every invoice of the event's debtor that may have
 * changed: those open, and those closed or opened in this batch. */
static void exposure_sync_debtor(sch_ctx *c, const ct_event *e)
{
    sch_rec *cust = have(c, 'c', e->tenant, e->customer_id);
    if (!cust || !cust->loaded)
        return;
    const sch_strlist *lists[] = {&cust->u.cust.open, &cust->u.cust.gone, &cust->u.cust.added};
    for (int l = 0; l < 3; l++)
        for (int i = 0; i < lists[l]->n; i++) {
            const char *id = lists[l]->v[i];
            if (l > 0 && strncmp(id, "o:", 2) != 0)
                continue;
            exposure_sync(c, have(c, 'i', e->tenant, l > 0 ? id + 2 : id), cust);
        }
    const char *iid = invoice_of(e);
    if (iid)
        exposure_sync(c, have(c, 'i', e->tenant, iid), cust);
}

/* The debtor's responses the case file lists (escalate.h). */
static void log_response(sch_ctx *c, sch_rec *cust, const ct_event *e)
{
    char d[200];
    switch (e->type) {
    case CT_EV_PROMISE_MADE: {
        const ct_promise *p = &e->data.promise;
        snprintf(d, sizeof d, "%lld %s by %s", (long long)p->amount_minor, p->currency,
                 p->promised_on.s ? p->promised_on.s : "");
        respond(c, cust, e->type, e->time_ms, e->id, d);
        break;
    }
    case CT_EV_DISPUTE_OPENED:
    case CT_EV_DISPUTE_RESOLVED:
        respond(c, cust, e->type, e->time_ms, e->data.dispute.invoice_id, e->data.dispute.reason);
        break;
    case CT_EV_CONTACT_LOGGED: {
        const ct_contact_log *l = &e->data.contact_log;
        snprintf(d, sizeof d, "%s %s%s%s", ct_channel_name(l->channel),
                 ct_call_outcome_name(l->outcome), l->agent ? " by " : "",
                 l->agent ? l->agent : "");
        respond(c, cust, e->type, l->at_ms, e->id, d);
        break;
    }
    case CT_EV_PLAN_AGREED:
        snprintf(d, sizeof d, "%zu instalments, %lld %s", e->data.plan.ninstalments,
                 (long long)e->data.plan.total_minor, e->data.plan.currency);
        respond(c, cust, e->type, e->time_ms, e->data.plan.plan_id, d);
        break;
    case CT_EV_PLAN_CANCELLED:
        respond(c, cust, e->type, e->time_ms, e->data.plan_cancel.plan_id,
                e->data.plan_cancel.reason);
        break;
    default:
        break;
    }
}

int sch_apply_event(sch_ctx *c, const sch_event *se, int part, char *errstr, size_t errlen)
{
    pick_policy(c, se->ev.tenant);
    c->part = part;
    int rc = apply_inner(c, se, part, 0, errstr, errlen);
    /* the partition and the instant of the purge members of what the
     * event wrote (retention.h): its invoice, payment and their waiting
     * lists, the invoices a payment names (what else it changed counts
     * from the commit's clock) */
    const char *t = se->ev.tenant, *pid = payment_of(&se->ev), *iid = invoice_of(&se->ev);
    sch_rec *gr[4] = {pid ? have(c, 'p', t, pid) : NULL, pid ? have(c, 'r', t, pid) : NULL,
                      iid ? have(c, 'q', t, iid) : NULL, iid ? have(c, 'i', t, iid) : NULL};
    for (int k = 0; k < 4; k++)
        if (gr[k] && gr[k]->dirty) {
            gr[k]->gcp = k < 3 && part >= 0 ? part + 1 : gr[k]->gcp;
            gr[k]->gc_now = c->now;
        }
    if (se->ev.type == CT_EV_PAYMENT_RECEIVED)
        for (size_t k = 0; k < se->ev.data.payment.nallocations; k++) {
            sch_rec *r = have(c, 'i', t, se->ev.data.payment.allocations[k].invoice_id);
            if (r && r->dirty)
                r->gc_now = c->now;
        }
    if (rc >= 0) {
        sch_rec *cust = have(c, 'c', se->ev.tenant, se->ev.customer_id);
        if (cust && cust->u.cust.plan.id[0] && plan_settle(c, cust) < 0)
            c->oom = 1;
        if (cust)
            log_response(c, cust, &se->ev);
        if (cust && cust->u.cust.esc.state && esc_settle(c, cust) < 0)
            c->oom = 1;
        exposure_sync_debtor(c, &se->ev);
    }
    if (c->oom) {
        c->oom = 0;
        return bad(errstr, errlen, "internal", "out of memory");
    }
    return rc;
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

/* The rule that holds a send on channel for this debtor ("ceased",
 * "opted_out", "wrong_number", "address_unusable"), or NULL. */
static const char *blocked(const sch_rec *cust, const char *channel)
{
    if (!cust)
        return NULL;
    const sch_cust *cu = &cust->u.cust;
    if (sch_csv_has(cu->ceased, "*") || sch_csv_has(cu->ceased, channel))
        return "ceased";
    if (sch_csv_has(cu->opted_out, channel))
        return "opted_out";
    if (cu->wrong_number && (!strcmp(channel, "sms") || !strcmp(channel, "call_task")))
        return "wrong_number"; /* a logged call found the phone wrong */
    if (cu->unusable && addr_unusable(cust, ct_channel_parse(channel, strlen(channel))))
        return "address_unusable"; /* a hard bounce or a complaint (issue 17) */
    if (placed(cust))
        return "escalation:placed"; /* the agency or legal speaks to the debtor now */
    return NULL;
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

/* The contact rules of a debtor (contact.h); NULL when the policy has
 * none. */
static const sch_clock_rules *rules_of(const sch_ctx *c, const sch_rec *cust)
{
    if (!c->pol->contact.enabled)
        return NULL;
    return sch_contact_rules_for(&c->pol->contact, cust ? cust->u.cust.region : NULL,
                                 cust ? cust->u.cust.country : NULL);
}

/* The debtor's clock and caps (contact_rules, contact.h): a debtor-facing
 * send on channel due now that falls outside the clock, or would exceed a
 * cap, moves to the first instant at which both hold (the timer is
 * re-armed, the decision recorded in the history and, in a backtest,
 * printed: "<window|weekday|holiday>:moved", or the cap's name
 * "cap:sms,email:3/7d"; the first rule that moved it). idx is the step (-1
 * the payment thanks), send_min its send_at (-1 none). Returns 1 when
 * moved, 0 when the send may go now, -1 out of memory. */
static int defer(sch_ctx *c, sch_rec *inv, const sch_rec *cust, const cm_tz *tz, int idx,
                 int send_min, int channel)
{
    const sch_clock_rules *r = rules_of(c, cust);
    if (!r)
        return 0;
    sch_inv *v = &inv->u.inv;
    const char *log = cust ? cust->u.cust.sendlog : NULL;
    char rule[96] = "";
    int64_t t = c->now;
    int at = send_min >= r->start_min && send_min < r->end_min ? send_min : r->start_min;
    for (int k = 0; k < 32; k++) {
        const char *why;
        int64_t n = sch_clock_next(r, tz, t, send_min, &why);
        /* a debtor with several zones: the window must hold in each */
        const char *z = cust ? cust->u.cust.zones : NULL;
        while (!(why && n > t) && z && *z) {
            char name[CT_ZONE_MAX + 1], e[128];
            const char *comma = strchr(z + 1, ',');
            size_t zl = comma ? (size_t)(comma - z - 1) : 0;
            const cm_tz *ztz = NULL;
            if (zl > 0 && zl < sizeof name) {
                memcpy(name, z + 1, zl);
                name[zl] = 0;
                ztz = cm_tz_get(name, e, sizeof e);
            }
            if (ztz)
                n = sch_clock_next(r, ztz, t, -1, &why);
            z = comma;
            if (z && !z[1])
                break;
        }
        if (why && n > t) {
            if (!rule[0])
                snprintf(rule, sizeof rule, "%s:moved", why);
            t = n;
            continue;
        }
        int32_t today, ok_day;
        int minute;
        const sch_cap *hit;
        cm_tz_local(tz, t, &today, &minute);
        if (channel == CT_CH_CALL_TASK && r->after_conversation_days > 0 && cust &&
            cust->u.cust.conversation &&
            today < cust->u.cust.conversation + r->after_conversation_days) {
            /* no call within the period after a conversation (its day is day 1) */
            int32_t d = cust->u.cust.conversation + r->after_conversation_days;
            if (!rule[0])
                snprintf(rule, sizeof rule, "after_conversation:%dd", r->after_conversation_days);
            t = cm_tz_local_to_utc(tz, d, at / 60, at % 60);
            continue;
        }
        if (r->ncaps == 0 || sch_caps_check(r, log, channel, today, &ok_day, &hit) == 0)
            break;
        n = cm_tz_local_to_utc(tz, ok_day, at / 60, at % 60);
        if (n <= t)
            break; /* cannot happen: ok_day is later */
        if (!rule[0])
            snprintf(rule, sizeof rule, "%s", hit->name);
        t = n;
    }
    if (t <= c->now)
        return 0;
    char h[200];
    if (idx < 0)
        snprintf(h, sizeof h, "%c@%lld!%s;",
                 idx == -1         ? 't'
                 : idx == PLAN_IDX ? 'n'
                                   : NOTICE_KIND(idx),
                 (long long)c->now, rule);
    else
        snprintf(h, sizeof h, "%d.%d@%lld!%s;", idx, v->attempt, (long long)c->now, rule);
    hist(inv, h);
    if (decide(c, inv, idx, rule, c->now) < 0)
        return -1;
    /* the command, when it goes, says which rules moved it */
    char mark[104];
    snprintf(mark, sizeof mark, "%s;", rule);
    if ((!v->moved_rules || !strstr(v->moved_rules, mark)) &&
        (!v->moved_rules || strlen(v->moved_rules) < 16 * 40) &&
        sch_str_append(&v->moved_rules, mark) < 0)
        return -1;
    v->next_ms = t;
    c->deferred++;
    return 1;
}

/* Counts a send on channel now in the debtor's send log, when a cap may
 * need it (the customer record is then written back). -1 out of memory. */
static int log_send(sch_ctx *c, sch_rec *cust, const cm_tz *tz, int channel)
{
    const sch_clock_rules *r = rules_of(c, cust);
    if (!r || !cust || !c->pol->contact.any_caps)
        return 0;
    int32_t today;
    int minute;
    cm_tz_local(tz, c->now, &today, &minute);
    char *n = sch_sendlog_add(cust->u.cust.sendlog, today, channel);
    if (!n)
        return -1;
    free(cust->u.cust.sendlog);
    cust->u.cust.sendlog = n;
    cust->dirty = 1;
    return 0;
}

/* 1 when the debtor has an address for channel: an email for email, a
 * phone for sms and calls (the contact the commands carry). */
static int has_address(const sch_rec *cust, ct_channel ch)
{
    const char *ct = cust ? cust->u.cust.contact : NULL;
    switch (ch) {
    case CT_CH_EMAIL:
        return ct && strstr(ct, "\"email\":\"") != NULL;
    case CT_CH_SMS:
    case CT_CH_CALL_TASK:
        return ct && strstr(ct, "\"phone\":\"") != NULL;
    default:
        return 1;
    }
}

/* A step's channel choice: the first of its channels that is in the
 * debtor's preference (when they gave one), not opted out or ceased, and
 * has an address; -1 when none qualifies. */
static int pick_channel(const sch_step *st, const sch_rec *cust)
{
    const char *prefer = cust ? cust->u.cust.prefer : NULL;
    for (int k = 0; k < st->nchannels; k++) {
        const char *name = ct_channel_name(st->channels[k]);
        if (prefer && !sch_csv_has(prefer, name))
            continue;
        if (!blocked(cust, name) && has_address(cust, st->channels[k]))
            return k;
    }
    return -1;
}

/* A step with an offer, sent on local day: its terms, as of that day,
 * become the invoice's open offer (replacing an older one); the command
 * carries them (records.c). */
static void make_offer(sch_ctx *c, sch_rec *inv, const sch_rec *cust, const sch_step *st,
                       int32_t day)
{
    sch_inv *v = &inv->u.inv;
    sch_amounts am;
    sch_offer_terms t;
    char e[256];
    if (st->offer.kind == SCH_OFFER_NONE || st->offer.kind == SCH_OFFER_PLAN)
        return; /* a plan offer is a choice: nothing to track until plan.agreed */
    if (sch_inv_amounts(c->pol, inv, cust, day, &am, NULL, e, sizeof e) < 0 ||
        sch_offer_terms_for(&st->offer, v->due, day, &am, &t) < 0) {
        v->offer_kind = 0;
        return;
    }
    v->offer_kind = st->offer.kind == SCH_OFFER_DISCOUNT ? 'd' : 's';
    v->offer_pay = t.pay_minor;
    v->offer_forgiven = t.forgiven_minor;
    v->offer_until = t.valid_until;
    v->offer_paid = 0;
    inv->dirty = 1;
}

/* A payment of amt on local day towards inv's open offer: once the
 * payments made while it is valid reach its amount, the rest of the
 * invoice is forgiven (principal as a credit, fees waived) and
 * invoice.settled is published. 1 when it settled the invoice. */
static int offer_payment(sch_ctx *c, sch_rec *inv, int64_t amt, const char *pid, int32_t day)
{
    sch_inv *v = &inv->u.inv;
    if ((v->offer_kind != 'd' && v->offer_kind != 's') || day > v->offer_until || v->status != 'o')
        return 0;
    v->offer_paid += amt;
    inv->dirty = 1;
    if (v->offer_paid < v->offer_pay)
        return 0;
    int64_t left = sch_inv_outstanding(v);
    if (left == 0) { /* paid in full anyway: nothing to forgive */
        v->offer_kind = 0;
        return 0;
    }
    char key[CT_KEY_MAX], src[SCH_CMD_ID_LEN], id[SCH_CMD_ID_LEN];
    sch_tenant_key(key, sizeof key, inv->tenant, v->customer);
    v->credited += sch_inv_principal(v);
    v->fees -= sch_inv_fees_owed(v);
    if (sch_command_id_thanks(src, sizeof src, inv->tenant, inv->id, pid) == 0) {
        char *payload = sch_event_settled(inv, src, c->now, left, id, sizeof id);
        c->money[3]++;
        if (out_add(c, v->part, 'e', id, key, payload) < 0)
            c->oom = 1;
    }
    v->offer_kind = 'x'; /* settled: no interest or compensation is owed any more */
    return 1;
}

/* Publishes an invoice.fee_charged (arg: the step; day: charged on) or
 * invoice.fee_waived (arg: the ct_waiver) of amount for inv, its id
 * derived from src (the command or payment that caused it). */
static int money_event(sch_ctx *c, const sch_rec *inv, ct_type type, const char *src,
                       const char *key, int64_t amount, int arg, int32_t day)
{
    char id[SCH_CMD_ID_LEN];
    char *payload = sch_event_fee(inv, type, src, c->now, amount, arg, day, id, sizeof id);
    c->money[type == CT_EV_INVOICE_FEE_CHARGED ? 0 : 1]++;
    return out_add(c, inv->u.inv.part, 'e', id, key, payload);
}

/* The principal of inv was paid in full on day by payment pid: its fees
 * charged within waive_if_paid_within_days are waived, and with
 * chase_unpaid_fees false so is every fee still owed; one
 * invoice.fee_waived per reason. */
static void waive_fees(sch_ctx *c, sch_rec *inv, const char *pid, int32_t day)
{
    sch_inv *v = &inv->u.inv;
    int64_t owed = sch_inv_fees_owed(v), within = 0;
    if (owed <= 0 || !v->fee_log)
        return;
    for (const char *s = v->fee_log; *s;) {
        char *end;
        long on = strtol(s, &end, 10);
        if (*end != ':')
            break;
        long long amt = strtoll(end + 1, &end, 10);
        if (*end != ';')
            break;
        if (sch_fee_waived(&c->pol->fees, (int32_t)on, day))
            within += amt;
        s = end + 1;
    }
    if (within > owed)
        within = owed;
    int64_t rest = c->pol->fees.chase_unpaid ? 0 : owed - within;
    char key[CT_KEY_MAX], src[SCH_CMD_ID_LEN];
    sch_tenant_key(key, sizeof key, inv->tenant, v->customer);
    if (sch_command_id_thanks(src, sizeof src, inv->tenant, inv->id, pid) < 0)
        return;
    v->fees -= within + rest;
    inv->dirty = 1;
    if ((within > 0 && money_event(c, inv, CT_EV_INVOICE_FEE_WAIVED, src, key, within,
                                   CT_WAIVER_PAID_WITHIN, day) < 0) ||
        (rest > 0 && money_event(c, inv, CT_EV_INVOICE_FEE_WAIVED, src, key, rest,
                                 CT_WAIVER_PRINCIPAL_PAID, day) < 0))
        c->oom = 1;
}

/* Publishes invoice.interest_claimed for the claim command id of inv. */
static int claim_event(sch_ctx *c, const sch_rec *inv, const sch_rec *cust, const char *cmd_id,
                       const char *key)
{
    sch_amounts am;
    sch_interest_result ir;
    char e[256], id[SCH_CMD_ID_LEN];
    const sch_inv *v = &inv->u.inv;
    const sch_interest_rule *rule = sch_inv_interest_rule(c->pol, cust);
    if (!rule || sch_inv_amounts(c->pol, inv, cust, v->paid_on, &am, &ir, e, sizeof e) < 0)
        return 0;
    char *payload =
        sch_event_interest_claimed(inv, cmd_id, c->now, am.interest, am.compensation,
                                   sch_scheme_wire(rule->scheme), ir.days_late, id, sizeof id);
    c->money[2]++;
    return out_add(c, v->part, 'e', id, key, payload);
}

/* The timer after a thank-you: the claim of interest when one is due (a
 * paid invoice's notice_id), else an open promise's break, else none. */
static void after_thanks(sch_ctx *c, sch_inv *v)
{
    if (v->status == 'p' && v->notice_id[0]) {
        v->next_kind = 'i';
        v->next_ms = c->now;
        return;
    }
    v->next_kind = v->promise_id[0] ? 'p' : 0; /* an open promise still breaks */
    v->next_ms = v->promise_id[0] ? v->promise_until : 0;
}

/* ---- one message per debtor (grouping) ---- */

/* The round's message of cust on channel ch on local day (its first
 * gathered step), or NULL. */
static const sch_gathered *gathered(const sch_ctx *c, const sch_rec *cust, ct_channel ch,
                                    int32_t day)
{
    for (size_t i = 0; i < c->ngath; i++)
        if (c->gath[i].cust == cust && c->gath[i].day == day && c->gath[i].item.st.channel == ch)
            return &c->gath[i];
    return NULL;
}

/* Gathers inv's step st (channel chosen), due at its next_ms, for the
 * message of cust on local day: sch_fire_groups sends it. */
static int gather(sch_ctx *c, sch_rec *inv, sch_rec *cust, const sch_step *st, int32_t day)
{
    const sch_inv *v = &inv->u.inv;
    if (c->ngath == c->capgath) {
        size_t nc = c->capgath ? c->capgath * 2 : 16;
        sch_gathered *ng = realloc(c->gath, nc * sizeof *ng);
        if (!ng)
            return -1;
        c->gath = ng;
        c->capgath = nc;
    }
    sch_gathered *g = &c->gath[c->ngath];
    memset(g, 0, sizeof *g);
    g->item.inv = inv;
    g->item.st = *st;
    g->item.step = v->step;
    g->item.attempt = v->attempt;
    g->item.scheduled = v->next_ms;
    if (v->moved_rules && !(g->item.rules = strdup(v->moved_rules)))
        return -1;
    g->cust = cust;
    g->day = day;
    c->ngath++;
    return 0;
}

/* 1 when v's next ladder step is an escalation with "to". */
static int hands_over(const sch_ctx *c, const sch_inv *v)
{
    const char *sn = v->strategy, *vn = v->variant;
    if (!sn[0])
        sch_policy_fallback(c->pol, &sn, &vn);
    const sch_ladder *l = sch_policy_ladder(c->pol, sn, vn);
    return l && v->step >= 0 && v->step < l->nsteps && l->steps[v->step].to != CT_TO_NONE;
}

/* 1 when inv's due timer needs its debtor whole, with every open invoice:
 * a plan's timer always; a ladder step when grouping, when it hands a
 * case over or the debtor has an escalation held (asked again as the
 * step fires). Picks inv's tenant's policy. */
static int needs_whole(sch_ctx *c, const sch_rec *inv, const sch_rec *cust)
{
    if (inv->u.inv.next_kind != 's' && inv->u.inv.next_kind != 'n')
        return 0;
    pick_policy(c, inv->tenant);
    return inv->u.inv.next_kind == 'n' || c->pol->grouping ||
           (c->pol->escalation.enabled &&
            ((cust && cust->loaded && cust->u.cust.esc.state == 'h') ||
             hands_over(c, &inv->u.inv)));
}

/* Adds cust's open invoices to the map: -1 out of memory. */
static int add_open(sch_ctx *c, const sch_rec *cust)
{
    char key[512];
    for (int k = 0; k < cust->u.cust.open.n; k++) {
        sch_key(key, sizeof key, c->prefix, 'i', cust->tenant, cust->u.cust.open.v[k]);
        if (!sch_map_add(c->map, key, SCH_T_INV, cust->tenant, cust->u.cust.open.v[k]))
            return -1;
    }
    return 0;
}

/* The debtor record of invoice inv in the map (NULL when absent). */
static sch_rec *debtor_of(sch_ctx *c, const sch_rec *inv)
{
    char key[512];
    sch_key(key, sizeof key, c->prefix, 'c', inv->tenant, inv->u.inv.customer);
    return sch_map_get(c->map, key);
}

int sch_plan_fire(sch_ctx *c, size_t nrec, int phase)
{
    int n = 0;
    if (phase == 1) {
        for (size_t i = 0; i < nrec; i++) {
            sch_rec *inv = sch_map_at(c->map, i);
            if (!inv || inv->type != SCH_T_INV || !inv->exists || inv->u.inv.next_ms > c->now)
                continue;
            sch_rec *cust = debtor_of(c, inv);
            if (!needs_whole(c, inv, cust))
                continue;
            if (cust && cust->loaded && cust->u.cust.partial) {
                sch_rec_unload(cust);
                n++;
            }
        }
        return n;
    }
    size_t count = sch_map_count(c->map);
    for (size_t i = 0; i < count; i++) {
        sch_rec *cust = sch_map_at(c->map, i);
        if (cust->type != SCH_T_CUST || !cust->loaded || cust->u.cust.partial || !cust->exists)
            continue;
        if (add_open(c, cust) < 0)
            return -1;
    }
    return 0;
}

/* 1 when inv is an invoice of the map, loaded, whose own timer is due at
 * c->now, and whose debtor is loaded whole: *cust is it. */
static int due_whole(sch_ctx *c, const sch_rec *inv, sch_rec **cust)
{
    if (inv->type != SCH_T_INV || !inv->loaded || !inv->exists || !inv->u.inv.next_kind ||
        inv->u.inv.next_ms > c->now)
        return 0;
    *cust = debtor_of(c, inv);
    return *cust && (*cust)->loaded && (*cust)->exists && !(*cust)->u.cust.partial;
}

int sch_plan_due(sch_ctx *c, int phase)
{
    size_t count = sch_map_count(c->map);
    int n = 0;
    for (size_t i = 0; i < count; i++) {
        sch_rec *inv = sch_map_at(c->map, i), *cust = NULL;
        if (!due_whole(c, inv, &cust))
            continue;
        n++;
        if (phase == 2)
            inv->fire_due = 1;
        else if (needs_whole(c, inv, cust) && add_open(c, cust) < 0)
            return -1;
    }
    return n;
}

/* 1 when inv's next step may join the message of cust on channel ch on
 * local day: a ladder step of its own due later that day, debtor-facing,
 * on that channel (its choice), not held, without an offer, and not yet
 * in the message. */
static int may_join(sch_ctx *c, const sch_rec *inv, const sch_rec *cust, ct_channel ch, int32_t day,
                    size_t from)
{
    const sch_inv *v = &inv->u.inv;
    if (!inv->loaded || !inv->exists || v->status != 'o' || v->disputed || v->next_kind != 's' ||
        v->next_ms <= c->now)
        return 0;
    int32_t d;
    int minute;
    cm_tz_local(sch_cust_tz(c, cust), v->next_ms, &d, &minute);
    if (d != day)
        return 0;
    const char *sn = v->strategy, *vn = v->variant;
    if (!sn[0])
        sch_policy_fallback(c->pol, &sn, &vn);
    const sch_ladder *l = sch_policy_ladder(c->pol, sn, vn);
    if (!l || v->step < 0 || v->step >= l->nsteps)
        return 0;
    const sch_step *st = &l->steps[v->step];
    if (st->kind == CT_KIND_ESCALATION || st->offer.kind != SCH_OFFER_NONE ||
        (st->min_outstanding_minor > 0 && sch_inv_outstanding(v) < st->min_outstanding_minor))
        return 0;
    if (st->nchannels > 0) {
        int pick = pick_channel(st, cust);
        if (pick < 0 || st->channels[pick] != ch)
            return 0;
    } else if (st->channel != ch || blocked(cust, ct_channel_name(ch))) {
        return 0;
    }
    for (size_t i = from; i < c->ngath; i++)
        if (c->gath[i].item.inv == inv)
            return 0;
    return 1;
}

static int fire_inner(sch_ctx *c, sch_rec *inv, sch_rec *cust);

/* The timer of the invoice running a plan (kind 'n'): the current
 * instalment breaks when still short at its break instant (plan.broken,
 * the ladders resume), else its next reminder goes (through the contact
 * rules, like a ladder step; counted by the caps), and the timer moves to
 * the next action. The debtor is loaded whole (sch_plan_fire). */
static int plan_fire(sch_ctx *c, sch_rec *inv, sch_rec *cust, const cm_tz *tz, const char *key)
{
    sch_inv *v = &inv->u.inv;
    sch_cust *cu = cust ? &cust->u.cust : NULL;
    sch_rec *open[CT_LIST_MAX];
    size_t n = 0;
    sch_plan_pos pos;
    char h[SCH_ID_LEN + 64], id[SCH_CMD_ID_LEN];
    if (!cu || cu->partial || !cu->plan.id[0] || strcmp(cu->plan.primary, inv->id) != 0 ||
        plan_open(c, cust, open, &n) < 0) {
        v->next_kind = 0; /* the plan is gone or moved on: the ladder resumes */
        arm(c, inv, cust, v->step, 1);
        return 0;
    }
    if (!c->pol->plans.enabled || sch_plan_position(cu->plan.schedule, cu->plan.paid, &pos) < 0 ||
        pos.k >= pos.n)
        return plan_settle(c, cust) < 0 ? -1 : 0;
    int64_t brk = sch_plan_break_at(tz, pos.due, c->pol->plans.grace_days);
    if (c->now >= brk) { /* plan.broken at the break instant, not the round's (a late round) */
        c->plans_broken++;
        return plan_end(c, cust, open, n, inv, CT_EV_PLAN_BROKEN, &pos, "broken", brk) < 0 ? -1 : 1;
    }
    const sch_ladder *l = &c->pol->ladders[c->pol->plans.ladder];
    int s = cu->plan.step, sent = 0;
    if (s < 0 || s >= l->nsteps || sch_step_time(&l->steps[s], tz, pos.due) > c->now) {
        v->next_ms = plan_next_ms(c, cust); /* nothing due yet */
        return 0;
    }
    sch_step chosen = l->steps[s];
    const char *held = NULL;
    if (chosen.nchannels > 0) {
        int pick = pick_channel(&chosen, cust);
        if (pick < 0)
            held = "no_channel";
        else
            chosen.channel = chosen.channels[pick];
    } else {
        held = blocked(cust, ct_channel_name(chosen.channel));
    }
    char *payload = sch_command_instalment(inv, (const sch_rec *const *)open, n, cust, c->pol, tz,
                                           &chosen, s, &pos, v->next_ms, c->now, id, sizeof id);
    if (!payload)
        return id_too_long(inv);
    c->plan_step = &chosen;
    c->plan_cmd = id;
    int d = held ? 0
                 : defer(c, inv, cust, tz, PLAN_IDX, chosen.send_hour * 60 + chosen.send_minute,
                         (int)chosen.channel);
    if (held && decide(c, inv, PLAN_IDX, held, v->next_ms) < 0)
        d = -1;
    c->plan_step = NULL;
    c->plan_cmd = NULL;
    if (d != 0) { /* moved by the contact rules (the timer with it), or out of memory */
        free(payload);
        return d;
    }
    if (held) {
        free(payload);
        snprintf(h, sizeof h, "n@%lld!hold:%d/%d;", (long long)c->now, pos.k + 1, s);
        c->skipped++;
    } else {
        if (out_add(c, v->part, 'c', id, key, payload) < 0)
            return -1;
        snprintf(h, sizeof h, "n@%lld!reminder:%d/%d;", (long long)c->now, pos.k + 1, s);
        c->fired++;
        sent = 1;
        if (log_send(c, cust, tz, (int)chosen.channel) < 0)
            return -1;
    }
    hist(inv, h);
    free(v->moved_rules);
    v->moved_rules = NULL;
    cu->plan.step = s + 1;
    cust->dirty = 1;
    v->next_ms = plan_next_ms(c, cust);
    return sent;
}

static int cmp_items(const void *a, const void *b)
{
    const sch_group_item *x = a, *y = b;
    if (x->inv->u.inv.due != y->inv->u.inv.due)
        return x->inv->u.inv.due < y->inv->u.inv.due ? -1 : 1;
    return strcmp(x->inv->id, y->inv->id);
}

/* Sends one message of items[0..n) (sorted) of cust. */
static int send_group(sch_ctx *c, sch_group_item *items, size_t n, sch_rec *cust, int32_t day)
{
    char key[CT_KEY_MAX], id[SCH_CMD_ID_LEN];
    const sch_rec *inv = items[0].inv;
    const cm_tz *tz = sch_cust_tz(c, cust);
    sch_tenant_key(key, sizeof key, inv->tenant, inv->u.inv.customer);
    char *payload;
    if (n == 1) { /* the step's own command, as without grouping */
        sch_inv *v = &items[0].inv->u.inv;
        char *keep = v->moved_rules;
        v->moved_rules = items[0].rules;
        payload = sch_command_step(items[0].inv, cust, c->pol, tz, &items[0].st, items[0].step,
                                   items[0].scheduled, c->now);
        v->moved_rules = keep;
        if (sch_command_id_step(id, sizeof id, inv->tenant, inv->id, items[0].step,
                                items[0].attempt) < 0)
            return id_too_long(inv);
    } else {
        if (sch_command_id_group(id, sizeof id, inv->tenant, inv->u.inv.customer,
                                 items[0].st.channel, day, items, n) < 0)
            return id_too_long(inv);
        payload = sch_command_group(items, n, cust, c->pol, tz, id, c->now);
    }
    return out_add(c, inv->u.inv.part, 'c', id, key, payload);
}

int sch_fire_groups(sch_ctx *c)
{
    size_t heads = c->ngath, done = 0;
    sch_group_item *items = NULL;
    int rc = -1;
    char key[512];
    /* steps due later the same local day join each message */
    for (size_t g = 0; g < heads; g++) {
        sch_rec *cust = c->gath[g].cust;
        ct_channel ch = c->gath[g].item.st.channel;
        int32_t day = c->gath[g].day;
        if (gathered(c, cust, ch, day) != &c->gath[g])
            continue; /* not the message's first step */
        pick_policy(c, cust->tenant);
        for (int k = 0; cust->loaded && !cust->u.cust.partial && k < cust->u.cust.open.n; k++) {
            sch_key(key, sizeof key, c->prefix, 'i', cust->tenant, cust->u.cust.open.v[k]);
            sch_rec *inv = sch_map_get(c->map, key);
            if (!inv || !may_join(c, inv, cust, ch, day, 0))
                continue;
            c->pulling = 1;
            int r = sch_fire_invoice(c, inv, cust);
            c->pulling = 0;
            if (r < 0)
                goto cleanup;
        }
    }
    items = malloc((c->ngath ? c->ngath : 1) * sizeof *items);
    if (!items)
        goto cleanup;
    for (size_t g = 0; g < c->ngath; g++) {
        sch_gathered *h = &c->gath[g];
        if (gathered(c, h->cust, h->item.st.channel, h->day) != h)
            continue;
        size_t n = 0;
        for (size_t i = g; i < c->ngath; i++)
            if (c->gath[i].cust == h->cust && c->gath[i].day == h->day &&
                c->gath[i].item.st.channel == h->item.st.channel)
                items[n++] = c->gath[i].item;
        qsort(items, n, sizeof *items, cmp_items);
        pick_policy(c, h->cust->tenant);
        for (size_t at = 0; at < n; at += CT_LIST_MAX) /* the contract's limit */
            if (send_group(c, items + at, n - at < CT_LIST_MAX ? n - at : CT_LIST_MAX, h->cust,
                           h->day) < 0)
                goto cleanup;
        done += n;
    }
    rc = (int)done;
cleanup:
    free(items);
    return rc;
}

int sch_fire_invoice(sch_ctx *c, sch_rec *inv, sch_rec *cust)
{
    int rc = fire_inner(c, inv, cust);
    if (rc >= 0)
        exposure_sync(c, inv, cust); /* a fee charged, a settlement */
    return rc;
}

static int fire_inner(sch_ctx *c, sch_rec *inv, sch_rec *cust)
{
    sch_inv *v = &inv->u.inv;
    char key[CT_KEY_MAX], id[SCH_CMD_ID_LEN], h[160];
    pick_policy(c, inv->tenant);
    inv->dirty = 1; /* at least the timer is rewritten */
    if (!inv->exists || v->next_kind == 0) {
        v->next_kind = 0;
        v->next_ms = 0;
        return 0;
    }
    if (v->next_ms > c->now && !c->pulling)
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
    if (v->next_kind == 'p') { /* a promise's break instant */
        if (!v->promise_id[0]) {
            v->next_kind = 0, v->next_ms = 0;
            return 0;
        }
        snprintf(h, sizeof h, "p@%lld!broken;", (long long)c->now);
        hist(inv, h);
        int primary = !v->promise_primary[0];
        if (primary)
            respond(c, cust, CT_EV_PROMISE_BROKEN, v->next_ms, v->promise_id, NULL);
        if (primary && promise_publish(c, inv, CT_EV_PROMISE_BROKEN, v->next_ms) < 0)
            return -1;
        c->broken += primary;
        if (primary && cust) { /* the debtor's history (segments, risk) */
            cust->u.cust.broken++;
            cust->dirty = 1;
        }
        if (primary && c->pol->promise_on_broken) {
            /* the notice first (from the primary, whatever its status),
             * then the ladder resumes, missed steps collapsed */
            char pid[SCH_ID_LEN];
            cm_strlcpy(pid, v->promise_id, sizeof pid);
            promise_clear(c, inv, cust, 0);
            cm_strlcpy(v->notice_id, pid, sizeof v->notice_id);
            v->next_kind = 'b';
            v->next_ms = c->now;
            return 1;
        }
        promise_clear(c, inv, cust, 1); /* the ladder resumes, missed steps collapsed */
        return primary;
    }
    if (v->next_kind == 'n') /* an instalment plan's reminder or break */
        return plan_fire(c, inv, cust, tz, key);
    if (v->next_kind == 'c' || v->next_kind == 'b' || v->next_kind == 'i') { /* a one-off notice */
        char kind = v->next_kind;
        ct_channel ch;
        const char *tpl;
        sch_notice_of(c->pol, kind, &ch, &tpl);
        /* a promise-broken notice or a claim respects opt-outs and cease
         * like any message; the cease confirmation is the one message a
         * cease allows */
        const char *held = kind != 'c' ? blocked(cust, ct_channel_name(ch)) : NULL;
        if (held) {
            snprintf(h, sizeof h, "%c@%lld!hold;", kind, (long long)c->now);
            hist(inv, h);
            c->skipped++;
            if (decide(c, inv, NOTICE_IDX(kind), held, v->next_ms) < 0)
                return -1;
        } else {
            int d = defer(c, inv, cust, tz, NOTICE_IDX(kind), -1, (int)ch);
            if (d != 0)
                return d;
            if (sch_command_id_notice(id, sizeof id, kind, inv->tenant, inv->id, v->notice_id) < 0)
                return id_too_long(inv);
            if (out_add(c, v->part, 'c', id, key,
                        sch_command_notice(inv, kind, cust, c->pol, tz, v->next_ms, c->now)) < 0)
                return -1;
            if (kind == 'i' && claim_event(c, inv, cust, id, key) < 0)
                return -1;
            snprintf(h, sizeof h, "%c@%lld;", kind, (long long)c->now);
            hist(inv, h);
            c->fired++;
            if (log_send(c, cust, tz, (int)ch) < 0)
                return -1;
        }
        v->notice_id[0] = 0;
        free(v->moved_rules);
        v->moved_rules = NULL;
        v->next_kind = 0;
        arm(c, inv, cust, v->step, 1); /* the ladder goes on (after a cease: held, but for
                                        * escalation) */
        return !held;
    }
    if (v->next_kind == 't') {
        /* a thanks respects opt-outs and cease like any message */
        const char *held = blocked(cust, ct_channel_name(c->pol->thanks_channel));
        if (held) {
            snprintf(h, sizeof h, "t@%lld!hold;", (long long)c->now);
            hist(inv, h);
            c->skipped++;
            if (decide(c, inv, -1, held, v->next_ms) < 0)
                return -1;
            after_thanks(c, v);
            return 0;
        }
        int d = defer(c, inv, cust, tz, -1, -1, (int)c->pol->thanks_channel);
        if (d != 0)
            return d;
        if (sch_command_id_thanks(id, sizeof id, inv->tenant, inv->id, v->thanks_pid) < 0)
            return id_too_long(inv);
        int rc = out_add(c, v->part, 'c', id, key,
                         sch_command_thanks(inv, cust, c->pol, tz, v->next_ms, c->now));
        if (rc < 0)
            return -1;
        after_thanks(c, v);
        free(v->moved_rules);
        v->moved_rules = NULL;
        snprintf(h, sizeof h, "t@%lld;", (long long)c->now);
        hist(inv, h);
        c->fired++;
        return log_send(c, cust, tz, (int)c->pol->thanks_channel) < 0 ? -1 : 1;
    }
    const sch_ladder *l = sch_policy_ladder(c->pol, v->strategy, v->variant);
    if (!l || v->step < 0 || v->step >= l->nsteps || v->status != 'o' || v->disputed) {
        v->next_kind = 0;
        v->next_ms = 0;
        return 0;
    }
    if (reassess(c, inv, cust))
        return c->oom ? -1 : 0;
    const sch_step *st = &l->steps[v->step];
    int fired = 0;
    if (c->pol->escalation.enabled && cust && !c->pulling) {
        /* the debtor's next step fires: a held escalation is asked again */
        int r = cust->u.cust.esc.state == 'h' ? esc_retry(c, cust) : 0;
        if (r == -1)
            return -1;
        if (in_case(c, cust, inv->id))
            return 0; /* now with the agency: paused (arm cleared the timer) */
        if (st->kind == CT_KIND_ESCALATION && st->to != CT_TO_NONE) {
            r = esc_try(c, inv, cust, st, v->step, v->next_ms, 0);
            if (r < 0)
                return r == -2 ? 0 : -1;
            if (r > 0) { /* placed: the ladder goes on from the next step if recalled */
                v->step++;
                return 1;
            }
            goto next_step; /* held: the ladder goes on */
        }
    }
    /* handing a debt to an agency is not a contact with the debtor: an
     * escalation goes on through a cease or an opt-out, at any hour */
    int facing = st->kind != CT_KIND_ESCALATION;
    const char *held = NULL;
    sch_step chosen;
    if (facing && st->nchannels > 0) { /* channel choice */
        int pick = pick_channel(st, cust);
        if (pick < 0) {
            held = "no_channel";
        } else {
            chosen = *st;
            chosen.channel = st->channels[pick];
            st = &chosen;
            if (pick > 0) {
                char r[48];
                snprintf(r, sizeof r, "channel:fallback:%s;", ct_channel_name(st->channel));
                if (!v->moved_rules || !strstr(v->moved_rules, r))
                    if (sch_str_append(&v->moved_rules, r) < 0)
                        return -1;
            }
        }
    } else if (facing) {
        held = blocked(cust, ct_channel_name(st->channel));
    }
    int cond = st->min_outstanding_minor > 0 && sch_inv_outstanding(v) < st->min_outstanding_minor;
    /* one message per debtor: a step joins the round's message of its
     * debtor, channel and local day, which already passed the clock and
     * the caps; the first step of a message goes through them */
    int group =
        !held && !cond && facing && cust && c->pol->grouping && st->offer.kind == SCH_OFFER_NONE;
    int32_t gday = group ? local_today(c, cust) : 0;
    const sch_gathered *joined = group ? gathered(c, cust, st->channel, gday) : NULL;
    if (c->pulling && !joined)
        return 0; /* not for a message of this round (sch_fire_groups checked) */
    if (!held && !cond && facing && !joined) {
        int d = defer(c, inv, cust, tz, v->step, st->send_hour * 60 + st->send_minute,
                      (int)st->channel);
        if (d != 0)
            return d;
    }
    if (held) {
        snprintf(h, sizeof h, "%d.%d@%lld!hold;", v->step, v->attempt, (long long)c->now);
        hist(inv, h);
        c->skipped++;
        if (decide(c, inv, v->step, held, v->next_ms) < 0)
            return -1;
    } else if (cond) {
        snprintf(h, sizeof h, "%d.%d@%lld!cond;", v->step, v->attempt, (long long)c->now);
        hist(inv, h);
        c->skipped++;
        if (decide(c, inv, v->step, "min_outstanding_minor", v->next_ms) < 0)
            return -1;
    } else {
        if (sch_command_id_step(id, sizeof id, inv->tenant, inv->id, v->step, v->attempt) < 0)
            return id_too_long(inv);
        /* the step's fee is charged as its command goes, and shows in it */
        int64_t fee = st->fee.enabled ? sch_fee_amount(&st->fee, &c->pol->fees, v->currency,
                                                       v->amount, sch_inv_principal(v), v->fees)
                                      : 0;
        int32_t day = local_today(c, cust);
        if (fee > 0) {
            char fl[48];
            snprintf(fl, sizeof fl, "%ld:%lld;", (long)day, (long long)fee);
            if (sch_str_append(&v->fee_log, fl) < 0)
                return -1;
            v->fees += fee;
        }
        make_offer(c, inv, cust, st, day);
        int rc =
            group
                ? gather(c, inv, cust, st, gday)
                : out_add(c, v->part, 'c', id, key,
                          sch_command_step(inv, cust, c->pol, tz, st, v->step, v->next_ms, c->now));
        if (rc < 0)
            return -1;
        if (fee > 0 &&
            money_event(c, inv, CT_EV_INVOICE_FEE_CHARGED, id, key, fee, v->step, day) < 0)
            return -1;
        hist_step(inv, v->step, v->attempt, c->now);
        c->fired++;
        fired = 1;
        /* a message counts once against the caps */
        if (facing && !joined && log_send(c, cust, tz, (int)st->channel) < 0)
            return -1;
    }
next_step:
    free(v->moved_rules); /* this send is done: sent or held */
    v->moved_rules = NULL;
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
