/* event.c -- the canonical event decoder and its Kafka headers (event.h).
 *
 * Design: one small getter per JSON shape (id, text, amount, date, list)
 * checks presence, type and the CT_* limit of one member and records the
 * first problem as "field: rule (detail)"; the per-shape functions below
 * read the members of their types in docs/contracts.md order. Getters do
 * nothing once a problem was recorded, so a shape function reads straight
 * through and the caller checks once. */
#include "event.h"
#include "command.h"
#include "internal.h"

#include "clock.h"
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct dctx {
    const cm_jv *obj; /* the object members are read from */
    const char *path; /* "data", "data.allocations[3]", "" (envelope) */
    char *err;
    size_t errlen;
    int failed;
} dctx;

static void fail(dctx *c, const char *name, const char *rule, const char *detail)
{
    if (c->failed)
        return;
    c->failed = 1;
    snprintf(c->err, c->errlen, "%s%s%s: %s%s%s%s", c->path, c->path[0] ? "." : "", name, rule,
             detail ? " (" : "", detail ? detail : "", detail ? ")" : "");
}

/* The member name, or NULL (a problem recorded when required or wrong).
 * JSON null counts as absent. */
/* The member name of the object being decoded, or NULL: absent or JSON
 * null (a "required" failure when required), or an earlier failure. */
static const cm_jv *member(dctx *c, const char *name, int required)
{
    if (c->failed)
        return NULL;
    const cm_jv *v = cm_jv_get(c->obj, name);
    if (!v || v->type == CM_JV_NULL) {
        if (required)
            fail(c, name, "required", NULL);
        return NULL;
    }
    return v;
}

static const char *str(dctx *c, const char *name, int required, size_t max, int no_ctl)
{
    const cm_jv *v = member(c, name, required);
    if (!v)
        return NULL;
    if (v->type != CM_JV_STRING) {
        fail(c, name, "type", "must be a string");
        return NULL;
    }
    const char *s = v->u.s;
    size_t n = v->n;
    if (n == 0) {
        fail(c, name, "non_empty", NULL);
        return NULL;
    }
    if (n > max) {
        char d[48];
        snprintf(d, sizeof d, "longer than %zu bytes", max);
        fail(c, name, "max_length", d);
        return NULL;
    }
    for (size_t i = 0; no_ctl && i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            fail(c, name, "chars", "must not contain control characters");
            return NULL;
        }
    return s;
}

static const char *id(dctx *c, const char *name, int required)
{
    return str(c, name, required, CT_ID_MAX, 1);
}

static const char *text(dctx *c, const char *name, int required)
{
    return str(c, name, required, CT_TEXT_MAX, 0);
}

static const char *currency(dctx *c, const char *name)
{
    const char *s = str(c, name, 1, 3, 1);
    if (s && (strlen(s) != 3 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' ||
              s[2] < 'A' || s[2] > 'Z')) {
        fail(c, name, "currency", "must be an ISO 4217 code in upper case");
        return NULL;
    }
    return s;
}

static int64_t amount(dctx *c, const char *name)
{
    const cm_jv *v = member(c, name, 1);
    if (!v)
        return 0;
    if (v->type != CM_JV_INT) {
        fail(c, name, "type", "must be an integer number of minor units");
        return 0;
    }
    if (v->u.i < 0) {
        fail(c, name, "amount_negative", "must not be negative");
        return 0;
    }
    return v->u.i;
}

static ct_date date(dctx *c, const char *name, int required)
{
    ct_date d = {NULL, 0};
    const char *s = str(c, name, required, 10, 1);
    if (s && (strlen(s) != 10 || cm_date_parse(s, &d.day) != 0)) {
        fail(c, name, "date", "not a date (YYYY-MM-DD)");
        return d;
    }
    d.s = s;
    return d;
}

/* The array member name, or NULL when absent (problem recorded when
 * required, not an array or longer than CT_LIST_MAX). */
