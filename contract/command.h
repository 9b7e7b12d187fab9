/* command.h -- the command (topic `commands`, scheduler -> notifier) as a C
 * struct, its one encoder and its Kafka header.
 *
 * Design: a command carries everything the notifier needs to render a
 * message without reading state (docs/contracts.md "Command"). The
 * scheduler fills a ct_command and encodes it with ct_command_encode (the
 * firing hot path: printf-free, straight into a cm_buf); the notifier
 * decodes the record into the same struct (ct_command_decode,
 * command_decode.c). Members are written in this order, always:
 *   v command_id kind tenant channel template locale strategy variant
 *   [segment] created_at scheduled_at customer currency amounts invoices
 * then, when present: step step_name attempt (ladder steps), not_after,
 * level (kind escalation), payment (kind payment.thanks), offer (has_offer),
 * interest_basis (has_interest_basis), risk (has_risk), plan (has_plan),
 * totals (when ntotals > 0), rules (when nrules > 0), reply (has_reply,
 * kind review), link_valid_days (when > 0). Each
 * element of invoices is
 *   invoice_id number issued_on due_on days_overdue currency amount_minor
 *   outstanding_minor
 * then amounts when has_amounts, then step step_name attempt when has_step
 * (a grouped command: one message for several invoices of a debtor). Optional members are written
 * only when present, so a command without them is byte for byte what it was before they existed
 * (issue 13's rules, issue 14's amounts per invoice, offer and interest_basis). Instants are int64
 * ms since the epoch, written as "2026-03-08T09:00:00.000Z"; dates are day numbers, written
 * "2026-03-01".
 *
 * Command ids are deterministic (docs/contracts.md):
 *   <tenant>/inv/<invoice_id>/step/<n>/attempt/<k>   ladder steps
 *   <tenant>/inv/<invoice_id>/thanks/<payment_id>    payment thanks
 *   <tenant>/inv/<invoice_id>/cease/<event_id>       cease confirmation
 *   <tenant>/inv/<invoice_id>/broken/<promise_id>    promise-broken notice
 *   <tenant>/cust/<customer_id>/<channel>/<local date>/<hash>
 *                                                    grouped steps (16 hex
 *                                                    digits of the steps)
 * so they can be longer than CT_ID_MAX: up to CT_COMMAND_ID_MAX.
 *
 * Ownership: every `const char *` is borrowed -- from the caller's records
 * when encoding, from the cm_json arena that parsed the record when
 * decoding, valid until that arena's next parse, clear or free. Nothing here allocates but the
 * cm_buf the encoder appends to (the caller's). Optional strings are NULL when absent; the encoder
 * writes a NULL required string as "". A ct_command is about 11 KiB (invoices is a fixed array):
 * fine on a stack. */
#ifndef CT_COMMAND_H
#define CT_COMMAND_H

#include "contract.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct cm_buf;

/* Longest command id, in bytes (no NUL). Every id the scheduler builds,
 * with a tenant of CT_TENANT_MAX (64), ids of CT_ID_MAX (200) and an int
 * written in at most 11 bytes ("-2147483648"):
 *   <tenant>/inv/<invoice_id>/step/<n>/attempt/<k>   64+5+200+6+11+9+11 = 306
 *   <tenant>/inv/<invoice_id>/thanks/<payment_id>    64+5+200+8+200     = 477
 *   <step command id> + a derived event's suffix    306+10             = 316
 * The longest are the thanks and notice ids ("/broken/" is 8 bytes too):
 * 477. Outcomes and tasks reuse the command
 * id (docs/contracts.md). The scheduler checks the step and escalation
 * forms against this at compile time (services/scheduler/records.c). */
#define CT_COMMAND_ID_MAX (CT_TENANT_MAX + 5 + CT_ID_MAX + 8 + CT_ID_MAX)

/* "rules": the names of the contact rules that shaped a command
 * ("window:moved", "cap:sms,email:3/7d", "channel:fallback:email"): at
 * most CT_COMMAND_RULES_MAX, each 1..CT_COMMAND_RULE_MAX bytes of
 * printable ASCII (0x20..0x7e). The decoder refuses a command that breaks
 * this, so the writer keeps to it. */
