/* event.h -- the canonical event (topic `events`) as a C struct, its
 * decoder and its Kafka headers.
 *
 * Design: ingest writes canonical events (contract/validate.h builds them
 * from inbound CloudEvents); the scheduler and the reporter read them. A
 * reader decodes the whole record once with ct_event_decode and then works
 * on typed fields and dispatches on ev.type (a ct_type), never on a type
 * string or a key looked up by name. The decoder checks what a reader
 * relies on -- presence, JSON type, the CT_* length limits, list sizes,
 * dates -- and names the field and the rule of the first problem
 * ("data.invoice_id: max_length (longer than 200 bytes)"). It does not
 * repeat ingest's normalization rules (currency lists, e-mail syntax, ...):
 * what is on `events` was normalized once, by ingest. Unknown members are
 * ignored (docs/contracts.md: fields are added, never renamed).
 *
 * The data of each type is one member of the union `data`, named after the
 * family of types that share its shape:
 *   invoice        invoice.issued, invoice.updated
 *   invoice_ref    invoice.voided, invoice.written_off
 *   payment        payment.received
 *   reversal       payment.reversed
 *   credit_note    credit_note.issued
 *   customer       customer.upserted
 *   promise        promise.made, and the scheduler's promise.kept and
 *                  promise.broken (same shape)
 *   dispute        dispute.opened, dispute.resolved
 *   ceased         contact.ceased
 *   reply          contact.replied (issue 17)
 *   delivery       contact.delivered, contact.bounced, contact.complained
 *   contact_log    contact.logged
 *   resumed        contact.resumed
 *   placement      the scheduler's escalation.placed (issue 16)
 *   case_event     escalation.accepted, escalation.recalled
 *   remittance     escalation.remitted
 *   fee_charged    the scheduler's invoice.fee_charged (issue 14)
 *   fee_waived     the scheduler's invoice.fee_waived
 *   interest_claimed  the scheduler's invoice.interest_claimed
 *   settled        the scheduler's invoice.settled
 *   plan           plan.agreed (issue 16)
 *   plan_cancel    plan.cancelled
 *   plan_outcome   the scheduler's plan.broken and plan.completed
 * ct_event_shape() maps a type to its family. The customer id is in the
 * envelope only (ingest lifts it from data; the decoder checks that
 * data.customer_id, when present, is the same).
 *
 * Parsing: the decoder reads the tree of common/json.h's arena reader, not
 * a jansson tree: the scheduler and the reporter decode every event on
 * their hot paths, and jansson's tree cost the scheduler a third of its
 * instructions (docs/scheduler.md). ct_event_decode_bytes parses and
 * decodes a record; ct_event_decode_json serves readers that hold a
 * jansson tree off the hot path (replays, tests).
 *
 * Ownership: every `const char *` of a decoded ct_event is borrowed from
 * the cm_json arena that parsed the event, valid until that arena's next
 * cm_json_parse, cm_json_clear or cm_json_free; nothing is allocated for
 * the ct_event and there is nothing to free. Optional strings are NULL when absent (or JSON null);
 * optional lists are empty. A ct_event is about 2.5 KiB (lists are fixed
 * arrays of CT_LIST_MAX and CT_PLAN_INSTALMENTS_MAX): fine on a stack,
 * not for keeping many. */
#ifndef CT_EVENT_H
#define CT_EVENT_H

#include "contract.h"

#include "json.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The id of an event the scheduler derives from a command id (a step's
 * "<tenant>/inv/<invoice_id>/step/<n>/attempt/<n>" and a suffix of up to
 * SCH_EVENT_SUFFIX_MAX bytes): longer than CT_ID_MAX allows for an id
 * billing publishes. */
#define CT_DERIVED_ID_MAX (CT_TENANT_MAX + 2 * CT_ID_MAX + 64)

/* A list of strings (tags, invoice_ids): at most CT_LIST_MAX, borrowed. */
typedef struct ct_strs {
    size_t n;
    const char *v[CT_LIST_MAX];
} ct_strs;

/* A list of channels (customer.upserted's channels and opted_out), in the
 * order given; each channel at most once. */
typedef struct ct_channels {
    size_t n;
    ct_channel v[CT_CH_COUNT];
} ct_channels;

/* A short list of IANA zone names (customer.upserted's extra_timezones):
 * at most CT_ZONES_MAX, borrowed. */
typedef struct ct_zones {
    size_t n;
    const char *v[CT_ZONES_MAX];
} ct_zones;

/* A date field: the string as written ("2026-03-31") and its day number
 * (days since 1970-01-01, cm_date_parse). */
