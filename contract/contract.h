/* contract.h -- what crosses processes: the one home of arrears' record
 * types, their enums, limits and names.
 *
 * Design: as OpenSMTPD keeps `struct envelope` in smtpd.h and its one codec
 * in envelope.c, every record a service reads from or writes to Kafka has
 * one type here and one encoder/decoder in this library (libcontract):
 *   canonical event  (topic events;   ingest -> scheduler, reporter)
 *   command          (topic commands; scheduler -> notifier)
 *   contact outcome  (topic contacts; notifier -> reporter)
 *   task             (topic tasks;    notifier -> people)
 * Services decode into these structs and dispatch on the enums; the wire
 * names ("payment.received", "email", "settlement", ...) are spelt only in
 * contract.c.
 * docs/contracts.md and docs/events.md are the prose form, schemas/ the
 * JSON Schema form; tests/unit/test_contract_docs.c keeps the three
 * together. Adding an event type: docs/conventions.md lists the files.
 *
 * Ownership: the name tables are static; nothing here allocates. */
#ifndef CT_CONTRACT_H
#define CT_CONTRACT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h" /* common/json.h: the arena reader every decoder reads */

/* --- limits (bytes), one set for every service; docs/events.md ---------- */
#define CT_TENANT_MAX 64
#define CT_ID_MAX     200  /* ids: id, source, *_id */
#define CT_TEXT_MAX   1000 /* names, reasons, terms, ... */
#define CT_LIST_MAX   100  /* items in tags, channels, invoice_ids, allocations */
#define CT_NOTES_MAX  2000 /* contact.logged's notes */
#define CT_REPLY_MAX  1600 /* contact.replied's text (issue 17: ten SMS segments) */
#define CT_PHONE_MAX  16   /* an E.164 number: '+' and 8 to 15 digits */
#define CT_REGION_MAX 6    /* ISO 3166-2 subdivision: "US-MA", "GB-ENG", "FR-75C" */
#define CT_ZONES_MAX  4    /* items in customer.upserted's extra_timezones */
#define CT_ZONE_MAX   64   /* an IANA time zone name */
#define CT_TYPE_MAX   64
#define CT_KEY_MAX    (CT_TENANT_MAX + 1 + CT_ID_MAX + 1) /* "tenant/customer_id" + NUL */
#define CT_VERSION    1                                   /* "v" of every record */

/* Items in plan.agreed's instalments (issue 16). */
#define CT_PLAN_INSTALMENTS_MAX 60

/* The source of the events the scheduler publishes itself. */
#define CT_SCHEDULER_SOURCE "arrears-scheduler"

/* --- event types (canonical events on `events`) ------------------------ */
/* Inbound types first, in contract order (ct_type_inbound() is 1 for
 * them); then the types only the scheduler emits. CT_EV_NONE is "not a
 * type of the contract". Append; never renumber a published name. The
 * numbers themselves are not published (records carry the names): a new
 * inbound type moves the scheduler's types up by one, which is fine. */
typedef enum ct_type {
    CT_EV_NONE = -1,
    CT_EV_INVOICE_ISSUED = 0,
    CT_EV_INVOICE_UPDATED,
    CT_EV_INVOICE_VOIDED,
    CT_EV_INVOICE_WRITTEN_OFF,
    CT_EV_PAYMENT_RECEIVED,
    CT_EV_PAYMENT_REVERSED,
    CT_EV_CREDIT_NOTE_ISSUED,
    CT_EV_CUSTOMER_UPSERTED,
    CT_EV_PROMISE_MADE,
    CT_EV_DISPUTE_OPENED,
    CT_EV_DISPUTE_RESOLVED,
    CT_EV_CONTACT_CEASED,
    CT_EV_CONTACT_LOGGED,
    CT_EV_CONTACT_RESUMED,
    CT_EV_PLAN_AGREED,         /* "plan.agreed": an instalment plan (issue 16) */
    CT_EV_PLAN_CANCELLED,      /* "plan.cancelled" */
    CT_EV_ESCALATION_ACCEPTED, /* "escalation.accepted": the agency took the case (issue 16) */
    CT_EV_ESCALATION_RECALLED, /* "escalation.recalled": the case came back */
    CT_EV_ESCALATION_REMITTED, /* "escalation.remitted": the agency collected and paid over */
    CT_EV_CONTACT_REPLIED,     /* "contact.replied": the debtor answered a message (issue 17) */
    CT_EV_CONTACT_DELIVERED,   /* "contact.delivered": a provider delivered a message */
    CT_EV_CONTACT_BOUNCED,     /* "contact.bounced": a provider could not deliver it */
    CT_EV_CONTACT_COMPLAINED,  /* "contact.complained": the debtor marked an email as spam */
    CT_EV_INBOUND_COUNT,       /* number of inbound types */
    /* emitted by the scheduler (source CT_SCHEDULER_SOURCE) */
    CT_EV_ESCALATION_PLACED = CT_EV_INBOUND_COUNT, /* "escalation.placed": a case handed
                                                    * to an agency or to legal (issue 16;
                                                    * replaces invoice.escalated) */
    CT_EV_PROMISE_KEPT,
    CT_EV_PROMISE_BROKEN,
    CT_EV_INVOICE_FEE_CHARGED,      /* "invoice.fee_charged" (issue 14) */
    CT_EV_INVOICE_FEE_WAIVED,       /* "invoice.fee_waived" */
    CT_EV_INVOICE_INTEREST_CLAIMED, /* "invoice.interest_claimed" */
    CT_EV_INVOICE_SETTLED,          /* "invoice.settled" */
    CT_EV_PLAN_BROKEN,              /* "plan.broken": an instalment was missed (issue 16) */
    CT_EV_PLAN_COMPLETED,           /* "plan.completed": it ended without breaking */
    CT_EV_COUNT
} ct_type;

