/* contact.h -- the outcome events the notifier publishes on `contacts` and
 * the task records it hands to `tasks` (docs/contracts.md). */
#ifndef NTF_CONTACT_H
#define NTF_CONTACT_H

#include <stddef.h>
#include <stdint.h>

#include "command.h"

typedef struct ntf_outcome {
    int sent;                 /* contact.sent, else contact.failed */
    char provider_status[32]; /* "250", "200", "queued" or "" */
    int attempts;
    int64_t latency_ms;
    int64_t at_ms;            /* shared clock */
    char reason[512];         /* failed only */
    char message_id[160];     /* email only ("" otherwise) */
} ntf_outcome;

/* The contact event for cmd (which may be only partly valid: missing
 * fields are left out). Returns a new string the caller frees. */
char *ntf_contact_json(const ntf_command *cmd, const ntf_outcome *o);
/* The task record for a call_task/letter command: the command plus
 * "task_id" (the command id). New string the caller frees. */
char *ntf_task_json(const ntf_command *cmd);
/* Record key "tenant/customer_id" into out. */
void ntf_contact_key(const ntf_command *cmd, char *out, size_t outlen);

#endif