static const cm_jv *array(dctx *c, const char *name, int required)
{
    const cm_jv *v = member(c, name, required);
    if (!v)
        return NULL;
    if (v->type != CM_JV_ARRAY) {
        fail(c, name, "type", "must be an array");
        return NULL;
    }
    if (v->n > CT_LIST_MAX) {
        char d[48];
        snprintf(d, sizeof d, "more than %d items", CT_LIST_MAX);
        fail(c, name, "max_items", d);
        return NULL;
    }
    if (required && v->n == 0) {
        fail(c, name, "non_empty", NULL);
        return NULL;
    }
    return v;
}

/* The strings of an array member into v[0..*n): at most maxitems (a
 * problem recorded when more, or when required and empty), each 1 to
 * itemmax bytes. */
static void list(dctx *c, const char *name, int required, size_t maxitems, size_t itemmax,
                 const char **v, size_t *n)
{
    *n = 0;
    const cm_jv *a = array(c, name, required);
    if (a && a->n > maxitems) {
        char d[48];
        snprintf(d, sizeof d, "more than %zu items", maxitems);
        fail(c, name, "max_items", d);
        return;
    }
    size_t i = 0;
    for (const cm_jv *it = a ? a->u.first : NULL; it && !c->failed; it = it->next, i++) {
        size_t len = it->type == CM_JV_STRING ? it->n : 0;
        const char *s = it->type == CM_JV_STRING ? it->u.s : NULL;
        if (!s || len == 0 || len > itemmax) {
            char f[64], d[64];
            snprintf(f, sizeof f, "%s[%zu]", name, i);
            snprintf(d, sizeof d, "must be a string of 1 to %zu bytes", itemmax);
            fail(c, f, "item", d);
            return;
        }
        v[(*n)++] = s;
    }
}

static void strs(dctx *c, const char *name, int required, ct_strs *out)
{
    list(c, name, required, CT_LIST_MAX, CT_ID_MAX, out->v, &out->n);
}

static void channels(dctx *c, const char *name, ct_channels *out)
{
    out->n = 0;
    const cm_jv *a = array(c, name, 0);
    size_t i = 0;
    for (const cm_jv *it = a ? a->u.first : NULL; it && !c->failed; it = it->next, i++) {
        ct_channel ch = it->type == CM_JV_STRING ? ct_channel_parse(it->u.s, it->n) : CT_CH_NONE;
        int dup = 0;
        for (size_t k = 0; k < out->n; k++)
            dup |= out->v[k] == ch;
        char f[64];
        snprintf(f, sizeof f, "%s[%zu]", name, i);
        if (ch == CT_CH_NONE) {
            fail(c, f, "channel", "unknown channel");
            return;
        }
        if (dup) {
            fail(c, f, "unique", "duplicate channel");
            return;
        }
        out->v[out->n++] = ch;
    }
}

/* At most CT_ZONES_MAX zone names (tzdata is ingest's check). */
static void zones(dctx *c, const char *name, ct_zones *out)
{
    list(c, name, 0, CT_ZONES_MAX, CT_ZONE_MAX, out->v, &out->n);
}

/* An optional (CT_CH_NONE when absent) or required channel member. */
static ct_channel channel(dctx *c, const char *name, int required)
{
    const char *s = str(c, name, required, 16, 1);
    ct_channel ch = s ? ct_channel_parse(s, strlen(s)) : CT_CH_NONE;
    if (s && ch == CT_CH_NONE)
        fail(c, name, "channel", "unknown channel");
    return ch;
}

/* A required integer member from lo to hi (a problem "rule (detail)"
 * otherwise, and 0). */
static int64_t int_in(dctx *c, const char *name, int64_t lo, int64_t hi, const char *rule,
                      const char *detail)
{
    const cm_jv *v = member(c, name, 1);
    if (!v)
        return 0;
    if (v->type != CM_JV_INT || v->u.i < lo || v->u.i > hi) {
        fail(c, name, rule, detail);
        return 0;
    }
    return v->u.i;
}

/* An amount that must be > 0. */
static int64_t positive(dctx *c, const char *name)
{
    int64_t v = amount(c, name);
    if (!c->failed && v == 0)
        fail(c, name, "amount_positive", "must be greater than 0");
    return v;
}

/* A member naming one of names[0..count) (required when required): its
 * index, or -1 (absent, or a problem "rule (detail)"). */
