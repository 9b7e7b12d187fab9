/* contract.c -- the wire names of the contract's enums (contract.h).
 *
 * The only place in C where an event type, channel, call outcome, command
 * kind, outcome type, offer kind, interest scheme, fee waiver reason,
 * debtor kind, plan source, hand-off target or bounce kind is spelt; every service parses into the
 * enums here.
 */
#include "contract.h"
#include "internal.h"

#include <string.h>

static const char *const type_names[CT_EV_COUNT] = {
    [CT_EV_INVOICE_ISSUED] = "invoice.issued",
    [CT_EV_INVOICE_UPDATED] = "invoice.updated",
    [CT_EV_INVOICE_VOIDED] = "invoice.voided",
    [CT_EV_INVOICE_WRITTEN_OFF] = "invoice.written_off",
    [CT_EV_PAYMENT_RECEIVED] = "payment.received",
    [CT_EV_PAYMENT_REVERSED] = "payment.reversed",
    [CT_EV_CREDIT_NOTE_ISSUED] = "credit_note.issued",
    [CT_EV_CUSTOMER_UPSERTED] = "customer.upserted",
    [CT_EV_PROMISE_MADE] = "promise.made",
    [CT_EV_DISPUTE_OPENED] = "dispute.opened",
    [CT_EV_DISPUTE_RESOLVED] = "dispute.resolved",
    [CT_EV_CONTACT_CEASED] = "contact.ceased",
    [CT_EV_CONTACT_LOGGED] = "contact.logged",
    [CT_EV_CONTACT_RESUMED] = "contact.resumed",
    [CT_EV_PLAN_AGREED] = "plan.agreed",
    [CT_EV_PLAN_CANCELLED] = "plan.cancelled",
    [CT_EV_ESCALATION_ACCEPTED] = "escalation.accepted",
    [CT_EV_ESCALATION_RECALLED] = "escalation.recalled",
    [CT_EV_ESCALATION_REMITTED] = "escalation.remitted",
    [CT_EV_CONTACT_REPLIED] = "contact.replied",
    [CT_EV_CONTACT_DELIVERED] = "contact.delivered",
    [CT_EV_CONTACT_BOUNCED] = "contact.bounced",
    [CT_EV_CONTACT_COMPLAINED] = "contact.complained",
    [CT_EV_ESCALATION_PLACED] = "escalation.placed",
    [CT_EV_PROMISE_KEPT] = "promise.kept",
    [CT_EV_PROMISE_BROKEN] = "promise.broken",
    [CT_EV_INVOICE_FEE_CHARGED] = "invoice.fee_charged",
    [CT_EV_INVOICE_FEE_WAIVED] = "invoice.fee_waived",
    [CT_EV_INVOICE_INTEREST_CLAIMED] = "invoice.interest_claimed",
    [CT_EV_INVOICE_SETTLED] = "invoice.settled",
    [CT_EV_PLAN_BROKEN] = "plan.broken",
    [CT_EV_PLAN_COMPLETED] = "plan.completed",
};

const char *const ct_channel_names[CT_CH_COUNT] = {
    [CT_CH_EMAIL] = "email",         [CT_CH_SMS] = "sms",       [CT_CH_WEBHOOK] = "webhook",
    [CT_CH_CALL_TASK] = "call_task", [CT_CH_LETTER] = "letter",
};

static const char *const call_outcome_names[CT_CALL_COUNT] = {
    [CT_CALL_CONVERSATION] = "conversation",
    [CT_CALL_VOICEMAIL] = "voicemail",
    [CT_CALL_NO_ANSWER] = "no_answer",
    [CT_CALL_WRONG_NUMBER] = "wrong_number",
};

const char *const ct_bounce_kind_names[CT_BOUNCE_COUNT] = {
    [CT_BOUNCE_HARD] = "hard",
    [CT_BOUNCE_SOFT] = "soft",
};

const char *const ct_kind_names[CT_KIND_COUNT] = {
    [CT_KIND_REMINDER] = "reminder",     [CT_KIND_PAYMENT_THANKS] = "payment.thanks",
    [CT_KIND_CALL_TASK] = "call_task",   [CT_KIND_LETTER] = "letter",
    [CT_KIND_ESCALATION] = "escalation", [CT_KIND_INTEREST_CLAIM] = "interest_claim",
    [CT_KIND_REVIEW] = "review",
};

const char *const ct_offer_kind_names[CT_OFFER_COUNT] = {
    [CT_OFFER_DISCOUNT] = "discount",
    [CT_OFFER_SETTLEMENT] = "settlement",
    [CT_OFFER_PLAN] = "plan",
};

const char *const ct_scheme_names[CT_SCHEME_COUNT] = {
    [CT_SCHEME_UK_LATE_PAYMENT] = "uk_late_payment",
    [CT_SCHEME_EU_LATE_PAYMENT] = "eu_late_payment",
    [CT_SCHEME_CONTRACTUAL] = "contractual",
};

const char *const ct_waiver_names[CT_WAIVER_COUNT] = {
    [CT_WAIVER_PAID_WITHIN] = "paid_within",
    [CT_WAIVER_PRINCIPAL_PAID] = "principal_paid",
};

const char *const ct_debtor_kind_names[CT_DEBTOR_COUNT] = {
    [CT_DEBTOR_BUSINESS] = "business",
    [CT_DEBTOR_CONSUMER] = "consumer",
};

const char *const ct_escalation_to_names[CT_TO_COUNT] = {
    [CT_TO_AGENCY] = "agency",
    [CT_TO_LEGAL] = "legal",
};

