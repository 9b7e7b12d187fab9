/* outcome.h -- what the notifier answers a command with: the contact
 * outcome (topic `contacts`, notifier -> reporter) and the task record
 * (topic `tasks`, notifier -> people), one encoder and one decoder each.
 *
 * Design: the notifier answers every command it can identify with exactly
 * one contact outcome (docs/contracts.md "Contact outcome"); call_task and
 * letter commands are also handed over as a task record. The outcome takes
 * most of its fields from the command (ct_contact_from_command), the rest
 * from the attempt. Members are written in this order, always:
 *   v type id command_id kind tenant customer_id invoice_ids channel
 *   template strategy variant step provider_status attempts latency_ms at
 *   currency amount_total_minor message_id reason
 * where kind, tenant, customer_id, channel, template, strategy, variant,
 * step, currency, amount_total_minor and message_id are left out when
 * absent, and reason is written for contact.failed only. The encoder is
 * printf-free and writes what jansson's compact, order-preserving dump of
 * the same members wrote before (the one difference: a control byte other
 * than \b \f \n \r \t is escaped with lowercase hex, as everywhere else).
 *
 * A task record is the command as the notifier received it, every member
 * in its order, plus "task_id" (the command id): a reader sees the fields a
 * newer scheduler added even when this notifier does not know them. It is
 * therefore encoded from the command's JSON tree, not from a ct_command.
 *
 * Ownership: every `const char *` is borrowed -- from the command (or the
 * caller's buffers) when encoding, from the cm_json arena when decoding, valid
 * while that lives. Nothing here allocates but the cm_buf the encoders
 * append to (the caller's). Optional strings are NULL when absent. */
#ifndef CT_OUTCOME_H
#define CT_OUTCOME_H

#include "contract.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct cm_buf;
struct ct_command;

/* A contact outcome (contacts topic). About 1 KiB (invoice_ids is a fixed
 * array): fine on a stack. */
typedef struct ct_contact {
    ct_outcome type;        /* CT_OUT_SENT ("contact.sent") or CT_OUT_FAILED */
    const char *id;         /* one outcome per id: the command id */
    const char *command_id; /* up to CT_COMMAND_ID_MAX bytes */
    ct_kind kind;           /* CT_KIND_NONE: left out */
    const char *tenant;
    const char *customer_id;
    size_t ninvoice_ids; /* at most CT_LIST_MAX; "invoice_ids" is always written */
    const char *invoice_ids[CT_LIST_MAX];
    ct_channel channel;      /* CT_CH_NONE: left out */
    const char *template_id; /* "template" */
    const char *strategy, *variant;
    int has_step;
    int64_t step;
    const char *provider_status; /* SMTP code, HTTP status, "queued"; NULL or "" = none */
    int64_t attempts;
    int64_t latency_ms;
    int64_t at_ms; /* "at": the shared clock's instant of the outcome */
    const char *currency;
    int has_amount;
    int64_t amount_total_minor; /* the command's amounts.total */
    const char *message_id;     /* email: the Message-ID; NULL or "" = left out */
    const char *reason;         /* contact.failed: what went wrong (NULL = "") */
} ct_contact;

/* Fills the members of *o that come from the command it answers (id,
 * command_id, kind, tenant, customer_id, invoice_ids, channel, template,
 * strategy, variant, step, currency, amount_total_minor) and clears the
 * rest: type CT_OUT_SENT, no status, attempts 0, at 0. c may be partly
 * decoded (ct_command_decode returned -1 after filling command_id): what
 * is missing is left out. o borrows from c. */
void ct_contact_from_command(ct_contact *o, const struct ct_command *c);

/* Appends the outcome as compact JSON (no newline) to b. Returns 0, or -1
 * when b ran out of memory (b->oom). Strings must be valid UTF-8; nothing
 * else is checked. */
int ct_contact_encode(const ct_contact *o, struct cm_buf *b);

/* Decodes a contact outcome (a JSON object) into *out. Required: type
 * (contact.sent | contact.failed), id (or, from older writers, command_id:
 * id is then command_id), tenant, at (RFC 3339). Every other member is
 * optional but checked when present: kind and channel must be names of
 * the contract, strings within their CT_* limits, invoice_ids a list of at
 * most CT_LIST_MAX ids, step an integer (a string of digits is accepted),
 * attempts, latency_ms and amount_total_minor integers, "v" CT_VERSION.
 * JSON null counts as absent. Unknown members are ignored. Returns 0, or
 * -1 with "field: rule" in errstr. out borrows from j (the cm_json arena
 * that parsed it: contract.h). */
int ct_contact_decode(const cm_jv *j, ct_contact *out, char *errstr, size_t errlen);
/* ct_record_parse (contract.h) into j, then ct_contact_decode. */
int ct_contact_decode_bytes(cm_json *j, const char *p, size_t n, ct_contact *out, char *errstr,
                            size_t errlen);
/* The same from a jansson tree, serialised and parsed into j. Off the hot
 * paths only (replays, tests). */
int ct_contact_decode_json(cm_json *j, const json_t *v, ct_contact *out, char *errstr,
                           size_t errlen);

/* A task record (tasks topic). */
typedef struct ct_task {
    const cm_jv *command; /* the command as received: a JSON object */
    const char *task_id;  /* the command id */
} ct_task;

/* Appends the task record as compact JSON (no newline) to b: the members
 * of t->command in their order with "task_id" set to t->task_id (replaced
 * in place when the command already had one). Returns 0, or -1 when memory
 * ran out (b->oom) or t has no command object or task_id. */
int ct_task_encode(const ct_task *t, struct cm_buf *b);

/* Decodes a task record: the command part into *cmd (ct_command_decode,
 * every rule of a command; its channel must be call_task or letter) and
 * task_id, which must equal the command id. Returns 0, or -1 with
 * "field: rule" in errstr. out and cmd borrow from j. */
int ct_task_decode(const cm_jv *j, ct_task *out, struct ct_command *cmd, char *errstr,
                   size_t errlen);

/* The Kafka header every record on `contacts` carries: the id of the
 * command answered, as on `commands`. Task records carry no header. */
#define CT_OUTCOME_HEADER "command_id"

#endif