typedef struct ct_date {
    const char *s;
    int32_t day;
} ct_date;

typedef struct ct_invoice { /* invoice.issued, invoice.updated */
    const char *invoice_id;
    const char *number;   /* NULL when absent */
    const char *currency; /* ISO 4217, 3 upper-case letters */
    int64_t amount_minor; /* >= 0 */
    ct_date issued_on, due_on;
    ct_strs tags;
    const char *terms, *po_number; /* NULL when absent */
} ct_invoice;

typedef struct ct_invoice_ref { /* invoice.voided, invoice.written_off */
    const char *invoice_id;
} ct_invoice_ref;

typedef struct ct_allocation {
    const char *invoice_id;
    int64_t amount_minor; /* >= 0 */
} ct_allocation;

typedef struct ct_payment { /* payment.received */
    const char *payment_id;
    const char *currency;
    int64_t amount_minor;
    ct_date received_on;
    const char *received_at; /* RFC 3339 instant, NULL when absent */
    int64_t received_at_ms;  /* 0 when absent */
    size_t nallocations;
    ct_allocation allocations[CT_LIST_MAX];
} ct_payment;

typedef struct ct_reversal { /* payment.reversed */
    const char *payment_id;
    const char *reason;
} ct_reversal;

typedef struct ct_credit_note { /* credit_note.issued */
    const char *credit_note_id;
    const char *invoice_id;
    const char *currency;
    int64_t amount_minor;
} ct_credit_note;

typedef struct ct_customer { /* customer.upserted */
    const char *name;
    const char *email, *phone; /* NULL when absent */
    const char *timezone;      /* IANA name; NULL when absent (ingest writes "UTC") */
    const char *locale;        /* NULL when absent (ingest writes "en") */
    const char *country;       /* ISO 3166-1 alpha-2; NULL when absent */
    const char *region;        /* ISO 3166-2 subdivision ("US-MA"); NULL when absent */
    ct_zones extra_timezones;  /* other zones the debtor lives in; empty when absent */
    ct_channels channels;      /* preference order */
    ct_channels opted_out;
    ct_debtor_kind kind;  /* CT_DEBTOR_BUSINESS when absent */
    int has_credit_limit; /* credit_limit_minor and credit_currency present */
    int64_t credit_limit_minor;
    const char *credit_currency;
    ct_strs tags;
} ct_customer;

typedef struct ct_promise { /* promise.made, promise.kept, promise.broken */
    ct_strs invoice_ids;    /* at least one */
    const char *currency;
    int64_t amount_minor;
    ct_date promised_on;
} ct_promise;

typedef struct ct_dispute { /* dispute.opened, dispute.resolved */
    const char *invoice_id;
    const char *reason; /* NULL when absent */
} ct_dispute;

typedef struct ct_ceased { /* contact.ceased */
    ct_channel channel;    /* CT_CH_NONE: every channel */
    const char *phone;     /* the number that sent STOP (issue 17); NULL when absent */
} ct_ceased;

typedef struct ct_contact_log { /* contact.logged */
    ct_channel channel;         /* the channel the contact was on */
    ct_call_outcome outcome;
    const char *at; /* RFC 3339 UTC with milliseconds: when it happened */
    int64_t at_ms;
    ct_strs invoice_ids; /* the invoices discussed; empty when absent */
    const char *agent;   /* NULL when absent */
    const char *notes;   /* NULL when absent; up to CT_NOTES_MAX bytes */
} ct_contact_log;

typedef struct ct_resumed { /* contact.resumed */
    ct_channel channel;     /* CT_CH_NONE: every channel */
    const char *phone;      /* the number that sent START (issue 17); NULL when absent */
} ct_resumed;

/* The debtor's answer to a message (issue 17). */
typedef struct ct_reply {    /* contact.replied */
    ct_channel channel;      /* sms or email */
    const char *text;        /* 1..CT_REPLY_MAX bytes of UTF-8 */
    const char *phone;       /* the sender's number when the event named it; NULL otherwise */
    const char *provider_id; /* the provider's message id; NULL when absent */
} ct_reply;

/* What a provider said about one message the notifier sent (issue 17). */
typedef struct ct_delivery { /* contact.delivered, contact.bounced, contact.complained */
    ct_channel channel;      /* sms or email (complained: email) */
    const char *command_id;  /* the command the message was sent for; up to CT_COMMAND_ID_MAX */
    const char *template_id; /* "template": the message's template name */
    const char *provider_id; /* NULL when absent */
    ct_bounce_kind kind;     /* bounced: hard or soft; CT_BOUNCE_NONE otherwise */
    const char *address;     /* bounced: the address that bounced; NULL when absent */
} ct_delivery;