const char *const ct_plan_source_names[CT_PLAN_SRC_COUNT] = {
    [CT_PLAN_SRC_PORTAL] = "portal",
    [CT_PLAN_SRC_AGENT] = "agent",
    [CT_PLAN_SRC_BILLING] = "billing",
};

static const char *const outcome_names[CT_OUT_COUNT] = {
    [CT_OUT_SENT] = "contact.sent",
    [CT_OUT_FAILED] = "contact.failed",
};

static const char *const report_names[CT_REP_COUNT] = {
    [CT_REP_AGING] = "aging",
    [CT_REP_KPIS] = "kpis",
    [CT_REP_EFFECTIVENESS] = "effectiveness",
};

/* internal.h. The first byte is compared before memcmp: the hot path
 * parses one type per event. */
int ct_name_lookup(const char *const *names, int count, const char *s, size_t n)
{
    if (!s)
        return -1;
    for (int i = 0; i < count; i++) {
        const char *nm = names[i];
        if (nm[0] == s[0] && strlen(nm) == n && memcmp(nm, s, n) == 0)
            return i;
    }
    return -1;
}

static const char *name_of(const char *const *names, int count, int i)
{
    return i >= 0 && i < count ? names[i] : "";
}

ct_type ct_type_parse(const char *s, size_t n)
{
    return (ct_type)ct_name_lookup(type_names, CT_EV_COUNT, s, n);
}

const char *ct_type_name(ct_type t)
{
    return name_of(type_names, CT_EV_COUNT, t);
}

int ct_type_inbound(ct_type t)
{
    return t >= 0 && t < CT_EV_INBOUND_COUNT;
}

ct_channel ct_channel_parse(const char *s, size_t n)
{
    return (ct_channel)ct_name_lookup(ct_channel_names, CT_CH_COUNT, s, n);
}

const char *ct_channel_name(ct_channel c)
{
    return name_of(ct_channel_names, CT_CH_COUNT, c);
}

ct_call_outcome ct_call_outcome_parse(const char *s, size_t n)
{
    return (ct_call_outcome)ct_name_lookup(call_outcome_names, CT_CALL_COUNT, s, n);
}

const char *ct_call_outcome_name(ct_call_outcome o)
{
    return name_of(call_outcome_names, CT_CALL_COUNT, o);
}

ct_kind ct_kind_parse(const char *s, size_t n)
{
    return (ct_kind)ct_name_lookup(ct_kind_names, CT_KIND_COUNT, s, n);
}

const char *ct_kind_name(ct_kind k)
{
    return name_of(ct_kind_names, CT_KIND_COUNT, k);
}

ct_offer_kind ct_offer_kind_parse(const char *s, size_t n)
{
    return (ct_offer_kind)ct_name_lookup(ct_offer_kind_names, CT_OFFER_COUNT, s, n);
}

const char *ct_offer_kind_name(ct_offer_kind k)
{
    return name_of(ct_offer_kind_names, CT_OFFER_COUNT, k);
}

ct_interest_scheme ct_interest_scheme_parse(const char *s, size_t n)
{
    return (ct_interest_scheme)ct_name_lookup(ct_scheme_names, CT_SCHEME_COUNT, s, n);
}

const char *ct_interest_scheme_name(ct_interest_scheme s)
{
    return name_of(ct_scheme_names, CT_SCHEME_COUNT, s);
}

ct_waiver ct_waiver_parse(const char *s, size_t n)
{
    return (ct_waiver)ct_name_lookup(ct_waiver_names, CT_WAIVER_COUNT, s, n);
}

const char *ct_waiver_name(ct_waiver w)
{
    return name_of(ct_waiver_names, CT_WAIVER_COUNT, w);
}

ct_debtor_kind ct_debtor_kind_parse(const char *s, size_t n)
{
    return (ct_debtor_kind)ct_name_lookup(ct_debtor_kind_names, CT_DEBTOR_COUNT, s, n);
}

const char *ct_debtor_kind_name(ct_debtor_kind k)
{
    return name_of(ct_debtor_kind_names, CT_DEBTOR_COUNT, k);
}

ct_escalation_to ct_escalation_to_parse(const char *s, size_t n)
{
    return (ct_escalation_to)ct_name_lookup(ct_escalation_to_names, CT_TO_COUNT, s, n);
}

const char *ct_escalation_to_name(ct_escalation_to t)
{
    return name_of(ct_escalation_to_names, CT_TO_COUNT, t);
}

ct_bounce_kind ct_bounce_kind_parse(const char *s, size_t n)
{
    return (ct_bounce_kind)ct_name_lookup(ct_bounce_kind_names, CT_BOUNCE_COUNT, s, n);
}

const char *ct_bounce_kind_name(ct_bounce_kind k)
{
    return name_of(ct_bounce_kind_names, CT_BOUNCE_COUNT, k);
}

ct_plan_source ct_plan_source_parse(const char *s, size_t n)
{
    return (ct_plan_source)ct_name_lookup(ct_plan_source_names, CT_PLAN_SRC_COUNT, s, n);
}

const char *ct_plan_source_name(ct_plan_source s)
{
    return name_of(ct_plan_source_names, CT_PLAN_SRC_COUNT, s);
}

ct_outcome ct_outcome_parse(const char *s, size_t n)
{
    return (ct_outcome)ct_name_lookup(outcome_names, CT_OUT_COUNT, s, n);
}

const char *ct_outcome_name(ct_outcome o)
{
    return name_of(outcome_names, CT_OUT_COUNT, o);
}

ct_report ct_report_parse(const char *s, size_t n)
{
    return (ct_report)ct_name_lookup(report_names, CT_REP_COUNT, s, n);
}

const char *ct_report_name(ct_report r)
{
    return name_of(report_names, CT_REP_COUNT, r);
}