#define CT_COMMAND_RULES_MAX 16
#define CT_COMMAND_RULE_MAX  64

#define CT_SEGMENT_MAX 1000

/* "link_valid_days" (issue 17): the days a signed link of the command
 * stays valid after its created_at, from the policy's links.valid_days;
 * 1..CT_LINK_VALID_DAYS_MAX, absent when the policy does not set it (the
 * notifier then uses its tenant setting). */
#define CT_LINK_VALID_DAYS_MAX 365

/* "customer": the debtor's contact details as of the firing. */
typedef struct ct_command_customer {
    const char *customer_id;
    const char *name, *email, *phone; /* NULL when absent */
    const char *timezone, *locale, *country;
} ct_command_customer;

/* "amounts", in minor units of the command's currency. */
typedef struct ct_command_amounts {
    int64_t principal, fees, interest, compensation, total;
} ct_command_amounts;

/* One element of "invoices". */
typedef struct ct_command_invoice {
    const char *invoice_id;
    const char *number;        /* "" (or NULL) when the invoice has none */
    int32_t issued_on, due_on; /* days since 1970-01-01 */
    int64_t days_overdue;      /* today (debtor's zone) - due_on; may be < 0 */
    const char *currency;
    int64_t amount_minor; /* the invoice's amount */
    int64_t outstanding_minor;
    /* "amounts" of this invoice as of the debtor's local date of the send
     * (issue 14); written after outstanding_minor when has_amounts. The
     * decoder refuses a negative member. */
    int has_amounts;
    ct_command_amounts amounts;
    /* the ladder step this invoice is in the message for (issue 15's
     * grouped commands): written after amounts when has_step */
    int has_step;
    int step;
    const char *step_name;
    int attempt;
} ct_command_invoice;

/* "totals" (issue 15's grouped commands): one per currency of the
 * invoices, in order of first appearance, each the sum of those invoices'
 * amounts. */
#define CT_TOTALS_MAX 8
typedef struct ct_command_total {
    const char *currency;
    ct_command_amounts amounts;
} ct_command_total;

/* "offer": what a step offers (issue 14), in the command's currency:
 *   {"kind":"settlement","amount_minor":80000,"forgiven_minor":20000,
 *    "valid_until":"2026-05-14"}
 * discount: pay amount_minor by valid_until and forgiven_minor is taken off;
 * settlement: pay amount_minor by valid_until and forgiven_minor is
 * forgiven; plan: amount_minor (forgiven 0) in the instalments of one of
 * "plans", agreed by valid_until. The decoder refuses an unknown kind,
 * negative amounts and plans that break the rules below. */
#define CT_OFFER_PLANS_MAX            11 /* plans of 2 .. 12 instalments */
#define CT_OFFER_PLAN_INSTALMENTS_MAX 12
typedef struct ct_command_offer {
    ct_offer_kind kind;
    int64_t amount_minor;   /* to pay */
    int64_t forgiven_minor; /* taken off if paid in time */
    int32_t valid_until;    /* the debtor's local date, day number (inclusive) */
    /* kind plan (issue 16): the plans the debtor may choose, written as
     * "plans":[{"instalments":[{"due_on","amount_minor"},...]},...] after
     * valid_until; 1..CT_OFFER_PLANS_MAX plans of 2..12 instalments, due
     * dates rising, amounts > 0 summing to amount_minor */
    size_t nplans;
    struct {
        size_t n;
        struct {
            int32_t due_on;
            int64_t amount_minor;
        } inst[CT_OFFER_PLAN_INSTALMENTS_MAX];
    } plans[CT_OFFER_PLANS_MAX];
} ct_command_offer;

/* "interest_basis": the legal basis of the command's interest (issue 14):
 *   {"scheme":"uk_late_payment","annual_pct":"13.25","country":"GB"}
 * annual_pct is rate_e4 as a decimal string (ct_annual_pct_format);
 * country is written when not NULL. */
