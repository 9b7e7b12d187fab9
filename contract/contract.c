/* contract.c -- the wire names of the contract's enums (contract.h).
 *
 * The only place in C where an event type, channel, call outcome, command
 * kind or outcome type is spelt; every service parses into the enums here. */
#include "contract.h"

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
    [CT_EV_INVOICE_ESCALATED] = "invoice.escalated",
    [CT_EV_PROMISE_KEPT] = "promise.kept",
    [CT_EV_PROMISE_BROKEN] = "promise.broken",
};

static const char *const channel_names[CT_CH_COUNT] = {
    [CT_CH_EMAIL] = "email",         [CT_CH_SMS] = "sms",       [CT_CH_WEBHOOK] = "webhook",
    [CT_CH_CALL_TASK] = "call_task", [CT_CH_LETTER] = "letter",
};

static const char *const call_outcome_names[CT_CALL_COUNT] = {
    [CT_CALL_CONVERSATION] = "conversation",
    [CT_CALL_VOICEMAIL] = "voicemail",
    [CT_CALL_NO_ANSWER] = "no_answer",
    [CT_CALL_WRONG_NUMBER] = "wrong_number",
};

static const char *const kind_names[CT_KIND_COUNT] = {
    [CT_KIND_REMINDER] = "reminder",     [CT_KIND_PAYMENT_THANKS] = "payment.thanks",
    [CT_KIND_CALL_TASK] = "call_task",   [CT_KIND_LETTER] = "letter",
    [CT_KIND_ESCALATION] = "escalation",
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

/* Index of s[0..n) in names[0..count), or -1. The first byte is compared
 * before memcmp: the hot path parses one type per event. */
static int lookup(const char *const *names, int count, const char *s, size_t n)
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
    return (ct_type)lookup(type_names, CT_EV_COUNT, s, n);
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
    return (ct_channel)lookup(channel_names, CT_CH_COUNT, s, n);
}

const char *ct_channel_name(ct_channel c)
{
    return name_of(channel_names, CT_CH_COUNT, c);
}

ct_call_outcome ct_call_outcome_parse(const char *s, size_t n)
{
    return (ct_call_outcome)lookup(call_outcome_names, CT_CALL_COUNT, s, n);
}

const char *ct_call_outcome_name(ct_call_outcome o)
{
    return name_of(call_outcome_names, CT_CALL_COUNT, o);
}

ct_kind ct_kind_parse(const char *s, size_t n)
{
    return (ct_kind)lookup(kind_names, CT_KIND_COUNT, s, n);
}

const char *ct_kind_name(ct_kind k)
{
    return name_of(kind_names, CT_KIND_COUNT, k);
}

ct_outcome ct_outcome_parse(const char *s, size_t n)
{
    return (ct_outcome)lookup(outcome_names, CT_OUT_COUNT, s, n);
}

const char *ct_outcome_name(ct_outcome o)
{
    return name_of(outcome_names, CT_OUT_COUNT, o);
}

ct_report ct_report_parse(const char *s, size_t n)
{
    return (ct_report)lookup(report_names, CT_REP_COUNT, s, n);
}

const char *ct_report_name(ct_report r)
{
    return name_of(report_names, CT_REP_COUNT, r);
}