static int name_in(dctx *c, const char *name, int required, const char *const *names, int count,
                   const char *rule, const char *detail)
{
    const char *s = str(c, name, required, CT_TYPE_MAX, 1);
    int i = s ? ct_name_lookup(names, count, s, strlen(s)) : -1;
    if (s && i < 0)
        fail(c, name, rule, detail);
    return i;
}

/* Item it, the i-th of the array member name, as an object read through
 * sub, a dctx of its own whose path ("data.allocations[3]") is written to
 * path. 0, with a problem "name[i]: type (must be an object <shape>)",
 * when the item is not an object. */
static int item(dctx *c, const cm_jv *it, const char *name, size_t i, const char *shape, char *path,
                size_t plen, dctx *sub)
{
    snprintf(path, plen, "%s.%s[%zu]", c->path, name, i);
    *sub = (dctx){it, path, c->err, c->errlen, 0};
    if (it->type == CM_JV_OBJECT)
        return 1;
    char f[48], d[64];
    snprintf(f, sizeof f, "%s[%zu]", name, i);
    snprintf(d, sizeof d, "must be an object %s", shape);
    fail(c, f, "type", d);
    return 0;
}

/* --- shapes -------------------------------------------------------------- */

static void d_invoice(dctx *c, ct_invoice *o)
{
    o->invoice_id = id(c, "invoice_id", 1);
    o->number = text(c, "number", 0);
    o->currency = currency(c, "currency");
    o->amount_minor = amount(c, "amount_minor");
    o->issued_on = date(c, "issued_on", 1);
    o->due_on = date(c, "due_on", 1);
    strs(c, "tags", 0, &o->tags);
    o->terms = text(c, "terms", 0);
    o->po_number = text(c, "po_number", 0);
}

static void d_payment(dctx *c, ct_payment *o)
{
    o->payment_id = id(c, "payment_id", 1);
    o->currency = currency(c, "currency");
    o->amount_minor = amount(c, "amount_minor");
    o->received_on = date(c, "received_on", 1);
    o->received_at = str(c, "received_at", 0, 64, 1);
    o->received_at_ms = 0;
    if (o->received_at && cm_time_parse_rfc3339(o->received_at, &o->received_at_ms) != 0)
        fail(c, "received_at", "rfc3339", "not an RFC 3339 timestamp");
    o->nallocations = 0;
    const cm_jv *a = array(c, "allocations", 0);
    int64_t sum = 0;
    size_t i = 0;
    for (const cm_jv *it = a ? a->u.first : NULL; it && !c->failed; it = it->next, i++) {
        char path[64];
        dctx sub;
        if (!item(c, it, "allocations", i, "{invoice_id, amount_minor}", path, sizeof path, &sub))
            return;
        ct_allocation *al = &o->allocations[o->nallocations++];
        al->invoice_id = id(&sub, "invoice_id", 1);
        al->amount_minor = amount(&sub, "amount_minor");
        if (sub.failed) {
            c->failed = 1;
            return;
        }
        sum = al->amount_minor > INT64_MAX - sum ? INT64_MAX : sum + al->amount_minor;
    }
    if (!c->failed && sum > o->amount_minor)
        fail(c, "allocations", "allocations_sum", "allocated more than amount_minor");
}

static void d_customer(dctx *c, ct_customer *o)
{
    o->name = text(c, "name", 1);
    o->email = str(c, "email", 0, 254, 1);
    o->phone = str(c, "phone", 0, 16, 1);
    o->timezone = str(c, "timezone", 0, 64, 1);
    o->locale = str(c, "locale", 0, 35, 1);
    o->country = str(c, "country", 0, 2, 1);
    o->region = str(c, "region", 0, CT_REGION_MAX, 1);
    o->kind = (ct_debtor_kind)name_in(c, "kind", 0, ct_debtor_kind_names, CT_DEBTOR_COUNT, "kind",
                                      "must be business or consumer");
    if (o->kind == CT_DEBTOR_NONE)
        o->kind = CT_DEBTOR_BUSINESS;
    zones(c, "extra_timezones", &o->extra_timezones);
    channels(c, "channels", &o->channels);
    channels(c, "opted_out", &o->opted_out);
    o->has_credit_limit = 0;
    o->credit_limit_minor = 0;
    o->credit_currency = NULL;
    const cm_jv *cl = cm_jv_get(c->obj, "credit_limit_minor");
    if (cl && cl->type != CM_JV_NULL) {
        o->credit_limit_minor = amount(c, "credit_limit_minor");
        o->credit_currency = currency(c, "credit_currency");
        o->has_credit_limit = !c->failed;
    }
    strs(c, "tags", 0, &o->tags);
}