/* A case handed to an agency or to legal (issue 16; docs/escalation.md).
 * The case file itself goes on `escalations`; this event on `events`
 * says that it went, for the reporter and for billing. */
typedef struct ct_placement { /* escalation.placed (scheduler) */
    const char *case_id;      /* "case-" + 16 hex digits */
    ct_escalation_to to;
    ct_strs invoice_ids; /* at least one */
    const char *currency;
    int64_t placed_minor;       /* > 0: the case's outstanding with fees and interest */
    int64_t expected_net_minor; /* > 0: what the gate expected to recover, net */
    const char *command_id;     /* the escalation step's command id; up to CT_DERIVED_ID_MAX */
} ct_placement;

typedef struct ct_case_event { /* escalation.accepted, escalation.recalled */
    const char *case_id;
    const char *agency_ref; /* accepted: the agency's reference (required) */
    const char *reason;     /* recalled: why (required) */
} ct_case_event;

typedef struct ct_remittance { /* escalation.remitted */
    const char *case_id;
    const char *currency;
    int64_t amount_minor;     /* > 0: what the agency collected from the debtor */
    int64_t commission_minor; /* 0 .. amount_minor: what it kept */
} ct_remittance;

/* The scheduler's money events (issue 14; docs/events.md). Amounts are in
 * minor units of currency. */
typedef struct ct_fee_charged { /* invoice.fee_charged */
    const char *invoice_id;
    const char *currency;
    int64_t amount_minor; /* > 0 */
    int step;             /* index of the ladder step that charged it, >= 0 */
    ct_date charged_on;   /* the debtor's local date of the send */
} ct_fee_charged;

typedef struct ct_fee_waived { /* invoice.fee_waived */
    const char *invoice_id;
    const char *currency;
    int64_t amount_minor; /* > 0: the fees waived */
    ct_waiver reason;
} ct_fee_waived;

typedef struct ct_interest_claimed { /* invoice.interest_claimed */
    const char *invoice_id;
    const char *currency;
    int64_t interest_minor;     /* >= 0 */
    int64_t compensation_minor; /* >= 0 */
    ct_interest_scheme scheme;
    int days_late; /* > 0: payment date - due date */
} ct_interest_claimed;

typedef struct ct_settled { /* invoice.settled */
    const char *invoice_id;
    const char *currency;
    int64_t paid_minor;     /* >= 0 */
    int64_t forgiven_minor; /* > 0: for billing to write off */
    ct_offer_kind offer;    /* the offer taken */
} ct_settled;

/* An instalment plan (issue 16; the scheduler does not act on it yet). */
typedef struct ct_instalment {
    ct_date due_on;
    int64_t amount_minor; /* > 0 */
} ct_instalment;

typedef struct ct_plan { /* plan.agreed */
    const char *plan_id;
    ct_strs invoice_ids; /* at least one */
    const char *currency;
    int64_t total_minor;                                /* the sum of the instalments */
    size_t ninstalments;                                /* 1 .. CT_PLAN_INSTALMENTS_MAX */
    ct_instalment instalments[CT_PLAN_INSTALMENTS_MAX]; /* due_on strictly rising */
    ct_plan_source source;                              /* CT_PLAN_SRC_NONE when absent */
} ct_plan;

typedef struct ct_plan_cancel { /* plan.cancelled */
    const char *plan_id;
    const char *reason;
} ct_plan_cancel;

/* How a plan ended, published by the scheduler (issue 16): plan.broken
 * names the instalment that was missed; plan.completed leaves instalment,
 * due_on and short_minor 0 (and due_on.s NULL). */
typedef struct ct_plan_outcome { /* plan.broken, plan.completed (scheduler) */
    const char *plan_id;
    ct_strs invoice_ids; /* at least one */
    const char *currency;
    int64_t total_minor; /* the plan's total, > 0 */
    int64_t paid_minor;  /* paid towards it when it ended (>= 0) */
    int instalment;      /* plan.broken: the 1-based instalment that broke; 0 for completed */
    ct_date due_on;      /* plan.broken: that instalment's due date (required for broken,
                          * absent for completed) */
    int64_t short_minor; /* plan.broken: what was missing of that instalment (> 0) */
} ct_plan_outcome;

