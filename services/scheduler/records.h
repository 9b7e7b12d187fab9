/* records.h -- the records the scheduler publishes: commands (contract's
 * ct_command, docs/contracts.md) and its own events, and their Kafka
 * headers.
 *
 * A command carries everything the notifier needs to render a message
 * without reading state. Ids are deterministic:
 *   <tenant>/inv/<invoice_id>/step/<n>/attempt/<k>   ladder steps
 *   <tenant>/inv/<invoice_id>/thanks/<payment_id>    payment thanks
 *   <case id>/placed                                 escalation.placed
 *   <tenant>/cust/<customer_id>/<channel>/<date>/<h> a grouped message
 * "scheduled_at" is the instant the timer was due (created_at minus it is
 * the lateness). Builders fill a ct_command from the records and encode it
 * with ct_command_encode (contract/command.c); they return malloc'd JSON
 * text (the caller frees it), or NULL on out of memory. */
#ifndef SCH_RECORDS_H
#define SCH_RECORDS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "command.h"
#include "policy.h"
#include "state.h"

/* Room for any command id (CT_COMMAND_ID_MAX) or the id of an event
 * derived from one (id + a suffix such as "/completed"), with its NUL. */
#define SCH_EVENT_SUFFIX_MAX 10 /* strlen("/completed") */
#define SCH_CMD_ID_LEN       (CT_COMMAND_ID_MAX + SCH_EVENT_SUFFIX_MAX + 1)

/* The id builders write the whole id and its NUL into out and return 0,
 * or -1 (out set to "") when it does not fit in len: never a truncated
 * id. With out of SCH_CMD_ID_LEN and the records' bounded fields (tenant
 * CT_TENANT_MAX, ids CT_ID_MAX) they always fit. */
int sch_command_id_step(char *out, size_t len, const char *tenant, const char *invoice_id, int step,
                        int attempt);
int sch_command_id_thanks(char *out, size_t len, const char *tenant, const char *invoice_id,
                          const char *payment_id);

/* The command of a ladder step (kind = the step's action). NULL on out of
 * memory or when its id would not fit (sch_command_id_*). */
char *sch_command_step(const sch_rec *inv, const sch_rec *cust, const sch_policy *pol,
                       const cm_tz *tz, const sch_step *st, int step_idx, int64_t scheduled,
                       int64_t now);
/* One invoice step in a grouped message (grouping.one_message_per_debtor,
 * docs/policy.md): apply.c gathers a debtor's steps due on one channel
 * and local day in a firing round, then builds one command of them. inv
 * is borrowed (the round's map); rules is owned by the gatherer. */
typedef struct sch_group_item {
    sch_rec *inv;
    sch_step st; /* the step, its channel chosen */
    int step, attempt;
    int64_t scheduled; /* its timer's instant */
    char *rules;       /* the contact rules that moved it, "r;r;" (NULL none) */
} sch_group_item;

/* The id of a grouped command into out (0, or -1 as above):
 *   <tenant>/cust/<customer_id>/<channel>/<local date>/<16 hex digits>
 * the digits FNV-1a of "<invoice_id> <step> <attempt>\n" of every item,
 * in the items' order (the caller sorts them: due date, then invoice id),
 * so the same steps always give the same id. */
int sch_command_id_group(char *out, size_t len, const char *tenant, const char *customer,
                         ct_channel channel, int32_t day, const sch_group_item *items, size_t n);
/* The grouped command of items[0..n) (n >= 2, at most CT_LIST_MAX), all
 * of one debtor, channel and local day, with id: kind, template, step and
 * attempt of the firmest step (the latest offset from its due date; the
 * first such); every invoice with its step, days overdue and amounts;
 * "totals" per currency; currency and amounts those of the firmest step's
 * currency; scheduled_at the earliest item's; not_after the earliest of
 * the items'; rules the union of theirs. NULL on out of memory. */