static void d_contact_log(dctx *c, ct_contact_log *o)
{
    o->channel = channel(c, "channel", 1);
    const char *out = str(c, "outcome", 1, 32, 1);
    o->outcome = out ? ct_call_outcome_parse(out, strlen(out)) : CT_CALL_NONE;
    if (out && o->outcome == CT_CALL_NONE)
        fail(c, "outcome", "outcome", "unknown call outcome");
    o->at = str(c, "at", 1, 64, 1);
    o->at_ms = 0;
    if (o->at && cm_time_parse_rfc3339(o->at, &o->at_ms) != 0)
        fail(c, "at", "rfc3339", "not an RFC 3339 timestamp");
    strs(c, "invoice_ids", 0, &o->invoice_ids);
    o->agent = text(c, "agent", 0);
    o->notes = str(c, "notes", 0, CT_NOTES_MAX, 0);
}

/* escalation.placed (the scheduler's, issue 16) */
static void d_placement(dctx *c, ct_placement *o)
{
    o->case_id = id(c, "case_id", 1);
    o->to = (ct_escalation_to)name_in(c, "to", 1, ct_escalation_to_names, CT_TO_COUNT, "to",
                                      "must be agency or legal");
    strs(c, "invoice_ids", 1, &o->invoice_ids);
    o->currency = currency(c, "currency");
    o->placed_minor = positive(c, "placed_minor");
    o->expected_net_minor = positive(c, "expected_net_minor");
    o->command_id = str(c, "command_id", 1, CT_DERIVED_ID_MAX, 1);
}

/* escalation.remitted: the commission at most the amount collected */
static void d_remittance(dctx *c, ct_remittance *o)
{
    o->case_id = id(c, "case_id", 1);
    o->currency = currency(c, "currency");
    o->amount_minor = positive(c, "amount_minor");
    o->commission_minor = amount(c, "commission_minor");
    if (!c->failed && o->commission_minor > o->amount_minor)
        fail(c, "commission_minor", "commission_le_amount",
             "must not be more than data.amount_minor");
}

static void d_fee_charged(dctx *c, ct_fee_charged *o)
{
    o->invoice_id = id(c, "invoice_id", 1);
    o->currency = currency(c, "currency");
    o->amount_minor = positive(c, "amount_minor");
    o->step = (int)int_in(c, "step", 0, 1000000, "step", "must be an integer from 0 to 1000000");
    o->charged_on = date(c, "charged_on", 1);
}

static void d_fee_waived(dctx *c, ct_fee_waived *o)
{
    o->invoice_id = id(c, "invoice_id", 1);
    o->currency = currency(c, "currency");
    o->amount_minor = positive(c, "amount_minor");
    o->reason = (ct_waiver)name_in(c, "reason", 1, ct_waiver_names, CT_WAIVER_COUNT, "reason",
                                   "must be paid_within or principal_paid");
}

static void d_interest_claimed(dctx *c, ct_interest_claimed *o)
{
    o->invoice_id = id(c, "invoice_id", 1);
    o->currency = currency(c, "currency");
    o->interest_minor = amount(c, "interest_minor");
    o->compensation_minor = amount(c, "compensation_minor");
    o->scheme =
        (ct_interest_scheme)name_in(c, "scheme", 1, ct_scheme_names, CT_SCHEME_COUNT, "scheme",
                                    "must be uk_late_payment, eu_late_payment or contractual");
    o->days_late =
        (int)int_in(c, "days_late", 1, INT32_MAX, "days_late", "must be an integer greater than 0");
}

static void d_settled(dctx *c, ct_settled *o)
{
    o->invoice_id = id(c, "invoice_id", 1);
    o->currency = currency(c, "currency");
    o->paid_minor = amount(c, "paid_minor");
    o->forgiven_minor = positive(c, "forgiven_minor");
    o->offer = (ct_offer_kind)name_in(c, "offer", 1, ct_offer_kind_names, CT_OFFER_COUNT, "offer",
                                      "must be discount or settlement");
}

