/* command.h -- the records the scheduler publishes (docs/contracts.md).
 *
 * A command carries everything the notifier needs to render a message
 * without reading state. Ids are deterministic:
 *   <tenant>/inv/<invoice_id>/step/<n>/attempt/<k>   ladder steps
 *   <tenant>/inv/<invoice_id>/thanks/<payment_id>    payment thanks
 * "scheduled_at" is the instant the timer was due (created_at minus it is
 * the lateness). Builders return a new JSON object (caller decrefs) or NULL on OOM. */
#ifndef SCH_COMMAND_H
#define SCH_COMMAND_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "state.h"

void sch_command_id_step(char *out, size_t len, const char *tenant, const char *invoice_id,
                         int step, int attempt);
void sch_command_id_thanks(char *out, size_t len, const char *tenant, const char *invoice_id,
                           const char *payment_id);

/* A ladder step's command (kind = the step's action), as compact JSON text
 * (malloc'd; NULL on OOM). */
char *sch_command_step(const sch_rec *inv, const sch_rec *cust, const sch_policy *pol,
                         const cm_tz *tz, const sch_step *st, int step_idx, int64_t scheduled,
                         int64_t now);
/* The payment.thanks command (malloc'd JSON text). */
char *sch_command_thanks(const sch_rec *inv, const sch_rec *cust, const sch_policy *pol,
                           const cm_tz *tz, int64_t scheduled, int64_t now);
/* The scheduler's own invoice.escalated event for an escalation step. */
json_t *sch_event_escalated(const sch_rec *inv, const char *command_id, int level, int64_t now);

#endif