typedef struct ct_command_interest_basis {
    ct_interest_scheme scheme;
    int32_t rate_e4;     /* annual rate in 1e-4 percent: 13.25% -> 132500; >= 0 */
    const char *country; /* ISO 3166-1 alpha-2 of the debtor; NULL when unknown */
} ct_command_interest_basis;

/* rate_e4 as annual_pct writes it: a decimal with the trailing zeros of
 * its four decimals trimmed but at least two kept: 132500 -> "13.25",
 * 120000 -> "12.00", 81250 -> "8.125", 5 -> "0.0005", -8800 -> "-0.88".
 * buf of at least 16 bytes (CT_PCT_MAX). */
#define CT_PCT_MAX 16
void ct_annual_pct_format(int32_t rate_e4, char *buf, size_t len);
/* "13.25" -> 132500: digits, optionally '.' and 1 to 4 digits, at most
 * 100000.0000 (a rate of 1000 x 100%). Returns 0, or -1. */
int ct_annual_pct_parse(const char *s, int32_t *rate_e4);

/* "risk": the debtor's risk score and why (common/risk.h, docs/risk.md):
 *   {"score":62,"band":"high","contributions":[{"factor":"late_share",
 *    "value":80,"points":20},...]}
 * The decoder refuses a score outside 0..100, an unknown band, more than
 * CT_RISK_FACTORS_MAX contributions, a factor name that is not a token or
 * negative points. */
#define CT_RISK_FACTORS_MAX 16
typedef struct ct_command_risk {
    int score;        /* 0..100 */
    const char *band; /* "low", "medium", "high", "severe" */
    size_t n;
    struct {
        const char *factor; /* e.g. "late_share" */
        int64_t value;
        int points; /* >= 0 */
    } c[CT_RISK_FACTORS_MAX];
} ct_command_risk;

/* "plan": the instalment of a plan a reminder is about (issue 16), in the
 * command's currency:
 *   {"plan_id":"PL-1","instalment":2,"instalments":3,"due_on":"2026-04-10",
 *    "amount_minor":30000,"paid_minor":0,"total_minor":90000,
 *    "total_paid_minor":30000}
 * The decoder refuses negative amounts, an instalment outside
 * 1..instalments, instalments outside 1..CT_PLAN_INSTALMENTS_MAX and a
 * due_on that is not a date. */
typedef struct ct_command_plan {
    const char *plan_id;
    int instalment;           /* 1-based: the instalment this reminder is about */
    int instalments;          /* how many the plan has */
    int32_t due_on;           /* its due date (day number) */
    int64_t amount_minor;     /* its amount */
    int64_t paid_minor;       /* paid towards it so far (0..amount) */
    int64_t total_minor;      /* the plan's total */
    int64_t total_paid_minor; /* paid towards the plan so far */
} ct_command_plan;

/* "reply" of a review command (issue 17): what the debtor wrote back
 * (contact.replied), for a collector to read. */
typedef struct ct_command_reply {
    ct_channel channel;   /* the channel it came on */
    const char *text;     /* up to CT_REPLY_MAX bytes of UTF-8 */
    const char *event_id; /* the contact.replied's id; up to CT_DERIVED_ID_MAX */
    int64_t at_ms;        /* its time */
} ct_command_reply;

/* "payment" of a payment.thanks command. */
typedef struct ct_command_payment {
    const char *payment_id;
    int64_t amount_minor;
    const char *currency;
} ct_command_payment;