/* plan.agreed (issue 16): 1 to CT_PLAN_INSTALMENTS_MAX instalments, each
 * amount > 0, due dates strictly rising, summing to total_minor. */
static void d_plan(dctx *c, ct_plan *o)
{
    o->plan_id = id(c, "plan_id", 1);
    strs(c, "invoice_ids", 1, &o->invoice_ids);
    o->currency = currency(c, "currency");
    o->total_minor = positive(c, "total_minor");
    o->ninstalments = 0;
    const cm_jv *a = array(c, "instalments", 1);
    if (a && a->n > CT_PLAN_INSTALMENTS_MAX) {
        char d[48];
        snprintf(d, sizeof d, "more than %d items", CT_PLAN_INSTALMENTS_MAX);
        fail(c, "instalments", "max_items", d);
        return;
    }
    int64_t sum = 0;
    size_t i = 0;
    for (const cm_jv *it = a ? a->u.first : NULL; it && !c->failed; it = it->next, i++) {
        char path[64];
        dctx sub;
        if (!item(c, it, "instalments", i, "{due_on, amount_minor}", path, sizeof path, &sub))
            return;
        ct_instalment *in = &o->instalments[o->ninstalments++];
        in->due_on = date(&sub, "due_on", 1);
        if (!sub.failed && i > 0 && in->due_on.day <= in[-1].due_on.day) {
            char d[80];
            snprintf(d, sizeof d, "must be after %s.instalments[%zu].due_on", c->path, i - 1);
            fail(&sub, "due_on", "rising", d);
        }
        in->amount_minor = positive(&sub, "amount_minor");
        if (sub.failed) {
            c->failed = 1;
            return;
        }
        sum = in->amount_minor > INT64_MAX - sum ? INT64_MAX : sum + in->amount_minor;
    }
    if (!c->failed && sum != o->total_minor)
        fail(c, "total_minor", "instalments_sum", "must equal the sum of the instalments");
    o->source = (ct_plan_source)name_in(c, "source", 0, ct_plan_source_names, CT_PLAN_SRC_COUNT,
                                        "source", "must be portal, agent or billing");
}

/* plan.broken and plan.completed (the scheduler's, issue 16): broken
 * names the instalment (1 to CT_PLAN_INSTALMENTS_MAX), its due date and
 * what was missing of it (> 0); completed has none of the three. */
static void d_plan_outcome(dctx *c, ct_plan_outcome *o, int broken)
{
    o->plan_id = id(c, "plan_id", 1);
    strs(c, "invoice_ids", 1, &o->invoice_ids);
    o->currency = currency(c, "currency");
    o->total_minor = positive(c, "total_minor");
    o->paid_minor = amount(c, "paid_minor");
    o->instalment = 0;
    o->due_on = (ct_date){NULL, 0};
    o->short_minor = 0;
    if (!broken)
        return;
    o->instalment = (int)int_in(c, "instalment", 1, CT_PLAN_INSTALMENTS_MAX, "instalment",
                                "must be an integer from 1 to 60");
    o->due_on = date(c, "due_on", 1);
    o->short_minor = positive(c, "short_minor");
}