char *sch_command_group(const sch_group_item *items, size_t n, const sch_rec *cust,
                        const sch_policy *pol, const cm_tz *tz, const char *id, int64_t now);
/* An instalment reminder (issue 16): the plan's step st about its
 * instalment pos->k (plan.h) of the plan of cust, from the invoice inv
 * that runs the plan (its timer; the tenant, the partition): kind and
 * template the step's, "invoices" the plan's open invoices (open, of
 * n), "plan" the instalment, currency and amounts what is left of the
 * instalment. Its id is
 *   <tenant>/plan/<plan_id>/instalment/<k+1>/step/<step>
 * written into id (SCH_CMD_ID_LEN). NULL on out of memory or an id that
 * does not fit. */
struct sch_plan_pos;
char *sch_command_instalment(const sch_rec *inv, const sch_rec *const *open, size_t n,
                             const sch_rec *cust, const sch_policy *pol, const cm_tz *tz,
                             const sch_step *st, int step, const struct sch_plan_pos *pos,
                             int64_t scheduled, int64_t now, char *id, size_t idlen);
/* plan.broken (type; pos: the instalment that broke) or plan.completed of
 * the plan of cust, at instant at, from inv (tenant, customer): id
 * "<plan_id>/broken|completed" ("plan/<fnv64 hex>/..." when that would
 * pass CT_ID_MAX) into id. JSON text (malloc'd); NULL on out of memory. */
char *sch_event_plan(const sch_rec *inv, const sch_rec *cust, ct_type type,
                     const struct sch_plan_pos *pos, int64_t at, char *id, size_t idlen);

/* The review command of a contact.replied (issue 17): kind review on
 * channel call_task (the notifier hands it to people on `tasks`), id
 * "<tenant>/cust/<customer_id>/reply/<16 hex of sha256(event id)>" into
 * id (SCH_CMD_ID_LEN), the reply in "reply", template "review", the
 * debtor's open invoices open[0..n) (the first gives currency and amounts;
 * none: no currency, amounts 0). JSON text (malloc'd); NULL on out of
 * memory. */
char *sch_command_review(const char *tenant, const char *customer_id, const sch_rec *cust,
                         const sch_rec *const *open, size_t n, const sch_policy *pol,
                         const cm_tz *tz, const ct_event *reply, int64_t now, char *id,
                         size_t idlen);

/* The payment.thanks command. */
char *sch_command_thanks(const sch_rec *inv, const sch_rec *cust, const sch_policy *pol,
                         const cm_tz *tz, int64_t scheduled, int64_t now);

/* The scheduler's escalation.placed for a case (invoices ",a,b,"; id
 * "<case id>/placed"; caller decrefs; NULL on out of memory). */
json_t *sch_event_placed(const sch_rec *inv, const char *case_id, int to, const char *invoices,
                         const char *currency, int64_t placed, int64_t net, const char *command_id,
                         int64_t at);

/* The Kafka headers of a record the scheduler publishes, built from what
 * its outbox keeps of it (topic 'c' or 'e', key tenant/customer_id, id),
 * never from its payload, so a record re-published after a crash carries
 * the same headers:
 *   'x'  case_id (a case file on `escalations`)
 *   'e'  also ce_source: arrears-scheduler, by which the scheduler skips its
 *        own events on `events` unread (sch_engine_parse)
 *   'c'  command_id
 *   'e'  ce_type, ce_id, tenant, trace_id (docs/contracts.md)
 * Names and values point into h or at static strings (valid while h is). */
#define SCH_HEADERS_MAX 5
typedef struct sch_headers {
    size_t n;
    const char *name[SCH_HEADERS_MAX];
    const char *value[SCH_HEADERS_MAX];
    char tenant[CT_TENANT_MAX + 1];
    char trace[33];
} sch_headers;
void sch_record_headers(char topic, const char *key, const char *id, sch_headers *h);

