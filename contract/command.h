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
 *   created_at scheduled_at customer currency amounts invoices
 * then, when present: step step_name attempt (ladder steps), not_after,
 * level (kind escalation), payment (kind payment.thanks), rules (when
 * nrules > 0, so a command without rules is written as before they
 * existed).
 * Instants are int64 ms since the epoch, written as
 * "2026-03-08T09:00:00.000Z"; dates are day numbers, written "2026-03-01".
 *
 * Command ids are deterministic (docs/contracts.md):
 *   <tenant>/inv/<invoice_id>/step/<n>/attempt/<k>   ladder steps
 *   <tenant>/inv/<invoice_id>/thanks/<payment_id>    payment thanks
 *   <tenant>/inv/<invoice_id>/cease/<event_id>       cease confirmation
 *   <tenant>/inv/<invoice_id>/broken/<promise_id>    promise-broken notice
 * so they can be longer than CT_ID_MAX: up to CT_COMMAND_ID_MAX.
 *
 * Ownership: every `const char *` is borrowed -- from the caller's records
 * when encoding, from the json_t decoded (json_string_value) when decoding,
 * valid while that lives. Nothing here allocates but the cm_buf the
 * encoder appends to (the caller's). Optional strings are NULL when absent;
 * the encoder writes a NULL required string as "".
 * A ct_command is about 6 KiB (invoices is a fixed array): fine on a stack. */
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
 *   <step command id>/escalated (invoice.escalated)  306+10             = 316
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
} ct_command_invoice;

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
    /* "rules" (see CT_COMMAND_RULES_MAX): rules[0..nrules) */
    size_t nrules;
    const char *rules[CT_COMMAND_RULES_MAX];
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
int ct_command_decode(const json_t *j, ct_command *out, char *errstr, size_t errlen);

/* The Kafka header every record on `commands` carries: command_id. */
#define CT_COMMAND_HEADER "command_id"

#endif