ct_shape ct_event_shape(ct_type t)
{
    switch (t) {
    case CT_EV_INVOICE_ISSUED:
    case CT_EV_INVOICE_UPDATED:
        return CT_SHAPE_INVOICE;
    case CT_EV_INVOICE_VOIDED:
    case CT_EV_INVOICE_WRITTEN_OFF:
        return CT_SHAPE_INVOICE_REF;
    case CT_EV_PAYMENT_RECEIVED:
        return CT_SHAPE_PAYMENT;
    case CT_EV_PAYMENT_REVERSED:
        return CT_SHAPE_REVERSAL;
    case CT_EV_CREDIT_NOTE_ISSUED:
        return CT_SHAPE_CREDIT_NOTE;
    case CT_EV_CUSTOMER_UPSERTED:
        return CT_SHAPE_CUSTOMER;
    case CT_EV_PROMISE_MADE:
    case CT_EV_PROMISE_KEPT:
    case CT_EV_PROMISE_BROKEN:
        return CT_SHAPE_PROMISE;
    case CT_EV_DISPUTE_OPENED:
    case CT_EV_DISPUTE_RESOLVED:
        return CT_SHAPE_DISPUTE;
    case CT_EV_CONTACT_CEASED:
        return CT_SHAPE_CEASED;
    case CT_EV_CONTACT_LOGGED:
        return CT_SHAPE_CONTACT_LOG;
    case CT_EV_CONTACT_RESUMED:
        return CT_SHAPE_RESUMED;
    case CT_EV_CONTACT_REPLIED:
        return CT_SHAPE_REPLY;
    case CT_EV_CONTACT_DELIVERED:
    case CT_EV_CONTACT_BOUNCED:
    case CT_EV_CONTACT_COMPLAINED:
        return CT_SHAPE_DELIVERY;
    case CT_EV_ESCALATION_PLACED:
        return CT_SHAPE_PLACEMENT;
    case CT_EV_ESCALATION_ACCEPTED:
    case CT_EV_ESCALATION_RECALLED:
        return CT_SHAPE_CASE_EVENT;
    case CT_EV_ESCALATION_REMITTED:
        return CT_SHAPE_REMITTANCE;
    case CT_EV_INVOICE_FEE_CHARGED:
        return CT_SHAPE_FEE_CHARGED;
    case CT_EV_INVOICE_FEE_WAIVED:
        return CT_SHAPE_FEE_WAIVED;
    case CT_EV_INVOICE_INTEREST_CLAIMED:
        return CT_SHAPE_INTEREST_CLAIMED;
    case CT_EV_INVOICE_SETTLED:
        return CT_SHAPE_SETTLED;
    case CT_EV_PLAN_AGREED:
        return CT_SHAPE_PLAN;
    case CT_EV_PLAN_CANCELLED:
        return CT_SHAPE_PLAN_CANCEL;
    case CT_EV_PLAN_BROKEN:
    case CT_EV_PLAN_COMPLETED:
        return CT_SHAPE_PLAN_OUTCOME;
    default:
        return CT_SHAPE_NONE;
    }
}

/* contact.ceased, contact.resumed: a channel (CT_CH_NONE: all) and the
 * phone an SMS keyword came from (issue 17; NULL when absent). */
static void consent(dctx *c, ct_channel *ch, const char **phone)
{
    *ch = channel(c, "channel", 0);
    *phone = str(c, "phone", 0, CT_PHONE_MAX, 1);
}

/* contact.replied (issue 17): text keeps its newlines. */
static void d_reply(dctx *c, ct_reply *r)
{
    r->channel = channel(c, "channel", 1);
    r->text = str(c, "text", 1, CT_REPLY_MAX, 0);
    r->phone = str(c, "phone", 0, CT_PHONE_MAX, 1);
    r->provider_id = id(c, "provider_id", 0);
}

/* contact.delivered, contact.bounced, contact.complained (issue 17):
 * command_id is required for sms only, as the validator says (an email
 * event names its message by message_id). */
static void d_delivery(dctx *c, ct_delivery *r, ct_type t)
{
    r->channel = channel(c, "channel", 1);
    r->command_id = str(c, "command_id", r->channel == CT_CH_SMS, CT_COMMAND_ID_MAX, 1);
    r->template_id = id(c, "template", 1);
    r->provider_id = id(c, "provider_id", 0);
    r->kind = CT_BOUNCE_NONE;
    r->address = NULL;
    if (t == CT_EV_CONTACT_BOUNCED) {
        r->kind = (ct_bounce_kind)name_in(c, "kind", 1, ct_bounce_kind_names, CT_BOUNCE_COUNT,
                                          "kind", "must be hard or soft");
        r->address = str(c, "address", 0, 254, 1);
    }
}

