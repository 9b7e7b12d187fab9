/* escalate.h -- handing a debtor to an agency or to legal (issue 16;
 * docs/escalation.md, docs/policy.md "Escalation"): the policy's targets,
 * the cost-benefit gate, the case id, the debtor's response log and the
 * case file.
 *
 * Design: an escalation step that names "to" does not write to the debtor;
 * it asks the gate whether the debtor's case in the step's currency (every
 * open invoice of that currency) is worth handing over. The gate is pure
 * integer arithmetic, exact: the expected net recovery is
 *     outstanding x recovery% x (100 - commission%) / 10^4 - fixed cost,
 * rounded once, half-up, to a minor unit, and the hand-off needs it to be
 * at least 1. The case file (one JSON object on `escalations`) is built
 * from the scheduler's state only, so a replay builds the same bytes.
 *
 * Ownership: the parse fills caller structs; sch_esc_case returns a new
 * jansson object the caller decrefs; the response log is an owned string
 * of the customer record (state.h). */
#ifndef SCH_ESCALATE_H
#define SCH_ESCALATE_H

#include <jansson.h>
#include <stdint.h>

#include "charges.h"
#include "command.h"
#include "contract.h"
#include "event.h"

/* One target of "escalation" ("agency", "legal"). */
typedef struct sch_esc_target {
    int enabled;
    sch_cur_map min;    /* min_outstanding_minor: a currency absent is never handed over */
    int recovery_pct;   /* expected_recovery_pct, 0..100 */
    int commission_pct; /* commission_pct, 0..100 */
    sch_cur_map fixed;  /* cost_fixed_minor: a currency absent costs 0 */
} sch_esc_target;

typedef struct sch_esc_policy {
    int enabled; /* the section has a target */
    sch_esc_target to[CT_TO_COUNT];
    int resume_on_recall; /* "on_recall": "resume" (1, the default) or "stop" (0) */
} sch_esc_policy;

/* Parses doc's "escalation" (absent or only {"comment"}: off). 0, or -1
 * with "policy escalation...: rule" in errstr. */
int sch_esc_parse(json_t *doc, sch_esc_policy *out, char *errstr, size_t errlen);

/* The gate's figures for one case. */
typedef struct sch_esc_gate {
    int64_t outstanding;  /* the case's balance with fees, interest and compensation */
    int64_t min;          /* the target's minimum in the currency (-1: none) */
    int64_t fixed;        /* the fixed cost in the currency */
    int64_t expected_net; /* rounded half-up; meaningful when >= 1 */
} sch_esc_gate;

/* Checks a case against target t: NULL when it may be handed over, else
 * the rule that holds it: "escalation:disputed" (blocked: an invoice of
 * the case is disputed, under a plan or under an open promise),
 * "escalation:below_threshold" (no minimum for the currency, or the
 * balance under it), "escalation:not_worth_it" (expected net < 1). *g is
 * filled in every case. */
const char *sch_esc_check(const sch_esc_target *t, const char *currency, int64_t outstanding,
                          int blocked, sch_esc_gate *g);

/* "case-" + 16 hex digits of FNV-1a over tenant, customer and the
 * escalation step's command id (NUL-separated) into out (>= 22 bytes). */
void sch_esc_case_id(char out[22], const char *tenant, const char *customer,
                     const char *command_id);

/* The response log: the debtor's promises, disputes, logged contacts and
 * plans, oldest first, at most SCH_RESPONSES_MAX entries (the oldest go).
 * Each entry is type 0x1e at(ms) 0x1e id 0x1e detail, entries end with 0x1d.
 * Appends one to *log (owned); 0, or -1 out of memory. Control characters
 * in id and detail become spaces. */
#define SCH_RESPONSES_MAX 32
int sch_esc_log_response(char **log, ct_type type, int64_t at, const char *id, const char *detail);

/* The case file's parts the state gives (records built by apply.c). */
typedef struct sch_esc_invoice {
    const char *invoice_id, *number; /* number NULL: none */
    int32_t issued, due;
    int days_overdue;
    int64_t amount, paid, credited;
    sch_amounts a;
} sch_esc_invoice;

typedef struct sch_esc_contact {
    const char *invoice_id;
    char command_id[CT_COMMAND_ID_MAX + 1];
    int64_t at;
    int step;
    const char *step_name, *template_id;
    ct_kind kind;
    ct_channel channel;
    char rule[40]; /* "": issued; else held by this rule */
} sch_esc_contact;

typedef struct sch_esc_case {
    const char *case_id, *tenant, *customer_id;
    int64_t created_at;
    ct_escalation_to to;
    const char *currency;
    const char *strategy, *variant, *step_name, *command_id;
    int step;
    const sch_esc_target *target;
    sch_esc_gate gate;
    const char *debtor_json; /* the command's "customer" object as JSON text, or NULL */
    const json_t *risk;      /* the command's "risk" object, or NULL */
    const sch_esc_invoice *invoices;
    size_t ninvoices;
    const sch_esc_contact *contacts;
    size_t ncontacts;
    const char *responses; /* the response log, or NULL */
} sch_esc_case;

/* The case file (docs/escalation.md, schemas/case.json). NULL on out of
 * memory. */
json_t *sch_esc_case_file(const sch_esc_case *k);

#endif