/* promise.kept or promise.broken (type) of the promise whose primary
 * invoice is inv (state.h: promise_*), at instant at: the promise.made
 * shape with source arrears-scheduler; id "<promise id>/kept|broken", or
 * "promise/<fnv64 hex>/..." when that would pass CT_ID_MAX. JSON text
 * (malloc'd); *id receives the id (SCH_CMD_ID_LEN). NULL on out of memory. */
char *sch_event_promise(const sch_rec *inv, ct_type type, int64_t at, char *id, size_t idlen);

/* invoice.fee_charged (type; arg: the step index, day: charged on) or
 * invoice.fee_waived (arg: the ct_waiver) of amount for inv, at instant at;
 * id "<src>/fee", "<src>/fee_waived_within" or "<src>/fee_waived" (src: the
 * id of the command that charged it or of the thanks of the payment that
 * waived it), hashed as "fee/<fnv64 hex>/..." past CT_ID_MAX. JSON text
 * (malloc'd); *id receives the id. NULL on out of memory. */
char *sch_event_fee(const sch_rec *inv, ct_type type, const char *src, int64_t at, int64_t amount,
                    int arg, int32_t day, char *id, size_t idlen);

/* invoice.settled for inv, whose open offer (state.h offer_*) the payment
 * whose thanks id is src reached: what was paid towards it, forgiven (the
 * principal and fees left), the offer's kind. Id "<src>/settled" (hashed
 * past CT_ID_MAX). JSON text (malloc'd). */
char *sch_event_settled(const sch_rec *inv, const char *src, int64_t at, int64_t forgiven, char *id,
                        size_t idlen);

/* invoice.interest_claimed for inv's claim command command_id, at instant
 * at: the interest and compensation claimed, the scheme, the days late.
 * Id "<command id>/claimed", or "claim/<fnv64 hex>/claimed" when that
 * would pass CT_ID_MAX. JSON text (malloc'd); *id receives the id. NULL on
 * out of memory. */
char *sch_event_interest_claimed(const sch_rec *inv, const char *command_id, int64_t at,
                                 int64_t interest, int64_t compensation, ct_interest_scheme scheme,
                                 int days_late, char *id, size_t idlen);

/* The one-off notices (state.h notice_id), by kind: 'c' the one
 * confirmation of a full cease (policy contact_rules.on_cease), id
 * <tenant>/inv/<invoice_id>/cease/<contact.ceased id>; 'b' the notice of a
 * broken promise (policy promises.on_broken), id
 * <tenant>/inv/<invoice_id>/broken/<promise id>; 'i' the claim of interest
 * and compensation after a late payment in full (policy
 * interest.claim_after_payment, kind interest_claim), id
 * <tenant>/inv/<invoice_id>/claim/<payment id>. -1 when kind is none of
 * them or the id does not fit. */
int sch_command_id_notice(char *out, size_t len, char kind, const char *tenant,
                          const char *invoice_id, const char *event_id);
/* The channel and template of notice kind ('c', 'b') under pol. */
void sch_notice_of(const sch_policy *pol, char kind, ct_channel *channel, const char **template_id);
/* The notice command of kind of inv (its notice_id): kind letter on the
 * letter channel, else reminder; the policy's channel and template. NULL
 * on out of memory or a bad kind. */
char *sch_command_notice(const sch_rec *inv, char kind, const sch_rec *cust, const sch_policy *pol,
                         const cm_tz *tz, int64_t scheduled, int64_t now);

/* A decision that publishes nothing (docs/backtest.md): the invoice, the
 * held step (index, attempt, name, channel, kind, template; step_idx -1:
 * a payment thanks, without index and attempt), the rule that held or
 * moved it and the send's instant, as compact JSON (malloc'd; NULL on
 * out of memory). */
char *sch_decision_json(const sch_rec *inv, const sch_step *st, int step_idx, int attempt,
                        const char *rule, int64_t scheduled);

#endif