int ct_event_decode(const cm_jv *ev, ct_event *out, char *errstr, size_t errlen)
{
    dctx c = {ev, "", errstr, errlen, 0};
    memset(out, 0, offsetof(ct_event, data));
    out->type = CT_EV_NONE;
    if (!ev || ev->type != CM_JV_OBJECT) {
        snprintf(errstr, errlen, "(event): type (must be a JSON object)");
        return -1;
    }
    const cm_jv *v = cm_jv_get(ev, "v");
    if (!v)
        fail(&c, "v", "required", NULL);
    else if (v->type != CM_JV_INT || v->u.i < 1 || v->u.i > INT32_MAX)
        fail(&c, "v", "type", "must be an integer >= 1");
    else
        out->v = (int)v->u.i;
    out->type_name = str(&c, "type", 1, CT_TYPE_MAX, 1);
    ct_type t = out->type_name ? ct_type_parse(out->type_name, strlen(out->type_name)) : CT_EV_NONE;
    /* the scheduler's own events have ids derived from command ids, and
     * ingest derives "<id>/<customer_id>" for an event that named a phone
     * (issue 17): both longer than an id billing publishes */
    const cm_jv *d = cm_jv_get(ev, "data"), *dphone = cm_jv_get(d, "phone");
    size_t idmax = ct_type_inbound(t) &&
                           !(dphone && dphone->type == CM_JV_STRING && t != CT_EV_CUSTOMER_UPSERTED)
                       ? CT_ID_MAX
                       : CT_DERIVED_ID_MAX;
    out->id = str(&c, "id", 1, idmax, 1);
    out->source = id(&c, "source", 1);
    out->tenant = str(&c, "tenant", 1, CT_TENANT_MAX, 1);
    if (out->tenant && strchr(out->tenant, '/'))
        fail(&c, "tenant", "tenant", "must not contain '/'");
    out->time = str(&c, "time", 1, 64, 1);
    if (out->time && cm_time_parse_rfc3339(out->time, &out->time_ms) != 0)
        fail(&c, "time", "rfc3339", "not an RFC 3339 timestamp");
    out->customer_id = id(&c, "customer_id", 1);
    out->trace_id = str(&c, "trace_id", 0, 64, 1);
    if (!c.failed && (!d || d->type != CM_JV_OBJECT))
        fail(&c, "data", d ? "type" : "required", d ? "must be an object" : NULL);
    if (c.failed)
        return -1;
    out->data_jv = d;
    out->type = t;
    if (out->type == CT_EV_NONE) {
        snprintf(errstr, errlen, "type: type (unknown event type '%.64s')", out->type_name);
        return -1;
    }

    dctx dc = {d, "data", errstr, errlen, 0};
    const char *dcust = id(&dc, "customer_id", 0);
    if (dcust && strcmp(dcust, out->customer_id) != 0)
        fail(&dc, "customer_id", "customer_id", "must equal the event's customer_id");
    switch (ct_event_shape(out->type)) {
    case CT_SHAPE_INVOICE:
        d_invoice(&dc, &out->data.invoice);
        break;
    case CT_SHAPE_INVOICE_REF:
        out->data.invoice_ref.invoice_id = id(&dc, "invoice_id", 1);
        break;
    case CT_SHAPE_PAYMENT:
        d_payment(&dc, &out->data.payment);
        break;
    case CT_SHAPE_REVERSAL:
        out->data.reversal.payment_id = id(&dc, "payment_id", 1);
        out->data.reversal.reason = text(&dc, "reason", 0);
        break;
    case CT_SHAPE_CREDIT_NOTE:
        out->data.credit_note.credit_note_id = id(&dc, "credit_note_id", 1);
        out->data.credit_note.invoice_id = id(&dc, "invoice_id", 1);
        out->data.credit_note.currency = currency(&dc, "currency");
        out->data.credit_note.amount_minor = amount(&dc, "amount_minor");
        break;
    case CT_SHAPE_CUSTOMER:
        d_customer(&dc, &out->data.customer);
        break;
    case CT_SHAPE_PROMISE:
        strs(&dc, "invoice_ids", 1, &out->data.promise.invoice_ids);
        out->data.promise.currency = currency(&dc, "currency");
        out->data.promise.amount_minor = amount(&dc, "amount_minor");
        out->data.promise.promised_on = date(&dc, "promised_on", 1);
        break;
    case CT_SHAPE_DISPUTE:
        out->data.dispute.invoice_id = id(&dc, "invoice_id", 1);
        out->data.dispute.reason = text(&dc, "reason", 0);
        break;
    case CT_SHAPE_CEASED:
        consent(&dc, &out->data.ceased.channel, &out->data.ceased.phone);
        break;
    case CT_SHAPE_REPLY:
        d_reply(&dc, &out->data.reply);
        break;
    case CT_SHAPE_DELIVERY:
        d_delivery(&dc, &out->data.delivery, out->type);
        break;
    case CT_SHAPE_CONTACT_LOG:
        d_contact_log(&dc, &out->data.contact_log);
        break;
    case CT_SHAPE_RESUMED:
        consent(&dc, &out->data.resumed.channel, &out->data.resumed.phone);
        break;
    case CT_SHAPE_PLACEMENT:
        d_placement(&dc, &out->data.placement);
        break;
    case CT_SHAPE_CASE_EVENT:
        out->data.case_event.case_id = id(&dc, "case_id", 1);
        out->data.case_event.agency_ref =
            out->type == CT_EV_ESCALATION_ACCEPTED ? text(&dc, "agency_ref", 1) : NULL;
        out->data.case_event.reason =
            out->type == CT_EV_ESCALATION_RECALLED ? text(&dc, "reason", 1) : NULL;
        break;
    case CT_SHAPE_REMITTANCE:
        d_remittance(&dc, &out->data.remittance);
        break;
    case CT_SHAPE_FEE_CHARGED:
        d_fee_charged(&dc, &out->data.fee_charged);
        break;
    case CT_SHAPE_FEE_WAIVED:
        d_fee_waived(&dc, &out->data.fee_waived);
        break;
    case CT_SHAPE_INTEREST_CLAIMED:
        d_interest_claimed(&dc, &out->data.interest_claimed);
        break;
    case CT_SHAPE_SETTLED:
        d_settled(&dc, &out->data.settled);
        break;
    case CT_SHAPE_PLAN:
        d_plan(&dc, &out->data.plan);
        break;
    case CT_SHAPE_PLAN_CANCEL:
        out->data.plan_cancel.plan_id = id(&dc, "plan_id", 1);
        out->data.plan_cancel.reason = text(&dc, "reason", 1);
        break;
    case CT_SHAPE_PLAN_OUTCOME:
        d_plan_outcome(&dc, &out->data.plan_outcome, out->type == CT_EV_PLAN_BROKEN);
        break;
    case CT_SHAPE_NONE:
        break;
    }
    return dc.failed ? -1 : 0;
}