typedef struct ct_event {
    int v;          /* CT_VERSION */
    const char *id; /* CloudEvents id, unique per (tenant, source) */
    const char *source;
    ct_type type;          /* CT_EV_NONE when the type is not in the contract */
    const char *type_name; /* as written */
    const char *tenant;
    const char *time; /* as written (RFC 3339 UTC with milliseconds) */
    int64_t time_ms;
    const char *customer_id;
    const char *trace_id; /* NULL when absent */
    const cm_jv *data_jv; /* the data object itself; non-NULL once the envelope
                           * was read (for fields the struct does not carry) */
    union {
        ct_invoice invoice;
        ct_invoice_ref invoice_ref;
        ct_payment payment;
        ct_reversal reversal;
        ct_credit_note credit_note;
        ct_customer customer;
        ct_promise promise;
        ct_dispute dispute;
        ct_ceased ceased;
        ct_contact_log contact_log;
        ct_resumed resumed;
        ct_reply reply;
        ct_delivery delivery;
        ct_placement placement;
        ct_case_event case_event;
        ct_remittance remittance;
        ct_fee_charged fee_charged;
        ct_fee_waived fee_waived;
        ct_interest_claimed interest_claimed;
        ct_settled settled;
        ct_plan plan;
        ct_plan_cancel plan_cancel;
        ct_plan_outcome plan_outcome;
    } data;
} ct_event;

/* The data shape of each type (the union member it fills). */
typedef enum ct_shape {
    CT_SHAPE_NONE = -1,
    CT_SHAPE_INVOICE = 0,
    CT_SHAPE_INVOICE_REF,
    CT_SHAPE_PAYMENT,
    CT_SHAPE_REVERSAL,
    CT_SHAPE_CREDIT_NOTE,
    CT_SHAPE_CUSTOMER,
    CT_SHAPE_PROMISE,
    CT_SHAPE_DISPUTE,
    CT_SHAPE_CEASED,
    CT_SHAPE_PLACEMENT,
    CT_SHAPE_CONTACT_LOG,
    CT_SHAPE_RESUMED,
    CT_SHAPE_FEE_CHARGED,
    CT_SHAPE_FEE_WAIVED,
    CT_SHAPE_INTEREST_CLAIMED,
    CT_SHAPE_SETTLED,
    CT_SHAPE_PLAN,
    CT_SHAPE_PLAN_CANCEL,
    CT_SHAPE_PLAN_OUTCOME,
    CT_SHAPE_CASE_EVENT,
    CT_SHAPE_REMITTANCE,
    CT_SHAPE_REPLY,
    CT_SHAPE_DELIVERY
} ct_shape;

ct_shape ct_event_shape(ct_type t);

/* Decodes the canonical event ev (a JSON object) into *out. Returns 0, or
 * -1 with "field: rule (detail)" in errstr. When the envelope is readable
 * but the type is not in the contract, returns -1 with out->type ==
 * CT_EV_NONE and the envelope fields filled (data_jv set): a reader that
 * ignores unknown types tests that. out borrows from ev (see Ownership). */
int ct_event_decode(const cm_jv *ev, ct_event *out, char *errstr, size_t errlen);
/* How deep a record on `events` may nest for its readers (contract.h). */
#define CT_EVENT_READ_MAX_DEPTH CT_READ_MAX_DEPTH

/* ct_record_parse (contract.h) of an event: errors read "(event): ...".
 * For a reader that looks at the tree before it decodes it. */
const cm_jv *ct_event_parse(cm_json *j, const char *p, size_t n, char *errstr, size_t errlen);
/* ct_event_parse, then ct_event_decode: the record p[0..n) into *out
 * (-1 with out->type CT_EV_NONE and data_jv NULL when it does not parse). */
int ct_event_decode_bytes(cm_json *j, const char *p, size_t n, ct_event *out, char *errstr,
                          size_t errlen);
/* The same from a jansson tree, serialised and parsed into j (strings are
 * copied into j; ev may go at once). Off the hot paths only. */
int ct_event_decode_json(cm_json *j, const json_t *ev, ct_event *out, char *errstr, size_t errlen);

/* --- Kafka headers of a canonical event --------------------------------- */

/* One Kafka header; value is a NUL-terminated string (borrowed). */
typedef struct ct_kv {
    const char *name;
    const char *value;
} ct_kv;

#define CT_EVENT_HEADERS 4 /* ce_type, ce_id, tenant, trace_id */

/* The headers every record on `events` carries, in this order: ce_type
 * (the type's wire name), ce_id, tenant, trace_id. Fills out[0..4) with
 * pointers to type's static name and to the arguments (borrowed). */
void ct_event_headers_of(ct_type type, const char *id, const char *tenant, const char *trace_id,
                         ct_kv out[CT_EVENT_HEADERS]);
/* The same from a decoded or filled-in event (trace_id "" when NULL). */
void ct_event_headers(const ct_event *ev, ct_kv out[CT_EVENT_HEADERS]);

#endif