/* "invoice.issued" -> CT_EV_INVOICE_ISSUED; CT_EV_NONE when unknown. n is
 * the length of s (s need not be NUL-terminated). */
ct_type ct_type_parse(const char *s, size_t n);
/* The wire name; "" for CT_EV_NONE or out of range. */
const char *ct_type_name(ct_type t);
/* 1 when billing may publish t on `inbound`. */
int ct_type_inbound(ct_type t);

/* --- channels ----------------------------------------------------------- */
typedef enum ct_channel {
    CT_CH_NONE = -1,
    CT_CH_EMAIL = 0,
    CT_CH_SMS,
    CT_CH_WEBHOOK,
    CT_CH_CALL_TASK,
    CT_CH_LETTER,
    CT_CH_COUNT
} ct_channel;

ct_channel ct_channel_parse(const char *s, size_t n);
const char *ct_channel_name(ct_channel c);

/* --- call outcomes (contact.logged's data.outcome) --------------------- */
/* What happened when someone (a CRM, a dialer, an agent) tried to reach
 * the debtor. */
typedef enum ct_call_outcome {
    CT_CALL_NONE = -1,
    CT_CALL_CONVERSATION = 0, /* "conversation": spoke with the debtor */
    CT_CALL_VOICEMAIL,        /* "voicemail": left a message */
    CT_CALL_NO_ANSWER,        /* "no_answer" */
    CT_CALL_WRONG_NUMBER,     /* "wrong_number": the number is not the debtor's */
    CT_CALL_COUNT
} ct_call_outcome;

ct_call_outcome ct_call_outcome_parse(const char *s, size_t n);
const char *ct_call_outcome_name(ct_call_outcome o);

/* --- bounces (contact.bounced's data.kind, issue 17) ------------------ */
typedef enum ct_bounce_kind {
    CT_BOUNCE_NONE = -1,
    CT_BOUNCE_HARD = 0, /* "hard": the address does not work (unknown mailbox,
                         * number not in service); it is marked unusable */
    CT_BOUNCE_SOFT,     /* "soft": a passing failure (mailbox full, handset off) */
    CT_BOUNCE_COUNT
} ct_bounce_kind;

ct_bounce_kind ct_bounce_kind_parse(const char *s, size_t n);
const char *ct_bounce_kind_name(ct_bounce_kind k);

/* --- command kinds (commands topic) ------------------------------------ */
typedef enum ct_kind {
    CT_KIND_NONE = -1,
    CT_KIND_REMINDER = 0,
    CT_KIND_PAYMENT_THANKS,
    CT_KIND_CALL_TASK,
    CT_KIND_LETTER,
    CT_KIND_ESCALATION,
    CT_KIND_INTEREST_CLAIM, /* "interest_claim": a debtor-facing message, like
                             * a reminder, claiming statutory interest and
                             * compensation after a late invoice was paid */
    CT_KIND_REVIEW,         /* "review" (issue 17): a collector reads the debtor's reply
                             * (the command's "reply"); a task on channel call_task */
    CT_KIND_COUNT
} ct_kind;

ct_kind ct_kind_parse(const char *s, size_t n);
const char *ct_kind_name(ct_kind k);

/* --- money (issue 14): offers, interest schemes, fee waivers ---------- */
/* A command's "offer" and invoice.settled's data.offer. */
typedef enum ct_offer_kind {
    CT_OFFER_NONE = -1,
    CT_OFFER_DISCOUNT = 0, /* "discount": early-payment discount */
    CT_OFFER_SETTLEMENT,   /* "settlement": pay part, the rest is forgiven */
    CT_OFFER_PLAN,         /* "plan": instalment plans to choose from (issue 16) */
    CT_OFFER_COUNT
} ct_offer_kind;

ct_offer_kind ct_offer_kind_parse(const char *s, size_t n);
const char *ct_offer_kind_name(ct_offer_kind k);

/* The legal basis of interest (a command's interest_basis.scheme,
 * invoice.interest_claimed's data.scheme). */