const cm_jv *ct_event_parse(cm_json *j, const char *p, size_t n, char *errstr, size_t errlen)
{
    return ct_record_parse(j, p, n, "event", errstr, errlen);
}

int ct_event_decode_bytes(cm_json *j, const char *p, size_t n, ct_event *out, char *errstr,
                          size_t errlen)
{
    const cm_jv *ev = ct_event_parse(j, p, n, errstr, errlen);
    if (!ev) {
        memset(out, 0, offsetof(ct_event, data));
        out->type = CT_EV_NONE;
        return -1;
    }
    return ct_event_decode(ev, out, errstr, errlen);
}

int ct_event_decode_json(cm_json *j, const json_t *ev, ct_event *out, char *errstr, size_t errlen)
{
    const cm_jv *v = ct_record_parse_json(j, ev, "event", errstr, errlen);
    if (!v) {
        memset(out, 0, offsetof(ct_event, data));
        out->type = CT_EV_NONE;
        return -1;
    }
    return ct_event_decode(v, out, errstr, errlen);
}

void ct_event_headers_of(ct_type type, const char *id, const char *tenant, const char *trace_id,
                         ct_kv out[CT_EVENT_HEADERS])
{
    out[0] = (ct_kv){"ce_type", ct_type_name(type)};
    out[1] = (ct_kv){"ce_id", id ? id : ""};
    out[2] = (ct_kv){"tenant", tenant ? tenant : ""};
    out[3] = (ct_kv){"trace_id", trace_id ? trace_id : ""};
}

void ct_event_headers(const ct_event *ev, ct_kv out[CT_EVENT_HEADERS])
{
    ct_event_headers_of(ev->type, ev->id, ev->tenant, ev->trace_id, out);
}