typedef struct ct_command {
    int v;                  /* CT_VERSION */
    const char *command_id; /* up to CT_COMMAND_ID_MAX bytes */
    ct_kind kind;
    const char *tenant;
    ct_channel channel;
    const char *template_id; /* "template" */
    const char *locale;
    const char *strategy, *variant;
    /* "segment" (issue 15): the segment rule that chose the strategy, the
     * strategy's "segment" as compact JSON ("{}": a catch-all), or "none"
     * when no strategy matched and the last one ran (docs/policy.md);
     * NULL: not written. At most CT_SEGMENT_MAX bytes of printable ASCII. */
    const char *segment;
    int64_t created_at_ms;   /* the (simulated) instant it fired */
    int64_t scheduled_at_ms; /* the instant its timer was due */
    /* "customer": customer_json, when not NULL, is the object's compact
     * JSON text and is written as is (the scheduler keeps each debtor's
     * contact encoded); otherwise the encoder writes the typed fields
     * (customer_id first, then those not NULL). The decoder fills the
     * typed fields and leaves customer_json NULL. */
    const char *customer_json;
    ct_command_customer customer;
    const char *currency;
    ct_command_amounts amounts;
    size_t ninvoices; /* at most CT_LIST_MAX */
    ct_command_invoice invoices[CT_LIST_MAX];
    /* ladder steps (kinds reminder, call_task, letter, escalation) */
    int has_step;
    int step; /* index of the step in its ladder */
    const char *step_name;
    int attempt;
    int has_not_after;
    int64_t not_after_ms; /* do not send after this instant */
    int level;            /* kind escalation: 1..9 (written only for that kind) */
    /* kind payment.thanks */
    int has_payment;
    ct_command_payment payment;
    /* "offer" (issue 14): a step with an offer */
    int has_offer;
    ct_command_offer offer;
    /* "interest_basis" (issue 14): when the amounts carry interest */
    int has_interest_basis;
    ct_command_interest_basis interest_basis;
    /* "risk" (issue 15): the debtor's score, band and contributions */
    int has_risk;
    ct_command_risk risk;
    /* "plan" (issue 16): an instalment reminder's plan (written after risk) */
    int has_plan;
    ct_command_plan plan;
    /* "totals" (issue 15): a grouped command's sums per currency
     * (ntotals > 0: written after risk and plan) */
    size_t ntotals;
    ct_command_total totals[CT_TOTALS_MAX];
    /* "rules" (see CT_COMMAND_RULES_MAX): rules[0..nrules) */
    size_t nrules;
    const char *rules[CT_COMMAND_RULES_MAX];
    /* "reply" (issue 17): kind review, written after rules */
    int has_reply;
    ct_command_reply reply;
    /* "link_valid_days" (issue 17, see CT_LINK_VALID_DAYS_MAX): written
     * last when > 0; 0: absent */
    int link_valid_days;
} ct_command;

/* Appends the command as compact JSON (no newline) to b. Returns 0, or -1
 * when b ran out of memory (b->oom). Nothing is validated: the caller
 * built c from checked records. */
int ct_command_encode(const ct_command *c, struct cm_buf *b);

/* Decodes a command record (a JSON object) into *out (command_decode.c).
 * Returns 0, or -1 with "field: rule" in errstr naming the first problem.
 * Every member that is valid is decoded even after a problem, so that a
 * rejected command with a command_id can still be answered (the notifier's
 * contact.failed carries its tenant, channel, ...). out borrows from j
 * (see Ownership above). Members a record leaves out (hand-written
 * commands; the scheduler writes them all) decode as NULL, 0, or: */
#define CT_DAY_NONE   INT32_MIN /* invoices[].issued_on, due_on */
#define CT_MINOR_NONE INT64_MIN /* amounts.*, invoices[].*_minor, days_overdue */
int ct_command_decode(const cm_jv *j, ct_command *out, char *errstr, size_t errlen);
/* ct_record_parse (contract.h) into j, then ct_command_decode: out
 * borrows from j, and *root (when root is not NULL) is the record's tree,
 * for a reader that writes the command on as received. A record that does
 * not parse: -1, "(command): json (...)" in errstr, *out cleared as
 * ct_command_decode leaves it and *root NULL. */
int ct_command_decode_bytes(cm_json *j, const char *p, size_t n, ct_command *out,
                            const cm_jv **root, char *errstr, size_t errlen);
/* The same from a jansson tree, serialised and parsed into j (strings
 * are copied into j). Off the hot paths only. */
int ct_command_decode_json(cm_json *j, const json_t *v, ct_command *out, char *errstr,
                           size_t errlen);

/* The Kafka header every record on `commands` carries: command_id. */
#define CT_COMMAND_HEADER "command_id"

#endif