typedef enum ct_interest_scheme {
    CT_SCHEME_NONE = -1,
    CT_SCHEME_UK_LATE_PAYMENT = 0, /* "uk_late_payment": Late Payment of
                                    * Commercial Debts (Interest) Act 1998 */
    CT_SCHEME_EU_LATE_PAYMENT,     /* "eu_late_payment": Directive 2011/7/EU */
    CT_SCHEME_CONTRACTUAL,         /* "contractual" */
    CT_SCHEME_COUNT
} ct_interest_scheme;

ct_interest_scheme ct_interest_scheme_parse(const char *s, size_t n);
const char *ct_interest_scheme_name(ct_interest_scheme s);

/* Why fees were waived (invoice.fee_waived's data.reason). */
typedef enum ct_waiver {
    CT_WAIVER_NONE = -1,
    CT_WAIVER_PAID_WITHIN = 0, /* "paid_within": paid in full within
                                * waive_if_paid_within_days of the charge */
    CT_WAIVER_PRINCIPAL_PAID,  /* "principal_paid": principal paid, fees left
                                * unpaid and chase_unpaid_fees false */
    CT_WAIVER_COUNT
} ct_waiver;

ct_waiver ct_waiver_parse(const char *s, size_t n);
const char *ct_waiver_name(ct_waiver w);

/* --- debtor kinds (customer.upserted's data.kind) ---------------------- */
typedef enum ct_debtor_kind {
    CT_DEBTOR_NONE = -1,
    CT_DEBTOR_BUSINESS = 0, /* "business": the default */
    CT_DEBTOR_CONSUMER,     /* "consumer": no statutory late-payment interest */
    CT_DEBTOR_COUNT
} ct_debtor_kind;

ct_debtor_kind ct_debtor_kind_parse(const char *s, size_t n);
const char *ct_debtor_kind_name(ct_debtor_kind k);

/* --- instalment plans (issue 16): plan.agreed's data.source ----------- */
/* Who agreed the plan with the debtor; optional. */
typedef enum ct_plan_source {
    CT_PLAN_SRC_NONE = -1,
    CT_PLAN_SRC_PORTAL = 0, /* "portal": the debtor, on the payment portal */
    CT_PLAN_SRC_AGENT,      /* "agent": a collections agent */
    CT_PLAN_SRC_BILLING,    /* "billing": the billing system */
    CT_PLAN_SRC_COUNT
} ct_plan_source;

ct_plan_source ct_plan_source_parse(const char *s, size_t n);
const char *ct_plan_source_name(ct_plan_source s);

/* --- hand-off (issue 16): where an escalation places a case ----------- */
typedef enum ct_escalation_to {
    CT_TO_NONE = -1,
    CT_TO_AGENCY = 0, /* "agency": a collection agency */
    CT_TO_LEGAL,      /* "legal": solicitors, court */
    CT_TO_COUNT
} ct_escalation_to;

ct_escalation_to ct_escalation_to_parse(const char *s, size_t n);
const char *ct_escalation_to_name(ct_escalation_to t);

/* --- contact outcome types (contacts topic) ---------------------------- */
typedef enum ct_outcome {
    CT_OUT_NONE = -1,
    CT_OUT_SENT = 0,
    CT_OUT_FAILED,
    CT_OUT_COUNT
} ct_outcome;

ct_outcome ct_outcome_parse(const char *s, size_t n);
const char *ct_outcome_name(ct_outcome o);

/* --- report types (reports topic; report requests name them) ---------- */
typedef enum ct_report {
    CT_REP_NONE = -1,
    CT_REP_AGING = 0,
    CT_REP_KPIS,
    CT_REP_EFFECTIVENESS,
    CT_REP_COUNT
} ct_report;

ct_report ct_report_parse(const char *s, size_t n);
const char *ct_report_name(ct_report r);

/* --- reading a record (read.c) ---------------------------------------- */

/* How deep a record may nest for any reader. Ingest refuses events nested
 * deeper than ARREARS_INGEST_MAX_DEPTH (at most 1000); the readers' bound
 * only keeps the recursive reader's stack bounded and is above it. There
 * is no size bound beyond the broker's. */
#define CT_READ_MAX_DEPTH 1024

/* Parses the record p[0..n) into j with cm_json_parse_more (earlier trees
 * of j stay valid), or NULL with "(<what>): <rule> (...)" in errstr:
 * invalid UTF-8, not JSON (strict: duplicate keys, \u0000, trailing
 * bytes) or nested deeper than CT_READ_MAX_DEPTH. The tree and its
 * strings belong to j (json.h). */
const cm_jv *ct_record_parse(cm_json *j, const char *p, size_t n, const char *what, char *errstr,
                             size_t errlen);
/* The same from a jansson tree, serialised and parsed into j (v may go at
 * once). Off the hot paths only: replays and tests. */
const cm_jv *ct_record_parse_json(cm_json *j, const json_t *v, const char *what, char *errstr,
                                  size_t errlen);

#endif
